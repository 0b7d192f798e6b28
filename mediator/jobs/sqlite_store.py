"""The embedded job store: SQLite in a data directory, durable across crashes.

One file, ``jobs.db``, in write-ahead-log mode with ``synchronous=FULL``: a job accepted
with a 202 is on disk before the client hears of it, and survives ``kill -9`` and power
loss. Every state change runs in a ``BEGIN IMMEDIATE`` transaction guarded by the state
it expects, so several processes on one machine may even share the directory.

The data directory holds a lock file. Each process holds it shared while it runs; the one
that gets it *exclusively* at start-up knows no other process is using the store, so jobs
still marked running belong to a dead process: it reclaims them at once instead of
waiting for their leases to expire.

SQLite calls are blocking, so they run on one dedicated thread, in order; the event loop
never waits on the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

from mediator.jobs.model import Job, JobResult, NewJob
from mediator.jobs.store import (
    RECORD_FIELDS,
    CallbackDelivery,
    JobStoreError,
    Reclaimed,
    SubmitResult,
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

try:  # POSIX only; elsewhere the store never claims to be exclusive
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["DB_NAME", "SqliteJobStore"]

DB_NAME = "jobs.db"
LOCK_NAME = "jobs.lock"
SCHEMA_VERSION = 1

T = TypeVar("T")

_REAL = {
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "expires_at",
    "ttl",
    "next_at",
    "lease_until",
    "cb_next_at",
    "cb_last_at",
    "cb_delivered_at",
}
_INTEGER = {"idempotent", "attempts", "result_status", "cb_attempts", "cb_last_status"}


def _column(name: str) -> str:
    kind = "REAL" if name in _REAL else "INTEGER" if name in _INTEGER else "TEXT"
    return f"{name} {kind}" + (" PRIMARY KEY" if name == "id" else "")


_SCHEMA = [
    f"CREATE TABLE IF NOT EXISTS jobs ({', '.join(map(_column, RECORD_FIELDS))})",
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs(idem_key) WHERE idem_key IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs(status, next_at)",
    "CREATE INDEX IF NOT EXISTS jobs_lease ON jobs(lease_until) WHERE status = 'running'",
    "CREATE INDEX IF NOT EXISTS jobs_callbacks ON jobs(cb_next_at) WHERE cb_status = 'pending'",
    "CREATE INDEX IF NOT EXISTS jobs_expiry ON jobs(expires_at) WHERE expires_at IS NOT NULL",
]
# Column names come from RECORD_FIELDS (constants), never from input; values are bound.
_COLUMNS = ", ".join(RECORD_FIELDS)
_PLACEHOLDERS = ", ".join("?" * len(RECORD_FIELDS))
_INSERT = f"INSERT INTO jobs ({_COLUMNS}) VALUES ({_PLACEHOLDERS})"  # noqa: S608
_ASSIGNMENTS = ", ".join(f"{f} = ?" for f in RECORD_FIELDS[1:])
_UPDATE = f"UPDATE jobs SET {_ASSIGNMENTS} WHERE id = ?"  # noqa: S608


class SqliteJobStore:
    """Jobs in ``DATA_DIR/jobs.db`` (or in memory when ``data_dir`` is ``None``)."""

    def __init__(self, data_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.exclusive = False
        self._conn: sqlite3.Connection | None = None
        self._lock_file: int | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing ------------------------------------------------------------------------

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise JobStoreError("the job store is not open")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, partial(function, *args))
        except sqlite3.Error as exc:
            raise JobStoreError(f"the job database failed: {exc}") from exc

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise JobStoreError("the job store is not open")
        return self._conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _row(self, db: sqlite3.Connection, sql: str, *params: Any) -> Job | None:
        row = db.execute(sql, params).fetchone()
        return job_from_record(dict(row)) if row is not None else None

    @staticmethod
    def _write(db: sqlite3.Connection, job: Job) -> None:
        record = job_to_record(job)
        db.execute(_UPDATE, [record[f] for f in RECORD_FIELDS[1:]] + [job.id])

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self, *, now: float) -> list[Reclaimed]:
        """Open (creating) the database; when this process is the store's only user,
        reclaim every job a dead process left running."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mediator-jobs-db")
        await self._run(self._open)
        if not self.exclusive:
            return []
        reclaimed = await self.reclaim(now=now, everything=True)
        await self._run(self._share_lock)
        return reclaimed

    def _open(self) -> None:
        target = ":memory:"
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._lock()
            target = str(self.data_dir / DB_NAME)
        else:
            self.exclusive = True  # nobody else can see an in-memory database
        conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=30)
        conn.row_factory = sqlite3.Row
        if self.data_dir is not None:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 30000")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            conn.close()
            raise JobStoreError(
                f"{target} was written by a newer Mediator (schema {version}); upgrade"
            )
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._conn = conn

    def _lock(self) -> None:
        assert self.data_dir is not None
        if fcntl is None:  # pragma: no cover - Windows
            return
        fd = os.open(self.data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        self._lock_file = fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.exclusive = True
        except OSError:
            fcntl.flock(fd, fcntl.LOCK_SH)  # another process runs: rely on leases

    def _share_lock(self) -> None:
        if self._lock_file is not None and fcntl is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_SH)

    async def close(self) -> None:
        """Close the database and release the lock."""
        if self._executor is None:
            return
        await self._run(self._close)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            os.close(self._lock_file)  # releases the flock
            self._lock_file = None

    # -- jobs ----------------------------------------------------------------------------

    async def submit(self, new: NewJob, *, job_id: str, now: float) -> SubmitResult:
        """Insert a queued job unless its Idempotency-Key names a live one."""
        return await self._run(self._submit, new, job_id, now)

    def _submit(self, new: NewJob, job_id: str, now: float) -> SubmitResult:
        with self._transaction() as db:
            if new.idempotency_key is not None:
                existing = self._row(
                    db, "SELECT * FROM jobs WHERE idem_key = ?", new.idempotency_key
                )
                if existing is not None and not existing.expired(now):
                    conflict = existing.fingerprint != new.fingerprint
                    return SubmitResult(existing, created=False, conflict=conflict)
                if existing is not None:  # expired: the key is free again
                    db.execute("UPDATE jobs SET idem_key = NULL WHERE id = ?", (existing.id,))
            job = new_job(new, job_id=job_id, now=now)
            record = job_to_record(job)
            db.execute(_INSERT, [record[f] for f in RECORD_FIELDS])
        return SubmitResult(job, created=True)

    async def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None``."""
        return await self._run(self._get, job_id)

    def _get(self, job_id: str) -> Job | None:
        return self._row(self._db, "SELECT * FROM jobs WHERE id = ?", job_id)

    async def cancel(self, job_id: str, *, now: float) -> Job | None:
        """Cancel the job if it has not started; return it as it now is."""
        return await self._run(self._cancel, job_id, now)

    def _cancel(self, job_id: str, now: float) -> Job | None:
        with self._transaction() as db:
            job = self._row(db, "SELECT * FROM jobs WHERE id = ?", job_id)
            if job is None or job.status not in ("queued", "retrying"):
                return job
            job = transition_cancelled(job, now=now)
            self._write(db, job)
            return job

    async def claim(self, worker: str, *, now: float, lease: float) -> Job | None:
        """Give the oldest due job to ``worker``."""
        return await self._run(self._claim, worker, now, lease)

    def _claim(self, worker: str, now: float, lease: float) -> Job | None:
        due = (
            "SELECT * FROM jobs WHERE status IN ('queued', 'retrying') AND next_at <= ?"
            " ORDER BY next_at, created_at LIMIT 1"
        )
        if self._db.execute(due, (now,)).fetchone() is None:  # cheap, lock-free check
            return None
        with self._transaction() as db:
            job = self._row(db, due, now)
            if job is None:
                return None
            job = transition_claimed(job, worker, now=now, lease=lease)
            self._write(db, job)
            return job

    async def renew(self, job_id: str, worker: str, *, lease_until: float) -> bool:
        """Extend the lease if ``worker`` still holds the job."""
        return await self._run(self._renew, job_id, worker, lease_until)

    def _renew(self, job_id: str, worker: str, lease_until: float) -> bool:
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET lease_until = ?"
                " WHERE id = ? AND worker = ? AND status = 'running'",
                (lease_until, job_id, worker),
            )
            return cursor.rowcount == 1

    async def finish(
        self,
        job_id: str,
        worker: str,
        *,
        status: Literal["succeeded", "failed"],
        result: JobResult,
        now: float,
    ) -> Job | None:
        """Record the result if ``worker`` still holds the job."""
        return await self._run(self._finish, job_id, worker, status, result, now)

    def _finish(
        self,
        job_id: str,
        worker: str,
        status: Literal["succeeded", "failed"],
        result: JobResult,
        now: float,
    ) -> Job | None:
        with self._transaction() as db:
            job = self._row(db, "SELECT * FROM jobs WHERE id = ?", job_id)
            if job is None or job.status != "running" or job.worker != worker:
                return None
            job = transition_finished(job, status, result, now=now)
            self._write(db, job)
            return job

    async def retry(
        self, job_id: str, worker: str, *, now: float, at: float, reason: str
    ) -> Job | None:
        """Put the job back as ``retrying`` if ``worker`` still holds it."""
        return await self._run(self._retry, job_id, worker, now, at, reason)

    def _retry(self, job_id: str, worker: str, now: float, at: float, reason: str) -> Job | None:
        with self._transaction() as db:
            job = self._row(db, "SELECT * FROM jobs WHERE id = ?", job_id)
            if job is None or job.status != "running" or job.worker != worker:
                return None
            job = transition_retrying(job, now=now, at=at, reason=reason)
            self._write(db, job)
            return job

    async def reclaim(self, *, now: float, everything: bool = False) -> list[Reclaimed]:
        """Take back running jobs whose lease expired (or all running jobs)."""
        return await self._run(self._reclaim, now, everything)

    def _reclaim(self, now: float, everything: bool) -> list[Reclaimed]:
        expired = "SELECT * FROM jobs WHERE status = 'running' AND (? OR lease_until < ?)"
        params = (everything, now)
        if self._db.execute(expired + " LIMIT 1", params).fetchone() is None:
            return []
        reclaimed: list[Reclaimed] = []
        with self._transaction() as db:
            rows = db.execute(expired, params).fetchall()
            for row in rows:
                outcome = transition_reclaimed(job_from_record(dict(row)), now=now)
                self._write(db, outcome.job)
                reclaimed.append(outcome)
        return reclaimed

    # -- callbacks -----------------------------------------------------------------------

    async def claim_callback(self, *, now: float, lease: float) -> Job | None:
        """Hand out the next due webhook delivery."""
        return await self._run(self._claim_callback, now, lease)

    def _claim_callback(self, now: float, lease: float) -> Job | None:
        due = (
            "SELECT * FROM jobs WHERE cb_status = 'pending' AND cb_next_at <= ?"
            " ORDER BY cb_next_at LIMIT 1"
        )
        if self._db.execute(due, (now,)).fetchone() is None:
            return None
        with self._transaction() as db:
            job = self._row(db, due, now)
            if job is None or job.callback is None:
                return None
            job = transition_callback_claimed(job, now=now, lease=lease)
            self._write(db, job)
            return job

    async def record_callback(self, job_id: str, delivery: CallbackDelivery) -> None:
        """Record one delivery attempt."""
        await self._run(self._record_callback, job_id, delivery)

    def _record_callback(self, job_id: str, delivery: CallbackDelivery) -> None:
        with self._transaction() as db:
            job = self._row(db, "SELECT * FROM jobs WHERE id = ?", job_id)
            if job is None or job.callback is None:
                return
            self._write(db, transition_callback_recorded(job, delivery))

    # -- housekeeping --------------------------------------------------------------------

    async def purge(self, *, now: float) -> int:
        """Drop expired payloads and idempotency keys; delete tombstones a TTL later."""
        return await self._run(self._purge, now)

    def _purge(self, now: float) -> int:
        if (
            self._db.execute(
                "SELECT 1 FROM jobs WHERE expires_at <= ? AND (request IS NOT NULL"
                " OR expires_at + ttl <= ?) LIMIT 1",
                (now, now),
            ).fetchone()
            is None
        ):
            return 0
        with self._transaction() as db:
            stripped = db.execute(
                "UPDATE jobs SET request = NULL, result_body = NULL, result_status = NULL,"
                " result_type = NULL, idem_key = NULL WHERE expires_at <= ?"
                " AND request IS NOT NULL",
                (now,),
            ).rowcount
            deleted = db.execute("DELETE FROM jobs WHERE expires_at + ttl <= ?", (now,)).rowcount
        return int(stripped + deleted)

    async def depth(self) -> dict[str, int]:
        """Jobs queued, retrying and running."""
        return await self._run(self._depth)

    def _depth(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT status, count(*) FROM jobs"
            " WHERE status IN ('queued', 'retrying', 'running') GROUP BY status"
        ).fetchall()
        counts = {"queued": 0, "retrying": 0, "running": 0}
        counts.update({row[0]: int(row[1]) for row in rows})
        return counts
