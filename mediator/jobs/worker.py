"""Job workers: claim due jobs, run their translation, record the outcome.

One :class:`WorkerPool` per gateway process runs at most ``workers`` jobs at once. It
claims a job only when a slot is free, so a busy instance leaves waiting jobs to others.
While a job runs its lease is renewed every third of the lease; a worker that cannot renew
(another instance reclaimed the job) abandons it.

Failures that provably did not reach the SOAP service (connection refused, a full bulkhead,
an open circuit breaker), and transient failures of idempotent routes, are retried with an
exponential back-off, up to ``max_attempts`` runs; a job then waits as ``retrying``. Every
other failure (a SOAP fault, a bad request, an unusable answer) is final: the job fails
with the problem the synchronous route would have answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal, Protocol

import structlog

from mediator.errors import (
    BulkheadFullError,
    CircuitOpenError,
    Fault,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.jobs.execute import ProblemRenderer, RouteLookup, run_translation
from mediator.jobs.model import Job, JobResult, job_problem
from mediator.jobs.settings import JobSettings
from mediator.jobs.store import JobStore, JobStoreError
from mediator.log import get_logger
from mediator.upstream.retry import is_retryable

__all__ = [
    "JobMetrics",
    "NullJobMetrics",
    "WorkerPool",
    "backoff",
    "retry_reason",
]

_log = get_logger("mediator.jobs")


class JobMetrics(Protocol):
    """Where job counters and timings go (the gateway's metrics, when it has them)."""

    def job_finished(self, *, route: str, outcome: str, seconds: float, attempts: int) -> None:
        """A job ended: ``outcome`` is ``succeeded`` or ``failed``; ``seconds`` is the
        time from submission to the end."""

    def job_retried(self, *, route: str, reason: str) -> None:
        """An attempt failed retryably; the job waits for its next one."""

    def queue_depth(self, depth: Mapping[str, int]) -> None:
        """Jobs queued, retrying and running in the store."""

    def callback_attempted(self, *, outcome: str) -> None:
        """A webhook delivery ended ``delivered``, ``retry`` or ``failed``."""


class NullJobMetrics:
    """Records nothing (the logs still carry every event)."""

    def job_finished(self, *, route: str, outcome: str, seconds: float, attempts: int) -> None:
        """Ignore."""

    def job_retried(self, *, route: str, reason: str) -> None:
        """Ignore."""

    def queue_depth(self, depth: Mapping[str, int]) -> None:
        """Ignore."""

    def callback_attempted(self, *, outcome: str) -> None:
        """Ignore."""


def retry_reason(error: BaseException, *, idempotent: bool) -> tuple[str, float] | None:
    """Why a failed attempt may be repeated (a problem slug) and the least wait before it,
    or ``None`` when it must not be: faults and anything the upstream may have processed
    (unless the route is idempotent) are final."""
    if isinstance(error, CircuitOpenError):
        return "upstream-circuit-open", error.retry_after
    if isinstance(error, BulkheadFullError | UpstreamOverloadedError):
        return "upstream-overloaded", error.retry_after
    if isinstance(error, Fault) or not isinstance(error, UpstreamError):
        return None
    if not is_retryable(error, idempotent=idempotent):
        return None
    if isinstance(error, UpstreamTimeout):
        return "upstream-timeout", 0.0
    if isinstance(error, UpstreamUnavailable):
        return "upstream-unavailable", 0.0
    if isinstance(error, UpstreamProtocolError):
        return "upstream-invalid-response", 0.0
    return "upstream-error", 0.0


def backoff(attempt: int, *, base: float, ceiling: float, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1 for the first): exponential, half jittered."""
    delay: float = min(ceiling, base * 2.0 ** (attempt - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def _route_removed(job: Job) -> JobResult:
    return job_problem(
        "job-route-removed",
        500,
        "Job Route Removed",
        detail="the route of this job is no longer served (a reload removed it)",
        request_id=job.request.request_id if job.request else None,
        instance=job.path,
    )


class WorkerPool:
    """Runs jobs from ``store`` with at most ``settings.workers`` at once."""

    def __init__(
        self,
        store: JobStore,
        settings: JobSettings,
        *,
        lookup: RouteLookup,
        problems: ProblemRenderer,
        worker_id: str,
        metrics: JobMetrics | None = None,
        on_finished: Callable[[Job], None] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._lookup = lookup
        self._problems = problems
        self.worker_id = worker_id
        self._metrics = metrics or NullJobMetrics()
        self._on_finished = on_finished
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._slots = asyncio.Semaphore(settings.workers)
        self._wakeup = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._loops: list[asyncio.Task[None]] = []
        self.peak = 0
        """The most jobs this pool ran at once (for tests and logs)."""

    @property
    def active(self) -> int:
        """Jobs running in this process now."""
        return len(self._running)

    def start(self) -> None:
        """Start claiming jobs and renewing leases."""
        self._loops = [
            asyncio.create_task(self._dispatch(), name="mediator-jobs-dispatch"),
            asyncio.create_task(self._heartbeat(), name="mediator-jobs-heartbeat"),
        ]

    def wake(self) -> None:
        """A job was submitted or re-queued here: look for work now."""
        self._wakeup.set()

    async def stop(self, *, grace: float) -> None:
        """Stop claiming; let running jobs finish for ``grace`` seconds, then abandon them.

        An abandoned job stays ``running`` in the store until its lease expires (or the
        next exclusive start), then is reclaimed like the job of a crashed process.
        """
        dispatch = self._loops[0] if self._loops else None
        if dispatch is not None:
            dispatch.cancel()
            await asyncio.gather(dispatch, return_exceptions=True)
        running = list(self._running.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                _log.warning("jobs.jobs_abandoned", count=len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        for task in self._loops[1:]:
            task.cancel()
        await asyncio.gather(*self._loops[1:], return_exceptions=True)
        self._loops = []

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.poll_interval):
                await self._wakeup.wait()
        self._wakeup.clear()

    async def _dispatch(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                job = await self._store.claim(
                    self.worker_id, now=self._clock(), lease=self._settings.lease
                )
            except JobStoreError as exc:
                self._slots.release()
                _log.error("jobs.store_failed", operation="claim", reason=str(exc))
                await asyncio.sleep(self._settings.poll_interval)
                continue
            except BaseException:
                self._slots.release()
                raise
            if job is None:
                self._slots.release()
                await self._idle()
                continue
            task = asyncio.create_task(self._run(job), name=f"mediator-job-{job.id}")
            self._running[job.id] = task
            self.peak = max(self.peak, len(self._running))
            task.add_done_callback(partial(self._done, job.id))

    def _done(self, job_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self._slots.release()

    async def _heartbeat(self) -> None:
        interval = self._settings.lease / 3
        while True:
            await asyncio.sleep(interval)
            for job_id, task in list(self._running.items()):
                try:
                    held = await self._store.renew(
                        job_id, self.worker_id, lease_until=self._clock() + self._settings.lease
                    )
                except JobStoreError as exc:
                    _log.error("jobs.store_failed", operation="renew", reason=str(exc))
                    continue
                if not held and not task.done():
                    _log.warning("jobs.lease_lost", job_id=job_id, instance=self.worker_id)
                    task.cancel()

    async def _run(self, job: Job) -> None:
        request_id = job.request.request_id if job.request else None
        log = _log.bind(job_id=job.id, route=job.route_name, request_id=request_id)
        with structlog.contextvars.bound_contextvars(
            job_id=job.id, route=job.route_name, request_id=request_id
        ):
            queued_ms = round((self._clock() - (job.next_at or job.created_at)) * 1000, 3)
            log.info("jobs.job_started", attempt=job.attempts, queued_ms=max(queued_ms, 0.0))
            started = time.perf_counter()
            try:
                await self._attempt(job, started, log)
            except asyncio.CancelledError:
                log.warning("jobs.job_interrupted", attempt=job.attempts)
                raise
            except JobStoreError as exc:
                log.error("jobs.store_failed", operation="finish", reason=str(exc))
            except Exception as exc:  # a bug: never let it kill the pool
                log.error("jobs.job_crashed", exc_info=exc)

    async def _attempt(self, job: Job, started: float, log: Any) -> None:
        found = self._lookup(job.route)
        if found is None or job.request is None:
            await self._finish(job, "failed", _route_removed(job), started, log)
            return
        route, client = found
        try:
            result = await run_translation(route, client, job.request)
        except Exception as exc:
            reason = retry_reason(exc, idempotent=route.idempotent)
            if reason is not None and job.attempts < self._settings.max_attempts:
                await self._retry(job, reason, started, log)
                return
            try:
                failed = self._problems(exc, route, job.request.request_id, job.path)
            except Exception as render_exc:
                log.error("jobs.problem_failed", exc_info=render_exc)
                failed = job_problem(
                    "internal-error",
                    500,
                    "Internal Server Error",
                    detail="the gateway failed; quote the request id",
                    request_id=job.request.request_id,
                    instance=job.path,
                )
            await self._finish(job, "failed", failed, started, log)
            return
        await self._finish(job, "succeeded", result, started, log)

    async def _retry(self, job: Job, reason: tuple[str, float], started: float, log: Any) -> None:
        slug, least = reason
        wait = max(
            least,
            backoff(
                job.attempts,
                base=self._settings.retry_backoff,
                ceiling=self._settings.retry_max_backoff,
                rng=self._rng,
            ),
        )
        now = self._clock()
        updated = await self._store.retry(
            job.id, self.worker_id, now=now, at=now + wait, reason=slug
        )
        if updated is None:
            log.warning("jobs.result_discarded", reason="lease lost")
            return
        log.info(
            "jobs.job_retry_scheduled",
            attempt=job.attempts,
            reason=slug,
            delay_ms=round(wait * 1000, 1),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        self._metrics.job_retried(route=job.route_name, reason=slug)

    async def _finish(
        self,
        job: Job,
        outcome: Literal["succeeded", "failed"],
        result: JobResult,
        started: float,
        log: Any,
    ) -> None:
        now = self._clock()
        duration = time.perf_counter() - started
        finished = await self._store.finish(
            job.id, self.worker_id, status=outcome, result=result, now=now
        )
        if finished is None:
            log.warning("jobs.result_discarded", reason="lease lost")
            return
        total = max(now - job.created_at, duration)  # wall clock; never below the attempt
        log.info(
            "jobs.job_finished",
            outcome=outcome,
            status=result.status,
            attempt=job.attempts,
            duration_ms=round(duration * 1000, 3),
            total_ms=round(total * 1000, 3),
        )
        self._metrics.job_finished(
            route=job.route_name, outcome=outcome, seconds=total, attempts=job.attempts
        )
        if self._on_finished is not None:
            self._on_finished(finished)
