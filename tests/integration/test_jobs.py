"""The asynchronous gateway end to end: the 202 contract, polling, expiry, cancellation,
ownership, Idempotency-Key, webhooks, retries, the concurrency limit, and recovery after
``kill -9`` of a real ``mediator serve`` process (SQLite store)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from structlog.testing import capture_logs

from mediator.gateway.app import create_app
from mediator.gateway.settings import GatewaySettings
from mediator.jobs.callbacks import SIGNATURE_HEADER, verify_signature
from mediator.jobs.settings import JobSettings
from mediator.mapping.loader import load_mappings
from mediator.mapping.security_file import ApiKey, ApiKeyConfig, SecurityConfig
from mediator.upstream.wsdl import WsdlRegistry
from tests.backends.processes import free_port
from tests.backends.scripted import envelope
from tests.conftest import WSDL_DIR

pytestmark = pytest.mark.integration

MEDIATOR = [sys.executable, "-m", "mediator"]

MAPPING = """\
version: 1
service:
  wsdl: orders.wsdl
  address: ${ORDERS_URL}
  namespaces: {o: urn:example:orders}
  retries: 0
  circuit_breaker: false
routes:
  - post: /orders
    name: create-order
    operation: CreateOrder
    mode: both
    request:
      body: |
        <o:CreateOrder><o:CustomerId>{{ body.customerId | int }}</o:CustomerId>
        <o:Line><o:Sku>A</o:Sku><o:Quantity>1</o:Quantity><o:UnitPrice>2.50</o:UnitPrice></o:Line>
        </o:CreateOrder>
    response:
      status: 201
      root: o:CreateOrderResponse
      fields: {id: o:OrderId, status: o:Status, total: o:Total}
    errors:
      - when: fault.code == "Client"
        status: 422
        title: Order rejected
  - post: /quick-orders
    name: quick-order
    operation: CreateOrder
    mode: async
    job_ttl: 400ms
    request:
      body: <o:CreateOrder><o:CustomerId>1</o:CustomerId><o:Line><o:Sku>A</o:Sku><o:Quantity>1</o:Quantity><o:UnitPrice>1</o:UnitPrice></o:Line></o:CreateOrder>
    response:
      root: o:CreateOrderResponse
      fields: {id: o:OrderId}
  - put: /orders/{id}
    name: refresh-order
    operation: GetOrder
    mode: async
    idempotent: true
    params:
      path: {id: integer}
    request:
      args: {OrderId: "{{ path.id }}"}
    response:
      root: o:GetOrderResponse/o:Order
      fields: {id: o:Id, total: o:Total}
"""

CREATED = (
    '<CreateOrderResponse xmlns="urn:example:orders"><OrderId>{id}</OrderId>'
    "<Status>open</Status><Total>12.50</Total></CreateOrderResponse>"
)
ORDER = (
    '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id><Customer><Id>1</Id>'
    "<Name>N</Name><Vip>false</Vip></Customer><Status>open</Status><OrderDate>2026-01-02</OrderDate>"
    "<CreatedAt>2026-01-02T03:04:05Z</CreatedAt><ShippedAt xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'"
    ' xsi:nil="true"/><Total>99.90</Total><Paid>true</Paid></Order></GetOrderResponse>'
)
FAULT = (
    '<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:Client</faultcode>'
    "<faultstring>Unknown customer 999</faultstring></s:Fault>"
)
FINAL = ("succeeded", "failed", "cancelled")


class OrdersBackend:
    """A scripted Orders service: counts calls per X-Request-ID, tracks concurrency, and
    holds every call while ``gate`` is closed. Customer 999 gets a Client fault."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.gate = asyncio.Event()
        self.gate.set()
        self.delay = 0.0
        self.in_flight = 0
        self.peak = 0
        self.arrived = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.calls[request.headers.get("X-Request-ID", "")] += 1
        self.arrived.set()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if b"GetOrder" in body:
            xml, status = ORDER, 200
        elif b"<o:CustomerId>999<" in body:
            xml, status = FAULT, 500
        else:
            xml, status = CREATED.format(id=sum(self.calls.values())), 200
        return web.Response(
            body=envelope(xml), status=status, headers={"Content-Type": "text/xml; charset=utf-8"}
        )


Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def backend(aiohttp_server: Callable[..., Any]) -> tuple[OrdersBackend, str]:
    """The scripted Orders backend on loopback and its /orders URL."""
    orders = OrdersBackend()
    server = await aiohttp_server(orders.app())
    return orders, str(server.make_url("/orders"))


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "mappings" / "orders.yaml"
    path.parent.mkdir()
    path.write_text(MAPPING)
    return path


