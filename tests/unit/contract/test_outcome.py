"""Outcomes: running recorded responses through the real call path."""

from __future__ import annotations

import pytest

from mediator.contract import outcome


def test_run_now_returns_immediate_results_and_refuses_real_waits() -> None:
    """run_now drives coroutines that never wait, and raises for one that does."""

    async def immediate() -> int:
        return 7

    class Suspend:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield None

    async def waits() -> None:
        await Suspend()

    assert outcome.run_now(immediate()) == 7
    with pytest.raises(RuntimeError, match="waited for I/O"):
        outcome.run_now(waits())
