"""Rate limits: token buckets per client and per route, in memory or shared through Redis.

A request takes one token from every bucket that applies to it: the security file's
``per_client`` bucket (one per client, across all routes) and each of its route's
``rate_limit`` buckets (``per: client``, one per client on that route, or ``per: route``,
one shared by all clients). It is admitted only when every bucket has a token; otherwise
nothing is taken and the answer is 429 with ``Retry-After``. Responses carry the
``RateLimit-Policy`` and ``RateLimit`` fields of draft-ietf-httpapi-ratelimit-headers
(``q`` the burst, ``w`` the seconds an empty bucket takes to refill, ``r`` the tokens left,
``t`` the seconds until the bucket is full again).

The Redis store runs one Lua script per request, so taking from several buckets is atomic
and every gateway instance shares the same counters; Redis's own clock is used. See
docs/security.md.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mediator.log import get_logger
from mediator.mapping.route_security import RateLimitRule
from mediator.mapping.security_file import RateLimitConfig

__all__ = [
    "BUCKET_SCRIPT",
    "Bucket",
    "BucketStore",
    "Decision",
    "MemoryBuckets",
    "RateLimiter",
    "RedisBuckets",
    "StoreUnavailableError",
]

_log = get_logger("mediator.gateway")

MAX_MEMORY_BUCKETS = 100_000
"""Buckets kept in memory; the least recently used are dropped beyond it (a dropped bucket
comes back full, so this only ever errs towards admitting)."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One token bucket a request draws from: its key, its policy name and rule."""

    key: str
    name: str
    rule: RateLimitRule


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a request is admitted, and the headers describing the buckets."""

    allowed: bool
    retry_after: int
    headers: dict[str, str]


class StoreUnavailableError(Exception):
    """The shared bucket store could not be reached in time."""


class BucketStore(Protocol):
    """Takes ``cost`` tokens from every bucket, or from none."""

    async def take(self, buckets: Sequence[Bucket], cost: int) -> tuple[bool, list[float]]:
        """``(admitted, tokens left in each bucket)``.

        Raises:
            StoreUnavailableError: the store failed.
        """
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryBuckets:
    """Buckets of this process only (the default)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_MEMORY_BUCKETS,
    ) -> None:
        self._clock = clock
        self._max = max_buckets
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._state)

    async def take(self, buckets: Sequence[Bucket], cost: int) -> tuple[bool, list[float]]:
        """Refill each bucket for the time elapsed, then take ``cost`` from all or none."""
        now = self._clock()
        levels = []
        for bucket in buckets:
            tokens, stamp = self._state.get(bucket.key, (float(bucket.rule.burst), now))
            elapsed = max(0.0, now - stamp)
            levels.append(min(float(bucket.rule.burst), tokens + elapsed * bucket.rule.rate))
        allowed = all(level >= cost for level in levels)
        if allowed:
            levels = [level - cost for level in levels]
        for bucket, level in zip(buckets, levels, strict=True):
            self._state[bucket.key] = (level, now)
            self._state.move_to_end(bucket.key)
        while len(self._state) > self._max:
            self._state.popitem(last=False)
        return allowed, levels

    async def close(self) -> None:
        """Nothing to release."""


BUCKET_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local cost = tonumber(ARGV[1])
local levels = {}
local allowed = 1
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'stamp')
  local tokens = tonumber(state[1])
  local stamp = tonumber(state[2])
  if tokens == nil or stamp == nil then
    tokens = burst
    stamp = now
  end
  local elapsed = math.max(0, now - stamp)
  levels[i] = math.min(burst, tokens + elapsed * rate)
  if levels[i] < cost then allowed = 0 end
