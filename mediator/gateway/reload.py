"""Hot reload: on SIGHUP or a file change, load the mappings again and swap them in whole.

A valid set replaces the routing table atomically; in-flight requests finish on the table
they started with. An invalid set is rejected with the same messages as ``mediator check``
and the old table keeps serving.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from mediator.errors import MappingError
from mediator.log import get_logger
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry

if TYPE_CHECKING:
    from mediator.gateway.app import GatewayRuntime

__all__ = ["Reloader", "fingerprint", "reload_context", "reload_now"]

Reloader = Callable[[], tuple[MappingSet, WsdlRegistry]]
"""Loads the mapping set afresh (a new WSDL registry, so changed WSDLs are re-read)."""

_log = get_logger("mediator.gateway")


def fingerprint(paths: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """Name, modification time and size of every file under ``paths``, sorted."""
    entries = []
    for root in paths:
        files = (
            [root]
            if root.is_file()
            else sorted(p for p in root.rglob("*") if p.is_file())
            if root.is_dir()
            else []
        )
        for path in files:
            try:
                stat = path.stat()
            except OSError:
                continue
            entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(entries))


async def reload_now(runtime: GatewayRuntime, reloader: Reloader) -> bool:
    """Load and install a new mapping set; keep the current one if it is invalid.

    Returns:
        True when the new set was installed.
    """
    async with runtime.reload_lock:
        try:
            mappings, registry = await asyncio.to_thread(reloader)
        except MappingError as exc:
            _log.error("gateway.reload_rejected", issues=[str(issue) for issue in exc.issues])
            return False
        except Exception as exc:  # a reload must never take the gateway down
            _log.error("gateway.reload_failed", exc_info=exc)
            return False
        runtime.install(mappings, registry)
        _log.info("gateway.reloaded", generation=runtime.generation)
        return True


def reload_context(
    runtime: GatewayRuntime, reloader: Reloader
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context: SIGHUP handler and, when ``settings.watch``, a polling file watcher."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[bool]] = set()

        def on_sighup() -> None:
            task = loop.create_task(reload_now(runtime, reloader))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        try:
            loop.add_signal_handler(signal.SIGHUP, on_sighup)
            has_signal = True
        except (NotImplementedError, RuntimeError, ValueError):
            has_signal = False
        watcher = loop.create_task(_watch(runtime, reloader)) if runtime.settings.watch else None
        try:
            yield
        finally:
            if has_signal:
                loop.remove_signal_handler(signal.SIGHUP)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
            for task in tasks:
                task.cancel()

    return ctx


def _watched(runtime: GatewayRuntime) -> list[Path]:
    settings = runtime.settings
    paths = list(settings.mappings)
    if settings.wsdl_dir is not None:
        paths.append(settings.wsdl_dir)
    if runtime.table is not None:
        paths.extend(upstream.wsdl for upstream in runtime.table.mappings.upstreams.values())
    return paths


async def _watch(runtime: GatewayRuntime, reloader: Reloader) -> None:
    interval = runtime.settings.watch_interval
    last = await asyncio.to_thread(fingerprint, _watched(runtime))
    while True:
        await asyncio.sleep(interval)
        current = await asyncio.to_thread(fingerprint, _watched(runtime))
        if current != last:
            last = current
            _log.info("gateway.change_detected")
            await reload_now(runtime, reloader)
