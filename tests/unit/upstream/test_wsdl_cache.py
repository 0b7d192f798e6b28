"""The persistent cache of WSDL descriptions: hits skip zeep, any change to any file misses."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mediator.mapping.service_info import TypeInfo, WsdlInfo
from mediator.upstream import wsdl_cache
from mediator.upstream.wsdl import WsdlRegistry
from mediator.upstream.wsdl_cache import SourceRecorder, WsdlCache, default_cache_dir
from mediator.upstream.wsdl_json import decode_info, encode_info
from tests.conftest import REPO, WSDL_DIR

CORPUS = REPO / "tests" / "wsdl" / "corpus"
CORPUS_WSDLS = [*sorted(CORPUS.glob("*.wsdl")), WSDL_DIR / "orders.wsdl"]


@pytest.fixture
def crm(tmp_path: Path) -> Path:
    """A private copy of the split CRM WSDL: a WSDL import, XSD imports and an include."""
    target = tmp_path / "corpus"
    target.mkdir()
    shutil.copy(CORPUS / "crm_split.wsdl", target)
    shutil.copytree(CORPUS / "crm_parts", target / "crm_parts")
    return target / "crm_split.wsdl"


@pytest.fixture
def fresh_fingerprint() -> Iterator[None]:
    """The code fingerprint recomputed (it is cached per process)."""
    wsdl_cache._code_fingerprint.cache_clear()
    yield
    wsdl_cache._code_fingerprint.cache_clear()


def _entries(cache_dir: Path) -> list[Path]:
    entries = cache_dir / "wsdl"
    return sorted(entries.iterdir()) if entries.is_dir() else []


def _same(a: Any, b: Any, seen: set[tuple[int, int]]) -> bool:
    """Structural equality of descriptions, independent of encode_info (cycles allowed)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, TypeInfo):
        if (id(a), id(b)) in seen:
            return True
        seen.add((id(a), id(b)))
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(
            _same(getattr(a, f.name), getattr(b, f.name), seen) for f in dataclasses.fields(a)
        )
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k], seen) for k in a)
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y, seen) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _types(info: WsdlInfo) -> set[int]:
    """Identities of every TypeInfo reachable from the description."""
    found: dict[int, TypeInfo] = {}
    stack = [
        element.type
        for service in info.services.values()
        for port in service.ports.values()
        for op in port.operations.values()
        for element in (op.input, op.output, *op.faults)
        if element is not None
    ]
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        found[id(node)] = node
        stack.extend(child.type for child in node.children)
        if node.array_item is not None:
            stack.append(node.array_item)
    return set(found)


@pytest.mark.parametrize("wsdl", CORPUS_WSDLS, ids=lambda p: p.name)
def test_hit_returns_equal_info_without_zeep(
    wsdl: Path, tmp_path: Path, zeep_loads: list[Path]
) -> None:
    """A second registry on the same cache gets an equal description, sharing and cycles
    included, and never asks zeep to parse."""
    built = WsdlRegistry(WsdlCache(tmp_path)).describe(wsdl)
    assert len(zeep_loads) == 1
    cache = WsdlCache(tmp_path)
    cached = WsdlRegistry(cache).describe(wsdl)
    assert len(zeep_loads) == 1
    assert (cache.hits, cache.misses) == (1, 0)
    assert cached is not built
    assert cached.path == built.path == wsdl.resolve()
    assert _same(built, cached, set())
    assert len(_types(cached)) == len(_types(built))
    assert encode_info(cached) == encode_info(built)
    (entry,) = _entries(tmp_path)
    json.loads(entry.read_bytes())  # plain JSON, nothing executable