end
local result = {allowed}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  if allowed == 1 then levels[i] = levels[i] - cost end
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i]), 'stamp', tostring(now))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
  result[#result + 1] = tostring(levels[i])
end
return result
"""
"""Refill and take from every bucket atomically; a bucket's key expires once it would be
full again, so idle clients cost no memory."""


class RedisBuckets:
    """Buckets shared by every gateway instance using the same Redis."""

    def __init__(self, url: str, *, prefix: str, timeout: float) -> None:
        import redis.asyncio as redis_asyncio

        self._client: Any = redis_asyncio.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self._client.register_script(BUCKET_SCRIPT)
        self._prefix = prefix
        self._timeout = timeout

    async def take(self, buckets: Sequence[Bucket], cost: int) -> tuple[bool, list[float]]:
        """Run the token-bucket script on every bucket at once."""
        args: list[Any] = [cost]
        for bucket in buckets:
            args.extend((repr(bucket.rule.rate), bucket.rule.burst))
        try:
            async with asyncio.timeout(self._timeout):
                result = await self._script(keys=[self._prefix + b.key for b in buckets], args=args)
        except Exception as exc:  # redis errors, timeouts, refused connections alike
            raise StoreUnavailableError(type(exc).__name__) from None
        allowed = int(result[0]) == 1
        return allowed, [float(level) for level in result[1:]]

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()


def _policy(bucket: Bucket) -> str:
    return f'"{bucket.name}";q={bucket.rule.burst};w={bucket.rule.window}'


def _state(bucket: Bucket, level: float) -> str:
    remaining = max(0, math.floor(level))
    reset = max(0, math.ceil((bucket.rule.burst - level) / bucket.rule.rate))
    return f'"{bucket.name}";r={remaining};t={reset}'


class RateLimiter:
    """Decides whether a request may pass, given its route's rules and its client."""

    def __init__(self, config: RateLimitConfig, store: BucketStore | None = None) -> None:
        self.config = config
        if store is None:
            if config.store == "redis" and config.redis_url:
                store = RedisBuckets(
                    config.redis_url, prefix=config.redis_prefix, timeout=config.redis_timeout
                )
            else:
                store = MemoryBuckets()
        self.store = store

    def buckets(
        self, route_name: str, rules: Sequence[RateLimitRule], client: str, subject: str | None
    ) -> list[Bucket]:
        """The buckets a request of ``client`` on the route draws from."""
        found: list[Bucket] = []
        global_rule = self.config.clients.get(subject) if subject else None
        global_rule = global_rule or self.config.per_client
        if global_rule is not None:
            found.append(Bucket(f"c:{client}", "client-global", global_rule))
        names: dict[str, int] = {}
        for index, rule in enumerate(rules):
            base = "route" if rule.per == "route" else "client"
            names[base] = names.get(base, 0) + 1
            name = base if names[base] == 1 else f"{base}-{names[base]}"
            key = f"r:{route_name}:{index}" + (f":{client}" if rule.per == "client" else "")
            found.append(Bucket(key, name, rule))
        return found

    async def check(
        self,
        route_name: str,
        rules: Sequence[RateLimitRule],
        client: str,
        subject: str | None = None,
    ) -> Decision | None:
        """Take a token for this request; ``None`` when no bucket applies, or the store is
        down and ``on_store_error`` is ``allow``.

        Raises:
            StoreUnavailableError: the store is down and ``on_store_error`` is ``deny``.
        """
        buckets = self.buckets(route_name, rules, client, subject)
        if not buckets:
            return None
        try:
            allowed, levels = await self.store.take(buckets, 1)
        except StoreUnavailableError as exc:
            _log.warning(
                "ratelimit.store_failed", reason=str(exc), action=self.config.on_store_error
            )
            if self.config.on_store_error == "deny":
                raise
            return None
        headers = {
            "RateLimit-Policy": ", ".join(_policy(b) for b in buckets),
            "RateLimit": ", ".join(_state(b, lvl) for b, lvl in zip(buckets, levels, strict=True)),
        }
        retry_after = 0
        if not allowed:
            waits = [
                (1 - level) / bucket.rule.rate
                for bucket, level in zip(buckets, levels, strict=True)
                if level < 1
            ]
            retry_after = max(1, math.ceil(max(waits, default=1.0)))
        return Decision(allowed, retry_after, headers)

    async def close(self) -> None:
        """Release the store's connections."""
        await self.store.close()
