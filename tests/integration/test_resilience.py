"""Upstream resilience against a fault-injecting backend: deadlines, hostile answers, fault
classes, retries, circuit breaker, bulkheads and client disconnects.

Each test checks the status and problem body the client gets *and* the side effects: what
the backend received, whether the gateway hung up on it, the breaker and bulkhead state, and
that a canary server referenced by XXE payloads was never contacted.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from mediator.gateway.app import RUNTIME_KEY, create_app
from mediator.mapping.loader import load_mappings
from mediator.upstream.policies import UpstreamHealth
from mediator.upstream.wsdl import WsdlRegistry
from tests.backends.faulty import (
    SECRET,
    Canary,
    FaultyBackend,
    RawBackend,
    closed_port,
    unresponsive_port,
)
from tests.conftest import WSDL_DIR
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

Client = TestClient[web.Request, web.Application]


@dataclass
class Rig:
    """The faulty backend, its base URL and the canary."""

    backend: FaultyBackend
    url: str
    canary: Canary


@pytest.fixture
async def rig(aiohttp_server: Callable[..., Any]) -> AsyncIterator[Rig]:
    canary = await Canary().start()
    backend = FaultyBackend(canary_url=canary.url)
    server = await aiohttp_server(backend.app())
    yield Rig(backend, str(server.make_url("")).rstrip("/"), canary)
    await canary.stop()


def write_mapping(
    directory: Path,
    *,
    name: str = "orders",
    prefix: str = "",
    service: str = "",
    get_route: str = "",
    post_route: str = "",
    timeout: str = "2s",
    connect_timeout: str = "1s",
) -> Path:
    """An Orders mapping whose address is ``${<NAME>_URL}``, with extra YAML lines."""
    lines = [
        "version: 1",
        "service:",
        "  wsdl: orders.wsdl",
        f"  address: ${{{name.upper()}_URL}}",
        f"  timeout: {timeout}",
        f"  connect_timeout: {connect_timeout}",
        '  namespaces: {o: "urn:example:orders"}',
        *(f"  {line}" for line in service.splitlines() if line.strip()),
        "routes:",
        f"  - get: {prefix}/orders/{{id}}",
        "    operation: GetOrder",
        "    params: {path: {id: integer}}",
        '    request: {args: {OrderId: "{{ path.id }}"}}',
        "    response: {root: o:GetOrderResponse/o:Order, fields: {id: o:Id, status: o:Status}}",
        *(f"    {line}" for line in get_route.splitlines() if line.strip()),
        f"  - post: {prefix}/orders",
        "    operation: CreateOrder",
        '    request: {body: "<o:CreateOrder><o:CustomerId>1</o:CustomerId></o:CreateOrder>"}',
        "    response: {status: 201, root: o:CreateOrderResponse, fields: {id: o:OrderId}}",
        *(f"    {line}" for line in post_route.splitlines() if line.strip()),
    ]
    path = directory / f"{name}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def start(gateway: GatewayFactory, tmp_path: Path, url: str, **mapping: Any) -> Client:
    """A gateway in front of one Orders upstream at ``url``."""
    return await gateway(paths=[write_mapping(tmp_path, **mapping)], environ={"ORDERS_URL": url})


def health(client: Client) -> UpstreamHealth:
    """The resilience state of the gateway's only upstream."""
    (state,) = client.server.app[RUNTIME_KEY].policies.snapshot().values()
    return state


