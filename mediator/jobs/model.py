"""Jobs: what one asynchronous call of a route is, at every step of its life.

A job is created by a request to an asynchronous route and moves through these statuses::

    queued ──► running ──► succeeded
      │  ▲        │  └───► failed
      │  │        ▼
      │  └─── retrying          (a retryable failure: waits, then runs again)
      ▼
    cancelled                   (DELETE while queued or retrying)

Every transition is recorded with its time in ``history``. A finished job keeps its result
(the JSON, or the problem+json, the synchronous route would have answered) until
``expires_at``; after that it is a tombstone the API answers 410 for.

Times are wall-clock seconds since the epoch (floats), so that several gateway instances
sharing one store agree on them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

import orjson

__all__ = [
    "ACTIVE_STATUSES",
    "CALLBACK_STATUSES",
    "JOB_STATUSES",
    "TERMINAL_STATUSES",
    "CallbackState",
    "CallbackStatus",
    "Job",
    "JobRequest",
    "JobResult",
    "JobStatus",
    "NewJob",
    "Transition",
    "iso_time",
    "job_problem",
    "job_view",
    "request_fingerprint",
]

JobStatus: TypeAlias = Literal["queued", "running", "retrying", "succeeded", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = (
    "queued",
    "running",
    "retrying",
    "succeeded",
    "failed",
    "cancelled",
)
TERMINAL_STATUSES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
ACTIVE_STATUSES: frozenset[str] = frozenset({"queued", "running", "retrying"})

CallbackStatus: TypeAlias = Literal["pending", "delivered", "failed", "skipped"]
CALLBACK_STATUSES: tuple[CallbackStatus, ...] = ("pending", "delivered", "failed", "skipped")

PROBLEM_CONTENT_TYPE = "application/problem+json"


def iso_time(seconds: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC with milliseconds (``2026-03-14T09:26:53.120Z``)."""
    if seconds is None:
        return None
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRequest:
    """What the route's translation needs to run later, exactly as the request gave it.

    Only what templates can see is kept: path parameters, the route's declared query
    parameters, its allow-listed headers (lower-case names) and the JSON body as sent.
    """

    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    """The JSON body as the client sent it (UTF-8 text), parsed again when the job runs."""
    request_id: str = ""
    """The submitting request's id: sent upstream and quoted by the job's problems."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Further template variables of the request, e.g. ``client`` (the authenticated
    identity), so that the job renders exactly what the synchronous call would."""

    def to_json(self) -> str:
        """This request as JSON text (for the store)."""
        return json.dumps(
            {
                "path_params": self.path_params,
                "query": self.query,
                "headers": self.headers,
                "body": self.body,
                "request_id": self.request_id,
                "extra": self.extra,
            },
            separators=(",", ":"),
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> JobRequest:
        """The request stored by :meth:`to_json`."""
        data = json.loads(text)
        return cls(
            path_params=dict(data.get("path_params") or {}),
            query=dict(data.get("query") or {}),
            headers=dict(data.get("headers") or {}),
            body=data.get("body"),
            request_id=str(data.get("request_id") or ""),
            extra=dict(data.get("extra") or {}),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    """The HTTP answer the synchronous route would have given: status, type and body."""

    status: int
    content_type: str
    body: bytes
    """JSON bytes: the route's response, or an RFC 9457 problem."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Transition:
    """One status change of a job, at a time, with an optional reason."""

    status: JobStatus
    at: float
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored form (times as floats)."""
        item: dict[str, Any] = {"status": self.status, "at": self.at}
        if self.reason:
            item["reason"] = self.reason
        return item

    def to_json(self) -> str:
        """The stored form as compact JSON text."""
        return json.dumps(self.to_dict(), separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackState:
    """The completion webhook of a job and how its delivery went."""

    url: str
    status: CallbackStatus = "pending"
    attempts: int = 0
    next_at: float | None = None
    last_attempt_at: float | None = None
    last_status: int | None = None
    """The receiver's last HTTP status (``None`` when it could not be reached)."""
    last_error: str | None = None
    delivered_at: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NewJob:
    """What a submission gives the store; it adds the id, times and state."""

    route: str
    """The route's key, ``METHOD /path/{template}`` (unique in a mapping set)."""
    route_name: str
    method: str
    path: str
    """The request path as the client sent it."""
    request: JobRequest
    idempotent: bool
    """The route may be re-run after a crash mid-call (the route's ``idempotent`` key)."""
    ttl: float
    """Seconds a finished job's result is kept."""
    owner: str | None = None
    """The authenticated client that created the job, as ``method:subject`` (``None``
    when the route was called without authentication)."""
    idempotency_key: str | None = None
    fingerprint: str = ""
    """A hash of what the request asks for; the same Idempotency-Key needs the same one."""
    callback_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One job as the store holds it."""

    id: str
    status: JobStatus
    route: str
    route_name: str
    method: str
    path: str
    owner: str | None
    idempotency_key: str | None
    fingerprint: str
    idempotent: bool
    request: JobRequest | None
    """``None`` once the job has expired (its payload is dropped)."""
    created_at: float
    updated_at: float
    ttl: float
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = None
    attempts: int = 0
    next_at: float | None = None
    """When a queued or retrying job may run."""
    worker: str | None = None
    lease_until: float | None = None
    history: tuple[Transition, ...] = ()
    result: JobResult | None = None
    last_error: str | None = None
    """Why the last attempt failed, as a problem slug (``upstream-unavailable``…)."""
    callback: CallbackState | None = None

    @property
    def finished(self) -> bool:
        """Whether the job reached a final status."""
        return self.status in TERMINAL_STATUSES

    def expired(self, now: float) -> bool:
        """Whether the job's result has expired at ``now``."""
        return self.expires_at is not None and now >= self.expires_at

    def with_status(self, status: JobStatus, at: float, reason: str | None = None) -> Job:
        """A copy moved to ``status`` at ``at``, with the transition recorded."""
        return replace(
            self,
            status=status,
            updated_at=at,
            history=(*self.history, Transition(status=status, at=at, reason=reason)),
        )


def request_fingerprint(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: Any
) -> str:
    """A SHA-256 over what a request asks for: method, path, query, headers and the body.

    The body is compared as JSON (key order and white space do not matter; numbers keep
    their exact digits), so a client repeating a request with an Idempotency-Key matches.
    """
    canonical = json.dumps(
        [method.upper(), path, sorted(query.items()), sorted(headers.items()), body],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def job_problem(
    slug: str,
    status: int,
    title: str,
    *,
    detail: str,
    request_id: str | None,
    instance: str | None,
    **extensions: Any,
) -> JobResult:
    """A problem+json result built by the jobs layer, in the gateway's problem shape."""
    body: dict[str, Any] = {
        "type": f"urn:mediator:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JobResult(status=status, content_type=PROBLEM_CONTENT_TYPE, body=orjson.dumps(body))


def job_view(job: Job, *, status_url: str) -> dict[str, Any]:
    """The JSON view of a job, as ``GET /jobs/{id}`` and completion callbacks show it.

    A succeeded job carries ``result`` (the route's JSON, digits exact) and
    ``result_status``; a failed one carries ``error`` (the problem the synchronous route
    would have answered). Times are ISO 8601 UTC.
    """
    view: dict[str, Any] = {
        "id": job.id,
        "status": job.status,
        "status_url": status_url,
        "route": job.route_name,
        "method": job.method,
        "path": job.path,
        "created_at": iso_time(job.created_at),
        "updated_at": iso_time(job.updated_at),
        "started_at": iso_time(job.started_at),
        "finished_at": iso_time(job.finished_at),
        "expires_at": iso_time(job.expires_at),
        "attempts": job.attempts,
        "history": [
            {"status": t.status, "at": iso_time(t.at), **({"reason": t.reason} if t.reason else {})}
            for t in job.history
        ],
    }
    if job.status == "retrying":
        view["retry"] = {"reason": job.last_error, "next_attempt_at": iso_time(job.next_at)}
    if job.result is not None:
        fragment = orjson.Fragment(job.result.body)
        if job.status == "succeeded":
            view["result_status"] = job.result.status
            view["result"] = fragment
        else:
            view["error"] = fragment
    if job.callback is not None:
        cb = job.callback
        view["callback"] = {
            "url": cb.url,
            "status": cb.status,
            "attempts": cb.attempts,
            "last_attempt_at": iso_time(cb.last_attempt_at),
            "last_status": cb.last_status,
            "last_error": cb.last_error,
            "delivered_at": iso_time(cb.delivered_at),
        }
    return {k: v for k, v in view.items() if v is not None}
