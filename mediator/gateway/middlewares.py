"""Middlewares: request context and access log (outermost), then errors → problem+json."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from mediator.errors import (
    CircuitOpenError,
    ClientError,
    ExtractError,
    Fault,
    MediatorError,
    RenderError,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.gateway.exchange import OBSERVERS_KEY, Exchange, Observer
from mediator.gateway.observe import OBSERVABILITY_KEY
from mediator.gateway.problems import problem_response
from mediator.gateway.state import RequestState, bind_state, request_state
from mediator.log import get_logger
from mediator.translate.fault_rules import fault_status

__all__ = [
    "REQUEST_ID_HEADER",
    "exception_problem",
    "problem_middleware",
    "request_context_middleware",
]

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = get_logger("mediator.gateway")


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    # 128 random bits as 32 hex characters, like uuid4().hex without building a UUID.
    return given if _REQUEST_ID.match(given) else os.urandom(16).hex()


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bind a request id, return it, and write one access line per request."""
    structlog.contextvars.clear_contextvars()
    state = RequestState(request_id=_request_id(request))
    bind_state(request, state)
    structlog.contextvars.bind_contextvars(request_id=state.request_id)
    started = time.perf_counter()
    status = 500
    response: web.StreamResponse | None = None
    observability = request.app.get(OBSERVABILITY_KEY)  # None: metrics, tracing, explain off
    watch = observability.start(request, state) if observability is not None else None
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = state.request_id
        observers = request.app.get(OBSERVERS_KEY)
        if observers and isinstance(response, web.Response):
            _notify(observers, request, state, response, started)
        return response
    except web.HTTPException as exc:  # raised by aiohttp below the problem middleware
        status = exc.status
        exc.headers[REQUEST_ID_HEADER] = state.request_id
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away (handler cancellation); nginx's convention
        raise
    finally:
        elapsed = time.perf_counter() - started
        if _log.is_enabled_for(logging.INFO):  # else skip building the line's fields
            _access_line(request, state, status, elapsed)
        if watch is not None:
            watch.finish(status, response, elapsed)


def _access_line(request: web.Request, state: RequestState, status: int, elapsed: float) -> None:
    """The one log line of every request (at info)."""
    route = state.route
    _log.info(
        "gateway.request_handled",
        method=request.method,
        path=request.path,
        status=status,
        route=route.name if route else None,
        operation=route.operation.name if route else None,
        upstream_status=state.upstream_status
        or (state.wire.response_status if state.wire else None),
        upstream_attempts=state.wire.attempts if state.wire else None,
        duration_ms=round(elapsed * 1000, 3),
        **{f"{k}_ms": round(v * 1000, 3) for k, v in state.timings.items()},
    )


def _notify(
    observers: list[Observer],
    request: web.Request,
    state: RequestState,
    response: web.Response,
    started: float,
) -> None:
    route = state.route
    body = response.body if isinstance(response.body, bytes) else b""
    exchange = Exchange(
        request_id=state.request_id,
        started_at=time.time() - (time.perf_counter() - started),
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers={
            name: request.headers[name]
            for name in (route.headers if route else ())
            if name in request.headers
        },
        json_request=state.json_request,
        route=route.name if route else None,
        operation=route.operation.name if route else None,
        mapping_file=route.file if route else None,
        wire=state.wire,
        status=response.status,
        response_headers=dict(response.headers),
        response_body=body,
        timings=dict(state.timings),
    )
    for observer in observers:
        try:
            observer(exchange)
        except Exception as exc:  # an observer must never break a response
            _log.error("gateway.observer_failed", observer=repr(observer), exc_info=exc)


def _http_problem(exc: web.HTTPException, request: web.Request, request_id: str) -> web.Response:
    slugs = {
        404: ("not-found", "Not Found", f"no route for {request.path}"),
        405: (
            "method-not-allowed",
            "Method Not Allowed",
            f"{request.method} is not mapped for {request.path}",
        ),
        413: ("payload-too-large", "Payload Too Large", "the request body is too large"),
    }
    slug, title, detail = slugs.get(exc.status, ("invalid-request", exc.reason, None))
    headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
    return problem_response(
        slug,
        exc.status,
        title,
        detail=detail,
        request_id=request_id,
        instance=request.path,
        headers=headers,
    )


_CLIENT_ERROR_SLUGS = {408: "request-timeout", 415: "unsupported-media-type"}


