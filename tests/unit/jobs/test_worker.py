"""Job workers: the route's translation, final failures, retries, the concurrency limit and
leases, with the SOAP call answered by a scripted transport."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from structlog.testing import capture_logs

from mediator.errors import BulkheadFullError, UpstreamTimeout, UpstreamUnavailable
from mediator.gateway.jobs_api import render_job_problem
from mediator.jobs.model import Job, JobRequest, NewJob
from mediator.jobs.settings import JobSettings
from mediator.jobs.sqlite_store import SqliteJobStore
from mediator.jobs.worker import WorkerPool, backoff, retry_reason
from mediator.mapping.model import MappingSet
from mediator.upstream.client import SoapClient
from mediator.upstream.wsdl import WsdlRegistry
from tests.unit.jobs.conftest import FAULT, FakeTransport, ok, route_lookup

FAST = JobSettings(
    workers=2,
    lease=5.0,
    poll_interval=0.01,
    retry_backoff=0.01,
    retry_max_backoff=0.02,
    max_attempts=3,
)


@dataclass
class Rig:
    store: SqliteJobStore
    transport: FakeTransport
    pool: WorkerPool
    finished: list[Job]

    async def submit(self, route: str = "POST /orders", body: str = '{"customerId": 1}') -> str:
        new = NewJob(
            route=route,
            route_name=route,
            method=route.split()[0],
            path="/orders/7" if "{id}" in route else "/orders",
            request=JobRequest(
                body=body if route.startswith("POST") else None,
                path_params={"id": "7"} if "{id}" in route else {},
                request_id="rid-42",
            ),
            idempotent="{id}" in route,
            ttl=60.0,
        )
        result = await self.store.submit(new, job_id=f"job{time.monotonic_ns()}", now=time.time())
        self.pool.wake()
        return result.job.id

    async def wait(self, job_id: str, *statuses: str, timeout: float = 5.0) -> Job:
        async with asyncio.timeout(timeout):
            while True:
                job = await self.store.get(job_id)
                if job is not None and job.status in statuses:
                    return job
                await asyncio.sleep(0.01)


@pytest.fixture
async def rig(
    async_mappings: MappingSet, registry: WsdlRegistry, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Any]]:
    rigs: list[Rig] = []

    async def make(transport: FakeTransport, settings: JobSettings = FAST) -> Rig:
        store = SqliteJobStore(None)
        await store.open(now=time.time())
        client = SoapClient(registry, transport)
        finished: list[Job] = []
        pool = WorkerPool(
            store,
            settings,
            lookup=route_lookup(async_mappings, client),
            problems=render_job_problem,
            worker_id="test-worker",
            on_finished=finished.append,
        )
        pool.start()
        made = Rig(store, transport, pool, finished)
        rigs.append(made)
        return made

    yield make
    for made in rigs:
        await made.pool.stop(grace=1)
        await made.store.close()


async def test_a_job_runs_the_routes_translation(rig: Callable[..., Any]) -> None:
    """The worker renders the route's request from the stored body, calls the upstream and
    stores the extracted JSON with the route's status, digits exact."""
    r = await rig(FakeTransport())
    with capture_logs() as logs:
        job = await r.wait(await r.submit(), "succeeded")
    assert job.result is not None and job.result.status == 201
    assert job.result.body == b'{"id":5,"total":10.50}'
    assert b"<o:CustomerId>1</o:CustomerId>" in r.transport.bodies[0]
    assert r.transport.calls == 1 and r.finished[0].id == job.id
    finished = [e for e in logs if e["event"] == "jobs.job_finished"]
    assert finished[0]["outcome"] == "succeeded" and finished[0]["status"] == 201
    assert finished[0]["duration_ms"] >= 0 and finished[0]["request_id"] == "rid-42"


async def test_a_fault_fails_the_job_with_the_sync_problem(rig: Callable[..., Any]) -> None:
    """A SOAP fault is final (one call) and the job keeps the problem the synchronous route
    answers: the route's error rule status and title, the fault, the request id."""
    r = await rig(FakeTransport(steps=[ok(FAULT, status=500)]))
    job = await r.wait(await r.submit(), "failed")
    assert r.transport.calls == 1
    assert job.result is not None and job.result.status == 422
    problem = json.loads(job.result.body)
    assert problem["type"] == "urn:mediator:problem:upstream-fault"
    assert problem["title"] == "Order rejected"
    assert problem["fault"]["reason"] == "Unknown customer"
    assert problem["request_id"] == "rid-42" and problem["instance"] == "/orders"


async def test_a_bad_stored_request_fails_without_calling(rig: Callable[..., Any]) -> None:
    """A request the route cannot render is a final 400 problem; nothing is sent."""
    r = await rig(FakeTransport())
    job = await r.wait(await r.submit(body='{"customerId": "x"}'), "failed")
    assert r.transport.calls == 0
    assert job.result is not None and job.result.status == 400


