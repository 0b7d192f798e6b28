"""Process tuning of a serving gateway (mediator.gateway.process)."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import sys
import weakref
from collections.abc import Iterator

import pytest

from mediator.gateway import process


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Leave the test process's collector as it was."""
    yield
    gc.unfreeze()


def test_asyncio_loop_on_request() -> None:
    """``asyncio`` gives the standard loop even when uvloop is installed."""
    loop = process.new_event_loop("asyncio")
    try:
        assert process.loop_name(loop) == "asyncio"
    finally:
        loop.close()


def test_auto_prefers_uvloop_when_installed() -> None:
    """``auto`` runs on uvloop when it can be imported (a default dependency on Linux)."""
    loop = process.new_event_loop("auto")
    try:
        expected = "uvloop" if process.uvloop_available() else "asyncio"
        assert process.loop_name(loop) == expected
        assert loop.run_until_complete(asyncio.sleep(0, result=7)) == 7
    finally:
        loop.close()


def test_auto_falls_back_and_uvloop_is_refused_without_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without uvloop, ``auto`` uses asyncio and an explicit ``uvloop`` is an error."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name)
    )
    monkeypatch.setitem(sys.modules, "uvloop", None)  # its import fails
    loop = process.new_event_loop("auto")
    try:
        assert process.loop_name(loop) == "asyncio"
    finally:
        loop.close()
    with pytest.raises(RuntimeError, match="needs the uvloop package"):
        process.new_event_loop("uvloop")


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.mark.usefixtures("unfrozen")
def test_settled_objects_are_exempt_until_the_next_settle() -> None:
    """What survives a settle is frozen; the next settle frees what became garbage."""
    node = _Node()
    alive = weakref.ref(node)
    process.settle_heap()
    assert gc.get_freeze_count() > 0
    del node
    gc.collect()
    assert alive() is not None  # frozen: the collector does not look at it
    process.settle_heap()
    assert alive() is None
