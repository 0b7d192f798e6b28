"""Completion webhooks: HMAC signatures, retries with back-off, delivery status on the job."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest

from mediator.errors import UpstreamUnavailable
from mediator.jobs.callbacks import (
    JOB_ID_HEADER,
    SIGNATURE_HEADER,
    CallbackDispatcher,
    sign_payload,
    verify_signature,
)
from mediator.jobs.model import Job, JobRequest, JobResult, NewJob
from mediator.jobs.settings import JobSettings
from mediator.jobs.sqlite_store import SqliteJobStore
from mediator.types import TransportResponse
from tests.unit.jobs.conftest import FakeTransport

SECRET = "s3cret"
SETTINGS = JobSettings(
    callback_allow=("http://hooks.test/",),
    callback_secret=SECRET,
    callback_max_attempts=3,
    callback_backoff=0.01,
    callback_max_backoff=0.02,
    poll_interval=0.01,
)


def test_signature_round_trip_and_tampering() -> None:
    """A signature verifies for its body and secret only, and only while fresh."""
    body = b'{"id":"j"}'
    header = sign_payload(SECRET, body, 1_000)
    assert header.startswith("t=1000,v1=")
    assert verify_signature(SECRET, header, body, now=1_010)
    assert not verify_signature(SECRET, header, body + b" ", now=1_010)
    assert not verify_signature("other", header, body, now=1_010)
    assert not verify_signature(SECRET, header, body, now=2_000)  # stale: replay refused
    assert not verify_signature(SECRET, "garbage", body, now=1_000)


def _answer(status: int) -> TransportResponse:
    return TransportResponse(status=status, headers={}, body=b"")


@pytest.fixture
async def store() -> AsyncIterator[SqliteJobStore]:
    job_store = SqliteJobStore(None)
    await job_store.open(now=0.0)
    yield job_store
    await job_store.close()


async def _finished_job(store: SqliteJobStore) -> str:
    new = NewJob(
        route="POST /orders",
        route_name="create-order",
        method="POST",
        path="/orders",
        request=JobRequest(request_id="r"),
        idempotent=False,
        ttl=60,
        callback_url="http://hooks.test/done",
    )
    now = time.time()
    await store.submit(new, job_id="j", now=now)
    await store.claim("w", now=now, lease=5)
    result = JobResult(status=201, content_type="application/json", body=b'{"total":1.50}')
    await store.finish("j", "w", status="succeeded", result=result, now=now)
    return "j"


async def _settled(store: SqliteJobStore, job_id: str) -> Job:
    async with asyncio.timeout(5):
        while True:
            job = await store.get(job_id)
            if job is not None and job.callback and job.callback.status != "pending":
                return job
            await asyncio.sleep(0.01)


async def test_failed_deliveries_are_retried_until_one_succeeds(store: SqliteJobStore) -> None:
    """500, then no connection, then 204: three signed attempts, the job shows delivered."""
    transport = FakeTransport(
        steps=[_answer(500), UpstreamUnavailable("refused", sent=False), _answer(204)]
    )
    dispatcher = CallbackDispatcher(
        store, SETTINGS, transport=transport, status_url=lambda i: f"/jobs/{i}"
    )
    job_id = await _finished_job(store)
    dispatcher.start()
    try:
        job = await _settled(store, job_id)
    finally:
        await dispatcher.stop()
    assert transport.calls == 3
    assert job.callback is not None
    assert (job.callback.status, job.callback.attempts, job.callback.last_status) == (
        "delivered",
        3,
        204,
    )
    body = transport.bodies[-1]
    view = json.loads(body)
    assert view["id"] == "j" and view["status"] == "succeeded" and view["result"] == {"total": 1.5}
    assert b'"total":1.50' in body


async def test_delivery_gives_up_after_max_attempts(store: SqliteJobStore) -> None:
    """A receiver that always fails gets ``callback_max_attempts`` tries; then ``failed``."""
    transport = FakeTransport(steps=[_answer(503)])
    dispatcher = CallbackDispatcher(
        store, SETTINGS, transport=transport, status_url=lambda i: f"/jobs/{i}"
    )
    job_id = await _finished_job(store)
    dispatcher.start()
    try:
        job = await _settled(store, job_id)
    finally:
        await dispatcher.stop()
    assert transport.calls == 3
    assert job.callback is not None
    assert (job.callback.status, job.callback.last_error) == ("failed", "HTTP 503")


async def test_the_webhook_is_signed(store: SqliteJobStore) -> None:
    """The request carries the job id and an HMAC-SHA256 signature of its exact body."""
    seen: list[dict[str, str]] = []

    class Recording(FakeTransport):
        async def send(self, url, body, headers, **kwargs):  # type: ignore[no-untyped-def]
            seen.append({"url": url, **headers})
            return await super().send(url, body, headers, **kwargs)

    transport = Recording(steps=[_answer(200)])
    dispatcher = CallbackDispatcher(
        store, SETTINGS, transport=transport, status_url=lambda i: f"/jobs/{i}"
    )
    await _finished_job(store)
    dispatcher.start()
    try:
        await _settled(store, "j")
    finally:
        await dispatcher.stop()
    headers = seen[0]
    assert headers["url"] == "http://hooks.test/done"
    assert headers[JOB_ID_HEADER] == "j"
    assert verify_signature(SECRET, headers[SIGNATURE_HEADER], transport.bodies[0])


def test_callbacks_need_a_secret() -> None:
    """Allowing callbacks without a signing secret is a configuration error."""
    with pytest.raises(ValueError, match="secret"):
        JobSettings(callback_allow=("http://x/",))
