"""A bulkhead per upstream: a bounded number of calls in flight and a bounded wait queue.

A call takes a slot if one is free; otherwise it waits in a FIFO queue of at most
``max_queue`` callers until a slot is handed to it or its deadline passes; when the queue is
full it is refused at once. So a hung upstream can hold at most ``max_concurrency``
connections and ``max_queue`` waiting requests of the gateway, and never the slots of
another upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from mediator.errors import BulkheadFullError, UpstreamTimeout

__all__ = ["Bulkhead", "BulkheadSnapshot"]

_RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class BulkheadSnapshot:
    """Occupancy of a bulkhead, for health and metrics endpoints."""

    in_flight: int
    queued: int
    max_concurrency: int
    max_queue: int
    rejected: int
    """Calls refused because the queue was full, since start."""


class Bulkhead:
    """Bounds the concurrent calls of one upstream (``name`` is used in errors)."""

    def __init__(
        self,
        name: str,
        *,
        max_concurrency: int,
        max_queue: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_concurrency < 1 or max_queue < 0:
            raise ValueError("max_concurrency must be at least 1 and max_queue at least 0")
        self.name = name
        self.max_concurrency = max_concurrency
        self.max_queue = max_queue
        self._clock = clock
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rejected = 0

    def slot(self, deadline: float) -> _Slot:
        """Hold one slot for the body of the ``async with``.

        Args:
            deadline: the clock time after which waiting for a slot gives up.

        Raises (on entering):
            BulkheadFullError: every slot is taken and the queue is full.
            UpstreamTimeout: the deadline passed while waiting (nothing was sent).
        """
        return _Slot(self, deadline)

    async def _acquire(self, deadline: float) -> None:
        if self._in_flight < self.max_concurrency and not self._waiters:
            self._in_flight += 1
            return
        if len(self._waiters) >= self.max_queue:
            self._rejected += 1
            raise BulkheadFullError(
                f"{self._in_flight} calls in flight and {len(self._waiters)} waiting",
                upstream=self.name,
                retry_after=_RETRY_AFTER,
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(max(deadline - self._clock(), 0.0)):
                await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return  # the slot was handed over as the deadline passed: keep it
            raise UpstreamTimeout(
                "no free slot for the upstream before the deadline", upstream=self.name, sent=False
            ) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed over, but this caller is gone: pass it on
            raise
        finally:
            if not waiter.done():
                waiter.cancel()
            with contextlib.suppress(ValueError):  # already popped by the releaser
                self._waiters.remove(waiter)

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the waiter: in_flight unchanged
                return
        self._in_flight -= 1

    def snapshot(self) -> BulkheadSnapshot:
        """Calls in flight and waiting, the limits, and the number refused so far."""
        return BulkheadSnapshot(
            in_flight=self._in_flight,
            queued=len(self._waiters),
            max_concurrency=self.max_concurrency,
            max_queue=self.max_queue,
            rejected=self._rejected,
        )


class _Slot:
    """``async with bulkhead.slot(deadline)``: a plain class, cheaper per call than a
    generator-based context manager on every upstream call."""

    __slots__ = ("_bulkhead", "_deadline")

    def __init__(self, bulkhead: Bulkhead, deadline: float) -> None:
        self._bulkhead = bulkhead
        self._deadline = deadline

    async def __aenter__(self) -> None:
        await self._bulkhead._acquire(self._deadline)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bulkhead._release()
