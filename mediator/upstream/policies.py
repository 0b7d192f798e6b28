"""Per-upstream call policies: deadline, bulkhead, circuit breaker and retries, together.

:class:`UpstreamGuard` runs one logical call of one upstream::

    breaker open? ─► 503 at once (CircuitOpenError, nothing queued)
    bulkhead slot ─► wait in the bounded queue, or 503 at once (BulkheadFullError)
    loop: breaker permit ─► try (the transport, with what is left of the deadline)
          ├─ an answer (result or SOAP fault) ─► breaker success, return / raise
          └─ a gateway failure ─► breaker failure; retry if safe, budgeted and in time

One total deadline covers the queue, every try and every back-off. :class:`UpstreamPolicies`
keeps one guard per upstream for the life of the gateway (across reloads) and exposes their
state through :meth:`UpstreamPolicies.snapshot` for health and metrics endpoints.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from mediator.errors import Fault, UpstreamError, UpstreamTimeout
from mediator.log import get_logger
from mediator.mapping.model import Upstream
from mediator.upstream.breaker import BreakerSnapshot, CircuitBreaker
from mediator.upstream.bulkhead import Bulkhead, BulkheadSnapshot
from mediator.upstream.retry import RetryBudget, backoff_delay, is_retryable

__all__ = ["Attempt", "UpstreamGuard", "UpstreamHealth", "UpstreamPolicies"]

T = TypeVar("T")

Attempt = Callable[[float, float], Awaitable[T]]
"""One try: called with its total and connect deadlines (seconds), returns the answer."""

Sleep = Callable[[float], Awaitable[None]]

_log = get_logger("mediator.upstream")


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    """The resilience state of one upstream, for ``/readyz`` and ``/metrics``."""

    upstream: str
    address: str
    breaker: BreakerSnapshot
    bulkhead: BulkheadSnapshot
    retries: int
    """Retries made since start."""
    retries_denied: int
    """Retries the budget refused since start."""

    @property
    def available(self) -> bool:
        """False while the breaker is open (calls are answered 503 without trying)."""
        return self.breaker.state != "open"


class UpstreamGuard:
    """Deadline, bulkhead, circuit breaker and retries of one upstream."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        policy = upstream.policy
        self.upstream = upstream
        self.name = upstream.key
        self.breaker = CircuitBreaker(self.name, policy.breaker, clock=clock)
        self.bulkhead = Bulkhead(
            self.name,
            max_concurrency=policy.max_concurrency,
            max_queue=policy.max_queue,
            clock=clock,
        )
        self.budget = RetryBudget(policy.retry.budget, clock=clock)
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._sleep = sleep

    async def call(
        self,
        attempt: Attempt[T],
        *,
        timeout: float,
        connect_timeout: float,
        idempotent: bool,
    ) -> T:
        """Run ``attempt`` under the upstream's policies within ``timeout`` seconds in all.

        Raises:
            CircuitOpenError: the breaker is open; nothing was sent.
            BulkheadFullError: too many calls in flight and waiting; nothing was sent.
            UpstreamTimeout, UpstreamUnavailable, UpstreamProtocolError, Fault: the last
                try's error, once no retry is allowed.
        """
        deadline = self._clock() + timeout
        self.breaker.check()
        self.budget.deposit()
        async with self.bulkhead.slot(deadline):
            retry = 0
            while True:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    raise UpstreamTimeout(
                        "the deadline passed before the upstream could be called",
                        upstream=self.name,
                        sent=False,
                    )
                permit = self.breaker.acquire()
                per_try = self.upstream.policy.retry.per_try_timeout
                try_timeout = min(remaining, per_try) if per_try else remaining
                try:
                    result = await attempt(try_timeout, min(connect_timeout, try_timeout))
                except Fault:
                    self.breaker.succeeded(permit)  # an answer: the upstream is alive
                    raise
                except UpstreamError as exc:
                    self.breaker.failed(permit)
                    delay = self._retry_delay(exc, retry, idempotent, deadline)
                    if delay is None:
                        raise
                    retry += 1
                    _log.info(
                        "upstream.call_retried",
                        upstream=self.name,
                        retry=retry,
                        reason=type(exc).__name__,
                        sent=exc.sent,
                        delay_ms=round(delay * 1000, 1),
                    )
                    await self._sleep(delay)
                    continue
                except BaseException:
                    self.breaker.abandoned(permit)
                    raise
                self.breaker.succeeded(permit)
                return result

    def _retry_delay(
        self, error: UpstreamError, retry: int, idempotent: bool, deadline: float
    ) -> float | None:
        """The back-off before the next try, or ``None`` when it must not be retried."""
        policy = self.upstream.policy.retry
        if retry >= policy.max_retries or not is_retryable(error, idempotent=idempotent):
            return None
        if self.breaker.state != "closed":
            return None  # the breaker has just opened: stop here, with the real error
        delay = backoff_delay(policy, retry, self._rng)
        if self._clock() + delay >= deadline:
            return None
        if not self.budget.withdraw():
            _log.info("upstream.retry_denied", upstream=self.name, reason="budget")
            return None
        return delay

    def snapshot(self) -> UpstreamHealth:
        """The breaker, bulkhead and retry counters of this upstream."""
        return UpstreamHealth(
            upstream=self.name,
            address=self.upstream.address,
            breaker=self.breaker.snapshot(),
            bulkhead=self.bulkhead.snapshot(),
            retries=self.budget.spent,
            retries_denied=self.budget.denied,
        )


class UpstreamPolicies:
    """One :class:`UpstreamGuard` per upstream key, kept across mapping reloads."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._guards: dict[str, UpstreamGuard] = {}
        self._clock = clock
        self._rng = rng
        self._sleep = sleep

    def _new(self, upstream: Upstream) -> UpstreamGuard:
        return UpstreamGuard(upstream, clock=self._clock, rng=self._rng, sleep=self._sleep)

    def guard(self, upstream: Upstream) -> UpstreamGuard:
        """The guard of ``upstream`` (created on first use)."""
        guard = self._guards.get(upstream.key)
        if guard is None:
            guard = self._guards[upstream.key] = self._new(upstream)
        return guard

    def retain(self, upstreams: Iterable[Upstream]) -> None:
        """Keep the state of upstreams still configured alike; reset changed ones, drop others.

        Called when a mapping set is installed. Calls in flight finish on the guard they
        started with.
        """
        guards: dict[str, UpstreamGuard] = {}
        for upstream in upstreams:
            current = self._guards.get(upstream.key)
            same = current is not None and current.upstream.policy == upstream.policy
            guards[upstream.key] = current if same and current else self._new(upstream)
        self._guards = guards

    def snapshot(self) -> dict[str, UpstreamHealth]:
        """The health of every upstream, by upstream key."""
        return {key: guard.snapshot() for key, guard in self._guards.items()}
