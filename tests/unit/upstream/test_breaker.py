"""The per-upstream circuit breaker (mediator.upstream.breaker), on a fake clock."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from mediator.errors import CircuitOpenError
from mediator.mapping.model import BreakerPolicy
from mediator.upstream.breaker import CircuitBreaker


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(failures: int = 3, open_for: float = 5.0, max_open_for: float = 30.0, **kw):
    clock = Clock()
    policy = BreakerPolicy(failures=failures, open_for=open_for, max_open_for=max_open_for, **kw)
    return CircuitBreaker("svc", policy, clock=clock), clock


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.failed(breaker.acquire())


def test_opens_after_consecutive_failures_only():
    """N-1 failures keep it closed; a success resets the count; N in a row open it."""
    breaker, _ = make(failures=3)
    fail(breaker, 2)
    breaker.succeeded(breaker.acquire())
    fail(breaker, 2)
    assert breaker.state == "closed"
    assert breaker.snapshot().consecutive_failures == 2
    fail(breaker, 1)
    assert breaker.state == "open"


def test_open_breaker_refuses_with_the_time_left():
    """While open, check() and acquire() refuse, telling how long until a probe may go."""
    breaker, clock = make(open_for=5.0)
    fail(breaker, 3)
    clock.now += 2.0
    with pytest.raises(CircuitOpenError) as info:
        breaker.check()
    assert info.value.retry_after == pytest.approx(3.0)
    assert info.value.sent is False
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    snapshot = breaker.snapshot()
    assert snapshot.state == "open" and snapshot.retry_after == pytest.approx(3.0)


def test_one_probe_after_the_open_time_and_success_closes():
    """After open_for, exactly one probe is let through; others are refused; success closes."""
    breaker, clock = make(open_for=5.0)
    fail(breaker, 3)
    clock.now += 5.0
    assert breaker.state == "half_open"
    breaker.check()  # a caller may queue for the probe
    assert breaker.acquire() == "probe"
    with pytest.raises(CircuitOpenError):
        breaker.check()
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    with capture_logs() as logs:
        breaker.succeeded("probe")
    assert breaker.state == "closed"
    assert breaker.acquire() == "call"
    assert [e["event"] for e in logs] == ["upstream.circuit_closed"]


def test_failed_probes_double_the_open_time_up_to_the_maximum():
    """Each failed probe reopens for twice as long, capped at max_open_for; success resets."""
    breaker, clock = make(open_for=5.0, max_open_for=12.0)
    fail(breaker, 3)
    open_times = []
    for _ in range(3):
        clock.now += breaker.snapshot().open_for
        breaker.failed(breaker.acquire())
        open_times.append(breaker.snapshot().open_for)
    assert open_times == [10.0, 12.0, 12.0]
    assert breaker.snapshot().times_opened == 4
    clock.now += 12.0
    breaker.succeeded(breaker.acquire())
    fail(breaker, 3)
    assert breaker.snapshot().open_for == 5.0


def test_abandoned_probe_frees_the_probe_slot():
    """A probe cancelled without a verdict lets the next caller probe."""
    breaker, clock = make()
    fail(breaker, 3)
    clock.now += 5.0
    assert breaker.acquire() == "probe"
    breaker.abandoned("probe")
    assert breaker.acquire() == "probe"


def test_results_of_calls_started_before_opening_are_ignored():
    """Late failures or successes of calls admitted while closed change nothing once open."""
    breaker, _ = make(failures=2)
    late = [breaker.acquire() for _ in range(4)]
    breaker.failed(late[0])
    breaker.failed(late[1])
    assert breaker.state == "open"
    opened_until = breaker.snapshot().retry_after
    breaker.failed(late[2])
    breaker.succeeded(late[3])
    assert breaker.state == "open"
    assert breaker.snapshot().retry_after == opened_until
    assert breaker.snapshot().times_opened == 1


def test_opening_is_logged_with_the_upstream():
    """Opening logs upstream.circuit_opened with the failure count and open time."""
    breaker, clock = make(failures=2)
    with capture_logs() as logs:
        fail(breaker, 2)
        clock.now += 5.0
        breaker.acquire()
    assert logs[0]["event"] == "upstream.circuit_opened"
    assert logs[0]["upstream"] == "svc" and logs[0]["consecutive_failures"] == 2
    assert logs[1]["event"] == "upstream.circuit_half_opened"


def test_disabled_breaker_never_opens():
    """With enabled=False every call is let through, whatever fails."""
    breaker, _ = make(failures=1, enabled=False)
    fail(breaker, 50)
    breaker.check()
    assert breaker.acquire() == "call"
    assert breaker.state == "closed"
