"""The SQLite job store: durable, exactly-once claims, leases, idempotency, expiry."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mediator.jobs.model import JobRequest, JobResult, NewJob
from mediator.jobs.sqlite_store import DB_NAME, SqliteJobStore
from mediator.jobs.store import CallbackDelivery, JobStoreError

RESULT = JobResult(status=200, content_type="application/json", body=b'{"ok":true}')


def _new(**overrides: object) -> NewJob:
    values: dict[str, object] = {
        "route": "POST /orders",
        "route_name": "create-order",
        "method": "POST",
        "path": "/orders",
        "request": JobRequest(body="{}", request_id="r"),
        "idempotent": False,
        "ttl": 10.0,
        "fingerprint": "f1",
    }
    values.update(overrides)
    return NewJob(**values)  # type: ignore[arg-type]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteJobStore]:
    job_store = SqliteJobStore(tmp_path / "data")
    await job_store.open(now=0.0)
    yield job_store
    await job_store.close()


async def test_a_submitted_job_is_on_disk_at_once(tmp_path: Path, store: SqliteJobStore) -> None:
    """A job is durable as soon as submit returns: another connection reads it from the file."""
    await store.submit(_new(), job_id="j1", now=1.0)
    with sqlite3.connect(tmp_path / "data" / DB_NAME) as other:
        assert other.execute("SELECT status FROM jobs WHERE id = 'j1'").fetchone() == ("queued",)
    mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


async def test_claims_follow_due_time_and_happen_once(store: SqliteJobStore) -> None:
    """Jobs are claimed oldest due first; a claimed job is never handed out again."""
    await store.submit(_new(), job_id="late", now=2.0)
    await store.submit(_new(), job_id="early", now=1.0)
    first = await store.claim("w", now=3.0, lease=5)
    second = await store.claim("w", now=3.0, lease=5)
    assert [first and first.id, second and second.id] == ["early", "late"]
    assert await store.claim("w", now=3.0, lease=5) is None
    assert first is not None and (first.status, first.worker, first.attempts) == ("running", "w", 1)


async def test_a_retrying_job_waits_for_its_time(store: SqliteJobStore) -> None:
    """A retrying job is not claimed before its next attempt is due."""
    await store.submit(_new(), job_id="j", now=1.0)
    await store.claim("w", now=1.0, lease=5)
    assert await store.retry("j", "w", now=2.0, at=4.0, reason="upstream-unavailable")
    assert await store.claim("w", now=3.9, lease=5) is None
    again = await store.claim("w", now=4.0, lease=5)
    assert again is not None and again.attempts == 2


async def test_only_the_lease_holder_may_finish(store: SqliteJobStore) -> None:
    """finish, retry and renew by another worker are refused and change nothing."""
    await store.submit(_new(), job_id="j", now=1.0)
    await store.claim("w1", now=1.0, lease=5)
    assert await store.finish("j", "w2", status="succeeded", result=RESULT, now=2.0) is None
    assert await store.retry("j", "w2", now=2.0, at=3.0, reason="x") is None
    assert not await store.renew("j", "w2", lease_until=9.0)
    assert await store.renew("j", "w1", lease_until=9.0)
    done = await store.finish("j", "w1", status="succeeded", result=RESULT, now=3.0)
    assert done is not None and done.result == RESULT and done.expires_at == 13.0


async def test_reclaim_after_lease_expiry(store: SqliteJobStore) -> None:
    """Expired leases are reclaimed (idempotent re-queued, others failed); live ones kept."""
    await store.submit(_new(idempotent=True), job_id="idem", now=1.0)
    await store.submit(_new(), job_id="once", now=1.0)
    await store.submit(_new(), job_id="live", now=1.0)
    await store.claim("dead", now=1.0, lease=2)
    await store.claim("dead", now=1.0, lease=2)
    await store.claim("alive", now=1.0, lease=2)
    assert await store.renew("live", "alive", lease_until=100.0)
    assert await store.reclaim(now=2.5) == []  # nothing expired before 3.0
    reclaimed = {r.job.id: r.action for r in await store.reclaim(now=3.5)}
    assert reclaimed == {"idem": "requeued", "once": "failed"}
    live = await store.get("live")
    assert live is not None and live.status == "running"
    once = await store.get("once")
    assert once is not None and once.result is not None
    assert json.loads(once.result.body)["type"].endswith("job-outcome-unknown")
    assert await store.finish("once", "dead", status="succeeded", result=RESULT, now=4) is None


async def test_idempotency_key_returns_the_same_job_or_a_conflict(store: SqliteJobStore) -> None:
    """The same key and fingerprint give the existing job; another fingerprint conflicts."""
    first = await store.submit(_new(idempotency_key="k"), job_id="a", now=1.0)
    again = await store.submit(_new(idempotency_key="k"), job_id="b", now=2.0)
    other = await store.submit(_new(idempotency_key="k", fingerprint="f2"), job_id="c", now=2.0)
    assert first.created and not again.created and not again.conflict
    assert again.job.id == "a"
    assert other.conflict and other.job.id == "a"
    assert await store.get("b") is None and await store.get("c") is None


async def test_an_expired_jobs_key_is_free_again(store: SqliteJobStore) -> None:
    """Once a job's result expired, its Idempotency-Key names a new job."""
    await store.submit(_new(idempotency_key="k"), job_id="a", now=1.0)
    await store.claim("w", now=1.0, lease=5)
    await store.finish("a", "w", status="succeeded", result=RESULT, now=2.0)  # expires at 12
    reused = await store.submit(_new(idempotency_key="k", fingerprint="f2"), job_id="b", now=13.0)
    assert reused.created and reused.job.id == "b"


