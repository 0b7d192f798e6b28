"""A persistent cache of WSDL descriptions, so that a warm start parses no WSDL.

An entry holds the :class:`~mediator.mapping.service_info.WsdlInfo` of one WSDL file as JSON
(never pickle: a cache directory must not become a way to run code), with the key it was
built under:

- every file the description was read from (the WSDL, its WSDL imports, its XSD imports and
  includes), each by path, size, ``mtime_ns`` and SHA-256 of the bytes read;
- the cache format (:data:`CACHE_FORMAT`), the Mediator version, and a fingerprint of the
  code that builds descriptions (its source files and the installed zeep release).

A lookup re-checks all of it; any difference is a miss, and the entry is rebuilt and replaced.
Entries are written atomically (a private temporary file, then a rename). A missing,
corrupt, unreadable or foreign entry is a miss, never an error; a directory that cannot be
written is skipped silently. A directory owned by another user, or writable by group or
others, is not used at all (see :attr:`WsdlCache.problem`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import orjson

from mediator import __version__
from mediator.mapping import service_info
from mediator.mapping.service_info import WsdlInfo
from mediator.upstream.wsdl_json import decode_info, encode_info

__all__ = [
    "CACHE_FORMAT",
    "SourceFile",
    "SourceRecorder",
    "WsdlCache",
    "default_cache_dir",
    "read_source",
]

CACHE_FORMAT = 1
"""Bumped whenever the layout of an entry changes."""

_ENTRIES = "wsdl"
_MAX_ENTRY_BYTES = 256 * 1024 * 1024
# Beside this module: the code that builds entries (wsdl.py carries the well-known schemas).
_CODE_FILES = ("zeep_wsdl.py", "wsdl.py", "wsdl_cache.py", "wsdl_json.py")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file a description was read from, as it was when read."""

    path: str
    size: int
    mtime_ns: int
    sha256: str


def read_source(path: Path) -> tuple[bytes, SourceFile]:
    """Read a file and describe it. The file is stat'ed before it is read, so a change made
    while reading leaves a record that no longer matches the file.

    Raises:
        OSError: the file cannot be read.
    """
    path = path.resolve()
    stat = path.stat()
    content = path.read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    return content, SourceFile(str(path), stat.st_size, stat.st_mtime_ns, digest)


class SourceRecorder:
    """Reads files for a WSDL's description and remembers each one as first read.

    ``consistent`` turns false when a file read twice had changed in between; such a
    description is not cached.
    """

    def __init__(self) -> None:
        self._files: dict[str, SourceFile] = {}
        self.consistent = True

    def read(self, path: Path) -> bytes:
        """The file's bytes, recording it.

        Raises:
            OSError: the file cannot be read.
        """
        content, source = read_source(path)
        if self._files.setdefault(source.path, source) != source:
            self.consistent = False
        return content

    @property
    def files(self) -> tuple[SourceFile, ...]:
        """Every file read, by path."""
        return tuple(sorted(self._files.values(), key=lambda f: f.path))


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """``$MEDIATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/mediator``, else ``~/.cache/mediator``."""
    if environ.get("MEDIATOR_CACHE_DIR"):
        return Path(environ["MEDIATOR_CACHE_DIR"])
    xdg = environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "mediator"
    return Path.home() / ".cache" / "mediator"


