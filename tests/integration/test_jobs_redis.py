"""The Redis job store against a real ``redis-server``: exactly-once claims under
contention, leases and reclaim, idempotency, expiry; then two real ``mediator serve``
processes sharing one queue, and one of them killed with ``kill -9``."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis

from mediator.jobs.model import JobRequest, JobResult, NewJob
from mediator.jobs.redis_store import RedisJobStore
from mediator.jobs.store import CallbackDelivery
from tests.backends.redis_server import run_redis_server
from tests.integration.test_jobs import MAPPING, OrdersBackend, poll, serving, submit, wait_calls

pytestmark = pytest.mark.integration

RESULT = JobResult(status=200, content_type="application/json", body=b'{"total":1.50}')


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    """A throw-away redis-server (installed on demand) for this module; its URL."""
    with run_redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The server's URL, with an empty database for each test."""
    with redis.Redis.from_url(redis_server) as client:
        client.flushdb()
    return redis_server


@pytest.fixture
async def stores(redis_url: str) -> AsyncIterator[Callable[[], Any]]:
    """Opens RedisJobStores on the test database (each its own connection pool)."""
    opened: list[RedisJobStore] = []

    async def open_store() -> RedisJobStore:
        store = RedisJobStore(redis_url)
        assert await store.open(now=time.time()) == []
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        await store.close()


def _new(**overrides: object) -> NewJob:
    values: dict[str, object] = {
        "route": "POST /orders",
        "route_name": "create-order",
        "method": "POST",
        "path": "/orders",
        "request": JobRequest(body="{}", request_id="r"),
        "idempotent": False,
        "ttl": 60.0,
        "fingerprint": "f1",
    }
    values.update(overrides)
    return NewJob(**values)  # type: ignore[arg-type]


async def test_each_job_is_claimed_exactly_once_under_contention(
    stores: Callable[[], Any],
) -> None:
    """Eight instances race to claim sixty jobs: every job is claimed once, none twice."""
    instances = [await stores() for _ in range(8)]
    ids = [f"job{i:02d}" for i in range(60)]
    for index, job_id in enumerate(ids):
        await instances[0].submit(_new(), job_id=job_id, now=1000.0 + index)
    claimed: list[str] = []

    async def drain(store: RedisJobStore, worker: str) -> None:
        while (job := await store.claim(worker, now=time.time(), lease=30)) is not None:
            claimed.append(job.id)
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(s, f"w{n}") for n, s in enumerate(instances)))
    assert sorted(claimed) == ids
    assert await instances[1].depth() == {"queued": 0, "retrying": 0, "running": 60}


async def test_racing_submissions_with_one_key_make_one_job(stores: Callable[[], Any]) -> None:
    """Ten concurrent submissions with one Idempotency-Key on five instances: one job; a
    different request with that key is a conflict."""
    instances = [await stores() for _ in range(5)]
    results = await asyncio.gather(
        *(
            instances[i % 5].submit(_new(idempotency_key="k"), job_id=f"j{i}", now=time.time())
            for i in range(10)
        )
    )
    assert sum(r.created for r in results) == 1 and len({r.job.id for r in results}) == 1
    other = await instances[0].submit(
        _new(idempotency_key="k", fingerprint="f2"), job_id="x", now=time.time()
    )
    assert other.conflict and await instances[0].get("x") is None


async def test_leases_reclaim_and_stale_workers(stores: Callable[[], Any]) -> None:
    """An expired lease is reclaimed (idempotent re-queued, other failed as unknown); a
    renewed one is not; the old worker can no longer finish, retry or renew."""
    store = await stores()
    now = time.time()
    await store.submit(_new(idempotent=True), job_id="idem", now=now)
    await store.submit(_new(), job_id="once", now=now + 0.001)
    await store.submit(_new(), job_id="live", now=now + 0.002)
    for _ in range(3):
        await store.claim("dead", now=now + 1, lease=1)
    assert await store.renew("live", "dead", lease_until=now + 100)
    reclaimed = {r.job.id: r.action for r in await store.reclaim(now=now + 3)}
    assert reclaimed == {"idem": "requeued", "once": "failed"}
    assert await store.finish("once", "dead", status="succeeded", result=RESULT, now=now) is None
    assert not await store.renew("idem", "dead", lease_until=now + 100)
    again = await store.claim("new", now=now + 3, lease=1)
    assert again is not None and (again.id, again.attempts) == ("idem", 2)
    once = await store.get("once")
    assert once is not None and once.result is not None
    assert b"job-outcome-unknown" in once.result.body
    assert await store.depth() == {"queued": 0, "retrying": 0, "running": 2}


async def test_retry_cancel_and_expiry(stores: Callable[[], Any]) -> None:
    """A retrying job waits for its time; cancelling removes it from the queue; a finished
    job is a tombstone after its TTL (410), then gone (404), and frees its key."""
    store = await stores()
    now = time.time()
    await store.submit(_new(), job_id="r", now=now)
    await store.claim("w", now=now, lease=5)
    assert await store.retry("r", "w", now=now, at=now + 5, reason="upstream-unavailable")
    assert await store.claim("w", now=now + 1, lease=5) is None
    cancelled = await store.cancel("r", now=now + 1)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert await store.claim("w", now=now + 9, lease=5) is None

    await store.submit(_new(ttl=0.3, idempotency_key="k"), job_id="t", now=now)
    await store.claim("w", now=now, lease=5)
    done = await store.finish("t", "w", status="succeeded", result=RESULT, now=time.time())
    assert done is not None and not done.expired(time.time())
    await asyncio.sleep(0.35)
    tombstone = await store.get("t")
    assert tombstone is not None and tombstone.expired(time.time())
    fresh = await store.submit(_new(idempotency_key="k"), job_id="t2", now=time.time())
    assert fresh.created
    await asyncio.sleep(0.4)
    assert await store.get("t") is None


