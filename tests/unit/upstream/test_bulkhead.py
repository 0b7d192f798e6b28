"""The per-upstream bulkhead (mediator.upstream.bulkhead): slots, FIFO queue, refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

from mediator.errors import BulkheadFullError, UpstreamTimeout
from mediator.upstream.bulkhead import Bulkhead

FAR = 1e12  # a deadline that never passes


async def hold(bulkhead: Bulkhead, release: asyncio.Event, log: list[str], name: str) -> None:
    async with bulkhead.slot(time.monotonic() + 60):
        log.append(name)
        await release.wait()


async def test_slots_then_queue_then_refusal():
    """max_concurrency calls run, max_queue wait, the next is refused with Retry-After."""
    bulkhead = Bulkhead("svc", max_concurrency=2, max_queue=1)
    release = asyncio.Event()
    log: list[str] = []
    tasks = [asyncio.create_task(hold(bulkhead, release, log, n)) for n in "abc"]
    await asyncio.sleep(0)
    assert log == ["a", "b"]
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_flight, snapshot.queued) == (2, 1)
    with pytest.raises(BulkheadFullError) as info:
        async with bulkhead.slot(FAR):
            pass
    assert info.value.retry_after == 1.0 and info.value.sent is False
    release.set()
    await asyncio.gather(*tasks)
    assert log == ["a", "b", "c"]
    snapshot = bulkhead.snapshot()
    assert (snapshot.in_flight, snapshot.queued, snapshot.rejected) == (0, 0, 1)


async def test_queue_is_first_in_first_out():
    """Freed slots go to waiters in arrival order, not to newcomers."""
    bulkhead = Bulkhead("svc", max_concurrency=1, max_queue=5)
    gates = [asyncio.Event() for _ in range(4)]
    order: list[int] = []

    async def run(index: int) -> None:
        async with bulkhead.slot(time.monotonic() + 60):
            order.append(index)
            await gates[index].wait()

    tasks = []
    for index in range(4):
        tasks.append(asyncio.create_task(run(index)))
        await asyncio.sleep(0)
    for gate in gates:
        gate.set()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]


async def test_waiting_past_the_deadline_is_a_timeout_that_sent_nothing():
    """A caller still queued at its deadline gets UpstreamTimeout(sent=False) and leaves."""
    bulkhead = Bulkhead("svc", max_concurrency=1, max_queue=1)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(bulkhead, release, [], "a"))
    await asyncio.sleep(0)
    with pytest.raises(UpstreamTimeout) as info:
        async with bulkhead.slot(time.monotonic() + 0.02):
            pass
    assert info.value.sent is False
    assert bulkhead.snapshot().queued == 0
    release.set()
    await holder
    assert bulkhead.snapshot().in_flight == 0


async def test_cancelled_waiter_leaves_the_queue_and_slots_balance():
    """A queued caller that is cancelled (client gone) frees its place; counts stay exact."""
    bulkhead = Bulkhead("svc", max_concurrency=1, max_queue=2)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(bulkhead, release, [], "a"))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(hold(bulkhead, release, [], "b"))
    await asyncio.sleep(0)
    assert bulkhead.snapshot().queued == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bulkhead.snapshot().queued == 0
    release.set()
    await holder
    assert bulkhead.snapshot().in_flight == 0


async def test_slot_handed_to_a_cancelled_waiter_is_passed_on():
    """If a waiter is cancelled just after a slot was handed to it, the slot is not lost."""
    bulkhead = Bulkhead("svc", max_concurrency=1, max_queue=2)
    held = bulkhead.slot(FAR)
    await held.__aenter__()
    log: list[str] = []
    second = asyncio.create_task(hold(bulkhead, asyncio.Event(), log, "b"))
    third = asyncio.create_task(hold(bulkhead, asyncio.Event(), log, "c"))
    await asyncio.sleep(0)
    assert bulkhead.snapshot().queued == 2
    await held.__aexit__(None, None, None)  # hands the slot to "b" without yielding ...
    second.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await second
    await asyncio.sleep(0)
    assert log == ["c"]
    assert bulkhead.snapshot().in_flight == 1
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third
    assert bulkhead.snapshot().in_flight == 0


async def test_no_queue_means_immediate_refusal():
    """With max_queue 0 a call beyond the slots is refused at once."""
    bulkhead = Bulkhead("svc", max_concurrency=1, max_queue=0)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(bulkhead, release, [], "a"))
    await asyncio.sleep(0)
    with pytest.raises(BulkheadFullError):
        async with bulkhead.slot(FAR):
            pass
    release.set()
    await holder


def test_limits_are_validated():
    """A bulkhead needs at least one slot and a non-negative queue."""
    with pytest.raises(ValueError, match="max_concurrency"):
        Bulkhead("svc", max_concurrency=0, max_queue=1)
