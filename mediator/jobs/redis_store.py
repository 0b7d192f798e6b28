"""The shared job store: Redis, for several gateway instances serving one queue.

Keys (all under one prefix, ``mediator:{jobs}:`` by default; the braces put every key in
one Redis Cluster slot, as the scripts need):

=====================  =================================================================
``job:ID``             a hash: the job's record (:data:`~mediator.jobs.store.RECORD_FIELDS`)
                       plus ``rev``, a revision counter bumped by every write
``queued``             sorted set of queued job ids, scored by when they are due
``retrying``           sorted set of retrying job ids, scored by their next attempt
``running``            sorted set of running job ids, scored by their lease's end
``callbacks``          sorted set of jobs with a webhook to deliver, scored by when
``idem:HASH``          the job id an Idempotency-Key (hashed with its owner) names
=====================  =================================================================

Every change is computed in Python by the same transition functions the SQLite store uses,
then applied by one Lua script *only if the job's revision is still the one read*
(compare-and-set), together with the sorted-set moves it implies. Two instances racing for
one job both read revision *n*; the first script bumps it and the second finds it changed,
so each job is claimed exactly once, and a reclaim never overtakes a lease renewal.

A finished job's hash expires ``ttl`` after its result does (a tombstone answering 410 in
between); its Idempotency-Key expires with the result.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from mediator.jobs.model import ACTIVE_STATUSES, Job, JobResult, NewJob
from mediator.jobs.store import (
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

__all__ = ["DEFAULT_PREFIX", "RedisJobStore"]

DEFAULT_PREFIX = "mediator:{jobs}:"
_CANDIDATES = 8
_CAS_TRIES = 8

# KEYS: job, queued, retrying, running, callbacks, idem (or the job key again)
# ARGV: expected rev, number of fields n, n field/value pairs, then operations:
#   zadd KEY# score member | zrem KEY# member | pexpireat KEY# ms
_CAS = """
local rev = redis.call('HGET', KEYS[1], 'rev')
if rev ~= ARGV[1] then return 0 end
local n = tonumber(ARGV[2])
local i = 3
if n > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + 2 * n))
  i = 3 + 2 * n
end
redis.call('HINCRBY', KEYS[1], 'rev', 1)
while i <= #ARGV do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'zadd' then
    redis.call('ZADD', key, ARGV[i + 2], ARGV[i + 3]); i = i + 4
  elseif op == 'zrem' then
    redis.call('ZREM', key, ARGV[i + 2]); i = i + 3
  elseif op == 'pexpireat' then
    redis.call('PEXPIREAT', key, ARGV[i + 2]); i = i + 3
  else
    return redis.error_reply('unknown operation ' .. op)
  end
end
return 1
"""

# KEYS: job, queued, idem (or the job key again); ARGV: id, due score, use idem (1/0),
# job key prefix, then field/value pairs. Returns the id of the job the key names.
_SUBMIT = """
if ARGV[3] == '1' then
  local existing = redis.call('GET', KEYS[3])
  if existing and redis.call('EXISTS', ARGV[4] .. existing) == 1 then return existing end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('HSET', KEYS[1], 'rev', '1')
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[3] == '1' then redis.call('SET', KEYS[3], ARGV[1]) end
return ARGV[1]
"""

# KEYS: job, running; ARGV: worker, lease_until, id
_RENEW = """
if redis.call('HGET', KEYS[1], 'status') == 'running'
    and redis.call('HGET', KEYS[1], 'worker') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'lease_until', ARGV[2])
  redis.call('HINCRBY', KEYS[1], 'rev', 1)
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""

# KEYS: idem; ARGV: id. Frees a key that still names an expired job.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _fields(job: Job) -> list[str]:
    flat: list[str] = []
    for name, value in job_to_record(job).items():
        flat += [name, _string(value)]
    return flat


@contextlib.asynccontextmanager
async def _errors() -> AsyncIterator[None]:
    try:
        yield
    except RedisError as exc:
        raise JobStoreError(f"Redis failed: {type(exc).__name__}: {exc}") from exc