async def test_connect_errors_are_retried_with_backoff(rig: Callable[..., Any]) -> None:
    """A call that never reached the upstream is retried (the job shows ``retrying``) and
    the job then succeeds."""
    refused = UpstreamUnavailable("refused", sent=False)
    r = await rig(FakeTransport(steps=[refused, refused, ok()]))
    with capture_logs() as logs:
        job = await r.wait(await r.submit(), "succeeded")
    assert r.transport.calls == 3 and job.attempts == 3
    statuses = [t.status for t in job.history]
    assert statuses == [
        "queued",
        "running",
        "retrying",
        "running",
        "retrying",
        "running",
        "succeeded",
    ]
    assert job.history[2].reason == "upstream-unavailable"
    retries = [e for e in logs if e["event"] == "jobs.job_retry_scheduled"]
    assert [e["attempt"] for e in retries] == [1, 2]


async def test_retries_stop_at_max_attempts(rig: Callable[..., Any]) -> None:
    """After ``max_attempts`` runs the job fails with the last error's problem (502)."""
    r = await rig(FakeTransport(steps=[UpstreamUnavailable("refused", sent=False)]))
    job = await r.wait(await r.submit(), "failed")
    assert r.transport.calls == 3 and job.attempts == 3
    assert job.result is not None
    assert json.loads(job.result.body)["type"] == "urn:mediator:problem:upstream-unavailable"


async def test_a_sent_timeout_of_a_non_idempotent_route_is_final(rig: Callable[..., Any]) -> None:
    """A timeout after sending may have taken effect: a non-idempotent job is not retried."""
    r = await rig(FakeTransport(steps=[UpstreamTimeout("slow", sent=True)]))
    job = await r.wait(await r.submit(), "failed")
    assert r.transport.calls == 1
    assert job.result is not None and job.result.status == 504


async def test_a_sent_timeout_of_an_idempotent_route_is_retried(rig: Callable[..., Any]) -> None:
    """An idempotent route's job is retried after a timeout, even though it was sent."""
    order = (
        '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id></Order></GetOrderResponse>'
    )
    r = await rig(FakeTransport(steps=[UpstreamTimeout("slow", sent=True), ok(order)]))
    job = await r.wait(await r.submit("PUT /orders/{id}"), "succeeded")
    assert r.transport.calls == 2 and job.result is not None
    assert job.result.body == b'{"id":7}'


async def test_workers_never_exceed_the_concurrency_limit(rig: Callable[..., Any]) -> None:
    """Six jobs on two workers: never more than two upstream calls at once, all done."""
    r = await rig(FakeTransport(delay=0.05))
    ids = [await r.submit() for _ in range(6)]
    for job_id in ids:
        await r.wait(job_id, "succeeded")
    assert r.transport.peak == 2 and r.pool.peak == 2 and r.transport.calls == 6


async def test_a_job_whose_route_was_removed_fails(rig: Callable[..., Any]) -> None:
    """A job whose route no longer exists fails with ``job-route-removed``."""
    r = await rig(FakeTransport())
    job = await r.wait(await r.submit("POST /gone"), "failed")
    assert job.result is not None
    assert json.loads(job.result.body)["type"] == "urn:mediator:problem:job-route-removed"


async def test_a_lost_lease_abandons_the_run(rig: Callable[..., Any]) -> None:
    """When another worker takes the job (the lease ran out), this worker stops and its
    late result is not recorded."""
    gate = asyncio.Event()
    r = await rig(FakeTransport(gate=gate), JobSettings(lease=0.3, poll_interval=0.01))
    job_id = await r.submit()
    await r.wait(job_id, "running")
    with capture_logs() as logs:
        stolen = await r.store.reclaim(now=time.time() + 10)  # as another instance would
        assert [s.action for s in stolen] == ["failed"]
        await asyncio.sleep(0.3)  # the heartbeat notices
        gate.set()
        await asyncio.sleep(0.05)
    assert any(e["event"] == "jobs.lease_lost" for e in logs)
    job = await r.store.get(job_id)
    assert job is not None and job.result is not None
    assert json.loads(job.result.body)["type"].endswith("job-outcome-unknown")


async def test_leases_are_renewed_while_a_job_runs(rig: Callable[..., Any]) -> None:
    """A job running longer than its lease keeps it (renewed), so it is not reclaimed."""
    gate = asyncio.Event()
    r = await rig(FakeTransport(gate=gate), JobSettings(lease=0.6, poll_interval=0.01))
    job_id = await r.submit()
    await asyncio.sleep(1.3)  # two leases
    assert await r.store.reclaim(now=time.time()) == []
    gate.set()
    await r.wait(job_id, "succeeded")


def test_retry_reasons() -> None:
    """Overload and unsent failures are retryable with their least wait; faults are not."""
    assert retry_reason(BulkheadFullError("full", retry_after=2.0), idempotent=False) == (
        "upstream-overloaded",
        2.0,
    )
    assert retry_reason(UpstreamUnavailable("x", sent=False), idempotent=False) == (
        "upstream-unavailable",
        0.0,
    )
    assert retry_reason(UpstreamUnavailable("x", sent=True), idempotent=False) is None
    assert retry_reason(ValueError("bug"), idempotent=True) is None


def test_backoff_grows_and_is_capped() -> None:
    """The wait doubles per attempt (half of it jittered) up to the ceiling."""
    import random

    rng = random.Random(1)  # noqa: S311 - jitter in a test
    waits = [backoff(n, base=1.0, ceiling=8.0, rng=rng) for n in range(1, 7)]
    assert 0.5 <= waits[0] <= 1.0 and 1.0 <= waits[1] <= 2.0
    assert all(4.0 <= w <= 8.0 for w in waits[3:])
