"""Observation of requests: what the middleware and the handler call so that metrics,
tracing and explain traces see each request, and the set-up of their endpoints.

Each of the three is optional. When none is on, the application has no
:data:`OBSERVABILITY_KEY`, the middleware skips observation entirely and the handler takes
its plain path: no allocation, no call. When one is on, the middleware makes one
:class:`RequestWatch` per request and puts it under :data:`WATCH_KEY` for the handler.
"""

from __future__ import annotations

import contextlib
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from mediator.gateway.health import HEALTH_KEY, Health
from mediator.gateway.metrics import METRICS_KEY, GatewayMetrics, upstream_outcome
from mediator.gateway.state import RequestState
from mediator.gateway.traces import TRACES_KEY, TraceBuffer
from mediator.gateway.tracing import TRACER_KEY, RequestTracer, trace_id_of
from mediator.log import get_logger
from mediator.mapping.model import Route
from mediator.upstream.client import SoapCall, SoapClient, WireLog

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from mediator.gateway.app import GatewayRuntime

__all__ = [
    "OBSERVABILITY_KEY",
    "WATCH_KEY",
    "Observability",
    "RequestWatch",
    "setup_observability",
    "stage",
]

_log = get_logger("mediator.gateway")

_NO_STAGE: AbstractContextManager[Any] = contextlib.nullcontext()
_CATCH_ALL = "/{path}"
"""The canonical path of the gateway's catch-all resource (mapped routes and 404s)."""
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Observability:
    """The observers switched on for one gateway (each may be ``None``)."""

    __slots__ = ("metrics", "tracer", "traces")

    def __init__(
        self,
        metrics: GatewayMetrics | None,
        tracer: RequestTracer | None,
        traces: TraceBuffer | None,
    ) -> None:
        self.metrics = metrics
        self.tracer = tracer
        self.traces = traces

    def start(self, request: web.Request, state: RequestState) -> RequestWatch:
        """Begin observing ``request``: count it in flight, start its server span."""
        watch = RequestWatch(self, request, state)
        if self.metrics is not None:
            self.metrics.in_flight.inc()
        if self.tracer is not None:
            watch.span, watch.token = self.tracer.start_request(request, state.request_id)
            watch.trace_id = trace_id_of(watch.span)
            if watch.trace_id is not None:
                structlog.contextvars.bind_contextvars(trace_id=watch.trace_id)
        request[WATCH_KEY] = watch
        return watch


