"""A circuit breaker per upstream: stop calling an upstream that keeps failing.

::

    closed ──(N consecutive gateway failures)──► open ──(open time elapsed)──► half-open
      ▲                                           ▲                              │
      └──────────(the probe succeeds)─────────────┼──────(the probe fails: open ─┘
                                                  │       time doubles, capped)

*Closed*: every call goes through; a gateway failure (refused, timeout, reset, invalid
response) adds one to a counter, any answer (a result or a SOAP fault) resets it. *Open*:
no call goes through; callers are told how long to wait (``Retry-After``). *Half-open*: one
probe call goes through, the others are refused as if open. Results of calls started
before the breaker opened are ignored once it has.

Single-threaded by design (one event loop), so no lock is needed. The clock is injectable
for tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeAlias

from mediator.errors import CircuitOpenError
from mediator.log import get_logger
from mediator.mapping.model import BreakerPolicy

__all__ = ["BreakerSnapshot", "BreakerState", "CircuitBreaker", "Permit"]

BreakerState: TypeAlias = Literal["closed", "open", "half_open"]
Permit: TypeAlias = Literal["call", "probe"]
"""What :meth:`CircuitBreaker.acquire` grants: an ordinary call, or the half-open probe."""

_log = get_logger("mediator.upstream")


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The breaker's state, for health and metrics endpoints."""

    state: BreakerState
    consecutive_failures: int
    open_for: float
    """The current (or next) open period, in seconds."""
    retry_after: float
    """Seconds until a probe may go through (0 unless open)."""
    times_opened: int


class CircuitBreaker:
    """The breaker of one upstream (``name`` is used in log events)."""

    def __init__(
        self,
        name: str,
        policy: BreakerPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.policy = policy
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._open_for = policy.open_for
        self._opened_at = 0.0
        self._probing = False
        self._times_opened = 0

    @property
    def state(self) -> BreakerState:
        """The current state (an open breaker whose time is up reports ``half_open``)."""
        if self._state == "open" and self._remaining() <= 0:
            return "half_open"
        return self._state

    def _remaining(self) -> float:
        return self._opened_at + self._open_for - self._clock()

    def _refuse(self) -> CircuitOpenError:
        retry_after = max(self._remaining(), 0.0) if self._state == "open" else 1.0
        return CircuitOpenError(
            "the upstream's circuit breaker is open", upstream=self.name, retry_after=retry_after
        )

    def check(self) -> None:
        """Refuse at once, without reserving anything, while calls would be refused.

        Raises:
            CircuitOpenError: open with time left, or half-open with the probe in flight.
        """
        if not self.policy.enabled or self._state == "closed":
            return
        if (self._state == "open" and self._remaining() > 0) or self._probing:
            raise self._refuse()

    def acquire(self) -> Permit:
        """Permission for one call: ``"call"``, or ``"probe"`` when it tests a half-open breaker.

        Every permit must be settled with :meth:`succeeded`, :meth:`failed` or
        :meth:`abandoned`.

        Raises:
            CircuitOpenError: the breaker refuses calls now.
        """
        if not self.policy.enabled or self._state == "closed":
            return "call"
        if self._state == "open":
            if self._remaining() > 0:
                raise self._refuse()
            self._state = "half_open"
            _log.info("upstream.circuit_half_opened", upstream=self.name)
        if self._probing:
            raise self._refuse()
        self._probing = True
        return "probe"

    def succeeded(self, permit: Permit) -> None:
        """The call got an answer from the upstream (a result or a SOAP fault)."""
        if permit == "probe":
            self._probing = False
            self._close()
        elif self._state == "closed":
            self._failures = 0

    def failed(self, permit: Permit) -> None:
        """The call failed in a way that blames the upstream (a gateway failure)."""
        if permit == "probe":
            self._probing = False
            self._open(min(self._open_for * 2, self.policy.max_open_for))
        elif self._state == "closed":
            self._failures += 1
            if self.policy.enabled and self._failures >= self.policy.failures:
                self._open(self.policy.open_for)

    def abandoned(self, permit: Permit) -> None:
        """The call ended without a verdict (cancelled, or the gateway's own error)."""
        if permit == "probe":
            self._probing = False

    def _open(self, open_for: float) -> None:
        self._state = "open"
        self._open_for = open_for
        self._opened_at = self._clock()
        self._times_opened += 1
        _log.warning(
            "upstream.circuit_opened",
            upstream=self.name,
            consecutive_failures=self._failures,
            open_for_s=round(open_for, 3),
        )

    def _close(self) -> None:
        self._state = "closed"
        self._failures = 0
        self._open_for = self.policy.open_for
        _log.info("upstream.circuit_closed", upstream=self.name)

    def snapshot(self) -> BreakerSnapshot:
        """The current state, counters and time to wait."""
        state = self.state
        retry_after = max(self._remaining(), 0.0) if state == "open" else 0.0
        return BreakerSnapshot(
            state=state,
            consecutive_failures=self._failures,
            open_for=self._open_for,
            retry_after=math.ceil(retry_after * 1000) / 1000,
            times_opened=self._times_opened,
        )