def exception_problem(
    exc: BaseException, request: web.Request, state: RequestState
) -> web.Response:
    """The problem response for an exception: the one mapping of the error tree to HTTP
    (the problem middleware and asynchronous jobs both use it). ``request`` needs only
    ``path`` and ``method``."""
    rid, path = state.request_id, request.path
    if isinstance(exc, ClientError):
        slug = _CLIENT_ERROR_SLUGS.get(exc.status, "invalid-request")
        return problem_response(
            slug,
            exc.status,
            "Invalid Request",
            detail=exc.detail,
            request_id=rid,
            instance=path,
            pointer=exc.pointer,
        )
    if isinstance(exc, Fault):
        status, title = fault_status(state.route, exc)
        _log.info("gateway.fault_returned", fault_code=exc.code, status=status)
        fault = {
            "code": exc.code,
            "subcodes": list(exc.subcodes) or None,
            "reason": exc.string,
            "actor": exc.actor,
            "detail": exc.detail,
        }
        return problem_response(
            "upstream-fault",
            status,
            title or "Upstream Fault",
            detail=exc.string,
            request_id=rid,
            instance=path,
            fault={k: v for k, v in fault.items() if v is not None},
        )
    if isinstance(exc, UpstreamOverloadedError):
        return _overloaded_problem(exc, request, state)
    if isinstance(exc, UpstreamTimeout):
        _log.warning(
            "upstream.call_timed_out", upstream=exc.upstream, reason=str(exc), sent=exc.sent
        )
        detail = (
            "the SOAP service did not answer in time; the request was sent, so whether it "
            "took effect is unknown"
            if exc.sent
            else "the SOAP service could not be called in time; the request was not sent"
        )
        if exc.sent and not (state.route and state.route.idempotent):
            detail += " (it is not idempotent: check its effect before repeating it)"
        return problem_response(
            "upstream-timeout",
            504,
            "Upstream Timeout",
            detail=detail,
            request_id=rid,
            instance=path,
            outcome=_outcome(exc),
        )
    if isinstance(exc, UpstreamUnavailable):
        _log.warning("upstream.call_failed", upstream=exc.upstream, reason=str(exc), sent=exc.sent)
        return problem_response(
            "upstream-unavailable",
            502,
            "Upstream Unavailable",
            detail="the SOAP service could not be reached"
            if not exc.sent
            else "the connection to the SOAP service was lost; whether the request took "
            "effect is unknown",
            request_id=rid,
            instance=path,
            outcome=_outcome(exc),
        )
    if isinstance(exc, UpstreamProtocolError):
        _log.warning(
            "upstream.response_rejected",
            upstream=exc.upstream,
            reason=str(exc),
            upstream_status=exc.status,
        )
        return problem_response(
            "upstream-invalid-response",
            502,
            "Invalid Upstream Response",
            detail="the SOAP service answered with something that is not a usable SOAP response",
            request_id=rid,
            instance=path,
        )
    if isinstance(exc, ExtractError):
        _log.warning("translate.extract_failed", reason=str(exc))
        return problem_response(
            "upstream-unexpected-response",
            502,
            "Unexpected Upstream Response",
            detail="the SOAP response does not have the shape or types the mapping expects",
            request_id=rid,
            instance=path,
        )
    if isinstance(exc, RenderError):
        _log.error("translate.render_failed", reason=str(exc))
        return problem_response(
            "mapping-error",
            500,
            "Mapping Error",
            detail="the route's mapping could not build the request",
            request_id=rid,
            instance=path,
        )
    _log.error("gateway.request_crashed", exc_info=exc)
    return problem_response(
        "internal-error",
        500,
        "Internal Server Error",
        detail="the gateway failed; quote the request id",
        request_id=rid,
        instance=path,
    )


def _outcome(exc: UpstreamError) -> str:
    """``unknown`` when the request may have reached the upstream, else ``not-sent``."""
    return "unknown" if exc.sent else "not-sent"


def _overloaded_problem(
    exc: UpstreamOverloadedError, request: web.Request, state: RequestState
) -> web.Response:
    """503 with ``Retry-After``: the upstream was not called (open breaker, full bulkhead)."""
    retry_after = max(1, math.ceil(exc.retry_after))
    circuit_open = isinstance(exc, CircuitOpenError)
    _log.info(
        "upstream.call_rejected",
        upstream=exc.upstream,
        reason="circuit_open" if circuit_open else "bulkhead_full",
        retry_after_s=retry_after,
    )
    if circuit_open:
        slug, title = "upstream-circuit-open", "Upstream Circuit Open"
        detail = "the SOAP service is failing; the gateway is not calling it for now"
    else:
        slug, title = "upstream-overloaded", "Upstream Overloaded"
        detail = "too many calls to the SOAP service are already in flight and waiting"
    return problem_response(
        slug,
        503,
        title,
        detail=f"{detail}; the request was not sent",
        request_id=state.request_id,
        instance=request.path,
        headers={"Retry-After": str(retry_after)},
        outcome="not-sent",
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every exception into an RFC 9457 problem response; never leak internals."""
    state = request_state(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _http_problem(exc, request, state.request_id)
    except (MediatorError, Exception) as exc:
        return exception_problem(exc, request, state)
