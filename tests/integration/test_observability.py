"""Observability against the running gateway: /metrics, health probes, OpenTelemetry spans,
explain traces, structured logs, and that no planted secret reaches any of them."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mediator.gateway.app import RUNTIME_KEY
from mediator.gateway.metrics import (
    record_rate_limit_rejection,
    set_job_queue_depth,
    upstream_label,
)
from mediator.gateway.observe import OBSERVABILITY_KEY
from mediator.gateway.settings import GatewaySettings
from mediator.log import configure_logging
from tests.backends.processes import free_port
from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.conftest import MAPPINGS_DIR, WSDL_DIR
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

Client = TestClient[web.Request, web.Application]
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

ORDER_XML = (
    '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id><Customer><Id>1</Id>'
    "<Name>Ada</Name><Vip>true</Vip></Customer><Status>open</Status>"
    "<OrderDate>2026-01-02</OrderDate><CreatedAt>2026-01-02T03:04:05Z</CreatedAt>"
    "<Total>1.5</Total><Paid>false</Paid>"
    "<Line><Sku>A-1</Sku><Quantity>2</Quantity><UnitPrice>0.5</UnitPrice></Line>"
    "<Line><Sku>B-2</Sku><Quantity>1</Quantity><UnitPrice>0.5</UnitPrice></Line>"
    "</Order></GetOrderResponse>"
)
CREATED_XML = (
    '<CreateOrderResponse xmlns="urn:example:orders"><OrderId>5</OrderId><Status>open</Status>'
    "<Total>2</Total></CreateOrderResponse>"
)
SERVER_FAULT = (
    '<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:Server</faultcode>'
    "<faultstring>Database offline</faultstring></s:Fault>"
)
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

# Planted secrets: none of them may appear in a log line, trace, span or metric.
BEARER = "Bearer planted-bearer-9f2c"
BODY_PASSWORD = "planted-body-password-77d1"
WSSE_PASSWORD = "planted-wsse-password-31ab"


def secured_mapping(directory: Path, *, breaker_failures: int = 5) -> Path:
    """An Orders mapping whose calls carry a WS-Security UsernameToken (password from the
    environment), with a short timeout, no retries and a configurable breaker."""
    text = f"""\
version: 1
env: [SOAP_PASSWORD]
service:
  wsdl: orders.wsdl
  address: ${{ORDERS_URL}}
  timeout: 500ms
  namespaces: {{o: "urn:example:orders", wsse: "{WSSE}"}}
  retries: 0
  circuit_breaker: {{failures: {breaker_failures}, open_for: 30s}}
routes:
  - get: /orders/{{id}}
    name: get-order
    operation: GetOrder
    params: {{path: {{id: integer}}}}
    request:
      args: {{OrderId: "{{{{ path.id }}}}"}}
      soap_header: >-
        <wsse:Security><wsse:UsernameToken><wsse:Username>svc</wsse:Username>
        <wsse:Password>{{{{ env.SOAP_PASSWORD }}}}</wsse:Password></wsse:UsernameToken>
        </wsse:Security>
    response:
      root: o:GetOrderResponse/o:Order
      fields:
        id: o:Id
        status: o:Status
        customer: {{xpath: o:Customer, fields: {{name: o:Name}}}}
        lines: {{xpath: o:Line, list: true, fields: {{sku: o:Sku, quantity: o:Quantity}}}}
  - post: /orders
    name: create-order
    operation: CreateOrder
    request:
      body: >-
        <o:CreateOrder><o:CustomerId>{{{{ body.customerId | int }}}}</o:CustomerId>
        <o:Line><o:Sku>X</o:Sku><o:Quantity>1</o:Quantity><o:UnitPrice>1</o:UnitPrice></o:Line>
        </o:CreateOrder>
    response: {{status: 201, root: o:CreateOrderResponse, fields: {{id: o:OrderId}}}}