def test_a_warm_describe_never_imports_zeep(tmp_path: Path) -> None:
    """On a hit, zeep is not even imported (checked in a fresh interpreter)."""
    code = (
        "import sys; from pathlib import Path; "
        "from mediator.upstream.wsdl import WsdlRegistry; "
        "from mediator.upstream.wsdl_cache import WsdlCache; "
        f"WsdlRegistry(WsdlCache(Path({str(tmp_path)!r}))).describe(Path({str(CORPUS_WSDLS[0])!r})); "
        "print('zeep' in sys.modules)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]


def test_the_entry_lists_every_file_read(crm: Path, tmp_path: Path) -> None:
    """The key covers the WSDL, the WSDL it imports and every schema imported or included."""
    cache_dir = tmp_path / "cache"
    WsdlRegistry(WsdlCache(cache_dir)).describe(crm)
    (entry,) = _entries(cache_dir)
    sources = json.loads(entry.read_bytes())["sources"]
    parts = crm.parent / "crm_parts"
    assert sorted(s["path"] for s in sources) == sorted(
        str(p.resolve())
        for p in [
            crm,
            parts / "crm-interface.wsdl",
            parts / "schemas" / "crm-types.xsd",
            parts / "schemas" / "crm-common.xsd",
            parts / "schemas" / "address.xsd",
        ]
    )
    assert all(len(s["sha256"]) == 64 and s["size"] > 0 for s in sources)


def _append_comment(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"<!-- changed -->\n")


def _same_size_same_mtime_edit(path: Path) -> None:
    """Change one byte without changing size or modification time: only the hash can tell."""
    before = path.stat()
    data = bytearray(path.read_bytes())
    index = data.rindex(b"-->") - 1  # inside a comment
    data[index] = ord("x") if data[index] != ord("x") else ord("y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


@pytest.mark.parametrize(
    ("changed", "change"),
    [
        ("crm_split.wsdl", _append_comment),
        ("crm_parts/crm-interface.wsdl", _append_comment),
        ("crm_parts/schemas/address.xsd", _append_comment),
        ("crm_parts/schemas/crm-common.xsd", _append_comment),
        ("crm_parts/schemas/address.xsd", _same_size_same_mtime_edit),
    ],
)
def test_a_change_to_any_file_misses(
    crm: Path,
    tmp_path: Path,
    zeep_loads: list[Path],
    changed: str,
    change: Callable[[Path], None],
) -> None:
    """Changing the WSDL or any file it imports or includes (even keeping size and mtime)
    is a miss; the rebuilt entry then hits."""
    cache_dir = tmp_path / "cache"
    WsdlRegistry(WsdlCache(cache_dir)).describe(crm)
    change(crm.parent / changed)
    cache = WsdlCache(cache_dir)
    WsdlRegistry(cache).describe(crm)
    assert (cache.hits, cache.misses, cache.stored) == (0, 1, 1)
    assert len(zeep_loads) == 2
    again = WsdlCache(cache_dir)
    WsdlRegistry(again).describe(crm)
    assert (again.hits, len(zeep_loads)) == (1, 2)


def test_a_changed_enumeration_is_seen(crm: Path, tmp_path: Path) -> None:
    """What changed in an imported schema reaches the description (not a stale copy)."""
    cache_dir = tmp_path / "cache"
    common = crm.parent / "crm_parts" / "schemas" / "crm-common.xsd"
    before = WsdlRegistry(WsdlCache(cache_dir)).describe(crm)
    common.write_text(common.read_text().replace('"company"', '"organisation"'))
    after = WsdlRegistry(WsdlCache(cache_dir)).describe(crm)
    assert '"company"' in json.dumps(encode_info(before))
    assert '"organisation"' in json.dumps(encode_info(after))
    assert '"company"' not in json.dumps(encode_info(after))


@pytest.mark.parametrize(
    "corrupt",
    [
        b"",
        b"\x00\xff not json",
        b'{"format": 1}',
        b"[]",
        b"null",
    ],
    ids=["empty", "garbage", "incomplete", "array", "null"],
)
def test_a_corrupt_entry_is_rebuilt(tmp_path: Path, zeep_loads: list[Path], corrupt: bytes) -> None:
    """An entry that cannot be read is a miss, not an error, and is written anew."""
    wsdl = CORPUS / "library_wrapped.wsdl"
    WsdlRegistry(WsdlCache(tmp_path)).describe(wsdl)
    (entry,) = _entries(tmp_path)
    entry.write_bytes(corrupt)
    cache = WsdlCache(tmp_path)
    info = WsdlRegistry(cache).describe(wsdl)
    assert (cache.misses, cache.stored, len(zeep_loads)) == (1, 1, 2)
    assert info.services
    assert WsdlCache(tmp_path).lookup(wsdl.resolve()) is not None


def _mangle(document: dict[str, Any]) -> None:
    document["info"]["types"][0]["children"] = [["x", None, 10**6, 1, 1, False]]


def _bad_scalar(document: dict[str, Any]) -> None:
    document["info"]["types"][0]["scalar"] = "__import__('os')"


def _bad_source(document: dict[str, Any]) -> None:
    document["sources"][0]["size"] = "big"


def _other_wsdl(document: dict[str, Any]) -> None:
    document["wsdl"] = "/elsewhere/other.wsdl"


@pytest.mark.parametrize("damage", [_mangle, _bad_scalar, _bad_source, _other_wsdl])
def test_a_well_formed_but_wrong_entry_is_a_miss(
    tmp_path: Path, damage: Callable[[dict[str, Any]], None]
) -> None:
    """Valid JSON of the wrong shape, or of another WSDL, is ignored."""
    wsdl = (CORPUS / "library_wrapped.wsdl").resolve()
    WsdlRegistry(WsdlCache(tmp_path)).describe(wsdl)
    (entry,) = _entries(tmp_path)
    document = json.loads(entry.read_bytes())
    damage(document)
    entry.write_text(json.dumps(document))
    assert WsdlCache(tmp_path).lookup(wsdl) is None


@pytest.mark.usefixtures("fresh_fingerprint")
@pytest.mark.parametrize(("attribute", "value"), [("__version__", "99.0.0"), ("CACHE_FORMAT", 999)])
def test_another_version_or_format_misses(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    zeep_loads: list[Path],
    attribute: str,
    value: object,
) -> None:
    """Entries written by another Mediator version or cache format are not used."""
    wsdl = CORPUS / "library_wrapped.wsdl"
    WsdlRegistry(WsdlCache(tmp_path)).describe(wsdl)
    monkeypatch.setattr(wsdl_cache, attribute, value)
    wsdl_cache._code_fingerprint.cache_clear()
    cache = WsdlCache(tmp_path)
    WsdlRegistry(cache).describe(wsdl)
    assert (cache.hits, cache.misses, len(zeep_loads)) == (0, 1, 2)


@pytest.mark.usefixtures("fresh_fingerprint")
def test_a_change_to_the_describing_code_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key includes the source of the code that builds descriptions."""
    wsdl = (CORPUS / "library_wrapped.wsdl").resolve()
    WsdlRegistry(WsdlCache(tmp_path)).describe(wsdl)
    code = tmp_path / "code"
    code.mkdir()
    for name in wsdl_cache._CODE_FILES:
        shutil.copy(Path(wsdl_cache.__file__).with_name(name), code / name)
    monkeypatch.setattr(wsdl_cache, "__file__", str(code / "wsdl_cache.py"))
    wsdl_cache._code_fingerprint.cache_clear()
    assert WsdlCache(tmp_path).lookup(wsdl) is not None  # the same code, elsewhere
    with (code / "zeep_wsdl.py").open("a") as handle:
        handle.write("# changed\n")
    wsdl_cache._code_fingerprint.cache_clear()
    assert WsdlCache(tmp_path).lookup(wsdl) is None


def test_the_cache_directory_is_private(tmp_path: Path) -> None:
    """The directories are created 0700 and entries written 0600, with no temporary file
    left behind."""
    cache_dir = tmp_path / "a" / "cache"
    WsdlRegistry(WsdlCache(cache_dir)).describe(CORPUS / "library_wrapped.wsdl")
    for directory in (cache_dir, cache_dir / "wsdl"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    (entry,) = _entries(cache_dir)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert entry.suffix == ".json"


def test_a_directory_writable_by_others_is_not_used(tmp_path: Path) -> None:
    """A cache directory others could write to is neither read nor written."""
    cache_dir = tmp_path / "shared"
    cache_dir.mkdir()
    cache_dir.chmod(0o777)
    cache = WsdlCache(cache_dir)
    info = WsdlRegistry(cache).describe(CORPUS / "library_wrapped.wsdl")
    assert info.services
    assert cache.problem is not None and "writable by group or others" in cache.problem
    assert cache.stored == 0
    assert not (cache_dir / "wsdl").exists() or not _entries(cache_dir)


def test_an_unusable_directory_is_skipped_silently(tmp_path: Path) -> None:
    """When the cache cannot be created (here a file is in the way) WSDLs load as without."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = WsdlCache(blocker / "cache")
    info = WsdlRegistry(cache).describe(CORPUS / "library_wrapped.wsdl")
    assert info.services
    assert (cache.stored, cache.problem) == (0, None)


def test_the_client_is_still_built_on_demand_after_a_hit(
    tmp_path: Path, zeep_loads: list[Path]
) -> None:
    """A registry that described from the cache parses the WSDL when a client is needed."""
    wsdl = CORPUS / "library_wrapped.wsdl"
    WsdlRegistry(WsdlCache(tmp_path)).describe(wsdl)
    registry = WsdlRegistry(WsdlCache(tmp_path))
    registry.describe(wsdl)
    assert len(zeep_loads) == 1
    client = registry.client(wsdl)
    assert registry.client(wsdl) is client
    assert len(zeep_loads) == 2


def test_a_file_changed_between_two_reads_is_not_cached(tmp_path: Path) -> None:
    """A recorder that read two versions of one file marks the description inconsistent."""
    path = tmp_path / "a.xsd"
    path.write_text("<a/>")
    recorder = SourceRecorder()
    recorder.read(path)
    recorder.read(path)
    assert recorder.consistent
    path.write_text("<b>changed</b>")
    recorder.read(path)
    assert not recorder.consistent
    assert [f.path for f in recorder.files] == [str(path.resolve())]


def test_decode_rejects_what_encode_never_writes() -> None:
    """decode_info raises ValueError on shapes encode_info does not produce."""
    with pytest.raises(ValueError, match="expected an array"):
        decode_info({"types": [], "services": "x", "namespaces": {}}, Path("/x.wsdl"))
    with pytest.raises(ValueError, match="expected a string"):
        decode_info({"types": [{"name": 1}], "services": [], "namespaces": {}}, Path("/x"))


def test_default_directory() -> None:
    """$MEDIATOR_CACHE_DIR, else $XDG_CACHE_HOME/mediator, else ~/.cache/mediator."""
    assert default_cache_dir({"MEDIATOR_CACHE_DIR": "/c", "XDG_CACHE_HOME": "/x"}) == Path("/c")
    assert default_cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/mediator")
    assert default_cache_dir({"XDG_CACHE_HOME": "relative"}) == (
        Path.home() / ".cache" / "mediator"
    )
    assert default_cache_dir({}) == Path.home() / ".cache" / "mediator"