async def test_concurrent_submissions_with_one_key_make_one_job(store: SqliteJobStore) -> None:
    """Twenty racing submissions with one Idempotency-Key create exactly one job."""
    results = await asyncio.gather(
        *(store.submit(_new(idempotency_key="k"), job_id=f"j{i}", now=1.0) for i in range(20))
    )
    assert sum(r.created for r in results) == 1
    assert len({r.job.id for r in results}) == 1


async def test_cancel_only_before_the_job_runs(store: SqliteJobStore) -> None:
    """Queued jobs are cancelled (and never claimed); a running job is left alone."""
    await store.submit(_new(), job_id="q", now=1.0)
    await store.submit(_new(), job_id="r", now=2.0)
    cancelled = await store.cancel("q", now=3.0)
    assert cancelled is not None and cancelled.status == "cancelled"
    running = await store.claim("w", now=3.0, lease=5)
    assert running is not None and running.id == "r"
    kept = await store.cancel("r", now=4.0)
    assert kept is not None and kept.status == "running"
    assert await store.cancel("nope", now=4.0) is None


async def test_purge_drops_payloads_then_tombstones(store: SqliteJobStore) -> None:
    """After expiry the request and result are dropped but the id is known (410); a TTL
    later the tombstone is gone (404)."""
    await store.submit(_new(idempotency_key="k"), job_id="j", now=1.0)
    await store.claim("w", now=1.0, lease=5)
    await store.finish("j", "w", status="succeeded", result=RESULT, now=2.0)  # expires at 12
    assert await store.purge(now=11.0) == 0
    assert await store.purge(now=12.0) == 1
    tombstone = await store.get("j")
    assert tombstone is not None and tombstone.expired(12.0)
    assert tombstone.request is None and tombstone.result is None
    assert tombstone.idempotency_key is None
    assert await store.purge(now=22.0) == 1
    assert await store.get("j") is None


async def test_callbacks_are_claimed_once_and_recorded(store: SqliteJobStore) -> None:
    """A finished job's webhook is due at once, leased while delivered, then recorded."""
    await store.submit(_new(callback_url="http://hook"), job_id="j", now=1.0)
    await store.claim("w", now=1.0, lease=5)
    await store.finish("j", "w", status="succeeded", result=RESULT, now=2.0)
    claimed = await store.claim_callback(now=2.0, lease=10)
    assert claimed is not None and claimed.callback is not None
    assert claimed.callback.attempts == 1
    assert await store.claim_callback(now=5.0, lease=10) is None  # leased
    await store.record_callback("j", CallbackDelivery(at=6.0, delivered=False, next_at=7.0))
    assert await store.claim_callback(now=6.5, lease=10) is None
    again = await store.claim_callback(now=7.0, lease=10)
    assert again is not None and again.callback is not None and again.callback.attempts == 2
    await store.record_callback("j", CallbackDelivery(at=8.0, delivered=True, status=200))
    job = await store.get("j")
    assert job is not None and job.callback is not None
    assert (job.callback.status, job.callback.delivered_at) == ("delivered", 8.0)


async def test_depth_counts_waiting_and_running_jobs(store: SqliteJobStore) -> None:
    """depth() counts queued, retrying and running jobs."""
    for index in range(3):
        await store.submit(_new(), job_id=f"j{index}", now=1.0)
    await store.claim("w", now=1.0, lease=5)
    await store.claim("w", now=1.0, lease=5)
    await store.retry("j0", "w", now=2.0, at=9.0, reason="x")
    assert await store.depth() == {"queued": 1, "retrying": 1, "running": 1}


async def test_jobs_survive_a_reopen_and_the_sole_owner_reclaims_at_once(tmp_path: Path) -> None:
    """Reopening the directory (a restart) finds every job; the exclusive opener reclaims
    jobs left running at once, without waiting for their leases."""
    first = SqliteJobStore(tmp_path)
    await first.open(now=0.0)
    await first.submit(_new(idempotent=True), job_id="idem", now=0.5)
    await first.submit(_new(), job_id="once", now=0.6)
    await first.submit(_new(), job_id="queued", now=0.7)
    await first.claim("w", now=1.0, lease=1000)
    await first.claim("w", now=1.0, lease=1000)
    await first.close()  # as after kill -9: the leases are far from expired
    second = SqliteJobStore(tmp_path)
    reclaimed = await second.open(now=2.0)
    try:
        assert second.exclusive
        assert sorted((r.job.id, r.action) for r in reclaimed) == [
            ("idem", "requeued"),
            ("once", "failed"),
        ]
        jobs = [await second.get(j) for j in ("queued", "idem", "once")]
        assert [j.status if j else None for j in jobs] == ["queued", "queued", "failed"]
    finally:
        await second.close()


async def test_a_second_process_shares_the_store_without_reclaiming(tmp_path: Path) -> None:
    """While one store holds the directory, another opens it shared: it is not exclusive
    and leaves running jobs to their leases."""
    first = SqliteJobStore(tmp_path)
    await first.open(now=0.0)
    await first.submit(_new(), job_id="j", now=1.0)
    await first.claim("w", now=1.0, lease=1000)
    second = SqliteJobStore(tmp_path)
    try:
        assert await second.open(now=2.0) == []
        assert not second.exclusive
        job = await second.get("j")
        assert job is not None and job.status == "running"
    finally:
        await second.close()
        await first.close()


async def test_a_closed_store_raises_a_store_error(tmp_path: Path) -> None:
    """Using a store that is not open raises JobStoreError, not an AttributeError."""
    with pytest.raises(JobStoreError):
        await SqliteJobStore(tmp_path).get("x")
