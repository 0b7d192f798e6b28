"""Prometheus metrics of the gateway, served at ``/metrics``.

One :class:`GatewayMetrics` per application owns its own ``CollectorRegistry`` (so several
gateways in one process, as in tests, do not share counters). The request path only touches
label children that are created once and cached: a request costs a few dictionary look-ups
and counter increments, and nothing at all when metrics are switched off.

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` is set (before the process
starts), prometheus-client writes every value to a memory-mapped file in that directory and
``/metrics`` merges the files of every process, so any worker answers a scrape with the
totals of all of them. Gauges say how they merge (``livesum``: in-flight counts add up;
``livemax``: the worst circuit state of any worker). The supervisor wipes the directory
before starting workers and calls :func:`mark_process_dead` when one exits.

The metrics are listed in ``docs/operations.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)
from prometheus_client import multiprocess as _multiprocess
from prometheus_client import values as _values
from prometheus_client.exposition import choose_encoder

from mediator.errors import (
    BulkheadFullError,
    CircuitOpenError,
    Fault,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.log import get_logger

if TYPE_CHECKING:
    from mediator.gateway.app import GatewayRuntime

__all__ = [
    "CIRCUIT_STATES",
    "METRICS_KEY",
    "GatewayMetrics",
    "mark_process_dead",
    "multiprocess_dir",
    "prepare_multiprocess",
    "record_job_callback",
    "record_job_finished",
    "record_job_retry",
    "record_rate_limit_rejection",
    "set_job_queue_depth",
    "upstream_label",
    "upstream_outcome",
]

_log = get_logger("mediator.gateway")

CIRCUIT_STATES: Final[Mapping[str, int]] = {"closed": 0, "half_open": 1, "open": 2}
"""The value of ``mediator_upstream_circuit_state`` for each breaker state."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
_FAULT_CODE_MAX = 40
_USERINFO = re.compile(r"://[^/@]*@")
REFRESH_INTERVAL = 5.0
"""Seconds between refreshes of the gauges read from upstream state (breaker, queue)."""


def multiprocess_dir() -> Path | None:
    """The directory of multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), or ``None``."""
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return Path(value) if value else None


def prepare_multiprocess(workers: int) -> Path | None:
    """Get multiprocess mode ready before the supervisor forks ``workers`` processes.

    With one worker nothing changes: ``PROMETHEUS_MULTIPROC_DIR``, if set, belongs to an
    outside supervisor running several ``mediator serve`` processes (it wipes the directory
    before starting them). With several, this process is the supervisor: the directory's
    stale ``*.db`` files are removed, and when the variable is unset a private temporary
    directory is made and set. Call before any metric is created in this process.

    Returns:
        The directory, or ``None`` in single-process mode.
    """
    directory = multiprocess_dir()
    if workers <= 1:
        return directory
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="mediator-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    # prometheus-client chooses its value class when imported; choose again now that the
    # variable is set (metrics created from here on, in the forked workers, use files).
    _values.ValueClass = _values.get_value_class()  # type: ignore[no-untyped-call]
    return directory


def mark_process_dead(pid: int) -> None:
    """Drop the live gauges of a worker that exited (multiprocess mode; else nothing).

    Its counters and histograms stay, so totals do not go backwards.
    """
    directory = multiprocess_dir()
    if directory is not None and directory.is_dir():
        _multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def upstream_label(key: str) -> str:
    """The ``upstream`` label of an upstream key (``file.wsdl#Service/Port@address``), with
    any ``user:password@`` of the address removed."""
    return _USERINFO.sub("://", key)


def upstream_outcome(error: BaseException | None) -> str:
    """The ``outcome`` label of an upstream call that ended with ``error`` (``None``: success)."""
    if error is None:
        return "success"
    if isinstance(error, Fault):
        return "fault"
    if isinstance(error, CircuitOpenError):
        return "circuit_open"
    if isinstance(error, BulkheadFullError):
        return "bulkhead_full"
    if isinstance(error, UpstreamTimeout):
        return "timeout"
    if isinstance(error, UpstreamUnavailable):
        return "unavailable"
    if isinstance(error, UpstreamProtocolError):
        return "invalid_response"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    return "error"


class _RouteSeries:
    """The label children of one route, created once."""

    __slots__ = ("render", "total", "transform", "upstream")

    def __init__(self, metrics: GatewayMetrics, route: str, method: str) -> None:
        self.total = metrics.request_duration.labels(route, method)
        self.render = metrics.render_duration.labels(route)
        self.upstream = metrics.upstream_duration.labels(route)
        self.transform = metrics.transform_duration.labels(route)


