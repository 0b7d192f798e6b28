"""Completion webhooks: signed, retried with back-off, their delivery recorded on the job.

When a job with a ``Callback-URL`` finishes, the gateway POSTs the job's JSON (the same
document ``GET /jobs/{id}`` returns) to that URL with these headers:

``Mediator-Signature: t=<unix seconds>,v1=<hex>``
    HMAC-SHA256, keyed with the callback secret, over ``<t>.`` followed by the body
    bytes. Receivers recompute it (:func:`verify_signature`) and reject stale ``t``.
``Mediator-Job-Id``, ``Mediator-Delivery``
    the job id and the attempt number (deliveries are at least once: dedupe by job id).

Any 2xx answer is a delivery. Anything else (another status, no connection, a timeout) is
retried with an exponential back-off, up to ``callback_max_attempts`` attempts; the job's
``callback`` object shows the status (``pending``, ``delivered``, ``failed``), attempts,
the last HTTP status and error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import random
import time
from collections.abc import Callable

from mediator.errors import UpstreamError
from mediator.jobs.model import Job, job_view
from mediator.jobs.settings import JobSettings
from mediator.jobs.store import CallbackDelivery, JobStore, JobStoreError
from mediator.jobs.worker import JobMetrics, NullJobMetrics, backoff
from mediator.log import get_logger
from mediator.translate.jsonio import dumps
from mediator.types import Transport

__all__ = [
    "DELIVERY_HEADER",
    "JOB_ID_HEADER",
    "SIGNATURE_HEADER",
    "CallbackDispatcher",
    "sign_payload",
    "verify_signature",
]

SIGNATURE_HEADER = "Mediator-Signature"
JOB_ID_HEADER = "Mediator-Job-Id"
DELIVERY_HEADER = "Mediator-Delivery"
_MAX_RESPONSE = 64 * 1024

_log = get_logger("mediator.jobs")


def sign_payload(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Mediator-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance: float = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = sign_payload(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class CallbackDispatcher:
    """Delivers due webhooks from ``store`` through ``transport``."""

    def __init__(
        self,
        store: JobStore,
        settings: JobSettings,
        *,
        transport: Transport,
        status_url: Callable[[str], str],
        metrics: JobMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        concurrency: int = 4,
    ) -> None:
        if not settings.callback_secret:
            raise ValueError("callbacks need a signing secret")
        self._store = store
        self._settings = settings
        self._secret = settings.callback_secret
        self._transport = transport
        self._status_url = status_url
        self._metrics = metrics or NullJobMetrics()
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._slots = asyncio.Semaphore(concurrency)
        self._wakeup = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start delivering."""
        self._loop = asyncio.create_task(self._dispatch(), name="mediator-jobs-callbacks")

    def wake(self) -> None:
        """A job with a webhook finished here: deliver now."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Stop; deliveries in flight are cancelled and retried after their lease."""
        if self._loop is not None:
            self._loop.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(
            *(t for t in (self._loop, *self._tasks) if t is not None), return_exceptions=True
        )
        self._loop = None

    async def _dispatch(self) -> None:
        lease = self._settings.callback_timeout * 2 + 1
        while True:
            await self._slots.acquire()
            try:
                job = await self._store.claim_callback(now=self._clock(), lease=lease)
            except JobStoreError as exc:
                job = None
                _log.error("jobs.store_failed", operation="claim_callback", reason=str(exc))
            except BaseException:
                self._slots.release()
                raise
            if job is None:
                self._slots.release()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._settings.poll_interval):
                        await self._wakeup.wait()
                self._wakeup.clear()
                continue
            task = asyncio.create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _deliver(self, job: Job) -> None:
        callback = job.callback
        if callback is None:
            return
        body = dumps(job_view(job, status_url=self._status_url(job.id)))
        now = self._clock()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_payload(self._secret, body, int(now)),
            JOB_ID_HEADER: job.id,
            DELIVERY_HEADER: str(callback.attempts),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await self._transport.send(
                callback.url,
                body,
                headers,
                timeout=self._settings.callback_timeout,
                connect_timeout=min(5.0, self._settings.callback_timeout),
                max_bytes=_MAX_RESPONSE,
            )
            status = response.status
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except UpstreamError as exc:
            error = type(exc).__name__
        except Exception as exc:  # a bug must not stop deliveries
            _log.error("jobs.callback_crashed", job_id=job.id, exc_info=exc)
            error = "internal error"
        at = self._clock()
        delivered = error is None
        next_at = None
        if not delivered and callback.attempts < self._settings.callback_max_attempts:
            next_at = at + backoff(
                callback.attempts,
                base=self._settings.callback_backoff,
                ceiling=self._settings.callback_max_backoff,
                rng=self._rng,
            )
        outcome = "delivered" if delivered else "retry" if next_at is not None else "failed"
        if delivered:
            _log.info(
                "jobs.callback_delivered", job_id=job.id, attempt=callback.attempts, status=status
            )
        else:
            _log.warning(
                "jobs.callback_failed",
                job_id=job.id,
                attempt=callback.attempts,
                status=status,
                error=error,
                gave_up=outcome == "failed",
            )
        self._metrics.callback_attempted(outcome=outcome)
        try:
            await self._store.record_callback(
                job.id,
                CallbackDelivery(
                    at=at, delivered=delivered, status=status, error=error, next_at=next_at
                ),
            )
        except JobStoreError as exc:
            _log.error("jobs.store_failed", operation="record_callback", reason=str(exc))
