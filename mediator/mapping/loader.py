"""Loads mapping files: YAML → validated → compiled :class:`~mediator.mapping.model.MappingSet`.

Every issue in every file is collected before failing, each with ``file:line:col``, the key
path, what is wrong and what was expected.

This module finds the files, loads each one's top level (``version``, ``defaults``,
``env``) and hands its blocks to :mod:`~mediator.mapping.service_block` and
:mod:`~mediator.mapping.route_block`; WSDLs served without a mapping file get documents from
:mod:`~mediator.mapping.zero_config`. Once every file has loaded, steps are linked and
duplicate routes reported. The key sets of :mod:`~mediator.mapping.keys` stay importable
from here under their ``_TOP_KEYS``… names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mediator.errors import MappingError, MappingIssue
from mediator.mapping import keys
from mediator.mapping.issues import IssueSink, dotted
from mediator.mapping.keys import (
    DEFAULTS_KEYS,
    HTTP_METHODS,
    SUPPORTED_VERSIONS,
    TOP_KEYS,
    unknown_keys,
)
from mediator.mapping.model import Absent, MappingSet, Route, Upstream
from mediator.mapping.response_plan import Naming, absent_value
from mediator.mapping.route_block import PATH_PARAM, RouteLoader
from mediator.mapping.service_block import DEFAULT_CONNECT_TIMEOUT as DEFAULT_CONNECT_TIMEOUT
from mediator.mapping.service_block import DEFAULT_MAX_RESPONSE as DEFAULT_MAX_RESPONSE
from mediator.mapping.service_block import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from mediator.mapping.service_block import load_service
from mediator.mapping.service_info import DescribeWsdl, WsdlInfo
from mediator.mapping.steps import FileScope, link_steps
from mediator.mapping.yamlsource import KeyPath, YamlLoadError, load_yaml
from mediator.mapping.zero_config import ZERO_CONFIG_ARGS as ZERO_CONFIG_ARGS
from mediator.mapping.zero_config import zero_config_address_variable, zero_config_documents

__all__ = [
    "HTTP_METHODS",
    "SUPPORTED_VERSIONS",
    "discover_files",
    "load_mappings",
    "zero_config_address_variable",
]

# The key sets under the names the JSON Schema and the documentation tests read.
_TOP_KEYS = keys.TOP_KEYS
_SERVICE_KEYS = keys.SERVICE_KEYS
_DEFAULTS_KEYS = keys.DEFAULTS_KEYS
_ROUTE_KEYS = keys.ROUTE_KEYS
_REQUEST_KEYS = keys.REQUEST_KEYS
_ERROR_KEYS = keys.ERROR_KEYS
_PARAM_KEYS = keys.PARAM_KEYS

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def discover_files(paths: Iterable[Path]) -> list[Path]:
    """Mapping files named by ``paths``: files as given, directories searched for ``*.yaml``."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(path)
    return found


