"""Retry decisions (mediator.upstream.retry): what may be retried, back-off, budget."""

from __future__ import annotations

import random

import pytest

from mediator.errors import (
    BulkheadFullError,
    CircuitOpenError,
    Fault,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.mapping.model import RetryPolicy
from mediator.upstream.retry import RetryBudget, backoff_delay, is_retryable

CASES = [
    # error, retryable when not idempotent, retryable when idempotent
    (UpstreamUnavailable("refused", sent=False), True, True),
    (UpstreamTimeout("connect", sent=False), True, True),
    (UpstreamUnavailable("reset", sent=True), False, True),
    (UpstreamTimeout("read", sent=True), False, True),
    (UpstreamProtocolError("proxy page", status=503), False, True),
    (UpstreamProtocolError("proxy page", status=502), False, True),
    (UpstreamProtocolError("proxy page", status=504), False, True),
    (UpstreamProtocolError("garbage", status=200), False, False),
    (UpstreamProtocolError("too large", status=None), False, False),
    (Fault(code="Server", string="db down"), False, False),
    (Fault(code="Client", string="bad"), False, False),
    (CircuitOpenError("open", retry_after=1), False, False),
    (BulkheadFullError("full", retry_after=1), False, False),
]


@pytest.mark.parametrize(("error", "plain", "idempotent"), CASES, ids=lambda c: repr(c)[:40])
def test_what_may_be_retried(error, plain, idempotent):
    """Unsent requests always; sent ones only for idempotent routes and transient failures;
    faults and the gateway's own refusals never."""
    assert is_retryable(error, idempotent=False) is plain
    assert is_retryable(error, idempotent=True) is idempotent


def test_backoff_is_fully_jittered_and_capped():
    """Each wait is uniform in [0, min(max_backoff, backoff * 2**retry)]."""
    policy = RetryPolicy(backoff=0.1, max_backoff=0.5)
    rng = random.Random(7)  # noqa: S311 - jitter
    for retry, ceiling in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.5), (9, 0.5)]:
        delays = [backoff_delay(policy, retry, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the range, not fixed
        assert min(delays) < ceiling * 0.2


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_budget_starts_with_a_burst_then_needs_calls():
    """A fresh budget allows a burst; then each retry needs 1/ratio calls' worth of deposits."""
    clock = Clock()
    budget = RetryBudget(0.2, min_per_second=0.0, burst=3, clock=clock)
    assert [budget.withdraw() for _ in range(4)] == [True, True, True, False]
    for _ in range(4):
        budget.deposit()
    assert budget.withdraw() is False  # 0.8 of a retry earned
    budget.deposit()
    assert budget.withdraw() is True  # 1.0 earned
    assert (budget.spent, budget.denied) == (4, 2)


def test_budget_refills_slowly_with_time_and_is_capped():
    """min_per_second retries are earned per second, never more than the burst."""
    clock = Clock()
    budget = RetryBudget(0.0, min_per_second=1.0, burst=2, clock=clock)
    assert budget.withdraw() and budget.withdraw()
    assert not budget.withdraw()
    clock.now += 0.5
    assert not budget.withdraw()
    clock.now += 0.5
    assert budget.withdraw()
    clock.now += 100
    assert budget.balance == 2


def test_budget_bounds_retries_to_a_share_of_calls_under_load():
    """Under sustained failure, retries stay near ratio * calls (plus the small floor)."""
    clock = Clock()
    budget = RetryBudget(0.2, min_per_second=1.0, burst=10, clock=clock)
    retries = 0
    for _ in range(1000):  # 1000 failing calls in one second
        clock.now += 0.001
        budget.deposit()
        retries += budget.withdraw()
    assert retries <= 0.2 * 1000 + 10 + 1 + 1
    assert retries >= 0.2 * 1000
