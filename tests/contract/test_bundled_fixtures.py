"""The project's own contract suite: every bundled fixture verifies against the bundled mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mediator.contract.fixture import discover_fixtures
from mediator.contract.verify import Verifier
from mediator.mapping.model import MappingSet
from tests.contract.bundled import REQUESTS, record_bundled
from tests.contract.conftest import FIXTURES_DIR

BUNDLED = discover_fixtures(FIXTURES_DIR)


@pytest.mark.parametrize("directory", BUNDLED, ids=lambda p: p.relative_to(FIXTURES_DIR).as_posix())
def test_fixture_matches_the_mapping(bundled_verifier: Verifier, directory: Path) -> None:
    """The mapping renders the recorded SOAP request and extracts the recorded JSON."""
    result = bundled_verifier.verify_path(directory)
    assert result.passed, result.report()


def test_every_bundled_fixture_verifies(bundled_verifier: Verifier) -> None:
    """verify over fixtures/ finds every fixture and no mismatch."""
    results = bundled_verifier.verify_all()
    assert len(results) == len(REQUESTS) == len(BUNDLED)
    failures = [r.report() for r in results if not r.passed]
    assert failures == [], "\n".join(failures)


def test_every_bundled_route_has_fixtures(orders_mappings: MappingSet) -> None:
    """Each single-operation route of the example, with a success and (where it maps faults) a
    fault, is recorded (composed routes make several calls per request: not recordable)."""
    recorded: dict[str, set[int]] = {}
    for directory in BUNDLED:
        meta = json.loads((directory / "fixture.json").read_text())
        recorded.setdefault(meta["route"], set()).add(meta["response"]["status"])
    routes = [route for route in orders_mappings.routes if not route.steps]
    assert set(recorded) == {route.name for route in routes}
    for route in routes:
        assert any(status < 300 for status in recorded[route.name]), route.name
        if route.errors:
            assert any(status >= 400 for status in recorded[route.name]), route.name


@pytest.mark.integration
async def test_recording_the_example_again_gives_the_bundled_fixtures(tmp_path: Path) -> None:
    """Re-recording against the demo backend writes the same fixtures, byte for byte apart from
    the recording time (so fixtures/ is exactly what the example produces)."""
    (tmp_path / "contract.yaml").write_bytes((FIXTURES_DIR / "contract.yaml").read_bytes())
    written = await record_bundled(tmp_path)
    assert sorted(p.relative_to(tmp_path) for p in written) == sorted(
        p.relative_to(FIXTURES_DIR) for p in BUNDLED
    )
    for directory in BUNDLED:
        fresh = tmp_path / directory.relative_to(FIXTURES_DIR)
        for file in sorted(directory.iterdir()):
            old, new = file.read_text(), (fresh / file.name).read_text()
            if file.name == "fixture.json":
                old, new = (json.loads(text) | {"recorded_at": None} for text in (old, new))
            assert new == old, f"{fresh / file.name} differs from {file}"