GatewayStarter = Callable[..., Awaitable[Client]]


@pytest.fixture
async def start_gateway(
    registry: WsdlRegistry,
    aiohttp_client: Callable[..., Any],
    mapping_file: Path,
    backend: tuple[OrdersBackend, str],
) -> GatewayStarter:
    """Start an in-process gateway on the test mapping with job settings; jobs in memory."""

    async def start(
        url: str | None = None, security: SecurityConfig | None = None, **job_settings: Any
    ) -> Client:
        mappings = load_mappings(
            [mapping_file],
            describe=registry.describe,
            wsdl_dir=WSDL_DIR,
            environ={"ORDERS_URL": url or backend[1]},
        )
        jobs = JobSettings(**{"poll_interval": 0.02, "sweep_interval": 0.1, **job_settings})
        settings = GatewaySettings(jobs=jobs, security=security)
        app = create_app(mappings, registry=registry, settings=settings)
        client: Client = await aiohttp_client(TestServer(app))
        return client

    return start


async def _wait_job(
    get: Callable[[str], Any], location: str, statuses: tuple[str, ...] = FINAL, timeout=10.0
) -> dict[str, Any]:
    """Poll ``location`` until the job's status is one of ``statuses``."""
    async with asyncio.timeout(timeout):
        while True:
            async with get(location) as response:
                assert response.status == 200, await response.text()
                job: dict[str, Any] = await response.json()
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.02)


async def test_202_contract_and_the_result_is_the_sync_answer(
    start_gateway: GatewayStarter, backend: tuple[OrdersBackend, str]
) -> None:
    """``Prefer: respond-async`` on a ``both`` route answers 202 with Location, Retry-After
    and the job; polling shows queued → running → succeeded with times, and the result is
    the exact JSON and status the synchronous call answers."""
    client = await start_gateway()
    sync = await client.post("/orders", json={"customerId": 1})
    assert sync.status == 201
    sync_body = await sync.read()
    response = await client.post(
        "/orders", json={"customerId": 1}, headers={"Prefer": "respond-async; wait=5"}
    )
    assert response.status == 202
    assert response.headers["Preference-Applied"] == "respond-async"
    assert response.headers["Retry-After"] == "1"
    location = response.headers["Location"]
    accepted = await response.json()
    assert location == f"/jobs/{accepted['id']}" == accepted["status_url"]
    assert accepted["status"] == "queued" and accepted["route"] == "create-order"
    job = await _wait_job(client.get, location)
    assert job["status"] == "succeeded" and job["result_status"] == 201
    raw = await (await client.get(location)).read()
    assert sync_body.replace(b'"id":1', b'"id":2') in raw  # the same JSON, digits exact
    assert b'"total":12.50' in raw
    history = [(h["status"], h["at"]) for h in job["history"]]
    assert [s for s, _ in history] == ["queued", "running", "succeeded"]
    assert [t for _, t in history] == sorted(t for _, t in history)
    assert job["created_at"] <= job["started_at"] <= job["finished_at"] < job["expires_at"]
    assert sum(backend[0].calls.values()) == 2


async def test_a_failed_job_holds_the_sync_problem(start_gateway: GatewayStarter) -> None:
    """A SOAP fault fails the job with byte for byte the problem+json of the sync call."""
    client = await start_gateway()
    headers = {"X-Request-ID": "same-request-1"}
    sync = await client.post("/orders", json={"customerId": 999}, headers=headers)
    assert sync.status == 422
    problem = await sync.json()
    response = await client.post(
        "/orders", json={"customerId": 999}, headers={**headers, "Prefer": "respond-async"}
    )
    job = await _wait_job(client.get, response.headers["Location"])
    assert job["status"] == "failed" and job["error"] == problem
    assert problem["title"] == "Order rejected" and "result" not in job