"""
    path = directory / "secured.yaml"
    path.write_text(text)
    return path


async def secured_gateway(
    gateway: GatewayFactory, tmp_path: Path, url: str, *, breaker_failures: int = 5, **kwargs: Any
) -> Client:
    """A gateway serving :func:`secured_mapping` against ``url``."""
    return await gateway(
        paths=[secured_mapping(tmp_path, breaker_failures=breaker_failures)],
        environ={"ORDERS_URL": url, "SOAP_PASSWORD": WSSE_PASSWORD},
        **kwargs,
    )


def upstream_of(client: Client) -> str:
    """The ``upstream`` label of the gateway's only upstream."""
    table = client.server.app[RUNTIME_KEY].table
    assert table is not None
    (upstream,) = table.mappings.upstreams.values()
    return upstream_label(upstream.key)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def parse_metrics(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: Client) -> Samples:
    """``GET /metrics``, parsed."""
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    return parse_metrics(await response.text())


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


# -- metrics --------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_method_and_status(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Mapped requests count under their route name, others under the endpoint or
    ``unmatched``; latency histograms get one observation per request and stage."""
    backend, url = scripted
    client = await secured_gateway(gateway, tmp_path, url)
    before = await scrape(client)
    assert (
        value(before, "mediator_http_requests_total", route="get-order", method="GET", status="200")
        == 0
    )
    # Route series exist (at 0) before the first request.
    assert (
        "mediator_http_request_duration_seconds_count",
        frozenset({("route", "get-order"), ("method", "GET")}),
    ) in before
    backend.reply = Reply(body=envelope(ORDER_XML))
    for _ in range(3):
        assert (await client.get("/orders/7")).status == 200
    backend.reply = Reply(body=envelope(CREATED_XML))
    assert (await client.post("/orders", json={"customerId": 1})).status == 201
    assert (await client.get("/nowhere")).status == 404
    assert (await client.delete("/orders/7")).status == 405
    assert (await client.get("/healthz")).status == 200
    samples = await scrape(client)
    assert (
        value(
            samples, "mediator_http_requests_total", route="get-order", method="GET", status="200"
        )
        == 3
    )
    assert (
        value(
            samples,
            "mediator_http_requests_total",
            route="create-order",
            method="POST",
            status="201",
        )
        == 1
    )
    assert (
        value(
            samples, "mediator_http_requests_total", route="unmatched", method="GET", status="404"
        )
        == 1
    )
    assert (
        value(
            samples,
            "mediator_http_requests_total",
            route="unmatched",
            method="DELETE",
            status="405",
        )
        == 1
    )
    assert (
        value(samples, "mediator_http_requests_total", route="/healthz", method="GET", status="200")
        == 1
    )
    assert (
        value(samples, "mediator_http_requests_total", route="/metrics", method="GET", status="200")
        == 1
    )
    assert (
        value(
            samples, "mediator_http_request_duration_seconds_count", route="get-order", method="GET"
        )
        == 3
    )
    for stage in ("render", "upstream", "transform"):
        assert value(samples, f"mediator_{stage}_duration_seconds_count", route="get-order") == 3
        assert value(samples, f"mediator_{stage}_duration_seconds_sum", route="get-order") > 0
    assert (
        value(
            samples,
            "mediator_upstream_calls_total",
            upstream=upstream_of(client),
            operation="GetOrder",
            outcome="success",
            fault_code="",
        )
        == 3
    )
    # Only the scrape being answered is in flight.
    assert value(samples, "mediator_http_requests_in_flight") == 1
    assert value(samples, "mediator_upstream_calls_in_flight", upstream=upstream_of(client)) == 0


async def test_upstream_outcomes_fault_codes_and_circuit_state(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Faults count with their code; timeouts, unusable answers and breaker refusals with
    their outcome; the circuit-state gauge follows the breaker."""
    backend, url = scripted
    client = await secured_gateway(gateway, tmp_path, url, breaker_failures=2)
    backend.reply = Reply(body=envelope(SERVER_FAULT), status=500)
    assert (await client.get("/orders/1")).status == 502
    backend.reply = Reply(body=b"<html>oops</html>", status=502, content_type="text/html")
    assert (await client.get("/orders/1")).status == 502
    samples = await scrape(client)
    assert value(samples, "mediator_upstream_circuit_state", upstream=upstream_of(client)) == 0
    backend.reply = Reply(body=envelope(ORDER_XML), delay=1.0)
    assert (await client.get("/orders/1")).status == 504  # second gateway failure: opens
    assert (await client.get("/orders/1")).status == 503
    samples = await scrape(client)
    calls = "mediator_upstream_calls_total"
    labels = {"upstream": upstream_of(client), "operation": "GetOrder"}
    assert value(samples, calls, **labels, outcome="fault", fault_code="Server") == 1
    assert value(samples, calls, **labels, outcome="invalid_response", fault_code="") == 1
    assert value(samples, calls, **labels, outcome="timeout", fault_code="") == 1
    assert value(samples, calls, **labels, outcome="circuit_open", fault_code="") == 1
    assert value(samples, "mediator_upstream_circuit_state", upstream=upstream_of(client)) == 2
    assert (
        value(
            samples, "mediator_http_requests_total", route="get-order", method="GET", status="503"
        )
        == 1
    )


