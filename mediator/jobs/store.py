"""The job store protocol, and the flat record form both stores keep jobs in.

A store is the single source of truth of jobs. Every state change is one atomic operation
on it, guarded by the state it expects (a worker finishes a job only while it still holds
its lease), so that several workers, and several gateway instances sharing a store, never
run one job twice nor lose one:

- :meth:`JobStore.claim` hands a due job to exactly one worker, with a lease;
- the worker renews the lease while it runs the job, and finishes it with its result;
- :meth:`JobStore.reclaim` takes back jobs whose lease ran out (their worker died): a job
  of an idempotent route runs again, any other fails with an "outcome unknown" problem.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from mediator.errors import MediatorError
from mediator.jobs.model import (
    CallbackState,
    CallbackStatus,
    Job,
    JobRequest,
    JobResult,
    JobStatus,
    NewJob,
    Transition,
    job_problem,
)

__all__ = [
    "RECORD_FIELDS",
    "CallbackDelivery",
    "JobStore",
    "JobStoreError",
    "Reclaimed",
    "SubmitResult",
    "job_from_record",
    "job_to_record",
    "new_job",
    "outcome_unknown",
    "transition_callback_claimed",
    "transition_callback_recorded",
    "transition_cancelled",
    "transition_claimed",
    "transition_finished",
    "transition_reclaimed",
    "transition_retrying",
]


class JobStoreError(MediatorError):
    """The job store could not be read or written (the database or Redis is unavailable)."""


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What a submission did.

    ``created`` is false when an Idempotency-Key matched an existing job; ``conflict`` is
    true when that job was created for a different request (the client gets a 422).
    """

    job: Job
    created: bool
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class Reclaimed:
    """A job taken back from a worker that died: re-queued or failed (outcome unknown)."""

    job: Job
    action: Literal["requeued", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackDelivery:
    """The outcome of one webhook delivery attempt."""

    at: float
    delivered: bool
    status: int | None = None
    error: str | None = None
    next_at: float | None = None
    """When to try again; ``None`` with ``delivered`` false means give up."""


class JobStore(Protocol):
    """Where jobs live. Implementations: SQLite (embedded) and Redis (shared).

    Every method raises :class:`JobStoreError` when the backing store fails.
    """

    exclusive: bool
    """True when this process is known to be the store's only user, so at start-up every
    job still marked running belonged to a dead process and may be reclaimed at once."""

    async def open(self, *, now: float) -> list[Reclaimed]:
        """Connect and create the schema if needed; when the store is known to have no
        other user (:attr:`exclusive`), reclaim every job a dead process left running."""

    async def close(self) -> None:
        """Release connections and locks."""

    async def submit(self, new: NewJob, *, job_id: str, now: float) -> SubmitResult:
        """Create a queued job, or return the job an Idempotency-Key already names."""

    async def get(self, job_id: str) -> Job | None:
        """The job, tombstones included; ``None`` when it is unknown."""

    async def cancel(self, job_id: str, *, now: float) -> Job | None:
        """Cancel a queued or retrying job; return the job as it now is (any status)."""

    async def claim(self, worker: str, *, now: float, lease: float) -> Job | None:
        """Hand the next due job to ``worker`` (status ``running``), or ``None``."""

    async def renew(self, job_id: str, worker: str, *, lease_until: float) -> bool:
        """Extend ``worker``'s lease; ``False`` when it no longer holds the job."""

    async def finish(
        self,
        job_id: str,
        worker: str,
        *,
        status: Literal["succeeded", "failed"],
        result: JobResult,
        now: float,
    ) -> Job | None:
        """Record the result of ``worker``'s run; ``None`` when it no longer held the job."""

    async def retry(
        self, job_id: str, worker: str, *, now: float, at: float, reason: str
    ) -> Job | None:
        """Put ``worker``'s job back as ``retrying``, due at ``at``; ``None`` if not held."""

    async def reclaim(self, *, now: float, everything: bool = False) -> list[Reclaimed]:
        """Take back running jobs whose lease has expired (all running ones if
        ``everything``): re-queue those of idempotent routes, fail the others with an
        "outcome unknown" problem."""

    async def claim_callback(self, *, now: float, lease: float) -> Job | None:
        """Hand out the next due webhook delivery (leased for ``lease`` seconds)."""

    async def record_callback(self, job_id: str, delivery: CallbackDelivery) -> None:
        """Record a webhook delivery attempt."""

    async def purge(self, *, now: float) -> int:
        """Drop the payload of expired jobs and forget old tombstones; return how many."""

    async def depth(self) -> dict[str, int]:
        """Jobs waiting or running, by status (``queued``, ``retrying``, ``running``)."""


RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "status",
    "route",
    "route_name",
    "method",
    "path",
    "owner",
    "idem_key",
    "fingerprint",
    "idempotent",
    "request",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "expires_at",
    "ttl",
    "attempts",
    "next_at",
    "worker",
    "lease_until",
    "history",
    "result_status",
    "result_type",
    "result_body",
    "last_error",
    "cb_url",
    "cb_status",
    "cb_attempts",
    "cb_next_at",
    "cb_last_at",
    "cb_last_status",
    "cb_last_error",
    "cb_delivered_at",
)
"""The columns (SQLite) and hash fields (Redis) of a job record."""


