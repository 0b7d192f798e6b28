"""Settings of the asynchronous gateway: the store, workers, expiry and callbacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["DEFAULT_JOB_TTL", "JobSettings"]

DEFAULT_JOB_TTL = 24 * 3600.0
"""Seconds a finished job's result is kept unless a route or ``--job-ttl`` says otherwise."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSettings:
    """How jobs are stored and run. Defaults suit one gateway process."""

    store: Literal["sqlite", "redis"] = "sqlite"
    data_dir: Path | None = None
    """Where the SQLite store keeps ``jobs.db``; ``None`` keeps jobs in memory (tests and
    embedding only: they are lost when the process stops). ``mediator serve`` sets it."""
    redis_url: str | None = None
    redis_prefix: str = "mediator:{jobs}:"
    """Prefix of every Redis key; the braces keep all keys in one Redis Cluster slot."""
    ttl: float = DEFAULT_JOB_TTL
    """Seconds a finished job's result is kept (a route's ``job_ttl`` overrides it)."""
    workers: int = 8
    """Jobs this process runs at once."""
    lease: float = 30.0
    """Seconds a worker holds a job without renewing; a dead worker's job is reclaimed
    this long after its last renewal."""
    poll_interval: float = 0.5
    """Seconds an idle worker waits before asking the store again (submissions to this
    process wake it at once)."""
    sweep_interval: float = 5.0
    """Seconds between checks for expired leases, expired results and the queue depth."""
    max_attempts: int = 5
    """Runs of one job at most, retries of retryable failures included."""
    retry_backoff: float = 1.0
    """First wait before a retry; doubles each time (fully jittered)."""
    retry_max_backoff: float = 60.0
    retry_after: int = 1
    """The ``Retry-After`` seconds suggested to polling clients."""
    shutdown_grace: float = 10.0
    """Seconds a stopping gateway lets running jobs finish before abandoning them (they
    are then reclaimed by the next start, like after a crash)."""
    callback_allow: tuple[str, ...] = ()
    """URL prefixes a client's ``Callback-URL`` must start with; none: callbacks off."""
    callback_secret: str | None = None
    """The HMAC-SHA256 key signing webhooks (required when callbacks are allowed)."""
    callback_max_attempts: int = 8
    callback_backoff: float = 1.0
    callback_max_backoff: float = 300.0
    callback_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.store == "redis" and not self.redis_url:
            raise ValueError("the Redis job store needs a Redis URL (--redis-url)")
        if self.callback_allow and not self.callback_secret:
            raise ValueError(
                "callbacks need a signing secret (set MEDIATOR_CALLBACK_SECRET)"
            )
        if self.workers < 1 or self.max_attempts < 1 or self.callback_max_attempts < 1:
            raise ValueError("workers, max_attempts and callback_max_attempts must be >= 1")
        for name in ("ttl", "lease", "poll_interval", "sweep_interval", "callback_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
