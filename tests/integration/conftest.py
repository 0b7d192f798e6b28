"""Integration fixtures: the gateway served over real loopback HTTP, in front of real backends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from mediator.gateway.app import create_app
from mediator.gateway.settings import GatewaySettings
from mediator.mapping.loader import load_mappings
from mediator.upstream.wsdl import WsdlRegistry
from tests.backends.node_soap import run_node_orders_backend
from tests.backends.scripted import ScriptedBackend
from tests.conftest import MAPPINGS_DIR, WSDL_DIR

GatewayFactory = Callable[..., Coroutine[Any, Any, TestClient[web.Request, web.Application]]]


@pytest.fixture(scope="session")
def node_backend() -> Iterator[str]:
    """The example WSDL served by node-soap (the npm ``soap`` package); its base URL."""
    with run_node_orders_backend() as base_url:
        yield base_url


@pytest.fixture
async def gateway(registry: WsdlRegistry, aiohttp_client: Callable[..., Any]) -> GatewayFactory:
    """Start a gateway for mapping paths with an environment; returns a test client."""

    async def start(
        paths: list[Path] | None = None,
        environ: dict[str, str] | None = None,
        settings: GatewaySettings | None = None,
        **kwargs: Any,
    ) -> TestClient[web.Request, web.Application]:
        mappings = load_mappings(
            paths or [MAPPINGS_DIR],
            describe=registry.describe,
            wsdl_dir=WSDL_DIR,
            environ=environ or {},
        )
        app = create_app(mappings, registry=registry, settings=settings, **kwargs)
        client: TestClient[web.Request, web.Application] = await aiohttp_client(TestServer(app))
        return client

    return start


@pytest.fixture
async def scripted(
    aiohttp_server: Callable[..., Any],
) -> AsyncIterator[tuple[ScriptedBackend, str]]:
    """A scripted SOAP backend on loopback and its base URL."""
    backend = ScriptedBackend()
    server = await aiohttp_server(backend.app())
    return backend, str(server.make_url("")).rstrip("/")
