"""Settings of the asynchronous gateway: the store, workers, expiry and callbacks."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mediator.mapping.values import parse_duration

__all__ = [
    "CALLBACK_SECRET_VARIABLE",
    "DEFAULT_JOB_TTL",
    "JobSettings",
    "add_job_arguments",
    "job_settings_from",
    "parse_long_duration",
]

CALLBACK_SECRET_VARIABLE = "MEDIATOR_CALLBACK_SECRET"  # noqa: S105 - a variable name
"""The environment variable holding the webhook signing key (never a command-line flag)."""

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
            raise ValueError("callbacks need a signing secret (set MEDIATOR_CALLBACK_SECRET)")
        if self.workers < 1 or self.max_attempts < 1 or self.callback_max_attempts < 1:
            raise ValueError("workers, max_attempts and callback_max_attempts must be >= 1")
        for name in ("ttl", "lease", "poll_interval", "sweep_interval", "callback_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")


_LONG = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|d)\s*$")


def parse_long_duration(value: str) -> float:
    """Seconds from a duration that may also be in hours or days (``24h``, ``7d``).

    Raises:
        ValueError: not a positive duration.
    """
    match = _LONG.match(value)
    if match:
        return float(match.group(1)) * (3600 if match.group(2) == "h" else 86400)
    return parse_duration(value)


def _duration(value: str) -> float:
    try:
        return parse_long_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``mediator serve`` options of the asynchronous gateway."""
    group = parser.add_argument_group("asynchronous jobs (docs/jobs.md)")
    group.add_argument(
        "--jobs-store",
        choices=["sqlite", "redis"],
        default="sqlite",
        help="where jobs live: sqlite (embedded, in --data-dir) or redis (shared by instances)",
    )
    group.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MEDIATOR_DATA_DIR", "data")),
        help="directory of the SQLite job store (default: $MEDIATOR_DATA_DIR or ./data)",
    )
    group.add_argument(
        "--redis-url",
        default=os.environ.get("MEDIATOR_REDIS_URL"),
        help="Redis URL of the shared job store (default: $MEDIATOR_REDIS_URL)",
    )
    group.add_argument(
        "--job-ttl",
        type=_duration,
        default=DEFAULT_JOB_TTL,
        help="how long finished jobs' results are kept (default: 24h; a route's job_ttl wins)",
    )
    group.add_argument(
        "--job-workers", type=int, default=8, help="jobs this process runs at once (default: 8)"
    )
    group.add_argument(
        "--job-lease",
        type=_duration,
        default=30.0,
        help="a dead worker's job is reclaimed this long after its last renewal (default: 30s)",
    )
    group.add_argument(
        "--job-max-attempts",
        type=int,
        default=5,
        help="runs of a job at most, retries of retryable failures included (default: 5)",
    )
    group.add_argument(
        "--callback-allow",
        action="append",
        default=[],
        metavar="PREFIX",
        help=f"allow Callback-URL values starting with PREFIX (repeatable); webhooks are "
        f"signed with ${CALLBACK_SECRET_VARIABLE}",
    )


def job_settings_from(args: argparse.Namespace) -> JobSettings:
    """Job settings from ``mediator serve``'s options and the environment.

    Raises:
        ValueError: the options do not fit together (Redis without a URL, callbacks
            without a secret, a non-positive number).
    """
    lease = float(args.job_lease)
    return JobSettings(
        store=args.jobs_store,
        data_dir=args.data_dir,
        redis_url=args.redis_url,
        ttl=float(args.job_ttl),
        workers=int(args.job_workers),
        lease=lease,
        poll_interval=min(0.5, lease / 4),
        sweep_interval=min(5.0, lease / 3),
        max_attempts=int(args.job_max_attempts),
        callback_allow=tuple(args.callback_allow),
        callback_secret=os.environ.get(CALLBACK_SECRET_VARIABLE) or None,
    )