class RedisJobStore:
    """Jobs in Redis at ``url``, shared by every gateway instance using the same prefix."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.url = url
        self.prefix = prefix
        self.exclusive = False  # other instances may be running jobs: leases decide
        self._redis: aioredis.Redis | None = None
        self._scripts: dict[str, Callable[..., Awaitable[Any]]] = {}
        self._queued = f"{prefix}queued"
        self._retrying = f"{prefix}retrying"
        self._running = f"{prefix}running"
        self._callbacks = f"{prefix}callbacks"

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}job:{job_id}"

    def _idem_key(self, key: str | None) -> str | None:
        return f"{self.prefix}idem:{key}" if key else None

    @property
    def _r(self) -> aioredis.Redis:
        if self._redis is None:
            raise JobStoreError("the job store is not open")
        return self._redis

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self, *, now: float) -> list[Reclaimed]:
        """Connect and check that Redis answers; nothing is reclaimed before leases end."""
        client = aioredis.Redis.from_url(
            self.url, decode_responses=True, socket_timeout=10, socket_connect_timeout=5
        )
        async with _errors():
            try:
                await client.ping()
            except BaseException:
                await client.aclose()
                raise
        self._redis = client
        self._scripts = {
            name: cast(Callable[..., Awaitable[Any]], client.register_script(source))
            for name, source in (
                ("cas", _CAS),
                ("submit", _SUBMIT),
                ("renew", _RENEW),
                ("release", _RELEASE),
            )
        }
        return []

    async def close(self) -> None:
        """Close the connection pool."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    # -- reading and writing -------------------------------------------------------------

    async def _read(self, job_id: str) -> tuple[Job, str] | None:
        async with _errors():
            raw = await cast(Awaitable[dict[str, str]], self._r.hgetall(self._job_key(job_id)))
        if not raw or "status" not in raw:
            return None
        rev = raw.pop("rev", "")
        return job_from_record(raw), rev

    async def _cas(self, rev: str, job: Job) -> bool:
        """Write ``job`` if its hash is still at revision ``rev``, moving its index entries."""
        idem = self._idem_key(job.idempotency_key)
        keys = [
            self._job_key(job.id),
            self._queued,
            self._retrying,
            self._running,
            self._callbacks,
            idem or self._job_key(job.id),
        ]
        fields = _fields(job)
        ops: list[str] = []
        index = {"queued": 2, "retrying": 3, "running": 4}
        for status, key in index.items():
            if status != job.status:
                ops += ["zrem", str(key), job.id]
        if job.status in ("queued", "retrying"):
            ops += ["zadd", str(index[job.status]), _string(job.next_at or 0.0), job.id]
        elif job.status == "running":
            ops += ["zadd", "4", _string(job.lease_until or 0.0), job.id]
        callback = job.callback
        if callback is not None and callback.status == "pending" and callback.next_at is not None:
            ops += ["zadd", "5", _string(callback.next_at), job.id]
        else:
            ops += ["zrem", "5", job.id]
        if job.expires_at is not None and job.status not in ACTIVE_STATUSES:
            ops += ["pexpireat", "1", str(int((job.expires_at + job.ttl) * 1000))]
            if idem is not None:
                ops += ["pexpireat", "6", str(int(job.expires_at * 1000))]
        async with _errors():
            done = await self._scripts["cas"](
                keys=keys, args=[rev, str(len(fields) // 2), *fields, *ops]
            )
        return int(done) == 1

    async def _update(
        self, job_id: str, change: Callable[[Job], Job | None]
    ) -> tuple[Job | None, Job | None]:
        """Apply ``change`` (``None``: leave as is) with compare-and-set, re-reading on races.

        Returns the job as read last and the job written (``None`` when nothing was).
        """
        for _ in range(_CAS_TRIES):
            got = await self._read(job_id)
            if got is None:
                return None, None
            job, rev = got
            updated = change(job)
            if updated is None:
                return job, None
            if await self._cas(rev, updated):
                return job, updated
        raise JobStoreError(f"job {job_id} changed {_CAS_TRIES} times while being updated")

    async def _due(self, *keys: str, now: float) -> list[str]:
        """Ids due by ``now`` in the sorted sets ``keys``, earliest first."""
        scored: list[tuple[float, str]] = []
        async with _errors():
            for key in keys:
                found = await cast(
                    Awaitable[list[tuple[str, float]]],
                    self._r.zrangebyscore(
                        key, "-inf", now, start=0, num=_CANDIDATES, withscores=True
                    ),
                )
                scored += [(score, member) for member, score in found]
        return [member for _, member in sorted(scored)]

    async def _forget(self, job_id: str) -> None:
        """Drop index entries of a job whose hash has expired."""
        async with _errors():
            for key in (self._queued, self._retrying, self._running, self._callbacks):
                await self._r.zrem(key, job_id)

    # -- jobs ----------------------------------------------------------------------------

    async def submit(self, new: NewJob, *, job_id: str, now: float) -> SubmitResult:
        """Create a queued job unless its Idempotency-Key names a live one."""
        job = new_job(new, job_id=job_id, now=now)
        idem = self._idem_key(new.idempotency_key)
        for _ in range(2):
            async with _errors():
                named = await self._scripts["submit"](
                    keys=[self._job_key(job_id), self._queued, idem or self._job_key(job_id)],
                    args=[
                        job_id,
                        _string(now),
                        "1" if idem else "0",
                        f"{self.prefix}job:",
                        *_fields(job),
                    ],
                )
            if named == job_id:
                return SubmitResult(job, created=True)
            existing = await self.get(str(named))
            if existing is not None and not existing.expired(now):
                conflict = existing.fingerprint != new.fingerprint
                return SubmitResult(existing, created=False, conflict=conflict)
            async with _errors():  # the key outlived its job by a clock tick: free it
                await self._scripts["release"](keys=[idem], args=[str(named)])
        raise JobStoreError("the Idempotency-Key could not be bound to a job")

    async def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None``."""
        got = await self._read(job_id)
        return got[0] if got is not None else None

    async def cancel(self, job_id: str, *, now: float) -> Job | None:
        """Cancel the job if it has not started; return it as it now is."""

        def change(job: Job) -> Job | None:
            if job.status not in ("queued", "retrying"):
                return None
            return transition_cancelled(job, now=now)

        read, written = await self._update(job_id, change)
        return written or read

    async def claim(self, worker: str, *, now: float, lease: float) -> Job | None:
        """Give the earliest due job to ``worker``; exactly one claimer wins each job."""
        for job_id in await self._due(self._queued, self._retrying, now=now):
            got = await self._read(job_id)
            if got is None:
                await self._forget(job_id)
                continue
            job, rev = got
            if job.status not in ("queued", "retrying") or (job.next_at or 0.0) > now:
                continue
            claimed = transition_claimed(job, worker, now=now, lease=lease)
            if await self._cas(rev, claimed):
                return claimed
        return None

    async def renew(self, job_id: str, worker: str, *, lease_until: float) -> bool:
        """Extend the lease if ``worker`` still holds the job."""
        async with _errors():
            done = await self._scripts["renew"](
                keys=[self._job_key(job_id), self._running],
                args=[worker, _string(lease_until), job_id],
            )
        return int(done) == 1

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

        def change(job: Job) -> Job | None:
            if job.status != "running" or job.worker != worker:
                return None
            return transition_finished(job, status, result, now=now)

        return (await self._update(job_id, change))[1]

    async def retry(
        self, job_id: str, worker: str, *, now: float, at: float, reason: str
    ) -> Job | None:
        """Put the job back as ``retrying`` if ``worker`` still holds it."""

        def change(job: Job) -> Job | None:
            if job.status != "running" or job.worker != worker:
                return None
            return transition_retrying(job, now=now, at=at, reason=reason)

        return (await self._update(job_id, change))[1]

    async def reclaim(self, *, now: float, everything: bool = False) -> list[Reclaimed]:
        """Take back running jobs whose lease has expired."""
        async with _errors():
            ids = await cast(
                Awaitable[list[str]],
                self._r.zrangebyscore(self._running, "-inf", "+inf" if everything else now),
            )
        reclaimed: list[Reclaimed] = []
        for job_id in ids:
            outcome: list[Reclaimed] = []

            def change(job: Job, outcome: list[Reclaimed] = outcome) -> Job | None:
                outcome.clear()
                if job.status != "running":
                    return None
                if not everything and (job.lease_until or 0.0) >= now:
                    return None
                outcome.append(transition_reclaimed(job, now=now))
                return outcome[0].job

            read, written = await self._update(job_id, change)
            if read is None:
                await self._forget(job_id)
            elif written is not None:
                reclaimed.append(outcome[0])
        return reclaimed

    # -- callbacks -----------------------------------------------------------------------

    async def claim_callback(self, *, now: float, lease: float) -> Job | None:
        """Hand out the next due webhook delivery."""
        for job_id in await self._due(self._callbacks, now=now):
            got = await self._read(job_id)
            if got is None:
                await self._forget(job_id)
                continue
            job, rev = got
            callback = job.callback
            if callback is None or callback.status != "pending" or (callback.next_at or 0) > now:
                continue
            claimed = transition_callback_claimed(job, now=now, lease=lease)
            if await self._cas(rev, claimed):
                return claimed
        return None

    async def record_callback(self, job_id: str, delivery: CallbackDelivery) -> None:
        """Record one delivery attempt."""

        def change(job: Job) -> Job | None:
            if job.callback is None:
                return None
            return transition_callback_recorded(job, delivery)

        await self._update(job_id, change)

    # -- housekeeping --------------------------------------------------------------------

    async def purge(self, *, now: float) -> int:
        """Nothing to do: finished jobs carry Redis expiry times."""
        return 0

    async def depth(self) -> dict[str, int]:
        """Jobs queued, retrying and running, across every instance."""
        async with _errors():
            return {
                status: int(await self._r.zcard(key))
                for status, key in (
                    ("queued", self._queued),
                    ("retrying", self._retrying),
                    ("running", self._running),
                )
            }