def job_to_record(job: Job) -> dict[str, Any]:
    """A job as a flat record of strings, numbers and ``None``."""
    cb = job.callback
    result = job.result
    return {
        "id": job.id,
        "status": job.status,
        "route": job.route,
        "route_name": job.route_name,
        "method": job.method,
        "path": job.path,
        "owner": job.owner,
        "idem_key": job.idempotency_key,
        "fingerprint": job.fingerprint,
        "idempotent": 1 if job.idempotent else 0,
        "request": job.request.to_json() if job.request is not None else None,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
        "ttl": job.ttl,
        "attempts": job.attempts,
        "next_at": job.next_at,
        "worker": job.worker,
        "lease_until": job.lease_until,
        "history": "[" + ",".join(t.to_json() for t in job.history) + "]",
        "result_status": result.status if result else None,
        "result_type": result.content_type if result else None,
        "result_body": result.body.decode() if result else None,
        "last_error": job.last_error,
        "cb_url": cb.url if cb else None,
        "cb_status": cb.status if cb else None,
        "cb_attempts": cb.attempts if cb else None,
        "cb_next_at": cb.next_at if cb else None,
        "cb_last_at": cb.last_attempt_at if cb else None,
        "cb_last_status": cb.last_status if cb else None,
        "cb_last_error": cb.last_error if cb else None,
        "cb_delivered_at": cb.delivered_at if cb else None,
    }


def new_job(new: NewJob, *, job_id: str, now: float) -> Job:
    """The queued job a submission creates."""
    return Job(
        id=job_id,
        status="queued",
        route=new.route,
        route_name=new.route_name,
        method=new.method,
        path=new.path,
        owner=new.owner,
        idempotency_key=new.idempotency_key,
        fingerprint=new.fingerprint,
        idempotent=new.idempotent,
        request=new.request,
        created_at=now,
        updated_at=now,
        ttl=new.ttl,
        next_at=now,
        history=(Transition(status="queued", at=now),),
        callback=CallbackState(url=new.callback_url) if new.callback_url else None,
    )


def outcome_unknown(job: Job) -> JobResult:
    """The problem of a non-idempotent job whose worker died while it was running.

    The SOAP call may or may not have reached the service, so the job is not repeated.
    """
    request_id = job.request.request_id if job.request is not None else None
    return job_problem(
        "job-outcome-unknown",
        502,
        "Job Outcome Unknown",
        detail=(
            "the gateway stopped while this job was running; whether the SOAP call took "
            "effect is unknown, and the route is not idempotent, so it was not repeated"
        ),
        request_id=request_id,
        instance=job.path,
        outcome="unknown",
    )


# -- transitions: pure functions, the same for every store --------------------------------


def transition_claimed(job: Job, worker: str, *, now: float, lease: float) -> Job:
    """A due job handed to ``worker``: running, leased, one more attempt."""
    return replace(
        job.with_status("running", now),
        worker=worker,
        lease_until=now + lease,
        attempts=job.attempts + 1,
        started_at=job.started_at or now,
        next_at=None,
    )


def transition_finished(
    job: Job,
    status: Literal["succeeded", "failed"],
    result: JobResult,
    *,
    now: float,
    reason: str | None = None,
) -> Job:
    """A job finished with ``result``; its webhook (if any) becomes due."""
    callback = job.callback and replace(job.callback, status="pending", next_at=now)
    return replace(
        job.with_status(status, now, reason),
        result=result,
        finished_at=now,
        expires_at=now + job.ttl,
        worker=None,
        lease_until=None,
        next_at=None,
        callback=callback,
    )


def transition_retrying(job: Job, *, now: float, at: float, reason: str) -> Job:
    """A job whose attempt failed retryably, due again at ``at``."""
    return replace(
        job.with_status("retrying", now, reason),
        next_at=at,
        worker=None,
        lease_until=None,
        last_error=reason,
    )


