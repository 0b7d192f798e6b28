"""The per-upstream guard (mediator.upstream.policies): breaker, bulkhead, retries and the
total deadline working together, with scripted tries, a fake clock and a recording sleep."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from mediator.errors import (
    BulkheadFullError,
    CircuitOpenError,
    Fault,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mediator.mapping.model import BreakerPolicy, RetryPolicy, Upstream, UpstreamPolicy
from mediator.mapping.service_info import PortInfo
from mediator.upstream.policies import UpstreamGuard, UpstreamPolicies


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def upstream(policy: UpstreamPolicy | None = None, key: str = "svc") -> Upstream:
    port = PortInfo(name="P", soap_version="1.1", address="http://x", operations={})
    return Upstream(
        key=key,
        wsdl=Path("x.wsdl"),
        service="S",
        port=port,
        address="http://x",
        timeout=10.0,
        connect_timeout=1.0,
        max_response_bytes=1000,
        policy=policy or UpstreamPolicy(),
    )


def policy(**retry: Any) -> UpstreamPolicy:
    return UpstreamPolicy(
        retry=RetryPolicy(**({"backoff": 0.1, "max_backoff": 1.0} | retry)),
        breaker=BreakerPolicy(failures=3, open_for=5.0),
    )


class Tries:
    """Scripted tries: each entry is an exception to raise or a value to return; records
    the deadlines each try was given and advances the clock by ``cost`` per try."""

    def __init__(self, clock: Clock, *outcomes: Any, cost: float = 0.0) -> None:
        self.clock = clock
        self.outcomes = list(outcomes)
        self.deadlines: list[tuple[float, float]] = []
        self.cost = cost

    async def __call__(self, timeout: float, connect_timeout: float) -> Any:
        self.deadlines.append((timeout, connect_timeout))
        self.clock.now += self.cost
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def make_guard(pol: UpstreamPolicy | None = None) -> tuple[UpstreamGuard, Clock, list[float]]:
    clock = Clock()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    rng = random.Random(1)  # noqa: S311 - jitter
    guard = UpstreamGuard(upstream(pol or policy()), clock=clock, rng=rng, sleep=sleep)
    return guard, clock, sleeps


def refused() -> UpstreamUnavailable:
    return UpstreamUnavailable("refused", sent=False)


def reset() -> UpstreamUnavailable:
    return UpstreamUnavailable("reset", sent=True)


async def call(guard: UpstreamGuard, tries: Tries, *, idempotent: bool = False, timeout=10.0):
    return await guard.call(tries, timeout=timeout, connect_timeout=1.0, idempotent=idempotent)


async def test_success_passes_the_deadlines_through():
    """A try gets the whole deadline and the connect timeout; its result is returned."""
    guard, clock, _ = make_guard()
    tries = Tries(clock, "answer")
    assert await call(guard, tries, timeout=4.0) == "answer"
    assert tries.deadlines == [(4.0, 1.0)]


async def test_unsent_failures_are_retried_with_jittered_backoff():
    """Refused connections are retried (even non-idempotent), up to max, with growing waits."""
    guard, clock, sleeps = make_guard()
    tries = Tries(clock, refused(), refused(), "answer")
    with capture_logs() as logs:
        assert await call(guard, tries) == "answer"
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.1 and 0 <= sleeps[1] <= 0.2
    assert [e["retry"] for e in logs if e["event"] == "upstream.call_retried"] == [1, 2]
    assert guard.snapshot().retries == 2


async def test_retries_stop_at_max_with_the_last_error():
    """After max retries the last try's error is raised."""
    guard, clock, _ = make_guard(policy(max_retries=1))
    tries = Tries(clock, refused(), UpstreamUnavailable("again", sent=False))
    with pytest.raises(UpstreamUnavailable, match="again"):
        await call(guard, tries)
    assert len(tries.deadlines) == 2


async def test_sent_failure_of_a_non_idempotent_call_is_not_retried():
    """A reset after sending, or a timeout after sending, ends a non-idempotent call."""
    for error in (reset(), UpstreamTimeout("read", sent=True)):
        guard, clock, _ = make_guard()
        tries = Tries(clock, error, "never")
        with pytest.raises(type(error)):
            await call(guard, tries)
        assert len(tries.deadlines) == 1


async def test_idempotent_call_is_retried_after_a_sent_failure():
    """An idempotent route retries a reset and a proxy's 503 page."""
    guard, clock, _ = make_guard()
    tries = Tries(clock, reset(), UpstreamProtocolError("page", status=503), "answer")
    assert await call(guard, tries, idempotent=True) == "answer"


async def test_faults_are_answers_never_retried_and_reset_the_breaker_count():
    """A SOAP fault is raised at once and counts as the upstream answering."""
    guard, clock, _ = make_guard()
    tries = Tries(clock, reset(), reset(), Fault(code="Server", string="x"), reset(), reset())
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await call(guard, tries)
    with pytest.raises(Fault):
        await call(guard, tries, idempotent=True)
    assert len(tries.deadlines) == 3
    assert guard.snapshot().breaker.consecutive_failures == 0


