"""Runs a job's translation: exactly the synchronous route's render → SOAP call → extract.

The steps and functions are those of the gateway's route handler, on the request as the
client sent it (path, declared query parameters, allow-listed headers, the JSON body), so
a job's result is byte for byte what the synchronous route would have answered. The call
goes through the same :class:`~mediator.upstream.client.SoapClient`, hence through the
upstream's deadline, bulkhead, circuit breaker and retries.
"""

from __future__ import annotations

from collections.abc import Callable

from mediator.jobs.model import JobRequest, JobResult
from mediator.mapping.model import Route
from mediator.translate.context import build_context
from mediator.translate.jsonio import dumps, loads_strict
from mediator.translate.request import render_request
from mediator.translate.response import extract_response
from mediator.upstream.client import SoapClient, WireLog

__all__ = ["ProblemRenderer", "RouteLookup", "run_translation"]

RouteLookup = Callable[[str], tuple[Route, SoapClient] | None]
"""Finds a route by its key (``METHOD /path/{template}``) in the mappings served now,
with the SOAP client serving it; ``None`` when a reload removed it."""

ProblemRenderer = Callable[[BaseException, Route, str, str], JobResult]
"""Turns an exception into the problem+json the synchronous route would answer, given the
route, the request id and the request path (the gateway provides it)."""


async def run_translation(route: Route, client: SoapClient, request: JobRequest) -> JobResult:
    """Translate and call once; return the route's JSON response.

    Raises:
        ClientError, RenderError, ExtractError, UpstreamError: as the synchronous route.
    """
    body = loads_strict(request.body.encode()) if request.body is not None else None
    context = build_context(
        route,
        path=request.path_params,
        query=request.query,
        body=body,
        headers=request.headers,
        extra=request.extra or None,
    )
    rendered = render_request(route, context)
    envelope = client.build(route, rendered)
    call = await client.call(route, envelope, request_id=request.request_id, wire=WireLog())
    data = extract_response(route.response, call.envelope.body)
    return JobResult(
        status=route.response.status, content_type="application/json", body=dumps(data)
    )
