"""A serving gateway loads the zeep clients its routes need in the background at start-up."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from structlog.testing import capture_logs

from mediator.gateway import app as app_module
from mediator.gateway.app import RUNTIME_KEY, create_app
from mediator.gateway.settings import GatewaySettings
from mediator.mapping.loader import load_mappings
from mediator.upstream.wsdl import WsdlRegistry

CORPUS = Path(__file__).resolve().parents[1] / "wsdl" / "corpus"


async def _started(aiohttp_client: Any, *, warm: bool) -> Any:
    registry = WsdlRegistry()
    mappings = load_mappings(
        [],
        describe=registry.describe,
        wsdl_dir=CORPUS,
        zero_config=[CORPUS / "quotes_rpc_encoded.wsdl"],
        environ={},
    )
    app = create_app(mappings, registry=registry, settings=GatewaySettings(warm_upstreams=warm))
    await aiohttp_client(TestServer(app))
    return app[RUNTIME_KEY]


async def test_zeep_clients_are_loaded_before_any_request(aiohttp_client: Any) -> None:
    """With warm_upstreams (what `mediator serve` sets), the rpc upstream's zeep client is
    loaded in a worker thread without a request, and the load is logged."""
    with capture_logs() as logs:
        runtime = await _started(aiohttp_client, warm=True)
        for _ in range(200):
            if any(e["event"] == "gateway.upstreams_warmed" for e in logs):
                break
            await asyncio.sleep(0.025)
    (warmed,) = [e for e in logs if e["event"] == "gateway.upstreams_warmed"]
    assert warmed["zeep_clients"] == 1
    assert runtime.table is not None and len(runtime.table.client._proxies) == 1


async def test_nothing_is_loaded_ahead_without_the_setting(aiohttp_client: Any) -> None:
    """By default (tests, embedding) zeep clients are loaded on first use only."""
    runtime = await _started(aiohttp_client, warm=False)
    await asyncio.sleep(0.2)
    assert runtime.table is not None and runtime.table.client._proxies == {}


async def test_no_thread_when_no_route_needs_zeep(
    aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain document/literal routes need no zeep client: no thread is started for them."""
    started: list[str] = []

    class Recording(threading.Thread):
        def start(self) -> None:
            started.append(self.name)
            super().start()

    monkeypatch.setattr(app_module.threading, "Thread", Recording)
    registry = WsdlRegistry()
    mappings = load_mappings(
        [],
        describe=registry.describe,
        wsdl_dir=CORPUS,
        zero_config=[CORPUS / "library_wrapped.wsdl"],
        environ={},
    )
    routes = [r for r in mappings.routes if r.name != "LibraryService.Ping"]
    app = create_app(
        dataclasses.replace(mappings, routes=tuple(routes)),
        registry=registry,
        settings=GatewaySettings(warm_upstreams=True),
    )
    await aiohttp_client(TestServer(app))
    assert started == []
    assert app[RUNTIME_KEY].table is not None
    assert app[RUNTIME_KEY].table.client._proxies == {}
