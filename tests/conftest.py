"""Fixtures shared by every test: the repository layout and the bundled example."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.mapping.loader import load_mappings
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry

REPO = Path(__file__).resolve().parent.parent
WSDL_DIR = REPO / "wsdl"
MAPPINGS_DIR = REPO / "mappings"


@pytest.fixture(scope="session")
def registry() -> WsdlRegistry:
    """One WSDL registry for the whole run (WSDLs are loaded once)."""
    return WsdlRegistry()


@pytest.fixture(scope="session")
def orders_mappings(registry: WsdlRegistry) -> MappingSet:
    """The bundled example mappings, compiled."""
    return load_mappings([MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