async def test_an_invalid_request_is_refused_at_once(
    start_gateway: GatewayStarter, backend: tuple[OrdersBackend, str]
) -> None:
    """A request the route cannot translate is a 400 on submission: no job, no call."""
    client = await start_gateway()
    response = await client.post(
        "/orders", json={"customerId": "x"}, headers={"Prefer": "respond-async"}
    )
    assert response.status == 400
    assert "Location" not in response.headers
    assert (await response.json())["type"] == "urn:mediator:problem:invalid-request"
    await asyncio.sleep(0.1)
    assert not backend[0].calls


async def test_unknown_ids_are_404_and_expired_results_410(start_gateway: GatewayStarter) -> None:
    """An unknown id is 404 job-not-found; after the route's job_ttl the job is 410."""
    client = await start_gateway()
    for path in ("/jobs/" + "0" * 32, "/jobs/not-an-id"):
        missing = await client.get(path)
        assert missing.status == 404
        assert (await missing.json())["type"] == "urn:mediator:problem:job-not-found"
    response = await client.post("/quick-orders")
    location = response.headers["Location"]
    job = await _wait_job(client.get, location)
    assert job["status"] == "succeeded"
    await asyncio.sleep(0.5)  # job_ttl: 400ms
    expired = await client.get(location)
    assert expired.status == 410
    assert (await expired.json())["type"] == "urn:mediator:problem:job-expired"


async def test_delete_cancels_a_queued_job_only(
    start_gateway: GatewayStarter, backend: tuple[OrdersBackend, str]
) -> None:
    """With one worker busy, a queued job is cancelled by DELETE and never called; the
    running one answers 409 and finishes."""
    orders, _ = backend
    orders.gate.clear()
    client = await start_gateway(workers=1)
    first = await client.post(
        "/orders",
        json={"customerId": 1},
        headers={"Prefer": "respond-async", "X-Request-ID": "first"},
    )
    second = await client.post(
        "/orders",
        json={"customerId": 1},
        headers={"Prefer": "respond-async", "X-Request-ID": "second"},
    )
    await asyncio.wait_for(orders.arrived.wait(), 5)
    busy = await client.get(first.headers["Location"])
    assert (await busy.json())["status"] == "running" and busy.headers["Retry-After"] == "1"
    refused = await client.delete(first.headers["Location"])
    assert refused.status == 409
    assert (await refused.json())["type"] == "urn:mediator:problem:job-not-cancellable"
    cancelled = await client.delete(second.headers["Location"])
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "cancelled"
    orders.gate.set()
    done = await _wait_job(client.get, first.headers["Location"])
    assert done["status"] == "succeeded"
    await asyncio.sleep(0.1)
    after = await (await client.get(second.headers["Location"])).json()
    assert after["status"] == "cancelled" and "second" not in orders.calls


API_KEYS = {"alice": "key-of-alice", "bob": "key-of-bob"}


def _api_key_security() -> SecurityConfig:
    """Every route requires an API key; alice and bob have one each."""
    keys = tuple(
        ApiKey(id=name, digest=hashlib.sha256(key.encode()).digest())
        for name, key in API_KEYS.items()
    )
    return SecurityConfig(require_auth=True, api_keys=ApiKeyConfig(keys=keys))


async def test_jobs_are_visible_only_to_the_client_that_made_them(
    start_gateway: GatewayStarter,
) -> None:
    """With authentication on, a job belongs to the client that created it: another
    client, or one without credentials, gets 404 for GET and DELETE; its owner sees it.
    An Idempotency-Key of one client never returns another client's job."""
    client = await start_gateway(security=_api_key_security())
    alice = {"X-API-Key": API_KEYS["alice"]}
    response = await client.post(
        "/orders",
        json={"customerId": 1},
        headers={**alice, "Prefer": "respond-async", "Idempotency-Key": "k1"},
    )
    assert response.status == 202
    location = response.headers["Location"]
    for other in ({"X-API-Key": API_KEYS["bob"]}, {"X-API-Key": "wrong"}, {}):
        for method in (client.get, client.delete):
            refused = await method(location, headers=other)
            assert refused.status == 404
            assert (await refused.json())["type"] == "urn:mediator:problem:job-not-found"
    job = await _wait_job(lambda url: client.get(url, headers=alice), location)
    assert job["status"] == "succeeded"
    bobs = await client.post(
        "/orders",
        json={"customerId": 1},
        headers={"X-API-Key": API_KEYS["bob"], "Prefer": "respond-async", "Idempotency-Key": "k1"},
    )
    assert bobs.status == 202 and bobs.headers["Location"] != location


