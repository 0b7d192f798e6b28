"""The README documents every mapping key, field type and problem type the code accepts."""

from __future__ import annotations

import pytest

from mediator.gateway.problems import PROBLEM_TYPES
from mediator.mapping import loader, response_plan
from mediator.mapping.model import FIELD_KINDS, PARAM_KINDS
from tests.conftest import REPO

README = (REPO / "README.md").read_text()

KEYS = sorted(
    loader._TOP_KEYS
    | loader._SERVICE_KEYS
    | loader._DEFAULTS_KEYS
    | loader._ROUTE_KEYS
    | loader._REQUEST_KEYS
    | loader._ERROR_KEYS
    | loader._PARAM_KEYS
    | response_plan._RESPONSE_KEYS
    | response_plan._FIELD_KEYS
)


@pytest.mark.parametrize("key", KEYS)
def test_every_mapping_key_is_documented(key: str) -> None:
    """Each key the loader accepts appears, as code, in the README's reference."""
    assert f"`{key}`" in README


@pytest.mark.parametrize("kind", sorted(set(FIELD_KINDS) | set(PARAM_KINDS)))
def test_every_type_is_documented(kind: str) -> None:
    """Each field and parameter type appears in the README."""
    assert f"`{kind}`" in README


@pytest.mark.parametrize("slug", sorted(PROBLEM_TYPES))
def test_every_problem_type_is_documented(slug: str) -> None:
    """Each problem type the gateway emits has a row in the README's error table."""
    assert f"`{slug}`" in README
