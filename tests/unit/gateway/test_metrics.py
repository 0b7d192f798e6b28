"""Gateway metrics: labels, cached series, state-derived gauges and multiprocess set-up."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import values

from mediator.errors import (
    BulkheadFullError,
    CircuitOpenError,
    ExtractError,
    Fault,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.gateway.app import GatewayRuntime
from mediator.gateway.metrics import (
    GatewayMetrics,
    prepare_multiprocess,
    upstream_label,
    upstream_outcome,
)
from mediator.gateway.settings import GatewaySettings
from mediator.mapping.model import MappingSet


@pytest.fixture
def runtime(orders_mappings: MappingSet) -> GatewayRuntime:
    """A runtime serving the example mappings (its table stands in for a real one)."""
    runtime = GatewayRuntime(GatewaySettings())
    runtime.policies.retain(orders_mappings.upstreams.values())
    runtime.table = SimpleNamespace(mappings=orders_mappings)  # type: ignore[assignment]
    runtime.generation = 1
    return runtime


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float | None:
    """A sample's current value in the metrics' registry."""
    return metrics.registry.get_sample_value(name, labels)


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (None, "success"),
        (Fault(code="Client", string="no"), "fault"),
        (CircuitOpenError("open", retry_after=1), "circuit_open"),
        (BulkheadFullError("full", retry_after=1), "bulkhead_full"),
        (UpstreamTimeout("slow"), "timeout"),
        (UpstreamUnavailable("refused"), "unavailable"),
        (UpstreamProtocolError("html"), "invalid_response"),
        (asyncio.CancelledError(), "cancelled"),
        (ExtractError("bug"), "error"),
    ],
)
def test_upstream_outcomes(error: BaseException | None, outcome: str) -> None:
    """Every way an upstream call ends has its own ``outcome`` label."""
    assert upstream_outcome(error) == outcome


def test_upstream_label_drops_credentials() -> None:
    """A user:password in an upstream address never becomes a label value."""
    key = "orders.wsdl#OrderService/Port@https://svc:hunter2@legacy.example/orders"
    assert upstream_label(key) == "orders.wsdl#OrderService/Port@https://legacy.example/orders"
    assert upstream_label("a.wsdl#S/P@http://host/x") == "a.wsdl#S/P@http://host/x"


def test_requests_and_stage_durations(runtime: GatewayRuntime) -> None:
    """A finished request counts once by route, method and status, and observes its total
    and stage durations; unknown methods are folded into OTHER; series are cached."""
    metrics = GatewayMetrics(runtime)
    timings = {"render": 0.001, "upstream": 0.02, "transform": 0.0005}
    metrics.request_finished("get-order", "GET", 200, 0.03, timings)
    metrics.request_finished("get-order", "GET", 200, 0.04, timings)
    metrics.request_finished("unmatched", "BREW", 405, 0.001, {})
    assert (
        sample(
            metrics, "mediator_http_requests_total", route="get-order", method="GET", status="200"
        )
        == 2
    )
    assert (
        sample(
            metrics, "mediator_http_requests_total", route="unmatched", method="OTHER", status="405"
        )
        == 1
    )
    assert (
        sample(
            metrics, "mediator_http_request_duration_seconds_count", route="get-order", method="GET"
        )
        == 2
    )
    assert sample(
        metrics, "mediator_http_request_duration_seconds_sum", route="get-order", method="GET"
    ) == pytest.approx(0.07)
    assert sample(
        metrics, "mediator_upstream_duration_seconds_sum", route="get-order"
    ) == pytest.approx(0.04)
    assert (
        sample(metrics, "mediator_render_duration_seconds_bucket", route="get-order", le="0.001")
        == 2
    )
    assert len(metrics._statuses) == 2


def test_upstream_calls_by_outcome_and_fault_code(runtime: GatewayRuntime) -> None:
    """Calls count by outcome and fault code; tries beyond the first count as retries."""
    metrics = GatewayMetrics(runtime)
    metrics.upstream_call_finished("u", "GetOrder", None, 1)
    metrics.upstream_call_finished("u", "GetOrder", Fault(code="Server", string="x"), 1)
    metrics.upstream_call_finished("u", "GetOrder", UpstreamUnavailable("x"), 3)
    calls = "mediator_upstream_calls_total"
    assert (
        sample(metrics, calls, upstream="u", operation="GetOrder", outcome="success", fault_code="")
        == 1
    )
    assert (
        sample(
            metrics, calls, upstream="u", operation="GetOrder", outcome="fault", fault_code="Server"
        )
        == 1
    )
    assert (
        sample(
            metrics, calls, upstream="u", operation="GetOrder", outcome="unavailable", fault_code=""
        )
        == 1
    )
    assert (
        sample(metrics, "mediator_upstream_retries_total", upstream="u", operation="GetOrder") == 2
    )


def test_route_series_exist_before_traffic(runtime: GatewayRuntime) -> None:
    """After a (re)load every route's histograms are exported at zero."""
    metrics = GatewayMetrics(runtime)
    metrics.refresh()
    assert (
        sample(
            metrics, "mediator_http_request_duration_seconds_count", route="get-order", method="GET"
        )
        == 0
    )
    assert sample(metrics, "mediator_transform_duration_seconds_count", route="search-orders") == 0
    (upstream,) = runtime.policies.snapshot()
    assert (
        sample(metrics, "mediator_upstream_calls_in_flight", upstream=upstream_label(upstream)) == 0
    )


