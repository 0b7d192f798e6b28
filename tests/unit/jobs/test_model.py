"""The job model: records, views, fingerprints and the status transitions every store uses."""

from __future__ import annotations

import json

import orjson
import pytest

from mediator.jobs.model import (
    CallbackState,
    JobRequest,
    JobResult,
    NewJob,
    iso_time,
    job_view,
    request_fingerprint,
)
from mediator.jobs.store import (
    CallbackDelivery,
    job_from_record,
    job_to_record,
    new_job,
    transition_callback_claimed,
    transition_callback_recorded,
    transition_cancelled,
    transition_claimed,
    transition_finished,
    transition_reclaimed,
    transition_retrying,
)

RESULT = JobResult(status=201, content_type="application/json", body=b'{"total":10.50}')


def _new(**overrides: object) -> NewJob:
    values: dict[str, object] = {
        "route": "POST /orders",
        "route_name": "create-order",
        "method": "POST",
        "path": "/orders",
        "request": JobRequest(body='{"customerId": 1}', request_id="rid-1"),
        "idempotent": False,
        "ttl": 60.0,
        "callback_url": "http://hooks.test/done",
    }
    values.update(overrides)
    return NewJob(**values)  # type: ignore[arg-type]


def test_record_round_trip_keeps_every_field() -> None:
    """A job written to a record (as strings, like Redis) and read back is the same job."""
    job = new_job(_new(owner="client-a", idempotency_key="k"), job_id="a" * 32, now=100.25)
    job = transition_claimed(job, "w1", now=101.5, lease=30)
    job = transition_finished(job, "succeeded", RESULT, now=102.75)
    stringly = {k: ("" if v is None else str(v)) for k, v in job_to_record(job).items()}
    assert job_from_record(stringly) == job
    assert job_from_record(job_to_record(job)) == job


def test_transitions_record_history_with_times() -> None:
    """Each transition appends its status and time; finishing sets the expiry from the TTL."""
    job = new_job(_new(), job_id="j", now=10.0)
    job = transition_claimed(job, "w", now=11.0, lease=5)
    assert (job.status, job.attempts, job.lease_until, job.started_at) == ("running", 1, 16.0, 11.0)
    job = transition_retrying(job, now=12.0, at=14.0, reason="upstream-unavailable")
    assert (job.status, job.next_at, job.worker) == ("retrying", 14.0, None)
    job = transition_claimed(job, "w", now=14.0, lease=5)
    assert job.attempts == 2 and job.started_at == 11.0
    job = transition_finished(job, "failed", RESULT, now=15.0)
    assert [(t.status, t.at) for t in job.history] == [
        ("queued", 10.0),
        ("running", 11.0),
        ("retrying", 12.0),
        ("running", 14.0),
        ("failed", 15.0),
    ]
    assert job.expires_at == 75.0 and job.finished
    assert job.callback is not None and job.callback.status == "pending"
    assert job.callback.next_at == 15.0


def test_cancelled_job_skips_its_callback() -> None:
    """Cancelling expires the job after its TTL and never sends the webhook."""
    job = transition_cancelled(new_job(_new(), job_id="j", now=1.0), now=2.0)
    assert job.status == "cancelled" and job.expires_at == 62.0
    assert job.callback is not None and job.callback.status == "skipped"


@pytest.mark.parametrize(("idempotent", "action"), [(True, "requeued"), (False, "failed")])
def test_reclaim_reruns_only_idempotent_jobs(idempotent: bool, action: str) -> None:
    """A lost running job is re-queued if its route is idempotent, else fails as unknown."""
    job = transition_claimed(
        new_job(_new(idempotent=idempotent), job_id="j", now=1.0), "dead", now=2.0, lease=1
    )
    reclaimed = transition_reclaimed(job, now=5.0)
    assert reclaimed.action == action
    if idempotent:
        assert reclaimed.job.status == "queued" and reclaimed.job.next_at == 5.0
        assert reclaimed.job.worker is None
    else:
        assert reclaimed.job.status == "failed"
        assert reclaimed.job.result is not None
        problem = json.loads(reclaimed.job.result.body)
        assert problem["type"] == "urn:mediator:problem:job-outcome-unknown"
        assert problem["request_id"] == "rid-1" and problem["outcome"] == "unknown"
    assert "worker lost" in (reclaimed.job.history[-1].reason or "")


def test_callback_delivery_states() -> None:
    """A delivery attempt leaves the webhook delivered, pending (retry at) or failed."""
    job = transition_finished(new_job(_new(), job_id="j", now=1.0), "succeeded", RESULT, now=2.0)
    job = transition_callback_claimed(job, now=3.0, lease=10)
    assert job.callback == CallbackState(
        url="http://hooks.test/done", status="pending", attempts=1, next_at=13.0
    )
    retry = transition_callback_recorded(
        job, CallbackDelivery(at=4.0, delivered=False, status=500, error="HTTP 500", next_at=6.0)
    )
    assert retry.callback is not None
    assert (retry.callback.status, retry.callback.next_at, retry.callback.last_status) == (
        "pending",
        6.0,
        500,
    )
    gave_up = transition_callback_recorded(job, CallbackDelivery(at=4.0, delivered=False))
    assert gave_up.callback is not None and gave_up.callback.status == "failed"
    done = transition_callback_recorded(job, CallbackDelivery(at=5.0, delivered=True, status=204))
    assert done.callback is not None
    assert (done.callback.status, done.callback.delivered_at) == ("delivered", 5.0)


def test_view_embeds_the_result_with_exact_digits() -> None:
    """A succeeded job's view carries the route's JSON as is (10.50 stays 10.50)."""
    job = transition_finished(new_job(_new(), job_id="j", now=1.0), "succeeded", RESULT, now=2.0)
    encoded = orjson.dumps(job_view(job, status_url="/jobs/j"))
    assert b'"result":{"total":10.50}' in encoded
    view = json.loads(encoded)
    assert view["result_status"] == 201 and "error" not in view
    assert view["status_url"] == "/jobs/j"
    assert view["created_at"] == "1970-01-01T00:00:01.000Z"
    assert view["callback"]["status"] == "pending"


def test_view_of_a_failed_job_carries_the_problem_as_error() -> None:
    """A failed job's view has ``error`` (the problem), never ``result``."""
    problem = JobResult(status=422, content_type="application/problem+json", body=b'{"status":422}')
    job = transition_finished(new_job(_new(), job_id="j", now=1.0), "failed", problem, now=2.0)
    view = json.loads(orjson.dumps(job_view(job, status_url="/jobs/j")))
    assert view["error"] == {"status": 422} and "result" not in view


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    """The same JSON in another key order matches; another value or path does not."""
    one = request_fingerprint("POST", "/o", {}, {}, {"a": 1, "b": [1, 2]})
    assert one == request_fingerprint("post", "/o", {}, {}, {"b": [1, 2], "a": 1})
    assert one != request_fingerprint("POST", "/o", {}, {}, {"a": 2, "b": [1, 2]})
    assert one != request_fingerprint("POST", "/p", {}, {}, {"a": 1, "b": [1, 2]})
    assert one != request_fingerprint("POST", "/o", {"x": "1"}, {}, {"a": 1, "b": [1, 2]})


def test_iso_time() -> None:
    """Times are ISO 8601 UTC with milliseconds."""
    assert iso_time(0.5) == "1970-01-01T00:00:00.500Z"
    assert iso_time(None) is None