@cache
def _code_fingerprint() -> str:
    """What else an entry depends on: the format, the Mediator version, the source of the
    modules that build descriptions, and the installed zeep release (by its dist-info)."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\0{__version__}\0".encode())
    here = Path(__file__).parent
    for path in [*(here / name for name in _CODE_FILES), Path(service_info.__file__)]:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"?")
    try:
        import importlib.util

        spec = importlib.util.find_spec("zeep")
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None:
            names = sorted(p.name for p in origin.parent.parent.glob("zeep-*.dist-info"))
            digest.update("\0".join(names).encode())
    except (ImportError, ValueError, OSError):
        digest.update(b"zeep?")
    return digest.hexdigest()


def _unchanged(source: SourceFile) -> bool:
    try:
        stat = os.stat(source.path)
        if stat.st_size != source.size or stat.st_mtime_ns != source.mtime_ns:
            return False
        with open(source.path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == source.sha256
    except OSError:
        return False


def _unsafe(directory: Path) -> str | None:
    """Why ``directory`` must not hold cache entries, if it must not."""
    stat = directory.stat()
    if hasattr(os, "geteuid") and stat.st_uid != os.geteuid():
        return f"{directory} belongs to another user; WSDL cache not used"
    if stat.st_mode & 0o022:
        return f"{directory} is writable by group or others; WSDL cache not used"
    return None


class WsdlCache:
    """WSDL descriptions kept as JSON files under ``directory`` (one entry per WSDL path).

    ``hits``, ``misses`` and ``stored`` count lookups and writes; ``problem`` says why the
    directory is not used, if it is not.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0
        self.stored = 0
        self.problem: str | None = None
        self._ready: bool | None = None

    def _entries(self) -> Path | None:
        """The entries directory, created private (0700) on first use; ``None`` if unsafe."""
        entries = self.directory / _ENTRIES
        if self._ready is None:
            self._ready = False
            try:
                for path in (self.directory, entries):  # checked before anything goes inside
                    path.mkdir(mode=0o700, parents=True, exist_ok=True)
                    self.problem = _unsafe(path)
                    if self.problem is not None:
                        return None
            except OSError:
                return None  # e.g. a read-only home: run without a cache
            self._ready = True
        return entries if self._ready else None

    def _entry(self, wsdl: Path) -> Path | None:
        entries = self._entries()
        if entries is None:
            return None
        return entries / (hashlib.sha256(str(wsdl).encode()).hexdigest()[:40] + ".json")

    def lookup(self, wsdl: Path) -> WsdlInfo | None:
        """The cached description of ``wsdl`` (a resolved path) if every file it was read
        from is unchanged; ``None`` otherwise."""
        entry = self._entry(wsdl)
        info = self._read(entry, wsdl) if entry is not None else None
        if info is None:
            self.misses += 1
        else:
            self.hits += 1
        return info

    def _read(self, entry: Path, wsdl: Path) -> WsdlInfo | None:
        try:
            with open(entry, "rb") as handle:
                data = handle.read(_MAX_ENTRY_BYTES + 1)
            if len(data) > _MAX_ENTRY_BYTES:
                return None
            document = orjson.loads(data)
        except (OSError, orjson.JSONDecodeError):
            return None
        try:
            if (
                not isinstance(document, dict)
                or document.get("format") != CACHE_FORMAT
                or document.get("mediator") != __version__
                or document.get("code") != _code_fingerprint()
                or document.get("wsdl") != str(wsdl)
            ):
                return None
            sources = [
                SourceFile(str(s["path"]), int(s["size"]), int(s["mtime_ns"]), str(s["sha256"]))
                for s in document["sources"]
            ]
            if str(wsdl) not in {s.path for s in sources} or not all(map(_unchanged, sources)):
                return None
            return decode_info(document["info"], wsdl)
        except (KeyError, IndexError, TypeError, ValueError, RecursionError):
            return None  # not the shape this version writes

    def store(self, wsdl: Path, info: WsdlInfo, sources: Iterable[SourceFile]) -> None:
        """Write the entry of ``wsdl`` atomically; failures are ignored."""
        entry = self._entry(wsdl)
        if entry is None:
            return
        files = list(sources)
        if str(wsdl) not in {s.path for s in files}:
            return
        document = {
            "format": CACHE_FORMAT,
            "mediator": __version__,
            "code": _code_fingerprint(),
            "wsdl": str(wsdl),
            "sources": [
                {"path": s.path, "size": s.size, "mtime_ns": s.mtime_ns, "sha256": s.sha256}
                for s in files
            ],
            "info": encode_info(info),
        }
        temporary = entry.with_name(f".{entry.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(orjson.dumps(document))
                os.replace(temporary, entry)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        except OSError:
            return
        self.stored += 1