def test_circuit_state_follows_the_breaker_and_gone_upstreams_disappear(
    runtime: GatewayRuntime, orders_mappings: MappingSet
) -> None:
    """The circuit gauge reads 0/1/2 from each upstream's breaker at refresh; an upstream no
    longer configured loses its series."""
    metrics = GatewayMetrics(runtime)
    (upstream,) = orders_mappings.upstreams.values()
    label = upstream_label(upstream.key)
    metrics.refresh()
    assert sample(metrics, "mediator_upstream_circuit_state", upstream=label) == 0
    breaker = runtime.policies.guard(upstream).breaker
    for _ in range(breaker.policy.failures):
        breaker.failed(breaker.acquire())
    metrics.refresh()
    assert sample(metrics, "mediator_upstream_circuit_state", upstream=label) == 2
    assert sample(metrics, "mediator_upstream_queued", upstream=label) == 0
    runtime.policies.retain([])
    metrics.refresh()
    assert sample(metrics, "mediator_upstream_circuit_state", upstream=label) is None


def test_exposition_negotiates_the_format(runtime: GatewayRuntime) -> None:
    """Prometheus text by default, OpenMetrics when the scraper asks for it."""
    metrics = GatewayMetrics(runtime)
    body, content_type = metrics.exposition("")
    assert content_type.startswith("text/plain") and b"mediator_http_requests_in_flight" in body
    body, content_type = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")


def test_single_worker_leaves_multiprocess_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With one worker the directory belongs to whoever set it: nothing is wiped."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    assert prepare_multiprocess(1) is None
    (tmp_path / "counter_1.db").write_bytes(b"x")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert prepare_multiprocess(1) == tmp_path
    assert (tmp_path / "counter_1.db").exists()


def test_several_workers_get_a_clean_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The supervisor of several workers wipes stale files, or makes a directory when none
    is set, and switches prometheus-client to files."""
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # restored afterwards
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_1.db").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("kept")
    assert prepare_multiprocess(2) == tmp_path
    assert not (tmp_path / "counter_1.db").exists() and (tmp_path / "notes.txt").exists()
    assert getattr(values.ValueClass, "_multiprocess", False)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    made = prepare_multiprocess(2)
    assert made is not None and made.is_dir() and made.name.startswith("mediator-metrics-")
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(made)
    made.rmdir()


def test_dead_worker_loses_its_live_gauges(tmp_path: Path) -> None:
    """In multiprocess mode, marking a worker dead drops its in-flight gauges from the
    merged view while its counters stay."""
    code = textwrap.dedent(
        """
        import os, sys
        from types import SimpleNamespace
        from mediator.gateway.metrics import GatewayMetrics, mark_process_dead
        runtime = SimpleNamespace(policies=SimpleNamespace(snapshot=dict), table=None)
        metrics = GatewayMetrics(runtime)
        metrics.in_flight.inc()
        metrics.request_finished("r", "GET", 200, 0.01, {})
        before = metrics.exposition("")[0].decode()
        mark_process_dead(os.getpid())
        after = metrics.exposition("")[0].decode()
        print("in_flight_before", "mediator_http_requests_in_flight 1.0" in before)
        print("in_flight_after", "mediator_http_requests_in_flight 1.0" in after)
        print("counter_after", 'mediator_http_requests_total{method="GET",route="r",status="200"} 1.0' in after)
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "in_flight_before",
        "True",
        "in_flight_after",
        "False",
        "counter_after",
        "True",
    ]
