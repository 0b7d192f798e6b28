"""Process-level tuning of a serving gateway: the event loop and the garbage collector.

- **Event loop.** uvloop (libuv) runs aiohttp's server and client with less per-event
  overhead than the standard asyncio loop; it is used when installed (a default dependency
  on Linux and macOS) unless ``--loop asyncio`` is asked for.
- **Heap.** Loading WSDLs and mappings leaves ~100,000 long-lived objects (zeep's schema
  model, compiled plans). Every full collection of the cyclic garbage collector walks all
  of them: about 50 ms here, a latency spike for every request in flight when it happens.
  After each load the gateway collects once and moves what survived into the permanent
  generation (:func:`gc.freeze`), so later collections walk only request-time objects.
  Before the next freeze (a reload) they are unfrozen, so the previous table can be freed.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
from typing import Literal

__all__ = ["LOOPS", "LoopKind", "loop_name", "new_event_loop", "settle_heap", "uvloop_available"]

LoopKind = Literal["auto", "uvloop", "asyncio"]
LOOPS: tuple[LoopKind, ...] = ("auto", "uvloop", "asyncio")


def uvloop_available() -> bool:
    """Whether the uvloop package can be imported."""
    return importlib.util.find_spec("uvloop") is not None


def new_event_loop(kind: LoopKind) -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop for ``uvloop``, and for ``auto`` when it is installed.

    Raises:
        RuntimeError: ``uvloop`` was asked for and is not installed.
    """
    if kind == "asyncio" or (kind == "auto" and not uvloop_available()):
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError:
        raise RuntimeError("--loop uvloop needs the uvloop package (pip install uvloop)") from None
    return uvloop.new_event_loop()


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: what the gateway runs on (logged at start-up)."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def settle_heap() -> None:
    """Collect once, then exempt every surviving object from later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
