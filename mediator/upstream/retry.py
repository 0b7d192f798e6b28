"""Retry decisions: which failures may be retried, how long to wait, and the retry budget.

A failure is retried only when repeating the request cannot do harm:

- the request provably never reached the upstream (``UpstreamError.sent`` is false:
  connection refused, DNS failure, TLS handshake failure, connect timeout, a stale pooled
  keep-alive connection), whatever the operation; or
- the route is marked ``idempotent`` and the failure is transient: the connection was lost,
  a try timed out, or a proxy in front of the service answered 502, 503 or 504 without SOAP.

SOAP faults are answers, never retried. Back-off is "full jitter" exponential: a uniformly
random wait between 0 and ``min(max_backoff, backoff * 2**retry)``. A :class:`RetryBudget`
caps retries to a fraction of calls so that a failing upstream is not hammered.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from mediator.errors import (
    Fault,
    UpstreamError,
    UpstreamOverloadedError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.mapping.model import RetryPolicy

__all__ = ["RETRYABLE_HTTP_STATUSES", "RetryBudget", "backoff_delay", "is_retryable"]

RETRYABLE_HTTP_STATUSES = frozenset({502, 503, 504})
"""Statuses of non-SOAP answers (a proxy's error page) retried for idempotent routes."""


def is_retryable(error: UpstreamError, *, idempotent: bool) -> bool:
    """Whether a failed try may be repeated (the budget and deadline permitting)."""
    if isinstance(error, Fault | UpstreamOverloadedError):
        return False
    if not error.sent:
        return True
    if not idempotent:
        return False
    if isinstance(error, UpstreamTimeout | UpstreamUnavailable):
        return True
    return isinstance(error, UpstreamProtocolError) and error.status in RETRYABLE_HTTP_STATUSES


def backoff_delay(policy: RetryPolicy, retry: int, rng: random.Random) -> float:
    """Seconds to wait before retry number ``retry`` (0 for the first), fully jittered."""
    ceiling = min(policy.max_backoff, policy.backoff * (2**retry))
    return rng.uniform(0.0, ceiling)


class RetryBudget:
    """A token bucket: every call earns ``ratio`` of a retry, every retry spends one.

    ``min_per_second`` retries are earned per second regardless of traffic, so that a quiet
    upstream can still be retried; at most ``burst`` retries are saved up. Under load the
    retries are thus about ``ratio`` of the calls, like Envoy's and Finagle's retry budgets.
    """

    def __init__(
        self,
        ratio: float,
        *,
        min_per_second: float = 1.0,
        burst: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.burst = burst
        self._clock = clock
        self._balance = burst
        self._updated = clock()
        self.spent = 0
        self.denied = 0

    def _refill(self, earned: float) -> None:
        now = self._clock()
        elapsed = max(now - self._updated, 0.0)
        self._updated = now
        self._balance = min(self.burst, self._balance + elapsed * self.min_per_second + earned)

    def deposit(self) -> None:
        """Record one call (it earns ``ratio`` of a retry)."""
        self._refill(self.ratio)

    def withdraw(self) -> bool:
        """Spend one retry if the budget holds one; ``False`` (and counted) otherwise."""
        self._refill(0.0)
        if self._balance >= 1.0:
            self._balance -= 1.0
            self.spent += 1
            return True
        self.denied += 1
        return False

    @property
    def balance(self) -> float:
        """Retries currently available."""
        self._refill(0.0)
        return self._balance