async def test_retries_are_counted(gateway: GatewayFactory) -> None:
    """Tries beyond the first (a refused connection is retried) add to the retry counter,
    matching the upstream's own retry count."""
    client = await gateway(environ={"ORDERS_SOAP_URL": f"http://127.0.0.1:{closed_port()}/orders"})
    assert (await client.get("/orders/1")).status == 502
    samples = await scrape(client)
    (health,) = client.server.app[RUNTIME_KEY].policies.snapshot().values()
    assert health.retries > 0
    assert (
        value(
            samples,
            "mediator_upstream_retries_total",
            upstream=upstream_label(health.upstream),
            operation="GetOrder",
        )
        == health.retries
    )
    assert (
        value(
            samples,
            "mediator_upstream_calls_total",
            upstream=upstream_label(health.upstream),
            operation="GetOrder",
            outcome="unavailable",
            fault_code="",
        )
        == 1
    )


async def test_in_flight_gauges_while_calls_are_under_way(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Requests and upstream calls under way are counted while they last, then drop to 0."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML), delay=0.4)
    client = await secured_gateway(gateway, tmp_path, url)
    slow = [asyncio.ensure_future(client.get("/orders/7")) for _ in range(2)]
    for _ in range(500):  # both calls reach the backend (at most 5 s)
        if len(backend.received) >= 2:
            break
        await asyncio.sleep(0.01)
    during = await scrape(client)
    assert value(during, "mediator_http_requests_in_flight") == 3  # two calls and the scrape
    assert value(during, "mediator_upstream_calls_in_flight", upstream=upstream_of(client)) == 2
    assert all(r.status == 200 for r in await asyncio.gather(*slow))
    after = await scrape(client)
    assert value(after, "mediator_http_requests_in_flight") == 1
    assert value(after, "mediator_upstream_calls_in_flight", upstream=upstream_of(client)) == 0


async def test_rate_limit_and_job_queue_metrics_have_public_hooks(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    """The rate limiter and the jobs subsystem report through public functions."""
    client = await secured_gateway(gateway, tmp_path, "http://127.0.0.1:9/orders")
    record_rate_limit_rejection(client.server.app, "get-order")
    record_rate_limit_rejection(client.server.app, "get-order")
    set_job_queue_depth(client.server.app, 7, queue="nightly")
    set_job_queue_depth(client.server.app, 3, queue="bulk")
    samples = await scrape(client)
    assert value(samples, "mediator_rate_limit_rejections_total", route="get-order") == 2
    assert value(samples, "mediator_job_queue_depth", queue="nightly") == 7
    assert value(samples, "mediator_job_queue_depth", queue="bulk") == 3


async def test_openmetrics_is_served_when_asked_for(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    """A scraper asking for OpenMetrics gets it; process metrics are included."""
    client = await secured_gateway(gateway, tmp_path, "http://127.0.0.1:9/orders")
    response = await client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    text = await response.text()
    assert text.rstrip().endswith("# EOF")
    assert "process_cpu_seconds_total" in (await (await client.get("/metrics")).text())


async def test_metrics_can_be_switched_off(gateway: GatewayFactory, tmp_path: Path) -> None:
    """With metrics (and everything else) off there is no /metrics and no request
    observation at all."""
    client = await secured_gateway(
        gateway, tmp_path, "http://127.0.0.1:9/orders", settings=GatewaySettings(metrics=False)
    )
    response = await client.get("/metrics")
    assert response.status == 404
    assert (await response.json())["type"] == "urn:mediator:problem:not-found"
    assert OBSERVABILITY_KEY not in client.server.app


# -- multiprocess -------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback URLs built here
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_ready(url: str, process: subprocess.Popen[bytes], deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert process.poll() is None, "the gateway exited"
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready within {deadline}s")


@pytest.fixture
def serve_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Started ``mediator serve`` processes, stopped (SIGINT) at the end."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _serve(
    port: int, env: dict[str, str], mapping: Path = MAPPINGS_DIR, *extra: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mediator",
            "serve",
            str(mapping),
            "--wsdl-dir",
            str(WSDL_DIR),
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def test_two_processes_share_one_multiprocess_directory(
    tmp_path: Path, serve_processes: list[subprocess.Popen[bytes]]
) -> None:
    """Two gateway processes writing to one PROMETHEUS_MULTIPROC_DIR: a scrape of either
    one reports the totals of both; live gauges add up across processes."""
    orders_url = f"http://127.0.0.1:{closed_port()}/orders"
    directory = tmp_path / "metrics"
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "ORDERS_URL": orders_url,
        "SOAP_PASSWORD": WSSE_PASSWORD,
    }
    mapping = secured_mapping(tmp_path, breaker_failures=1000)
    upstream = f"orders.wsdl#OrderService/OrderPortSoap11@{orders_url}"
    ports = [free_port(), free_port()]
    for port in ports:
        serve_processes.append(_serve(port, env, mapping))
    for port, process in zip(ports, serve_processes, strict=True):
        _wait_ready(f"http://127.0.0.1:{port}/readyz", process)
    for port, count in zip(ports, (3, 2), strict=True):
        for _ in range(count):
            assert _get(f"http://127.0.0.1:{port}/orders/1")[0] == 502
    pids = {path.stem.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}
    assert pids == {str(p.pid) for p in serve_processes}
    for port in ports:
        status, text = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        samples = parse_metrics(text)
        requests = "mediator_http_requests_total"
        assert value(samples, requests, route="get-order", method="GET", status="502") == 5
        calls = "mediator_upstream_calls_total"
        assert (
            value(
                samples,
                calls,
                upstream=upstream,
                operation="GetOrder",
                outcome="unavailable",
                fault_code="",
            )
            == 5
        )
        assert (
            value(
                samples,
                "mediator_http_request_duration_seconds_count",
                route="get-order",
                method="GET",
            )
            == 5
        )
        assert value(samples, "mediator_http_requests_in_flight") == 1  # this scrape only
        assert value(samples, "mediator_upstream_circuit_state", upstream=upstream) == 0


def test_workers_share_metrics(
    tmp_path: Path, serve_processes: list[subprocess.Popen[bytes]]
) -> None:
    """``serve --workers 2``: whichever worker answers a scrape reports every worker's
    requests."""
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "ORDERS_SOAP_URL": f"http://127.0.0.1:{closed_port()}/orders",
    }
    (tmp_path / "counter_1.db").write_bytes(b"stale")  # an earlier run's file: wiped
    port = free_port()
    serve_processes.append(_serve(port, env, MAPPINGS_DIR, "--workers", "2"))
    _wait_ready(f"http://127.0.0.1:{port}/readyz", serve_processes[0])
    for _ in range(12):
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    assert not (tmp_path / "counter_1.db").exists()
    for _ in range(4):
        samples = parse_metrics(_get(f"http://127.0.0.1:{port}/metrics")[1])
        assert (
            value(
                samples,
                "mediator_http_requests_total",
                route="/healthz",
                method="GET",
                status="200",
            )
            == 12
        )


def test_serve_flags_switch_endpoints(
    tmp_path: Path, serve_processes: list[subprocess.Popen[bytes]]
) -> None:
    """``--dev`` serves explain traces; ``--no-metrics`` removes /metrics."""
    env = {**os.environ, "ORDERS_SOAP_URL": f"http://127.0.0.1:{closed_port()}/orders"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    serve_processes.append(_serve(port, env, MAPPINGS_DIR, "--dev", "--no-metrics"))
    base = f"http://127.0.0.1:{port}"
    _wait_ready(f"{base}/readyz", serve_processes[0])
    assert _get(f"{base}/metrics")[0] == 404
    request = urllib.request.Request(f"{base}/orders/1", headers={"X-Request-ID": "flag-1"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=5)
    status, text = _get(f"{base}/_mediator/traces/flag-1")
    assert status == 200
    assert json.loads(text)["response"]["status"] == 502
    assert json.loads(_get(f"{base}/_mediator/traces")[1])["capacity"] == 100


# -- health ---------------------------------------------------------------------------------


async def test_health_probes(gateway: GatewayFactory, tmp_path: Path) -> None:
    """/healthz is 200 while serving; /readyz is 200 with routes and circuit states, and 503
    without a routing table or once shutdown has begun (draining)."""
    client = await secured_gateway(gateway, tmp_path, "http://127.0.0.1:9/orders")
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    response = await client.get("/readyz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ready",
        "routes": 2,
        "generation": 1,
        "upstreams": {upstream_of(client): "closed"},
    }
    runtime = client.server.app[RUNTIME_KEY]
    table, runtime.table = runtime.table, None
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["reasons"] == ["mappings_not_loaded"]
    runtime.table = table
    await client.server.app.shutdown()  # what aiohttp runs on SIGTERM, before cleanup
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["reasons"] == ["draining"]
    assert (await client.get("/healthz")).status == 200


async def test_readiness_can_require_closed_circuits(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """With ``readyz_upstreams``, an open circuit makes /readyz 503 (and says which)."""
    backend, url = scripted
    backend.reply = Reply(body=b"no", status=500, content_type="text/plain")
    client = await secured_gateway(
        gateway, tmp_path, url, breaker_failures=1, settings=GatewaySettings(readyz_upstreams=True)
    )
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/orders/1")).status == 502
    response = await client.get("/readyz")
    assert response.status == 503
    body = await response.json()
    assert body["reasons"] == ["circuit_open"]
    assert body["upstreams"] == {upstream_of(client): "open"}


# -- tracing --------------------------------------------------------------------------------


@pytest.fixture
def spans() -> Any:
    """An OpenTelemetry tracer provider exporting to memory, and its exporter."""
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_spans_of_a_request_and_traceparent_propagation(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path, spans: Any
) -> None:
    """A server span continues the client's traceparent; render, upstream and transform are
    its children; the upstream receives the traceparent of the upstream span."""
    provider, exporter = spans
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await secured_gateway(gateway, tmp_path, url, tracer_provider=provider)
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = await client.get(
        "/orders/7", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"}
    )
    assert response.status == 200
    finished = {span.name: span for span in exporter.get_finished_spans()}
    assert set(finished) == {"GET /orders/{id}", "render", "upstream GetOrder", "transform"}
    server = finished["GET /orders/{id}"]
    assert format(server.context.trace_id, "032x") == trace_id
    assert server.parent is not None and format(server.parent.span_id, "016x") == parent_id
    assert server.kind.name == "SERVER"
    assert server.attributes["http.route"] == "/orders/{id}"
    assert server.attributes["http.response.status_code"] == 200
    assert server.attributes["mediator.route"] == "get-order"
    for name in ("render", "upstream GetOrder", "transform"):
        assert finished[name].parent.span_id == server.context.span_id
        assert finished[name].context.trace_id == server.context.trace_id
    upstream = finished["upstream GetOrder"]
    assert upstream.kind.name == "CLIENT"
    assert upstream.attributes["rpc.system"] == "soap"
    assert upstream.attributes["rpc.method"] == "GetOrder"
    assert upstream.attributes["soap.operation"] == "GetOrder"
    assert upstream.attributes["url.full"] == f"{url}"
    assert upstream.attributes["server.address"] == "127.0.0.1"
    assert upstream.attributes["mediator.upstream.outcome"] == "success"
    assert upstream.attributes["http.response.status_code"] == 200
    sent = backend.received[-1].headers["traceparent"]
    assert sent == f"00-{trace_id}-{format(upstream.context.span_id, '016x')}-01"


async def test_fault_attributes_and_error_status(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path, spans: Any
) -> None:
    """A SOAP fault marks the upstream span failed with the fault code; a new trace starts
    without a traceparent; a 5xx marks the server span failed."""
    provider, exporter = spans
    backend, url = scripted
    backend.reply = Reply(body=envelope(SERVER_FAULT), status=500)
    client = await secured_gateway(gateway, tmp_path, url, tracer_provider=provider)
    assert (await client.get("/orders/7")).status == 502
    finished = {span.name: span for span in exporter.get_finished_spans()}
    upstream, server = finished["upstream GetOrder"], finished["GET /orders/{id}"]
    assert server.parent is None
    assert upstream.attributes["soap.fault.code"] == "Server"
    assert upstream.attributes["mediator.upstream.outcome"] == "fault"
    assert upstream.status.status_code.name == "ERROR"
    assert upstream.attributes["error.type"] == "fault"
    assert "transform" not in finished
    assert server.status.status_code.name == "ERROR"
    assert server.attributes["http.response.status_code"] == 502
    assert not upstream.events  # no exception (and so no upstream text) is recorded


async def test_tracing_is_off_by_default(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Without tracing, no span is made and the upstream gets no traceparent."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await secured_gateway(gateway, tmp_path, url)
    assert client.server.app[OBSERVABILITY_KEY].tracer is None
    assert (await client.get("/orders/7")).status == 200
    assert "traceparent" not in backend.received[-1].headers


async def test_otel_setting_uses_the_global_provider(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """``otel`` on with no provider configured in the process (the API's no-op default)
    traces nothing and changes no answer."""
    pytest.importorskip("opentelemetry")
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await secured_gateway(gateway, tmp_path, url, settings=GatewaySettings(otel=True))
    assert client.server.app[OBSERVABILITY_KEY].tracer is not None
    assert (await client.get("/orders/7")).status == 200
    backend.reply = Reply(body=envelope(SERVER_FAULT), status=500)
    assert (await client.get("/orders/7")).status == 502


# -- explain traces -----------------------------------------------------------------------


async def test_explain_trace_of_a_translation(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """The trace holds the request, the envelope sent, the raw answer, every XPath with its
    matches, the JSON returned and the timings."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await secured_gateway(gateway, tmp_path, url, settings=GatewaySettings(explain=10))
    response = await client.get("/orders/7?verbose=1", headers={"X-Request-ID": "explain-1"})
    assert response.status == 200
    response = await client.get("/_mediator/traces/explain-1")
    assert response.status == 200
    trace = await response.json()
    assert trace["request_id"] == "explain-1"
    assert trace["route"] == "get-order" and trace["operation"] == "GetOrder"
    assert trace["mapping"].endswith("secured.yaml:11")  # the route's line
    assert trace["request"]["method"] == "GET"
    assert trace["request"]["path"] == "/orders/7"
    assert trace["request"]["query"] == {"verbose": "1"}
    upstream = trace["upstream"]
    assert upstream["url"] == url and upstream["status"] == 200 and upstream["attempts"] == 1
    assert "<ns0:OrderId>7</ns0:OrderId>" in upstream["envelope"]
    assert upstream["response"] == envelope(ORDER_XML).decode()
    entries = {entry["path"]: entry for entry in trace["extraction"]}
    assert entries[""] == {"path": "", "xpath": "o:GetOrderResponse/o:Order", "matched": 1}
    assert entries["id"]["matched"] == 1 and entries["id"]["values"] == ["7"]
    assert entries["id"]["type"] == "integer"
    assert entries["customer.name"]["values"] == ["Ada"]
    assert entries["lines"]["matched"] == 2 and entries["lines"]["list"] is True
    assert entries["lines[1].sku"]["values"] == ["B-2"]
    assert trace["response"] == {
        "status": 200,
        "body": {
            "id": 7,
            "status": "open",
            "customer": {"name": "Ada"},
            "lines": [{"sku": "A-1", "quantity": 2}, {"sku": "B-2", "quantity": 1}],
        },
    }
    assert {"render_ms", "upstream_ms", "transform_ms", "total_ms"} <= trace["timings"].keys()
    listing = await (await client.get("/_mediator/traces")).json()
    assert listing["capacity"] == 10
    assert [t["request_id"] for t in listing["traces"]] == ["explain-1"]


async def test_explain_trace_of_a_failed_extraction_shows_what_matched(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """When the answer does not fit the mapping, the trace shows the XPaths that matched
    nothing or the wrong thing, and the problem returned."""
    backend, url = scripted
    backend.reply = Reply(
        body=envelope(
            '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>seven</Id></Order></GetOrderResponse>'
        )
    )
    client = await secured_gateway(gateway, tmp_path, url, settings=GatewaySettings(explain=10))
    assert (await client.get("/orders/7", headers={"X-Request-ID": "bad-1"})).status == 502
    trace = await (await client.get("/_mediator/traces/bad-1")).json()
    entries = {entry["path"]: entry for entry in trace["extraction"]}
    assert entries["id"]["values"] == ["seven"]
    assert entries["customer"]["matched"] == 0
    assert trace["response"]["status"] == 502
    assert trace["response"]["body"]["type"] == "urn:mediator:problem:upstream-unexpected-response"


async def test_explain_buffer_is_bounded_and_unknown_ids_are_404(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Only the last N translations are kept; an unknown id is a 404 problem; requests that
    are not translations (probes, metrics, unmatched paths) are not kept."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await secured_gateway(gateway, tmp_path, url, settings=GatewaySettings(explain=2))
    for index in range(3):
        await client.get("/orders/7", headers={"X-Request-ID": f"ring-{index}"})
    await client.get("/healthz", headers={"X-Request-ID": "probe"})
    await client.get("/nowhere", headers={"X-Request-ID": "lost"})
    response = await client.get("/_mediator/traces/ring-0")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["type"] == "urn:mediator:problem:not-found"
    assert body["title"] == "Trace Not Found"
    for kept in ("ring-1", "ring-2"):
        assert (await client.get(f"/_mediator/traces/{kept}")).status == 200
    for ignored in ("probe", "lost"):
        assert (await client.get(f"/_mediator/traces/{ignored}")).status == 404
    listing = await (await client.get("/_mediator/traces")).json()
    assert [t["request_id"] for t in listing["traces"]] == ["ring-2", "ring-1"]


async def test_explain_endpoint_only_exists_when_enabled(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Without explain, /_mediator/traces/… is an ordinary unmapped path."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await secured_gateway(gateway, tmp_path, url)
    await client.get("/orders/7", headers={"X-Request-ID": "nope-1"})
    response = await client.get("/_mediator/traces/nope-1")
    assert response.status == 404
    assert (await response.json())["title"] == "Not Found"
    assert (await client.get("/_mediator/traces")).status == 404


# -- logs and secrets -----------------------------------------------------------------------


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Every log line, rendered as in production (JSON, redaction processor), into a buffer."""
    buffer = io.StringIO()
    configure_logging(level="debug", json=True)
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(file=buffer), cache_logger_on_first_use=False
    )
    yield buffer
    structlog.reset_defaults()


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def test_every_line_of_a_request_carries_its_request_id(
    gateway: GatewayFactory,
    scripted: tuple[ScriptedBackend, str],
    tmp_path: Path,
    log_output: io.StringIO,
) -> None:
    """Each line logged while a request is handled (faults, timeouts, breaker events, the
    access line) has that request's id; event names are stable ``layer.noun_verbed``."""
    backend, url = scripted
    client = await secured_gateway(gateway, tmp_path, url, breaker_failures=1)
    log_output.seek(0)
    log_output.truncate()
    backend.reply = Reply(body=envelope(SERVER_FAULT), status=500)
    await client.get("/orders/1", headers={"X-Request-ID": "rid-fault"})
    backend.reply = Reply(body=envelope(ORDER_XML), delay=1.0)
    await client.get("/orders/1", headers={"X-Request-ID": "rid-timeout"})
    await client.get("/orders/1", headers={"X-Request-ID": "rid-open"})
    # The jobs subsystem's background sweeps log outside any request.
    lines = [line for line in _lines(log_output) if line.get("component") != "mediator.jobs"]
    by_id: dict[str, list[str]] = {}
    for line in lines:
        assert "request_id" in line, line
        by_id.setdefault(line["request_id"], []).append(line["event"])
        assert line["event"].count(".") == 1 and line["event"].islower()
    assert by_id["rid-fault"] == ["gateway.fault_returned", "gateway.request_handled"]
    assert "upstream.circuit_opened" in by_id["rid-timeout"]
    assert "upstream.call_timed_out" in by_id["rid-timeout"]
    assert by_id["rid-open"] == ["upstream.call_rejected", "gateway.request_handled"]


async def test_planted_secrets_reach_no_log_trace_span_or_metric(
    gateway: GatewayFactory,
    scripted: tuple[ScriptedBackend, str],
    tmp_path: Path,
    log_output: io.StringIO,
    spans: Any,
) -> None:
    """An Authorization header, a password in a JSON body and a WS-Security password in the
    SOAP header appear in no log line, explain trace, span or metric label — though the
    password really was sent upstream."""
    provider, exporter = spans
    backend, url = scripted
    client = await secured_gateway(
        gateway,
        tmp_path,
        url,
        settings=GatewaySettings(explain=10),
        tracer_provider=provider,
    )
    headers = {"Authorization": BEARER, "X-Request-ID": "secret-1"}
    backend.reply = Reply(body=envelope(CREATED_XML))
    body = {"customerId": 1, "login": {"user": "ada", "password": BODY_PASSWORD}}
    assert (await client.post("/orders", json=body, headers=headers)).status == 201
    backend.reply = Reply(body=envelope(ORDER_XML))
    headers["X-Request-ID"] = "secret-2"
    assert (await client.get("/orders/7", headers=headers)).status == 200
    backend.reply = Reply(body=envelope(SERVER_FAULT), status=500)
    headers["X-Request-ID"] = "secret-3"
    assert (await client.get("/orders/7", headers=headers)).status == 502
    assert WSSE_PASSWORD.encode() in backend.received[-1].body  # it did go upstream

    traces = [await (await client.get(f"/_mediator/traces/secret-{i}")).text() for i in (1, 2, 3)]
    metrics = await (await client.get("/metrics")).text()
    span_dump = json.dumps(
        [
            {
                "name": span.name,
                "attributes": dict(span.attributes or {}),
                "events": [dict(e.attributes or {}) for e in span.events],
                "status": span.status.description,
            }
            for span in exporter.get_finished_spans()
        ]
    )
    logs = log_output.getvalue()
    assert len(logs.splitlines()) >= 3
    for secret in (BEARER, "planted-bearer", BODY_PASSWORD, WSSE_PASSWORD):
        for where, text in (("logs", logs), ("metrics", metrics), ("spans", span_dump)):
            assert secret not in text, f"{secret!r} leaked into {where}"
        for trace in traces:
            assert secret not in trace, f"{secret!r} leaked into an explain trace"
    first = json.loads(traces[0])
    assert first["request"]["headers"]["Authorization"] == "[REDACTED]"
    assert first["request"]["body"] == {
        "customerId": 1,
        "login": {"user": "ada", "password": "[REDACTED]"},
    }
    sent = json.loads(traces[1])["upstream"]["envelope"]
    assert "<wsse:Password>[REDACTED]</wsse:Password>" in sent
    assert "<wsse:Username>svc</wsse:Username>" in sent