class GatewayMetrics:
    """Every metric of one gateway, and what keeps the state-derived gauges current.

    Args:
        runtime: the gateway runtime, read for routes and upstream resilience state.
    """

    def __init__(self, runtime: GatewayRuntime) -> None:
        self.runtime = runtime
        self.multiprocess = multiprocess_dir()
        if self.multiprocess is not None:
            self.multiprocess.mkdir(parents=True, exist_ok=True)
        registry = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mediator_http_requests",
            "HTTP requests answered, by route, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "mediator_http_requests_in_flight",
            "HTTP requests being handled.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.request_duration = Histogram(
            "mediator_http_request_duration_seconds",
            "Time from receiving a request to its response, by route and method.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.render_duration = Histogram(
            "mediator_render_duration_seconds",
            "Time to build the SOAP envelope (context, templates, zeep), by route.",
            ["route"],
            buckets=_STAGE_BUCKETS,
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "mediator_upstream_duration_seconds",
            "Time of the upstream call, queueing and retries included, by route.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.transform_duration = Histogram(
            "mediator_transform_duration_seconds",
            "Time to extract and encode the JSON response, by route.",
            ["route"],
            buckets=_STAGE_BUCKETS,
            registry=registry,
        )
        self.upstream_calls = Counter(
            "mediator_upstream_calls",
            "Upstream calls by upstream, operation, outcome and SOAP fault code.",
            ["upstream", "operation", "outcome", "fault_code"],
            registry=registry,
        )
        self.upstream_retries = Counter(
            "mediator_upstream_retries",
            "Upstream tries beyond the first one, by upstream and operation.",
            ["upstream", "operation"],
            registry=registry,
        )
        self.upstream_in_flight = Gauge(
            "mediator_upstream_calls_in_flight",
            "Upstream calls under way (waiting for a bulkhead slot included), by upstream.",
            ["upstream"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.upstream_queued = Gauge(
            "mediator_upstream_queued",
            "Upstream calls waiting for a bulkhead slot, by upstream.",
            ["upstream"],
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.circuit_state = Gauge(
            "mediator_upstream_circuit_state",
            "Circuit breaker state by upstream: 0 closed, 1 half-open, 2 open "
            "(the worst of all workers).",
            ["upstream"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.rate_limited = Counter(
            "mediator_rate_limit_rejections",
            "Requests refused by the rate limiter, by route.",
            ["route"],
            registry=registry,
        )
        self.job_queue_depth = Gauge(
            "mediator_job_queue_depth",
            "Jobs waiting to be run, by queue.",
            ["queue"],
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.job_duration = Histogram(
            "mediator_job_duration_seconds",
            "Time from a job's submission to its end, by route and outcome.",
            ["route", "outcome"],
            buckets=_JOB_BUCKETS,
            registry=registry,
        )
        self.job_retries = Counter(
            "mediator_job_retries",
            "Job attempts retried after a retryable failure, by route and reason.",
            ["route", "reason"],
            registry=registry,
        )
        self.job_callbacks = Counter(
            "mediator_job_callbacks",
            "Webhook deliveries attempted on job completion, by outcome.",
            ["outcome"],
            registry=registry,
        )
        if self.multiprocess is None:
            for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
                registry.register(collector)
        self._routes: dict[tuple[str, str], _RouteSeries] = {}
        self._statuses: dict[tuple[str, str, int], Any] = {}
        self._calls: dict[tuple[str, str, str, str], Any] = {}
        self._upstream_gauges: dict[str, Any] = {}
        self._generation = -1
        self._upstreams: set[str] = set()

    # -- the request path ------------------------------------------------------------------

    def request_finished(
        self,
        route: str,
        method: str,
        status: int,
        elapsed: float,
        timings: Mapping[str, float],
    ) -> None:
        """Count one answered request and observe its total and per-stage durations."""
        if method not in _METHODS:
            method = "OTHER"
        key = (route, method, status)
        counter = self._statuses.get(key)
        if counter is None:
            counter = self._statuses[key] = self.requests.labels(route, method, str(status))
        counter.inc()
        series = self._routes.get((route, method))
        if series is None:
            series = self._routes[route, method] = _RouteSeries(self, route, method)
        series.total.observe(elapsed)
        if timings:
            for stage, seconds in timings.items():
                if stage == "render":
                    series.render.observe(seconds)
                elif stage == "upstream":
                    series.upstream.observe(seconds)
                elif stage == "transform":
                    series.transform.observe(seconds)

    def upstream_gauge(self, upstream: str) -> Any:
        """The in-flight gauge child of ``upstream`` (cached)."""
        gauge = self._upstream_gauges.get(upstream)
        if gauge is None:
            gauge = self.upstream_in_flight.labels(upstream_label(upstream))
            self._upstream_gauges[upstream] = gauge
        return gauge

    def upstream_call_finished(
        self, upstream: str, operation: str, error: BaseException | None, attempts: int
    ) -> None:
        """Count one upstream call by its outcome (and fault code), and its retries."""
        outcome = upstream_outcome(error)
        fault_code = error.code[:_FAULT_CODE_MAX] if isinstance(error, Fault) else ""
        key = (upstream, operation, outcome, fault_code)
        counter = self._calls.get(key)
        if counter is None:
            counter = self.upstream_calls.labels(upstream_label(upstream), *key[1:])
            self._calls[key] = counter
        counter.inc()
        if attempts > 1:
            self.upstream_retries.labels(upstream_label(upstream), operation).inc(attempts - 1)
        if outcome != "success" and outcome != "fault":
            self.refresh_upstreams()

    # -- state-derived gauges --------------------------------------------------------------

    def refresh_upstreams(self) -> None:
        """Set the circuit-state and queue gauges from the upstreams' resilience state.

        Upstreams no longer configured (after a reload) lose their series.
        """
        health = {upstream_label(k): v for k, v in self.runtime.policies.snapshot().items()}
        for label, state in health.items():
            self.circuit_state.labels(label).set(CIRCUIT_STATES.get(state.breaker.state, 0))
            self.upstream_queued.labels(label).set(state.bulkhead.queued)
        for gone in self._upstreams - health.keys():
            for gauge in (self.circuit_state, self.upstream_queued):
                with contextlib.suppress(KeyError):
                    gauge.remove(gone)
        self._upstreams = set(health)

    def prepare_routes(self) -> None:
        """Create the series of every route served, so they read 0 before the first request
        (``rate()`` then works from the start). Only does work after a (re)load."""
        runtime = self.runtime
        table = runtime.table
        if table is None or runtime.generation == self._generation:
            return
        self._generation = runtime.generation
        for route in table.mappings.routes:
            if (route.name, route.method) not in self._routes:
                self._routes[route.name, route.method] = _RouteSeries(
                    self, route.name, route.method
                )
        for upstream in table.mappings.upstreams.values():
            self.upstream_gauge(upstream.key)

    def refresh(self) -> None:
        """Everything scrape-time: new routes' series and the upstream state gauges."""
        self.prepare_routes()
        self.refresh_upstreams()

    async def refresh_context(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context refreshing the state-derived gauges every few seconds, so that
        in multiprocess mode a scrape answered by one worker sees the others' state too."""
        self.refresh()
        task = asyncio.get_running_loop().create_task(self._refresh_forever())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            try:
                self.refresh()
            except Exception as exc:  # a gauge refresh must never stop the gateway
                _log.error("gateway.metrics_refresh_failed", exc_info=exc)

    # -- exposition ------------------------------------------------------------------------

    def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The metrics text (Prometheus or OpenMetrics, as ``accept`` prefers) and its type."""
        self.refresh()
        encoder, content_type = choose_encoder(accept)
        if self.multiprocess is None:
            return encoder(self.registry), content_type
        merged = CollectorRegistry()
        _multiprocess.MultiProcessCollector(merged, str(self.multiprocess))  # type: ignore[no-untyped-call]
        return encoder(merged), content_type

    async def handle(self, request: web.Request) -> web.Response:
        """``GET /metrics``."""
        accept = request.headers.get("Accept", "")
        if self.multiprocess is None:
            body, content_type = self.exposition(accept)
        else:  # reads every worker's files: keep the event loop free meanwhile
            body, content_type = await asyncio.to_thread(self.exposition, accept)
        return web.Response(body=body, headers={"Content-Type": content_type})


METRICS_KEY = web.AppKey("metrics", GatewayMetrics)


def record_rate_limit_rejection(app: web.Application, route: str) -> None:
    """Count one request refused by the rate limiter (nothing when metrics are off).

    Args:
        app: the gateway application.
        route: the route's name (``Route.name``), or a stable name for unmapped paths.
    """
    metrics = app.get(METRICS_KEY)
    if metrics is not None:
        metrics.rate_limited.labels(route).inc()


def record_job_finished(app: web.Application, route: str, outcome: str, seconds: float) -> None:
    """Count one finished job (succeeded, failed, cancelled) with its duration."""
    metrics = app.get(METRICS_KEY)
    if metrics is not None:
        metrics.job_duration.labels(route, outcome).observe(seconds)


def record_job_retry(app: web.Application, route: str, reason: str) -> None:
    """Count one job attempt retried after a retryable failure."""
    metrics = app.get(METRICS_KEY)
    if metrics is not None:
        metrics.job_retries.labels(route, reason).inc()


def record_job_callback(app: web.Application, outcome: str) -> None:
    """Count one webhook delivery attempt (``delivered``, ``failed``…)."""
    metrics = app.get(METRICS_KEY)
    if metrics is not None:
        metrics.job_callbacks.labels(outcome).inc()


def set_job_queue_depth(app: web.Application, depth: int, queue: str = "default") -> None:
    """Report how many jobs wait in ``queue`` (nothing when metrics are off)."""
    metrics = app.get(METRICS_KEY)
    if metrics is not None:
        metrics.job_queue_depth.labels(queue).set(depth)
