"""Helpers for contract tests: the bundled fixtures in a scratch copy, mappings with one change."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mediator.contract.rules import load_config
from mediator.contract.verify import Verifier
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import MAPPINGS_DIR, REPO, WSDL_DIR

FIXTURES_DIR = REPO / "fixtures"


@pytest.fixture
def fixtures_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled fixtures."""
    target = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, target)
    return target


@pytest.fixture
def changed_mappings(tmp_path: Path, registry: WsdlRegistry) -> Callable[..., MappingSet]:
    """Load the example mapping with text replacements applied (each must occur exactly once)."""

    def load(*replacements: tuple[str, str]) -> MappingSet:
        text = (MAPPINGS_DIR / "orders.yaml").read_text()
        for old, new in replacements:
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        directory = tmp_path / "mappings"
        directory.mkdir(exist_ok=True)
        (directory / "orders.yaml").write_text(text)
        return load_mappings([directory], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})

    return load


@pytest.fixture
def verifier_for(registry: WsdlRegistry) -> Callable[[MappingSet, Path], Verifier]:
    """A verifier of a fixtures directory against a mapping set."""

    def make(mappings: MappingSet, root: Path) -> Verifier:
        return Verifier(mappings, registry, load_config(root), root)

    return make