def load_mappings(
    paths: Sequence[Path],
    *,
    describe: DescribeWsdl,
    wsdl_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
    zero_config: Sequence[Path] = (),
) -> MappingSet:
    """Load, validate and compile mapping files.

    Args:
        paths: mapping files, or directories holding them.
        describe: loads a WSDL into plain descriptions (the upstream layer provides it).
        wsdl_dir: where relative ``service.wsdl`` paths are looked up first; the mapping
            file's own directory is tried next.
        environ: the environment for ``${VAR}`` and ``env:``; ``os.environ`` by default.
        zero_config: WSDL files served without a mapping file: one generic route per
            operation, ``POST /soap/{service}/{operation}``, JSON input named and typed as
            the operation's input elements, output derived from the XSD.

    Raises:
        MappingError: listing every issue of every file.
    """
    environ = os.environ if environ is None else environ
    files = discover_files(paths)
    issues: list[MappingIssue] = []
    if not files and not zero_config:
        issues.append(
            MappingIssue(
                ", ".join(map(str, paths)) or ".", 1, 1, "", "no mapping files found (*.yaml)"
            )
        )
        raise MappingError(issues)
    wsdl_cache: dict[Path, WsdlInfo | str] = {}
    routes: list[Route] = []
    located: list[tuple[Route, IssueSink, KeyPath]] = []
    upstreams: dict[str, Upstream] = {}
    loaders: list[_FileLoader] = []
    for file in files:
        loader = _FileLoader(file, describe, wsdl_dir, environ, wsdl_cache)
        file_routes = loader.load()
        loaders.append(loader)
        routes.extend(file_routes)
        located.extend((route, loader.sink, path) for route, path in loader.route_keys)
        if loader.upstream is not None:
            upstreams[loader.upstream.key] = loader.upstream
    for wsdl in zero_config:
        for name, document in zero_config_documents(wsdl, describe, wsdl_cache):
            loader = _FileLoader(Path(name), describe, wsdl_dir, environ, wsdl_cache)
            loader.zero_config = True
            routes.extend(loader.load_data(document))
            loaders.append(loader)
            located.extend((route, loader.sink, path) for route, path in loader.route_keys)
            if loader.upstream is not None:
                upstreams[loader.upstream.key] = loader.upstream
    # Steps may call any service, so they compile once every file has loaded.
    routes = link_steps(routes, [scope for loader in loaders if (scope := loader.scope())])
    issues.extend(issue for loader in loaders for issue in loader.sink.issues)
    issues.extend(_duplicate_routes(located))
    if issues:
        raise MappingError(issues)
    return MappingSet(tuple(routes), upstreams, tuple(str(f) for f in files))


def _duplicate_routes(located: list[tuple[Route, IssueSink, KeyPath]]) -> list[MappingIssue]:
    """Routes with the same method and path shape; ``located`` gives each route's method key."""
    seen: dict[tuple[str, str], Route] = {}
    issues = []
    for route, sink, path in located:
        key = (route.method, PATH_PARAM.sub("{}", route.path))
        if key in seen:
            first = seen[key]
            line, column = sink.positions.key(path)
            issues.append(
                MappingIssue(
                    route.file,
                    line,
                    column,
                    dotted(path),
                    f"{route.method} {route.path} is already mapped at {first.file}:{first.line}",
                )
            )
        else:
            seen[key] = route
    return issues


