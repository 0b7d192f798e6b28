"""The pytest plugin: `pytest --mediator-fixtures DIR` collects one test per fixture."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MAPPINGS_DIR, WSDL_DIR
from tests.contract.conftest import FIXTURES_DIR


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A user project: mappings, WSDL and recorded fixtures, and no tests of its own."""
    shutil.copytree(MAPPINGS_DIR, tmp_path / "mappings")
    shutil.copytree(WSDL_DIR, tmp_path / "wsdl")
    shutil.copytree(FIXTURES_DIR, tmp_path / "fixtures")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
    )
    return tmp_path


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_one_test_per_fixture_passes(project: Path) -> None:
    """Every fixture is a collected, passing test; the plugin is found through its entry point."""
    count = len(list((project / "fixtures").rglob("fixture.json")))
    result = _pytest(project, "--mediator-fixtures", "fixtures", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{count} passed" in result.stdout
    listed = _pytest(project, "--mediator-fixtures", "fixtures", "--collect-only", "-q")
    assert "fixtures/get-order/get-orders-1001/fixture.json::get-orders-1001" in listed.stdout


def test_a_mapping_change_fails_with_the_verify_report(project: Path) -> None:
    """A mapping change fails the affected fixtures with the same diff `mediator verify` prints."""
    mapping = project / "mappings" / "orders.yaml"
    mapping.write_text(mapping.read_text().replace("vip: o:Vip", "isVip: o:Vip"))
    result = _pytest(project, "--mediator-fixtures", "fixtures", "-q")
    assert result.returncode == 1
    assert "FAIL get-order/get-orders-1001" in result.stdout
    assert '-    "vip": true' in result.stdout and '+    "isVip": true' in result.stdout
    assert "Traceback" not in result.stdout
    updated = _pytest(project, "--mediator-fixtures", "fixtures", "--mediator-update", "-q")
    assert updated.returncode == 0, updated.stdout
    assert _pytest(project, "--mediator-fixtures", "fixtures", "-q").returncode == 0


def test_broken_mappings_fail_every_contract_test_with_the_issues(project: Path) -> None:
    """Mappings that do not load fail each contract test with the loader's issue lines."""
    mapping = project / "mappings" / "orders.yaml"
    mapping.write_text(mapping.read_text().replace("operation: GetOrder", "operation: GetOrdr"))
    result = _pytest(project, "--mediator-fixtures", "fixtures", "-q", "-x")
    assert result.returncode == 1
    assert "the mappings or contract.yaml cannot be loaded:" in result.stdout
    assert "GetOrdr" in result.stdout


def test_without_the_option_nothing_is_collected(project: Path) -> None:
    """The plugin is inert unless --mediator-fixtures is given."""
    result = _pytest(project, "--collect-only", "-q", "fixtures")
    assert "no tests collected" in result.stdout
