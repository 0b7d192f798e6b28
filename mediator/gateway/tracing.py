"""OpenTelemetry tracing: a server span per request, child spans per stage, W3C propagation.

Optional: it needs the ``otel`` extra (``pip install 'mediator[otel]'``) and is off unless
switched on (``mediator serve --otel``). Nothing here imports OpenTelemetry at module level,
so the gateway runs without it installed.

Spans of one request::

    GET /orders/{id}            SERVER    http.request.method, url.path, http.route,
    ├── render                  INTERNAL  http.response.status_code, mediator.request_id
    ├── upstream GetOrder       CLIENT    rpc.system=soap, rpc.method, url.full, server.address,
    │                                     soap.fault.code, mediator.upstream.outcome
    └── transform               INTERNAL

A ``traceparent`` header from the client makes the server span its child; the upstream call
carries the ``traceparent`` of its CLIENT span. Exception messages are never recorded (they
may carry upstream data): a failed span has status ERROR and ``error.type``, the class name.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web
from yarl import URL

from mediator.gateway.metrics import upstream_label
from mediator.log import get_logger
from mediator.mapping.model import Route

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

__all__ = [
    "TRACER_KEY",
    "RequestTracer",
    "configure_tracer_provider",
    "otel_available",
    "trace_id_of",
]

_log = get_logger("mediator.gateway")

TRACER_NAME = "mediator"


def otel_available() -> bool:
    """True when the OpenTelemetry API and SDK (the ``otel`` extra) are installed."""
    try:
        return importlib.util.find_spec("opentelemetry.sdk.trace") is not None
    except ModuleNotFoundError:
        return False


def configure_tracer_provider(service_name: str = "mediator") -> TracerProvider:
    """Create the process's SDK tracer provider, make it global and return it.

    The exporter follows ``OTEL_TRACES_EXPORTER``: ``otlp`` (default; OTLP over HTTP, needs
    ``opentelemetry-exporter-otlp-proto-http``, configured by the ``OTEL_EXPORTER_OTLP_*``
    variables), ``console`` (spans printed as JSON to stdout) or ``none``. Sampling follows
    ``OTEL_TRACES_SAMPLER``; the service name ``OTEL_SERVICE_NAME``, else ``service_name``.
    Call ``shutdown()`` on the result at exit to flush spans.

    Raises:
        ModuleNotFoundError: OpenTelemetry is not installed.
    """
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower()
    if exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        try:  # a further optional package: imported by name, so it need not be installed
            otlp: Any = importlib.import_module(
                "opentelemetry.exporter.otlp.proto.http.trace_exporter"
            )
        except ModuleNotFoundError:
            _log.warning(
                "tracing.exporter_missing",
                exporter="otlp",
                hint="pip install opentelemetry-exporter-otlp-proto-http",
            )
        else:
            provider.add_span_processor(BatchSpanProcessor(otlp.OTLPSpanExporter()))
    elif exporter != "none":
        _log.warning("tracing.exporter_unknown", exporter=exporter)
    trace.set_tracer_provider(provider)
    return provider


def trace_id_of(span: Span) -> str | None:
    """The span's trace id in hex, or ``None`` when it has none."""
    context = span.get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class RequestTracer:
    """Starts and ends the spans of requests.

    Args:
        provider: the tracer provider; the global one when omitted.

    Raises:
        ModuleNotFoundError: OpenTelemetry is not installed.
    """

    def __init__(self, provider: Any | None = None) -> None:
        from opentelemetry import context, propagate, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        from mediator import __version__

        self._trace = trace
        self._context = context
        self._propagate = propagate
        self._kinds = SpanKind
        self._status = Status
        self._error = StatusCode.ERROR
        provider = provider if provider is not None else trace.get_tracer_provider()
        self.tracer = provider.get_tracer(TRACER_NAME, __version__)

    def start_request(self, request: web.Request, request_id: str) -> tuple[Span, object]:
        """Start the SERVER span of ``request`` (child of the client's ``traceparent``, if
        any) and make it current. Returns the span and the token :meth:`end_request` needs."""
        parent = self._propagate.extract(request.headers)
        span = self.tracer.start_span(
            request.method,
            context=parent,
            kind=self._kinds.SERVER,
            attributes={
                "http.request.method": request.method,
                "url.path": request.path,
                "url.scheme": request.scheme,
                "mediator.request_id": request_id,
            },
        )
        token = self._context.attach(self._trace.set_span_in_context(span, parent))
        return span, token

    def end_request(self, span: Span, token: object, status: int, route: Route | None) -> None:
        """Name the span after its route, record the status and end it."""
        try:
            if route is not None:
                span.update_name(f"{route.method} {route.path}")
                span.set_attribute("http.route", route.path)
                span.set_attribute("mediator.route", route.name)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(self._status(self._error))
            span.end()
        finally:
            self._context.detach(token)  # type: ignore[arg-type]

    @contextmanager
    def stage(self, name: str, route: Route) -> Iterator[Span]:
        """A child span around one stage of the translation (``render``, ``transform``)."""
        with self.tracer.start_as_current_span(
            name,
            attributes={"mediator.route": route.name},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                self.failed(span, type(exc).__name__)
                raise

    @contextmanager
    def upstream(self, route: Route) -> Iterator[Span]:
        """The CLIENT span of the upstream call of ``route``."""
        upstream = route.upstream
        address = URL(upstream.address)
        attributes: dict[str, Any] = {
            "rpc.system": "soap",
            "rpc.service": upstream.service,
            "rpc.method": route.operation.name,
            "soap.operation": route.operation.name,
            "soap.version": upstream.soap_version,
            "url.full": str(address.with_user(None).with_query(None)),
            "mediator.upstream": upstream_label(upstream.key),
        }
        if address.host:
            attributes["server.address"] = address.host
        if address.port:
            attributes["server.port"] = address.port
        with self.tracer.start_as_current_span(
            f"upstream {route.operation.name}",
            kind=self._kinds.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    def failed(self, span: Span, error_type: str) -> None:
        """Mark ``span`` failed with ``error_type`` (never an exception message)."""
        span.set_attribute("error.type", error_type)
        span.set_status(self._status(self._error, error_type))

    def inject(self, headers: MutableMapping[str, str]) -> None:
        """Add the current span's ``traceparent`` (and ``tracestate``) to ``headers``."""
        self._propagate.inject(headers)


TRACER_KEY = web.AppKey("tracer", RequestTracer)