async def test_idempotency_key(
    start_gateway: GatewayStarter, backend: tuple[OrdersBackend, str]
) -> None:
    """The same Idempotency-Key and body return the same job and call the service once,
    even when sent concurrently or with the JSON spelt differently; the same key with
    another body is a 422; a malformed key is a 400."""
    client = await start_gateway()
    headers = {"Idempotency-Key": "order-77", "Prefer": "respond-async"}

    async def post(body: dict[str, Any], **extra: str) -> aiohttp.ClientResponse:
        return await client.post("/orders", json=body, headers={**headers, **extra})

    responses = await asyncio.gather(*(post({"customerId": 1}) for _ in range(5)))
    assert {r.status for r in responses} == {202}
    assert len({r.headers["Location"] for r in responses}) == 1
    again = await client.post(
        "/orders",
        data=b'{ "customerId" : 1 }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.headers["Location"] == responses[0].headers["Location"]
    conflict = await post({"customerId": 2})
    assert conflict.status == 422
    assert (await conflict.json())["type"] == "urn:mediator:problem:idempotency-key-reused"
    await _wait_job(client.get, responses[0].headers["Location"])
    assert sum(backend[0].calls.values()) == 1
    bad = await post({"customerId": 1}, **{"Idempotency-Key": "x" * 300})
    assert bad.status == 400


async def test_callbacks_are_signed_retried_and_recorded(
    start_gateway: GatewayStarter, aiohttp_server: Callable[..., Any]
) -> None:
    """The webhook receiver fails twice, then accepts: three signed POSTs of the job's JSON,
    and the job's callback shows delivered after 3 attempts."""
    received: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((dict(request.headers), await request.read()))
        return web.Response(status=500 if len(received) < 3 else 204)

    receiver = web.Application()
    receiver.router.add_post("/hooks/orders", hook)
    server = await aiohttp_server(receiver)
    base = str(server.make_url("/hooks/"))
    client = await start_gateway(
        callback_allow=(base,),
        callback_secret="webhook-key",
        callback_backoff=0.05,
        callback_max_backoff=0.1,
    )
    refused = await client.post(
        "/orders",
        json={"customerId": 1},
        headers={"Prefer": "respond-async", "Callback-URL": "http://169.254.169.254/steal"},
    )
    assert refused.status == 400
    response = await client.post(
        "/orders",
        json={"customerId": 1},
        headers={"Prefer": "respond-async", "Callback-URL": base + "orders"},
    )
    location = response.headers["Location"]
    async with asyncio.timeout(10):
        while True:
            job = await (await client.get(location)).json()
            if job.get("callback", {}).get("status") == "delivered":
                break
            await asyncio.sleep(0.05)
    assert job["callback"]["attempts"] == 3 and job["callback"]["last_status"] == 204
    assert len(received) == 3
    headers, body = received[-1]
    assert verify_signature("webhook-key", headers[SIGNATURE_HEADER], body)
    assert not verify_signature("other-key", headers[SIGNATURE_HEADER], body)
    sent = json.loads(body)
    assert sent["id"] == job["id"] and sent["status"] == "succeeded"
    assert sent["result"] == job["result"]


async def test_workers_respect_the_concurrency_limit(
    start_gateway: GatewayStarter, backend: tuple[OrdersBackend, str]
) -> None:
    """Eight jobs with two workers: at most two upstream calls at once, all succeed."""
    orders, _ = backend
    orders.delay = 0.05
    client = await start_gateway(workers=2)
    responses = [
        await client.post("/orders", json={"customerId": 1}, headers={"Prefer": "respond-async"})
        for _ in range(8)
    ]
    for response in responses:
        assert (await _wait_job(client.get, response.headers["Location"]))["status"] == "succeeded"
    assert orders.peak == 2 and sum(orders.calls.values()) == 8


async def test_connect_errors_are_retried_until_the_service_is_up(
    start_gateway: GatewayStarter, aiohttp_server: Callable[..., Any]
) -> None:
    """While nothing listens, the job waits as ``retrying`` (reason upstream-unavailable);
    once the service comes up the next attempt succeeds."""
    port = free_port()
    client = await start_gateway(
        url=f"http://127.0.0.1:{port}/orders",
        retry_backoff=0.05,
        retry_max_backoff=0.1,
        max_attempts=100,
    )
    response = await client.post(
        "/orders", json={"customerId": 1}, headers={"Prefer": "respond-async"}
    )
    job = await _wait_job(client.get, response.headers["Location"], ("retrying",))
    assert job["retry"]["reason"] == "upstream-unavailable"
    await aiohttp_server(OrdersBackend().app(), port=port)
    job = await _wait_job(client.get, response.headers["Location"])
    assert job["status"] == "succeeded" and job["attempts"] >= 2


async def test_queue_depth_durations_and_outcomes_are_observable(
    start_gateway: GatewayStarter,
) -> None:
    """Logs carry submissions, each job's outcome and duration, and the queue depth; queue
    depth, durations and outcomes are also Prometheus series."""
    client = await start_gateway()
    with capture_logs() as logs:
        response = await client.post(
            "/orders", json={"customerId": 1}, headers={"Prefer": "respond-async"}
        )
        await _wait_job(client.get, response.headers["Location"])
        await asyncio.sleep(0.25)  # a sweep
    events = {e["event"]: e for e in logs}
    assert events["jobs.job_submitted"]["route"] == "create-order"
    finished = events["jobs.job_finished"]
    assert finished["outcome"] == "succeeded" and finished["total_ms"] >= finished["duration_ms"]
    assert {"queued", "running", "retrying"} <= set(events["jobs.queue_depth"])
    metrics = await (await client.get("/metrics")).text()
    assert "mediator_job_queue_depth" in metrics
    assert (
        'mediator_job_duration_seconds_count{outcome="succeeded",route="create-order"} 1.0'
        in metrics
    )


# -- kill -9 of a real `mediator serve` ---------------------------------------------------


class ServeProcess:
    """``mediator serve`` as its own process, with job options; stopped or killed at will."""

    def __init__(
        self, mapping: Path, orders_url: str, *job_args: str, log: Path | None = None
    ) -> None:
        self.port = free_port()
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        output = log.open("wb") if log is not None else None
        self.process = subprocess.Popen(
            [
                *MEDIATOR,
                "serve",
                str(mapping),
                "--wsdl-dir",
                str(WSDL_DIR),
                "--port",
                str(self.port),
                "--log-format",
                "json",
                "--no-metrics",
                *job_args,
            ],
            env={**os.environ, "ORDERS_URL": orders_url},
            stdout=output if output is not None else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if output is not None:
            output.close()  # the child has its own descriptor

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines named ``name`` written so far (needs ``log``)."""
        assert self.log is not None
        lines = self.log.read_text().splitlines()
        events = [json.loads(line) for line in lines if line.startswith("{")]
        return [e for e in events if e.get("event") == name]

    async def ready(self, session: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                assert self.process.poll() is None, "mediator serve exited"
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.url}/openapi.json") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def serving(
    mapping: Path, orders_url: str, *job_args: str, log: Path | None = None
) -> Iterator[ServeProcess]:
    """A running ``mediator serve``, stopped (SIGINT) on exit unless already killed."""
    process = ServeProcess(mapping, orders_url, *job_args, log=log)
    try:
        yield process
    finally:
        process.stop()


async def submit(
    session: aiohttp.ClientSession, base: str, method: str, path: str, request_id: str, **kw: Any
) -> str:
    """Submit an asynchronous request; return the job's absolute status URL."""
    headers = {"Prefer": "respond-async", "X-Request-ID": request_id}
    async with session.request(method, base + path, headers=headers, **kw) as response:
        assert response.status == 202, await response.text()
        return base + response.headers["Location"]


async def poll(
    session: aiohttp.ClientSession, url: str, statuses: tuple[str, ...] = FINAL, timeout=20.0
) -> dict[str, Any]:
    """Poll a job's absolute status URL until its status is one of ``statuses``."""
    async with asyncio.timeout(timeout):
        while True:
            async with session.get(url) as response:
                assert response.status == 200, await response.text()
                job: dict[str, Any] = await response.json()
            if job["status"] in statuses:
                return job
            await asyncio.sleep(0.05)


async def wait_calls(orders: OrdersBackend, *request_ids: str, timeout: float = 10.0) -> None:
    """Wait until the backend has received a call for each request id."""
    async with asyncio.timeout(timeout):
        while not all(orders.calls[r] for r in request_ids):  # noqa: ASYNC110 - a counter
            await asyncio.sleep(0.02)


async def test_kill_9_recovery_with_the_sqlite_store(
    mapping_file: Path, backend: tuple[OrdersBackend, str], tmp_path: Path
) -> None:
    """kill -9 while two jobs run and two wait: after a restart on the same data directory
    the queued jobs run, the idempotent running job runs again and the other running job
    fails as "outcome unknown" without a second call. Nothing is lost."""
    orders, url = backend
    orders.gate.clear()  # every call hangs until the restart
    data = str(tmp_path / "data")
    options = ("--data-dir", data, "--job-workers", "2", "--job-lease", "30s")
    async with aiohttp.ClientSession() as session:
        with serving(mapping_file, url, *options) as first:
            await first.ready(session)
            once = await submit(
                session, first.url, "POST", "/orders", "once", json={"customerId": 1}
            )
            idem = await submit(session, first.url, "PUT", "/orders/7", "idem")
            await wait_calls(orders, "once", "idem")
            queued = [
                await submit(session, first.url, "POST", "/orders", f"q{i}", json={"customerId": 1})
                for i in range(2)
            ]
            assert (await poll(session, queued[0], ("queued",)))["status"] == "queued"
            first.kill()
        orders.gate.set()
        with serving(mapping_file, url, *options) as second:
            await second.ready(session)
            moved = [u.replace(first.url, second.url) for u in (once, idem, *queued)]
            results = [await poll(session, u) for u in moved]
    assert [r["status"] for r in results] == ["failed", "succeeded", "succeeded", "succeeded"]
    problem = results[0]["error"]
    assert problem["type"] == "urn:mediator:problem:job-outcome-unknown"
    assert problem["request_id"] == "once" and problem["outcome"] == "unknown"
    assert results[1]["result"] == {"id": 7, "total": 99.9}
    assert [h["status"] for h in results[1]["history"]] == [
        "queued",
        "running",
        "queued",
        "running",
        "succeeded",
    ]
    assert orders.calls == Counter({"once": 1, "idem": 2, "q0": 1, "q1": 1})


async def test_no_job_store_without_async_routes(
    registry: WsdlRegistry, aiohttp_client: Callable[..., Any], tmp_path: Path
) -> None:
    """A gateway whose routes are all synchronous never opens (or writes) a job store, and
    answers unknown job ids with 404; with an async route the store is opened at start-up."""
    from tests.conftest import MAPPINGS_DIR

    sync_only = load_mappings(
        [MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={}
    )
    settings = GatewaySettings(jobs=JobSettings(data_dir=tmp_path / "data"))
    client = await aiohttp_client(
        TestServer(create_app(sync_only, registry=registry, settings=settings))
    )
    response = await client.get("/jobs/0123456789abcdef0123456789abcdef")
    assert response.status == 404
    assert not (tmp_path / "data").exists()
    await client.close()

    text = (
        (MAPPINGS_DIR / "orders.yaml")
        .read_text()
        .replace("    name: create-order\n", "    name: create-order\n    mode: async\n")
    )
    (tmp_path / "orders.yaml").write_text(text)
    with_async = load_mappings(
        [tmp_path / "orders.yaml"], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={}
    )
    client = await aiohttp_client(
        TestServer(create_app(with_async, registry=registry, settings=settings))
    )
    assert (tmp_path / "data" / "jobs.db").exists()
    await client.close()