async def test_callbacks_are_handed_out_once(stores: Callable[[], Any]) -> None:
    """Two instances ask for due webhooks at once: one gets it; a failed delivery comes due
    again at its time, and a delivered one never."""
    first, second = await stores(), await stores()
    now = time.time()
    await first.submit(_new(callback_url="http://hook"), job_id="j", now=now)
    await first.claim("w", now=now, lease=5)
    await first.finish("j", "w", status="succeeded", result=RESULT, now=now)
    got = await asyncio.gather(
        first.claim_callback(now=now, lease=10), second.claim_callback(now=now, lease=10)
    )
    assert sum(job is not None for job in got) == 1
    await first.record_callback("j", CallbackDelivery(at=now, delivered=False, next_at=now + 1))
    assert await second.claim_callback(now=now + 0.5, lease=10) is None
    assert await second.claim_callback(now=now + 1, lease=10) is not None
    await second.record_callback("j", CallbackDelivery(at=now, delivered=True, status=200))
    assert await first.claim_callback(now=now + 100, lease=10) is None
    job = await first.get("j")
    assert job is not None and job.callback is not None
    assert (job.callback.status, job.callback.attempts) == ("delivered", 2)


# -- two gateway processes ---------------------------------------------------------------


@pytest.fixture
async def backend(aiohttp_server: Callable[..., Any]) -> tuple[OrdersBackend, str]:
    orders = OrdersBackend()
    server = await aiohttp_server(orders.app())
    return orders, str(server.make_url("/orders"))


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "orders.yaml"
    path.write_text(MAPPING)
    return path


def _redis_options(url: str, lease: str = "2s") -> tuple[str, ...]:
    return ("--jobs-store", "redis", "--redis-url", url, "--job-workers", "2", "--job-lease", lease)


async def test_two_instances_share_one_queue(
    redis_url: str, mapping: Path, backend: tuple[OrdersBackend, str], tmp_path: Path
) -> None:
    """Jobs submitted to either instance are polled on the other; both instances run jobs,
    and each job calls the SOAP service exactly once."""
    orders, url = backend
    orders.delay = 0.1
    options = _redis_options(redis_url)
    async with aiohttp.ClientSession() as session:
        with (
            serving(mapping, url, *options, log=tmp_path / "a.log") as a,
            serving(mapping, url, *options, log=tmp_path / "b.log") as b,
        ):
            await a.ready(session)
            await b.ready(session)
            urls = []
            for index in range(12):
                home, other = (a, b) if index % 2 == 0 else (b, a)
                status = await submit(
                    session, home.url, "POST", "/orders", f"r{index}", json={"customerId": 1}
                )
                urls.append(status.replace(home.url, other.url))
            results = [await poll(session, u) for u in urls]
    ran = [len(a.events("jobs.job_finished")), len(b.events("jobs.job_finished"))]  # stopped
    assert [r["status"] for r in results] == ["succeeded"] * 12
    assert orders.calls == Counter({f"r{i}": 1 for i in range(12)})
    assert sum(ran) == 12 and min(ran) > 0


async def test_a_dead_instances_jobs_are_reclaimed_after_the_lease(
    redis_url: str, mapping: Path, backend: tuple[OrdersBackend, str]
) -> None:
    """kill -9 of the instance running two jobs: after the lease expires the other instance
    re-runs the idempotent one, fails the other as "outcome unknown" (no second call), and
    runs the job that was waiting."""
    orders, url = backend
    orders.gate.clear()
    lease = 1.5
    options = _redis_options(redis_url, f"{lease}s")
    async with aiohttp.ClientSession() as session:
        with serving(mapping, url, *options) as a:
            await a.ready(session)
            once = await submit(session, a.url, "POST", "/orders", "once", json={"customerId": 1})
            idem = await submit(session, a.url, "PUT", "/orders/7", "idem")
            await wait_calls(orders, "once", "idem")
            waiting = await submit(
                session, a.url, "POST", "/orders", "waiting", json={"customerId": 1}
            )
            with serving(mapping, url, *options) as b:
                await b.ready(session)
                a.kill()
                killed_at = time.time()
                orders.gate.set()
                moved = [u.replace(a.url, b.url) for u in (once, idem, waiting)]
                results = [await poll(session, u) for u in moved]
    assert [r["status"] for r in results] == ["failed", "succeeded", "succeeded"]
    assert results[0]["error"]["type"] == "urn:mediator:problem:job-outcome-unknown"
    assert results[1]["result"] == {"id": 7, "total": 99.9}
    assert orders.calls == Counter({"once": 1, "idem": 2, "waiting": 1})
    failed_at = datetime.fromisoformat(results[0]["finished_at"]).timestamp()
    assert lease / 3 < failed_at - killed_at < lease + 3  # after the lease, not at once
