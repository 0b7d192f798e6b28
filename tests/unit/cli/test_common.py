"""Loading mappings from the command line, with the WSDL cache."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

import pytest

from mediator.cli.common import add_mapping_arguments, load, wsdl_cache
from mediator.errors import MappingError
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import MAPPINGS_DIR, WSDL_DIR


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_mapping_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A private copy of the bundled example (mappings/ and wsdl/)."""
    root = tmp_path / "project"
    shutil.copytree(MAPPINGS_DIR, root / "mappings")
    shutil.copytree(WSDL_DIR, root / "wsdl")
    return root


def test_a_warm_load_parses_no_wsdl(
    project: Path, tmp_path: Path, zeep_loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second load answers from the cache: zeep parses nothing, and nothing asks the
    registry for a zeep client (the sample-request checks included)."""
    args = _args(str(project / "mappings"), "--wsdl-dir", str(project / "wsdl"))
    args.cache_dir = tmp_path / "cache"
    first, _ = load(args)
    assert len(zeep_loads) == 1
    clients: list[Path] = []
    real_client = WsdlRegistry.client

    def counting_client(self: WsdlRegistry, path: Path) -> Any:
        clients.append(path)
        return real_client(self, path)

    monkeypatch.setattr(WsdlRegistry, "client", counting_client)
    second, registry = load(args)
    assert (len(zeep_loads), clients) == (1, [])
    assert registry.cache is not None and registry.cache.hits == 1
    assert [r.path for r in second.routes] == [r.path for r in first.routes]


def test_the_default_cache_comes_from_the_environment(
    project: Path, private_cache: Path, zeep_loads: list[Path]
) -> None:
    """Without --cache-dir, $MEDIATOR_CACHE_DIR is used."""
    args = _args(str(project / "mappings"), "--wsdl-dir", str(project / "wsdl"))
    load(args)
    load(args)
    assert len(zeep_loads) == 1
    assert len(list((private_cache / "wsdl").glob("*.json"))) == 1


def test_no_cache_writes_nothing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zeep_loads: list[Path]
) -> None:
    """--no-cache neither reads nor writes any cache directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("MEDIATOR_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    args = _args(str(project / "mappings"), "--wsdl-dir", str(project / "wsdl"), "--no-cache")
    assert wsdl_cache(args) is None
    _, registry = load(args)
    load(args)
    assert registry.cache is None
    assert len(zeep_loads) == 2
    assert list(home.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "project"]


def test_cache_dir_and_no_cache_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    """Asking for both is a usage error."""
    with pytest.raises(SystemExit):
        _args("--cache-dir", "x", "--no-cache")
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unsafe_cache_directory_is_reported_and_skipped(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cache directory writable by others is not used; stderr says so once per load."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    args = _args(
        str(project / "mappings"), "--wsdl-dir", str(project / "wsdl"), "--cache-dir", str(shared)
    )
    mappings, _ = load(args)
    assert mappings.routes
    assert capsys.readouterr().err.count("writable by group or others") == 1
    assert list(shared.iterdir()) == []


def test_a_changed_wsdl_is_seen_by_the_next_load(project: Path, zeep_loads: list[Path]) -> None:
    """A reload after a WSDL change reads the new WSDL, not the cached description."""
    args = _args(str(project / "mappings"), "--wsdl-dir", str(project / "wsdl"))
    load(args)
    wsdl = project / "wsdl" / "orders.wsdl"
    wsdl.write_text(wsdl.read_text().replace('"OrderPortSoap11"', '"RenamedPort"'))
    with pytest.raises(MappingError) as caught:
        load(args)
    assert len(zeep_loads) == 2
    assert any("OrderPortSoap11" in str(issue) for issue in caught.value.issues)
