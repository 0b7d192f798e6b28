"""Fixtures shared by every test: the repository layout and the bundled example."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediator.mapping.loader import load_mappings
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry
from tests.backends.processes import free_port, stop_process, wait_http

REPO = Path(__file__).resolve().parent.parent
WSDL_DIR = REPO / "wsdl"
MAPPINGS_DIR = REPO / "mappings"


@pytest.fixture(scope="session", autouse=True)
def wsdl_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every command and `mediator serve` process of the run caches WSDL descriptions in a
    temporary directory, never in the user's ~/.cache (docs/operations.md)."""
    path = tmp_path_factory.mktemp("wsdl-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MEDIATOR_CACHE_DIR", str(path))
        yield path


@pytest.fixture
def demo_backend() -> Iterator[str]:
    """The Python demo backend (examples/orders/backend.py) as its own process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "examples/orders/backend.py"), "--port", str(port)]
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/orders?wsdl")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process, signum=signal.SIGINT)


@pytest.fixture(scope="session")
def registry() -> WsdlRegistry:
    """One WSDL registry for the whole run (WSDLs are loaded once)."""
    return WsdlRegistry()


@pytest.fixture(scope="session")
def orders_mappings(registry: WsdlRegistry) -> MappingSet:
    """The bundled example mappings, compiled."""
    return load_mappings([MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
