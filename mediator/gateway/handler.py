"""The request handler of a mapped route: JSON in → SOAP call → typed JSON out."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from mediator.errors import ClientError
from mediator.gateway.auth import request_context
from mediator.gateway.jobs_api import JOBS_KEY
from mediator.gateway.limits import DEFAULT_LIMITS, LIMITS_KEY, check_json
from mediator.gateway.observe import WATCH_KEY, stage
from mediator.gateway.state import request_state
from mediator.mapping.model import Route
from mediator.translate.jsonio import dumps, loads_strict
from mediator.translate.request import render_request
from mediator.translate.response import extract_response
from mediator.upstream.client import SoapClient, WireLog

__all__ = ["RouteHandler", "read_json_body"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def read_json_body(request: web.Request, *, timeout: float) -> Any:
    """The request's JSON body (``None`` when there is none).

    Raises:
        ClientError: 415 when the body is not JSON, 408 when it does not arrive in time,
            400 when it is not valid JSON or exceeds the gateway's JSON limits.
    """
    if request.method not in _BODY_METHODS or not request.body_exists:
        return None
    ctype = request.content_type
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise ClientError(f"expected a JSON body (application/json), got {ctype!r}", status=415)
    charset = request.charset
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise ClientError(f"expected UTF-8 JSON, got charset {charset!r}")
    try:
        if request.content.is_eof():  # it came with the head: nothing left to wait for
            raw = await request.read()
        else:
            async with asyncio.timeout(timeout):
                raw = await request.read()
    except TimeoutError:
        raise ClientError(
            f"the request body did not arrive within {timeout:g}s", status=408
        ) from None
    if not raw.strip():
        return None
    limits = request.config_dict.get(LIMITS_KEY, DEFAULT_LIMITS)
    value = loads_strict(raw, max_depth=limits.max_depth)
    check_json(value, limits)  # sizes, lengths, XML-incompatible characters (docs/security.md)
    return value


class RouteHandler:
    """Serves one route; all per-route work was compiled at load."""

    __slots__ = ("_body_timeout", "_client", "route")

    def __init__(self, route: Route, client: SoapClient, *, body_timeout: float) -> None:
        self.route = route
        self._client = client
        self._body_timeout = body_timeout

    async def handle(self, request: web.Request, path_params: dict[str, str]) -> web.Response:
        """Translate one request."""
        route = self.route
        client = self._client
        state = request_state(request)
        state.route = route
        watch = request.get(WATCH_KEY)  # metrics/tracing/explain; None when all are off
        body = await read_json_body(request, timeout=self._body_timeout)
        state.json_request = body
        if route.mode != "sync":  # asynchronous: 202 and a job (docs/jobs.md)
            jobs = request.app.get(JOBS_KEY)
            if jobs is not None and jobs.wants_async(route, request):
                return await jobs.submit(request, route, client, path_params, body)
        started = time.perf_counter()
        with stage(watch, "render", route):
            context = request_context(request, route, path_params, body)
            rendered = render_request(route, context)
            envelope = client.build(route, rendered)
        rendered_at = time.perf_counter()
        state.timings["render"] = rendered_at - started
        try:
            state.wire = WireLog()
            if watch is None:
                call = await client.call(
                    route, envelope, request_id=state.request_id, wire=state.wire
                )
            else:
                call = await watch.call_upstream(client, route, envelope, state.wire)
        finally:
            state.timings["upstream"] = time.perf_counter() - rendered_at
        state.upstream_status = call.status
        transform_started = time.perf_counter()
        with stage(watch, "transform", route):
            data = extract_response(route.response, call.envelope.body)
            payload = dumps(data)
        state.timings["transform"] = time.perf_counter() - transform_started
        return web.Response(
            body=payload, status=route.response.status, content_type="application/json"
        )
