"""Contract-suite fixtures: the bundled fixtures and a verifier of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.contract.rules import load_config
from mediator.contract.verify import Verifier
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO

FIXTURES_DIR = REPO / "fixtures"


@pytest.fixture(scope="session")
def bundled_verifier(orders_mappings: MappingSet, registry: WsdlRegistry) -> Verifier:
    """Verifies the bundled fixtures against the bundled mappings."""
    return Verifier(orders_mappings, registry, load_config(FIXTURES_DIR), FIXTURES_DIR)


@pytest.fixture
def fixtures_dir() -> Path:
    """The bundled fixtures directory (read only)."""
    return FIXTURES_DIR
