"""The job service of one gateway process: the store, its workers, webhooks and sweeper.

:meth:`JobService.start` opens the store (reclaiming what a dead process left running when
the store has no other user), then starts the :class:`~mediator.jobs.worker.WorkerPool`,
the :class:`~mediator.jobs.callbacks.CallbackDispatcher` (when callbacks are allowed) and a
sweeper that, every ``sweep_interval``, reclaims jobs whose lease expired, drops expired
results and logs the queue depth when it changed.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable

from mediator.jobs.callbacks import CallbackDispatcher
from mediator.jobs.execute import ProblemRenderer, RouteLookup
from mediator.jobs.model import Job, NewJob
from mediator.jobs.settings import JobSettings
from mediator.jobs.sqlite_store import SqliteJobStore
from mediator.jobs.store import JobStore, JobStoreError, Reclaimed, SubmitResult
from mediator.jobs.worker import JobMetrics, NullJobMetrics, WorkerPool
from mediator.log import get_logger
from mediator.types import Transport

__all__ = ["JobService", "create_store"]

_log = get_logger("mediator.jobs")


def create_store(settings: JobSettings) -> JobStore:
    """The store ``settings`` name: SQLite in ``data_dir`` (or memory), or Redis."""
    if settings.store == "redis":
        if not settings.redis_url:
            raise ValueError("the Redis job store needs a Redis URL")
        from mediator.jobs.redis_store import RedisJobStore  # redis only when configured

        return RedisJobStore(settings.redis_url, prefix=settings.redis_prefix)
    return SqliteJobStore(settings.data_dir)


class JobService:
    """Submits, reads and cancels jobs, and runs them in the background."""

    def __init__(
        self,
        settings: JobSettings,
        *,
        lookup: RouteLookup,
        problems: ProblemRenderer,
        status_url: Callable[[str], str],
        store: JobStore | None = None,
        callback_transport: Transport | None = None,
        metrics: JobMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store if store is not None else create_store(settings)
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.metrics = metrics or NullJobMetrics()
        self._clock = clock
        self.workers = WorkerPool(
            self.store,
            settings,
            lookup=lookup,
            problems=problems,
            worker_id=self.instance,
            metrics=self.metrics,
            on_finished=self._finished,
            clock=clock,
        )
        self.callbacks: CallbackDispatcher | None = None
        if settings.callback_allow:
            if callback_transport is None:
                raise ValueError("callbacks need a transport")
            self.callbacks = CallbackDispatcher(
                self.store,
                settings,
                transport=callback_transport,
                status_url=status_url,
                metrics=self.metrics,
                clock=clock,
            )
        self._sweeper: asyncio.Task[None] | None = None
        self._depth: dict[str, int] | None = None

    async def start(self) -> None:
        """Open the store, recover what a crash left behind, start the background work."""
        reclaimed = await self.store.open(now=self._clock())
        self._log_reclaimed(reclaimed, at_start=True)
        _log.info(
            "jobs.service_started",
            store=self.settings.store,
            instance=self.instance,
            workers=self.settings.workers,
            exclusive=self.store.exclusive,
        )
        self.workers.start()
        if self.callbacks is not None:
            self.callbacks.start()
        self._sweeper = asyncio.create_task(self._sweep(), name="mediator-jobs-sweeper")

    async def stop(self) -> None:
        """Stop the background work (running jobs get ``shutdown_grace``), close the store."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self.workers.stop(grace=self.settings.shutdown_grace)
        if self.callbacks is not None:
            await self.callbacks.stop()
        await self.store.close()
        _log.info("jobs.service_stopped", instance=self.instance)

    async def submit(self, new: NewJob) -> SubmitResult:
        """Store a new job (or find the one its Idempotency-Key names) and wake a worker."""
        result = await self.store.submit(new, job_id=uuid.uuid4().hex, now=self._clock())
        if result.created:
            _log.info(
                "jobs.job_submitted",
                job_id=result.job.id,
                route=new.route_name,
                idempotency_key=new.idempotency_key is not None,
                callback=new.callback_url is not None,
            )
            self.workers.wake()
        return result

    async def get(self, job_id: str) -> Job | None:
        """The job, or ``None`` when unknown."""
        return await self.store.get(job_id)

    async def cancel(self, job_id: str) -> Job | None:
        """Cancel a job that has not started; the job as it now is."""
        job = await self.store.cancel(job_id, now=self._clock())
        if job is not None and job.status == "cancelled":
            _log.info("jobs.job_cancelled", job_id=job_id, route=job.route_name)
        return job

    def _finished(self, job: Job) -> None:
        if job.callback is not None and self.callbacks is not None:
            self.callbacks.wake()

    def _log_reclaimed(self, reclaimed: list[Reclaimed], *, at_start: bool) -> None:
        for item in reclaimed:
            job = item.job
            _log.warning(
                "jobs.job_reclaimed",
                job_id=job.id,
                route=job.route_name,
                action=item.action,
                at_start=at_start,
                attempts=job.attempts,
            )
            if item.action == "failed":
                self.metrics.job_finished(
                    route=job.route_name,
                    outcome="failed",
                    seconds=(job.finished_at or self._clock()) - job.created_at,
                    attempts=job.attempts,
                )
                self._finished(job)
        if any(item.action == "requeued" for item in reclaimed):
            self.workers.wake()

    async def sweep(self) -> None:
        """Reclaim expired leases, purge expired results, report the queue depth."""
        now = self._clock()
        self._log_reclaimed(await self.store.reclaim(now=now), at_start=False)
        purged = await self.store.purge(now=now)
        if purged:
            _log.info("jobs.jobs_purged", count=purged)
        depth = await self.store.depth()
        self.metrics.queue_depth(depth)
        if depth != self._depth:
            _log.info("jobs.queue_depth", **depth, local_running=self.workers.active)
            self._depth = depth

    async def _sweep(self) -> None:
        while True:
            try:
                await self.sweep()
            except JobStoreError as exc:
                _log.error("jobs.store_failed", operation="sweep", reason=str(exc))
            await asyncio.sleep(self.settings.sweep_interval)