def transition_cancelled(job: Job, *, now: float) -> Job:
    """A queued or retrying job cancelled by its client (no webhook is sent)."""
    callback = job.callback and replace(job.callback, status="skipped", next_at=None)
    return replace(
        job.with_status("cancelled", now),
        finished_at=now,
        expires_at=now + job.ttl,
        next_at=None,
        callback=callback,
    )


def transition_reclaimed(job: Job, *, now: float) -> Reclaimed:
    """A running job whose worker is gone: re-queued when its route is idempotent,
    else failed with the "outcome unknown" problem."""
    if job.idempotent:
        requeued = replace(
            job.with_status("queued", now, "worker lost; re-run (idempotent route)"),
            next_at=now,
            worker=None,
            lease_until=None,
        )
        return Reclaimed(requeued, "requeued")
    failed = transition_finished(
        job, "failed", outcome_unknown(job), now=now, reason="worker lost; outcome unknown"
    )
    return Reclaimed(failed, "failed")


def transition_callback_claimed(job: Job, *, now: float, lease: float) -> Job:
    """A due webhook handed to a deliverer, leased so a dead one's is retried."""
    if job.callback is None:
        raise ValueError(f"job {job.id} has no callback")
    callback = replace(job.callback, next_at=now + lease, attempts=job.callback.attempts + 1)
    return replace(job, callback=callback)


def transition_callback_recorded(job: Job, delivery: CallbackDelivery) -> Job:
    """The webhook state after a delivery attempt."""
    if job.callback is None:
        raise ValueError(f"job {job.id} has no callback")
    status: CallbackStatus
    if delivery.delivered:
        status, next_at, delivered_at = "delivered", None, delivery.at
    elif delivery.next_at is not None:
        status, next_at, delivered_at = "pending", delivery.next_at, None
    else:
        status, next_at, delivered_at = "failed", None, None
    callback = replace(
        job.callback,
        status=status,
        next_at=next_at,
        last_attempt_at=delivery.at,
        last_status=delivery.status,
        last_error=delivery.error,
        delivered_at=delivered_at,
    )
    return replace(job, callback=callback)


# -- records ----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _integer(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def job_from_record(record: Mapping[str, Any]) -> Job:
    """The job a record holds (values may be strings, as Redis returns them)."""
    history = tuple(
        Transition(status=item["status"], at=float(item["at"]), reason=item.get("reason"))
        for item in json.loads(record.get("history") or "[]")
    )
    result = None
    if _text(record.get("result_body")) is not None:
        result = JobResult(
            status=_integer(record.get("result_status")) or 0,
            content_type=_text(record.get("result_type")) or "application/json",
            body=str(record["result_body"]).encode(),
        )
    callback = None
    if (url := _text(record.get("cb_url"))) is not None:
        callback = CallbackState(
            url=url,
            status=_text(record.get("cb_status")) or "pending",  # type: ignore[arg-type]
            attempts=_integer(record.get("cb_attempts")) or 0,
            next_at=_number(record.get("cb_next_at")),
            last_attempt_at=_number(record.get("cb_last_at")),
            last_status=_integer(record.get("cb_last_status")),
            last_error=_text(record.get("cb_last_error")),
            delivered_at=_number(record.get("cb_delivered_at")),
        )
    request_text = _text(record.get("request"))
    status: JobStatus = record["status"]
    return Job(
        id=str(record["id"]),
        status=status,
        route=str(record.get("route") or ""),
        route_name=str(record.get("route_name") or ""),
        method=str(record.get("method") or ""),
        path=str(record.get("path") or ""),
        owner=_text(record.get("owner")),
        idempotency_key=_text(record.get("idem_key")),
        fingerprint=str(record.get("fingerprint") or ""),
        idempotent=str(record.get("idempotent")) in ("1", "True", "true"),
        request=JobRequest.from_json(request_text) if request_text else None,
        created_at=_number(record.get("created_at")) or 0.0,
        updated_at=_number(record.get("updated_at")) or 0.0,
        ttl=_number(record.get("ttl")) or 0.0,
        started_at=_number(record.get("started_at")),
        finished_at=_number(record.get("finished_at")),
        expires_at=_number(record.get("expires_at")),
        attempts=_integer(record.get("attempts")) or 0,
        next_at=_number(record.get("next_at")),
        worker=_text(record.get("worker")),
        lease_until=_number(record.get("lease_until")),
        history=history,
        result=result,
        last_error=_text(record.get("last_error")),
        callback=callback,
    )