class RequestWatch:
    """The observation of one request, shared by the middleware and the handler."""

    __slots__ = ("call", "obs", "request", "span", "state", "token", "trace_id")

    def __init__(self, obs: Observability, request: web.Request, state: RequestState) -> None:
        self.obs = obs
        self.request = request
        self.state = state
        self.span: Span | None = None
        self.token: object = None
        self.trace_id: str | None = None
        self.call: SoapCall | None = None

    def stage(self, name: str, route: Route) -> AbstractContextManager[Any]:
        """A child span around one translation stage (a no-op without tracing)."""
        tracer = self.obs.tracer
        return _NO_STAGE if tracer is None else tracer.stage(name, route)

    def _keep(self, call: SoapCall) -> SoapCall:
        """Hold the answer's parsed tree for the explain trace only: kept any longer, every
        keep-alive connection would pin a whole document in memory."""
        if self.obs.traces is not None:
            self.call = call
        return call

    async def call_upstream(
        self, client: SoapClient, route: Route, envelope: bytes, wire: WireLog
    ) -> SoapCall:
        """``client.call`` inside an upstream span (its ``traceparent`` sent upstream),
        counted in flight and by outcome.

        Raises:
            whatever ``client.call`` raises.
        """
        metrics, tracer = self.obs.metrics, self.obs.tracer
        upstream = route.upstream.key
        gauge = metrics.upstream_gauge(upstream) if metrics is not None else None
        if gauge is not None:
            gauge.inc()
        error: BaseException | None = None
        try:
            if tracer is None:
                call = await client.call(
                    route, envelope, request_id=self.state.request_id, wire=wire
                )
                return self._keep(call)
            with tracer.upstream(route) as span:
                headers: dict[str, str] = {}
                tracer.inject(headers)
                try:
                    call = await client.call(
                        route,
                        envelope,
                        request_id=self.state.request_id,
                        wire=wire,
                        extra_headers=headers,
                    )
                except BaseException as exc:
                    error = exc
                    fault_code = getattr(exc, "code", None)
                    if isinstance(fault_code, str):
                        span.set_attribute("soap.fault.code", fault_code)
                    tracer.failed(span, upstream_outcome(exc))
                    raise
                finally:
                    span.set_attribute("mediator.upstream.outcome", upstream_outcome(error))
                    span.set_attribute("mediator.upstream.attempts", wire.attempts)
                    if wire.response_status is not None:
                        span.set_attribute("http.response.status_code", wire.response_status)
                return self._keep(call)
        except BaseException as exc:
            error = exc
            raise
        finally:
            if gauge is not None:
                gauge.dec()
            if metrics is not None:
                metrics.upstream_call_finished(upstream, route.operation.name, error, wire.attempts)

    def finish(self, status: int, response: web.StreamResponse | None, elapsed: float) -> None:
        """End the observation: count the request, end its span, keep its explain trace."""
        obs, state, request = self.obs, self.state, self.request
        route = state.route
        if obs.metrics is not None:
            obs.metrics.in_flight.dec()
            obs.metrics.request_finished(
                route.name if route is not None else _resource_name(request),
                request.method,
                status,
                elapsed,
                state.timings,
            )
        if obs.tracer is not None and self.span is not None:
            obs.tracer.end_request(self.span, self.token, status, route)
        if obs.traces is not None and route is not None:
            try:
                obs.traces.capture(
                    request,
                    state,
                    response if isinstance(response, web.Response) else None,
                    status,
                    elapsed,
                    route=route,
                    body=self.call.envelope.body if self.call is not None else None,
                    trace_id=self.trace_id,
                )
            except Exception as exc:  # an explain trace must never break a response
                _log.error("gateway.trace_capture_failed", exc_info=exc)


def _resource_name(request: web.Request) -> str:
    """The metrics ``route`` of a request no mapped route served: the gateway endpoint's
    path (``/metrics``, ``/readyz``…), or ``unmatched``."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    canonical = resource.canonical
    return "unmatched" if canonical == _CATCH_ALL else canonical


def stage(watch: RequestWatch | None, name: str, route: Route) -> AbstractContextManager[Any]:
    """The span context of a handler stage: a shared no-op unless tracing is on."""
    return _NO_STAGE if watch is None else watch.stage(name, route)


OBSERVABILITY_KEY = web.AppKey("observability", Observability)
WATCH_KEY = web.RequestKey("mediator_watch", RequestWatch)


def setup_observability(
    app: web.Application, runtime: GatewayRuntime, *, tracer_provider: Any | None = None
) -> None:
    """Register health probes and, as the settings say, ``/metrics``, tracing and explain
    traces. Call before the catch-all route is added.

    Args:
        tracer_provider: an OpenTelemetry tracer provider; switches tracing on (tests use
            one with an in-memory exporter). ``settings.otel`` uses the global provider.
    """
    settings = runtime.settings
    health = Health(runtime, check_upstreams=settings.readyz_upstreams)
    app[HEALTH_KEY] = health
    app.on_shutdown.append(health.drain)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/readyz", health.readyz)
    metrics = tracer = traces = None
    if settings.metrics:
        metrics = app[METRICS_KEY] = GatewayMetrics(runtime)
        app.router.add_get("/metrics", metrics.handle)
        app.cleanup_ctx.append(metrics.refresh_context)
    if settings.otel or tracer_provider is not None:
        tracer = app[TRACER_KEY] = RequestTracer(tracer_provider)
    if settings.explain > 0:
        traces = app[TRACES_KEY] = TraceBuffer(settings.explain)
        app.router.add_get("/_mediator/traces", traces.handle_list)
        app.router.add_get("/_mediator/traces/{request_id}", traces.handle_one)
        if settings.host not in _LOOPBACK:
            _log.warning(
                "gateway.explain_exposed",
                host=settings.host,
                hint="explain traces are readable by anyone who reaches this address",
            )
    if metrics is not None or tracer is not None or traces is not None:
        app[OBSERVABILITY_KEY] = Observability(metrics, tracer, traces)