class _FileLoader:
    """Loads one mapping file; issues go to ``sink``."""

    def __init__(
        self,
        file: Path,
        describe: DescribeWsdl,
        wsdl_dir: Path | None,
        environ: Mapping[str, str],
        wsdl_cache: dict[Path, WsdlInfo | str],
    ) -> None:
        self.file = file
        self.describe = describe
        self.wsdl_dir = wsdl_dir
        self.environ = environ
        self.wsdl_cache = wsdl_cache
        self.sink = IssueSink(str(file))
        self.upstream: Upstream | None = None
        self.routes: RouteLoader | None = None  # once the service block has loaded
        self.route_keys: list[tuple[Route, KeyPath]] = []  # each route with its method's key
        self.namespaces: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.naming: Naming = "camel"
        self.absent: Absent = "omit"
        self.zero_config = False
        self.service_name: str | None = None  # service.name, as steps of any file name it

    def scope(self) -> FileScope | None:
        """What steps (of this or another file) need to call this file's service."""
        if self.upstream is None or self.routes is None:
            return None
        return FileScope(
            file=str(self.file),
            sink=self.sink,
            upstream=self.upstream,
            name=self.service_name or self.upstream.service,
            declared_name=self.service_name is not None,
            zero_config=self.zero_config,
            namespaces=self.namespaces,
            environ=self.environ,
            naming=self.naming,
            absent=self.absent,
            compile_request=self.routes.compile_request,
            compile_errors=self.routes.compile_errors,
            check_references=self.routes.check_references,
            pending=self.routes.composed,
        )

    def load(self) -> list[Route]:
        """Read, parse and load the file."""
        try:
            text = self.file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.sink.at(1, 1, f"cannot read mapping file: {exc}")
            return []
        try:
            source = load_yaml(text, str(self.file))
        except YamlLoadError as exc:
            self.sink.at(exc.line, exc.column, exc.message)
            return []
        self.sink.positions = source.positions
        return self.load_data(source.data)

    def load_data(self, raw: Any) -> list[Route]:
        """Validate and compile an already-parsed mapping document."""
        if not isinstance(raw, dict):
            self.sink.at(1, 1, "expected a mapping with version, service and routes")
            return []
        unknown_keys(self.sink, raw, TOP_KEYS, ())
        version = raw.get("version")
        if version is None:
            self.sink.at(
                1,
                1,
                f"missing key version; expected one of: {', '.join(map(str, SUPPORTED_VERSIONS))}",
            )
        elif isinstance(version, bool) or version not in SUPPORTED_VERSIONS:
            self.sink.at_value(
                ("version",),
                f"unknown version {version!r}; expected one of: "
                f"{', '.join(map(str, SUPPORTED_VERSIONS))}",
            )
            return []
        self._load_defaults(raw.get("defaults"))
        self._load_env(raw.get("env"))
        if "service" not in raw:
            self.sink.at(1, 1, "missing key service; expected a mapping with at least wsdl")
            return []
        self._load_service(raw["service"])
        routes_raw = raw.get("routes")
        if routes_raw is None:
            self.sink.at(1, 1, "missing key routes; expected a list of routes")
            return []
        if not isinstance(routes_raw, list):
            self.sink.at_value(("routes",), "expected a list of routes")
            return []
        if self.routes is None:
            return []
        routes = []
        for index, route_raw in enumerate(routes_raw):
            route = self.routes.load_route(route_raw, ("routes", index))
            if route is not None:
                routes.append(route)
                self.route_keys.append((route, ("routes", index, route.method.lower())))
        return routes

    def _load_service(self, raw: Any) -> None:
        """The ``service:`` block; with an upstream, the file's routes can load."""
        block = load_service(
            raw,
            file=self.file,
            sink=self.sink,
            environ=self.environ,
            wsdl_dir=self.wsdl_dir,
            describe=self.describe,
            wsdl_cache=self.wsdl_cache,
        )
        self.namespaces = block.namespaces
        self.service_name = block.name
        self.upstream = block.upstream
        if self.upstream is not None:
            self.routes = RouteLoader(
                file=self.file,
                sink=self.sink,
                upstream=self.upstream,
                environ=self.environ,
                env=self.env,
                namespaces=self.namespaces,
                naming=self.naming,
                absent=self.absent,
            )

    def _load_defaults(self, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.sink.at_value(("defaults",), "expected a mapping with absent and/or naming")
            return
        unknown_keys(self.sink, raw, DEFAULTS_KEYS, ("defaults",))
        absent = absent_value(raw, "omit")
        if absent not in ("omit", "null"):
            self.sink.at_value(("defaults", "absent"), f"expected omit or null, got {absent!r}")
        else:
            self.absent = absent
        naming = raw.get("naming", "camel")
        if naming not in ("camel", "keep"):
            self.sink.at_value(("defaults", "naming"), f"expected camel or keep, got {naming!r}")
        else:
            self.naming = naming

    def _load_env(self, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, list):
            self.sink.at_value(("env",), "expected a list of environment variable names")
            return
        for index, name in enumerate(raw):
            if not isinstance(name, str) or not _ENV_NAME.match(name):
                self.sink.at_value(
                    ("env", index), f"expected an environment variable name, got {name!r}"
                )
            elif name not in self.environ:
                self.sink.at_value(("env", index), f"environment variable {name} is not set")
            else:
                self.env[name] = self.environ[name]