async def eventually(predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Whether ``predicate`` becomes true within ``timeout`` seconds (polled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return predicate()


async def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """The problem body, checked for status, type, content type and leaks."""
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json()
    assert body["type"] == f"urn:mediator:problem:{slug}"
    assert body["status"] == status
    assert SECRET not in str(body) and "Traceback" not in str(body)
    return body


def events(logs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


# -- deadlines ----------------------------------------------------------------------------


async def test_connect_timeout_is_504_not_sent_and_retried(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    """A connection that cannot be opened in time is retried (nothing was sent), then a 504
    saying the request was not sent, within the total deadline."""
    with unresponsive_port() as port:
        client = await start(
            gateway,
            tmp_path,
            f"http://127.0.0.1:{port}/orders",
            service="retries: {max: 2, backoff: 10ms}",
            connect_timeout="150ms",
            timeout="3s",
        )
        started = time.monotonic()
        with capture_logs() as logs:
            response = await client.post("/orders")
        elapsed = time.monotonic() - started
    body = await problem(response, 504, "upstream-timeout")
    assert body["outcome"] == "not-sent"
    assert "not sent" in body["detail"]
    assert events(logs, "gateway.request_handled")[0]["upstream_attempts"] == 3
    assert 0.4 < elapsed < 2.5


async def test_route_timeout_overrides_the_service_and_closes_the_connection(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """A route's own timeout applies; past it: 504, the upstream connection is closed and no
    task of the call is left behind."""
    client = await start(
        gateway,
        tmp_path,
        f"{rig.url}/hang",
        timeout="30s",
        get_route="timeout: 300ms\nidempotent: false",
    )
    assert (await client.get("/nowhere")).status == 404  # the client's keep-alive task exists
    tasks_before = len(asyncio.all_tasks())
    started = time.monotonic()
    response = await client.get("/orders/7")
    assert time.monotonic() - started < 2
    body = await problem(response, 504, "upstream-timeout")
    assert body["outcome"] == "unknown"
    assert await eventually(lambda: rig.backend.hung_up == ["hang"])
    assert rig.backend.count() == 1
    assert await eventually(lambda: len(asyncio.all_tasks()) <= tasks_before)
    assert health(client).bulkhead.in_flight == 0


async def test_trickling_answer_hits_the_total_deadline(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """The deadline covers the whole body: an answer trickling in byte by byte is cut off."""
    client = await start(gateway, tmp_path, f"{rig.url}/trickle/0.02", timeout="400ms")
    response = await client.get("/orders/7")
    await problem(response, 504, "upstream-timeout")
    assert await eventually(lambda: rig.backend.hung_up == ["trickle"])


async def test_non_idempotent_timeout_is_never_retried_and_says_outcome_unknown(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """A POST that timed out after being sent is not retried, even with retries left and
    time left, and its 504 says the outcome is unknown."""
    client = await start(
        gateway,
        tmp_path,
        f"{rig.url}/hang",
        timeout="5s",
        service="retries: {max: 3, per_try_timeout: 200ms}",
    )
    response = await client.post("/orders")
    body = await problem(response, 504, "upstream-timeout")
    assert body["outcome"] == "unknown"
    assert "unknown" in body["detail"] and "not idempotent" in body["detail"]
    await asyncio.sleep(0.3)
    assert rig.backend.count() == 1


# -- hostile and broken answers ------------------------------------------------------------

HOSTILE = {
    "oversize": "larger than",
    "oversize-declared": "larger than",
    "gzip-bomb": "larger than",
    "deflate-bomb": "larger than",
    "xxe-external": "DTD",
    "xxe-parameter": "DTD",
    "xxe-dtd": "DTD",
    "xxe-public": "DTD",
    "xxe-utf16": "DTD",
    "billion-laughs": "DTD",
    "deep": "nested deeper than 128",
    "very-deep": "ill-formed",  # beyond libxml2's own limit of 256 levels
    "wide": "children",
    "many-attributes": "attributes",
    "many-namespaces": "namespaces",
    "long-name": "name is too long",
    "big-attribute": "larger than",
    "truncated": "ill-formed",
    "cut-body": "truncated",
    "not-envelope": "not a SOAP envelope",
    "wrong-version": "SOAP 1.2 envelope",
    "html-error": "content type",
    "html-200": "content type",
    "proxy-502": "content type",
    "wrong-content-type": "content type",
    "octet-stream": "content type",
    "garbage": "ill-formed",
    "http-500-no-fault": "without a SOAP fault",
    "redirect": "content type",
}


@pytest.mark.parametrize(("mode", "reason"), sorted(HOSTILE.items()))
async def test_hostile_answer_is_502_and_nothing_is_fetched(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig, mode: str, reason: str
) -> None:
    """Every unusable answer is a 502 invalid-response problem without the upstream's bytes,
    rejected by the intended defence; the canary (XXE, redirect targets) sees nothing."""
    client = await start(gateway, tmp_path, f"{rig.url}/{mode}")
    with capture_logs() as logs:
        response = await client.get("/orders/7")
    body = await problem(response, 502, "upstream-invalid-response")
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id"}
    (rejected,) = events(logs, "upstream.response_rejected")
    assert reason in rejected["reason"]
    assert SECRET not in str(logs)
    await asyncio.sleep(0.05)
    assert rig.canary.connections == 0 and rig.canary.data == b""


@pytest.mark.parametrize("mode", ["gzip-bomb", "deflate-bomb"])
async def test_compression_bomb_keeps_memory_bounded(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig, mode: str
) -> None:
    """A 128 MiB compression bomb against the default 10 MiB cap: refused after at most the
    cap was inflated (traced peak far below the inflated size), connection discarded."""
    from tests.backends.faulty import compression_bomb

    encoding = mode.split("-")[0]
    assert len(compression_bomb(encoding)) < 1024 * 1024  # built before tracing
    client = await start(gateway, tmp_path, f"{rig.url}/{mode}")
    tracemalloc.start()
    try:
        response = await client.get("/orders/7")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await problem(response, 502, "upstream-invalid-response")
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    assert await eventually(lambda: rig.backend.received[-1].connection_closed)


async def test_oversize_stream_is_cut_off_not_drained(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """A 64 MiB answer is abandoned at the cap: the backend's writes fail (connection closed)."""
    client = await start(
        gateway, tmp_path, f"{rig.url}/oversize", service="max_response_size: 1MiB"
    )
    response = await client.get("/orders/7")
    await problem(response, 502, "upstream-invalid-response")
    assert await eventually(lambda: rig.backend.hung_up == ["oversize"])


# -- faults --------------------------------------------------------------------------------


async def test_client_fault_is_422_not_retried_and_not_a_breaker_failure(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """A Client fault is a 422 with the fault as JSON; an idempotent route does not retry it
    and the breaker (2 failures) does not count it."""
    client = await start(
        gateway,
        tmp_path,
        f"{rig.url}/fault-client",
        service="circuit_breaker: {failures: 2}",
        get_route="idempotent: true",
    )
    for _ in range(4):
        body = await problem(await client.get("/orders/7"), 422, "upstream-fault")
        assert body["fault"]["code"] == "Client"
        assert body["fault"]["detail"] == {"Why": "Client"}
    assert rig.backend.count() == 4
    state = health(client)
    assert state.breaker.state == "closed" and state.breaker.consecutive_failures == 0


async def test_server_fault_is_502_and_not_retried(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """A Server fault is a 502 fault problem; even an idempotent route does not retry it."""
    client = await start(gateway, tmp_path, f"{rig.url}/fault-server", get_route="idempotent: true")
    body = await problem(await client.get("/orders/7"), 502, "upstream-fault")
    assert body["fault"]["code"] == "Server"
    assert rig.backend.count() == 1


# -- retries -------------------------------------------------------------------------------


async def test_refused_connection_is_retried_then_502_not_sent(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    """Connection refused never reached the upstream: retried (even a POST), then a 502."""
    client = await start(
        gateway,
        tmp_path,
        f"http://127.0.0.1:{closed_port()}/orders",
        service="retries: {max: 2, backoff: 5ms}",
    )
    with capture_logs() as logs:
        response = await client.post("/orders")
    body = await problem(response, 502, "upstream-unavailable")
    assert body["outcome"] == "not-sent"
    assert [e["retry"] for e in events(logs, "upstream.call_retried")] == [1, 2]
    assert events(logs, "gateway.request_handled")[0]["upstream_attempts"] == 3


async def test_failed_tls_handshake_is_retried(gateway: GatewayFactory, tmp_path: Path) -> None:
    """A TLS handshake that fails never carried the request: each try is a new connection."""
    raw = await RawBackend("accept-close").start()
    try:
        client = await start(
            gateway,
            tmp_path,
            f"https://127.0.0.1:{raw.port}/orders",
            service="retries: {max: 2, backoff: 5ms}",
        )
        body = await problem(await client.post("/orders"), 502, "upstream-unavailable")
        assert body["outcome"] == "not-sent"
        assert raw.connections == 3
    finally:
        await raw.stop()


async def test_stale_keepalive_connection_is_retried_for_a_post(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    """A pooled connection the upstream closed, unanswered, is retried on a fresh one even
    for a non-idempotent POST: the upstream processed each request exactly once."""
    raw = await RawBackend("stale").start()
    try:
        client = await start(gateway, tmp_path, f"http://127.0.0.1:{raw.port}/orders")
        assert (await client.post("/orders")).status == 201
        with capture_logs() as logs:
            second = await client.post("/orders")
        assert second.status == 201
        assert (await second.json()) == {"id": 99}
        assert len(raw.processed) == 2 and raw.dropped == 1
        (retried,) = events(logs, "upstream.call_retried")
        assert retried["sent"] is False
    finally:
        await raw.stop()


async def test_dropped_connection_after_send_is_not_retried_for_a_post(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """A fresh connection lost after the request went out: the POST may have taken effect,
    so it is not retried and the 502 says the outcome is unknown."""
    client = await start(gateway, tmp_path, f"{rig.url}/drop")
    body = await problem(await client.post("/orders"), 502, "upstream-unavailable")
    assert body["outcome"] == "unknown"
    assert rig.backend.count() == 1


async def test_dropped_connection_is_retried_for_an_idempotent_route(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """An idempotent route retries a lost connection and answers from the second try."""
    rig.backend.script.append("drop")
    client = await start(gateway, tmp_path, f"{rig.url}/ok", get_route="idempotent: true")
    response = await client.get("/orders/7")
    assert response.status == 200
    assert await response.json() == {"id": 7, "status": "open"}
    assert [r.mode for r in rig.backend.received] == ["drop", "ok"]


@pytest.mark.parametrize(("idempotent", "expected"), [(True, 200), (False, 502)])
async def test_proxy_error_page_is_retried_only_when_idempotent(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig, idempotent: bool, expected: int
) -> None:
    """A 502 HTML page from a proxy in front of the service is retried for idempotent routes."""
    rig.backend.script.append("proxy-502")
    client = await start(
        gateway, tmp_path, f"{rig.url}/ok", get_route=f"idempotent: {str(idempotent).lower()}"
    )
    response = await client.get("/orders/7")
    assert response.status == expected
    assert rig.backend.count() == (2 if idempotent else 1)


async def test_per_try_timeout_retries_a_hung_idempotent_call(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """With a per-try timeout, an idempotent call whose first try hangs is retried in time;
    the hung try's connection is closed."""
    rig.backend.script.append("hang")
    client = await start(
        gateway,
        tmp_path,
        f"{rig.url}/ok",
        timeout="3s",
        service="retries: {per_try_timeout: 200ms, backoff: 5ms}",
        get_route="idempotent: true",
    )
    started = time.monotonic()
    response = await client.get("/orders/7")
    assert response.status == 200
    assert time.monotonic() - started < 2
    assert [r.mode for r in rig.backend.received] == ["hang", "ok"]
    assert await eventually(lambda: rig.backend.hung_up == ["hang"])


# -- circuit breaker -----------------------------------------------------------------------


async def test_breaker_opens_answers_503_without_calling_then_probes_and_closes(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """After 3 consecutive failures the breaker opens: 503 with Retry-After and no upstream
    call; after open_for one probe goes through (others still 503) and success closes it."""
    client = await start(
        gateway,
        tmp_path,
        f"{rig.url}/html-error",
        service="circuit_breaker: {failures: 3, open_for: 300ms}\nretries: 0",
    )
    with capture_logs() as logs:
        for _ in range(3):
            await problem(await client.get("/orders/7"), 502, "upstream-invalid-response")
        response = await client.get("/orders/7")
    body = await problem(response, 503, "upstream-circuit-open")
    assert body["outcome"] == "not-sent"
    assert response.headers["Retry-After"] == "1"
    assert rig.backend.count() == 3
    assert health(client).breaker.state == "open"
    assert not health(client).available
    assert len(events(logs, "upstream.circuit_opened")) == 1

    await asyncio.sleep(0.35)
    rig.backend.script.append("slow/0.3")  # the probe answers, slowly
    probe = asyncio.ensure_future(client.get("/orders/7"))
    assert await eventually(lambda: rig.backend.count() == 4)
    await problem(await client.get("/orders/7"), 503, "upstream-circuit-open")
    assert (await probe).status == 200
    assert health(client).breaker.state == "closed"
    assert (await client.get("/orders/7")).status == 502  # called again
    assert rig.backend.count() == 5


async def test_failed_probe_reopens_for_longer(gateway: GatewayFactory, tmp_path: Path) -> None:
    """A failed half-open probe reopens the breaker with twice the open time."""
    client = await start(
        gateway,
        tmp_path,
        f"http://127.0.0.1:{closed_port()}/orders",
        service="circuit_breaker: {failures: 1, open_for: 200ms}\nretries: 0",
    )
    await problem(await client.get("/orders/7"), 502, "upstream-unavailable")
    assert health(client).breaker.open_for == pytest.approx(0.2)
    await asyncio.sleep(0.25)
    await problem(await client.get("/orders/7"), 502, "upstream-unavailable")  # the probe
    state = health(client).breaker
    assert state.state == "open" and state.open_for == pytest.approx(0.4)
    assert state.times_opened == 2


async def test_breaker_can_be_switched_off(gateway: GatewayFactory, tmp_path: Path) -> None:
    """With circuit_breaker: false every call goes to the upstream, however often it fails."""
    client = await start(
        gateway,
        tmp_path,
        f"http://127.0.0.1:{closed_port()}/orders",
        service="circuit_breaker: false\nretries: 0",
    )
    for _ in range(8):
        await problem(await client.get("/orders/7"), 502, "upstream-unavailable")
    assert health(client).breaker.state == "closed"


# -- bulkheads -----------------------------------------------------------------------------


async def test_full_bulkhead_is_503_and_other_upstreams_keep_their_latency(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """2 calls in flight + 1 queued on a stuck upstream; a 4th is refused with 503 at once;
    the queued one runs when a slot frees; a healthy upstream on the same host answers
    quickly throughout."""
    stuck_file = write_mapping(
        tmp_path,
        name="stuck",
        prefix="/stuck",
        timeout="6s",
        service="max_concurrency: 2\nmax_queue: 1\nretries: 0",
    )
    healthy = write_mapping(tmp_path, name="healthy", prefix="/healthy")
    client = await gateway(
        paths=[stuck_file, healthy],
        environ={"STUCK_URL": f"{rig.url}/slow/2.0", "HEALTHY_URL": f"{rig.url}/ok"},
    )
    stuck = [asyncio.ensure_future(client.get(f"/stuck/orders/{i}")) for i in range(3)]
    assert await eventually(lambda: rig.backend.count("slow") == 2)
    started = time.monotonic()
    refused = await client.get("/stuck/orders/9")
    body = await problem(refused, 503, "upstream-overloaded")
    assert refused.headers["Retry-After"] == "1"
    assert body["outcome"] == "not-sent"
    assert rig.backend.count("slow") == 2  # the queued call waits, the refused one never went
    latencies = []
    for _ in range(10):
        before = time.monotonic()
        assert (await client.get("/healthy/orders/7")).status == 200
        latencies.append(time.monotonic() - before)
    # The stuck calls hold for 2 s: healthy answers, even on a loaded machine, come far sooner.
    assert time.monotonic() - started < 1.5
    assert max(latencies) < 1.0
    assert [(await task).status for task in stuck] == [200, 200, 200]
    assert rig.backend.count("slow") == 3
    states = client.server.app[RUNTIME_KEY].policies.snapshot()
    (stuck_state,) = [s for s in states.values() if "/slow" in s.address]
    assert stuck_state.bulkhead.rejected == 1 and stuck_state.bulkhead.in_flight == 0


# -- client disconnects --------------------------------------------------------------------


async def test_client_disconnect_cancels_the_upstream_call(
    registry: WsdlRegistry, aiohttp_client: Callable[..., Any], tmp_path: Path, rig: Rig
) -> None:
    """With handler cancellation (as in ``mediator serve``), a client that hangs up cancels
    the upstream call at once: connection closed, slot freed, access line status 499."""
    mappings = load_mappings(
        [write_mapping(tmp_path, timeout="30s")],
        describe=registry.describe,
        wsdl_dir=WSDL_DIR,
        environ={"ORDERS_URL": f"{rig.url}/hang"},
    )
    app = create_app(mappings, registry=registry)
    client: Client = await aiohttp_client(TestServer(app, handler_cancellation=True))
    with capture_logs() as logs:
        request = asyncio.ensure_future(client.get("/orders/7"))
        assert await eventually(lambda: rig.backend.count() == 1)
        request.cancel()
        with pytest.raises(asyncio.CancelledError):
            await request
        assert await eventually(lambda: rig.backend.hung_up == ["hang"], timeout=3)
    assert health(client).bulkhead.in_flight == 0
    assert await eventually(
        lambda: any(e["status"] == 499 for e in events(logs, "gateway.request_handled"))
    )


async def test_client_disconnect_without_cancellation_is_bounded_by_the_deadline(
    gateway: GatewayFactory, tmp_path: Path, rig: Rig
) -> None:
    """Without handler cancellation the abandoned upstream call still ends at its deadline."""
    client = await start(gateway, tmp_path, f"{rig.url}/hang", timeout="400ms")
    request = asyncio.ensure_future(client.get("/orders/7"))
    assert await eventually(lambda: rig.backend.count() == 1)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
    assert await eventually(lambda: rig.backend.hung_up == ["hang"], timeout=2)
    assert await eventually(lambda: health(client).bulkhead.in_flight == 0)