async def test_retries_and_tries_fit_in_one_total_deadline():
    """Each retry gets only what is left of the deadline; no retry starts past it."""
    guard, clock, sleeps = make_guard(policy(max_retries=5, backoff=0.5, max_backoff=0.5))
    tries = Tries(clock, *[refused()] * 6, cost=0.9)
    with pytest.raises(UpstreamUnavailable):
        await call(guard, tries, timeout=2.0)
    given = [timeout for timeout, _ in tries.deadlines]
    assert given[0] == 2.0
    assert all(later < earlier for earlier, later in itertools.pairwise(given))
    assert sum(sleeps) + 0.9 * len(given) <= 2.0 + 0.9  # the last try may use all that is left
    assert len(given) < 6


async def test_per_try_timeout_bounds_each_try():
    """With per_try_timeout each try gets at most that, and the connect timeout no more."""
    guard, clock, _ = make_guard(policy(per_try_timeout=0.3))
    tries = Tries(clock, UpstreamTimeout("read", sent=True), "answer", cost=0.3)
    assert await call(guard, tries, idempotent=True) == "answer"
    assert tries.deadlines[0] == (0.3, 0.3)


async def test_budget_exhaustion_stops_retries():
    """When the retry budget is empty the first error is raised; the refusal is logged."""
    guard, clock, _ = make_guard(policy(budget=0.0))
    guard.budget.min_per_second = 0.0
    guard.budget._balance = 0.0
    tries = Tries(clock, refused(), "answer")
    with capture_logs() as logs, pytest.raises(UpstreamUnavailable):
        await call(guard, tries)
    assert any(e["event"] == "upstream.retry_denied" for e in logs)
    assert guard.snapshot().retries_denied == 1


async def test_breaker_opens_refuses_without_calling_and_stops_retries():
    """Three failures open the breaker mid-retry; the real error is raised, later calls are
    refused with CircuitOpenError without a try."""
    guard, clock, _ = make_guard(policy(max_retries=5))
    tries = Tries(clock, *[refused()] * 5)
    with pytest.raises(UpstreamUnavailable):
        await call(guard, tries)
    assert len(tries.deadlines) == 3
    with pytest.raises(CircuitOpenError) as info:
        await call(guard, tries)
    assert info.value.retry_after == pytest.approx(5.0, abs=0.5)
    assert len(tries.deadlines) == 3
    assert not guard.snapshot().available


async def test_half_open_probe_success_closes():
    """After the open time one probe goes through; its success closes the breaker."""
    guard, clock, _ = make_guard(policy(max_retries=0))
    tries = Tries(clock, reset(), reset(), reset(), "answer")
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await call(guard, tries)
    clock.now += 5.0
    assert await call(guard, tries) == "answer"
    assert guard.snapshot().breaker.state == "closed"


async def test_full_bulkhead_refuses_before_any_try():
    """A call beyond slots and queue is refused at once (503 material), nothing tried."""
    pol = replace(policy(), max_concurrency=1, max_queue=0)
    guard, clock, _ = make_guard(pol)
    gate = asyncio.Event()

    async def slow(timeout: float, connect_timeout: float) -> str:
        await gate.wait()
        return "slow"

    first = asyncio.create_task(guard.call(slow, timeout=10, connect_timeout=1, idempotent=False))
    await asyncio.sleep(0)
    tries = Tries(clock, "never")
    with pytest.raises(BulkheadFullError):
        await call(guard, tries)
    assert tries.deadlines == []
    gate.set()
    assert await first == "slow"


async def test_cancelled_call_frees_its_slot_and_probe():
    """A call cancelled mid-try (client gone) releases the bulkhead slot and the probe."""
    guard, clock, _ = make_guard(policy(max_retries=0))
    for _ in range(3):
        with pytest.raises(UpstreamError):
            await call(guard, Tries(clock, reset()))
    clock.now += 5.0

    async def hang(timeout: float, connect_timeout: float) -> str:
        await asyncio.Event().wait()
        return "never"

    task = asyncio.create_task(guard.call(hang, timeout=10, connect_timeout=1, idempotent=False))
    await asyncio.sleep(0)
    assert guard.snapshot().bulkhead.in_flight == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert guard.snapshot().bulkhead.in_flight == 0
    assert await call(guard, Tries(clock, "answer")) == "answer"  # the probe slot was freed


def test_policies_keep_state_across_reloads_unless_the_policy_changes():
    """retain() keeps a guard whose policy is unchanged, replaces a changed one, drops the
    removed ones; snapshot() reports every guard by key."""
    policies = UpstreamPolicies()
    a, b = upstream(key="a"), upstream(key="b")
    guard_a, guard_b = policies.guard(a), policies.guard(b)
    assert policies.guard(a) is guard_a
    changed_b = upstream(replace(UpstreamPolicy(), max_concurrency=3), key="b")
    policies.retain([upstream(key="a"), changed_b])
    assert policies.guard(a) is guard_a
    assert policies.guard(changed_b) is not guard_b
    assert policies.guard(changed_b).bulkhead.max_concurrency == 3
    policies.retain([a])
    assert set(policies.snapshot()) == {"a"}
