"""Loads mapping files: YAML → validated → compiled :class:`~mediator.mapping.model.MappingSet`.

Every issue in every file is collected before failing, each with ``file:line:col``, the key
path, what is wrong and what was expected.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from jinja2 import Environment, Template, TemplateSyntaxError

from mediator.errors import MappingError, MappingIssue
from mediator.mapping.credentials import SERVICE_SECURITY_KEYS, compile_credentials, compile_tls
from mediator.mapping.issues import IssueSink, dotted
from mediator.mapping.model import (
    PARAM_KINDS,
    ROUTE_MODES,
    Absent,
    ArgNode,
    ErrorRule,
    MappingSet,
    ParamSpec,
    RequestSpec,
    Route,
    Upstream,
)
from mediator.mapping.references import RouteVariables, template_reference_issues
from mediator.mapping.resilience import (
    ROUTE_POLICY_KEYS,
    SERVICE_POLICY_KEYS,
    compile_route_policy,
    compile_upstream_policy,
)
from mediator.mapping.response_plan import Naming, absent_value, compile_response
from mediator.mapping.route_security import (
    ROUTE_SECURITY_KEYS,
    compile_rate_limits,
    compile_route_auth,
)
from mediator.mapping.secrets import clear_secret_issues
from mediator.mapping.service_info import DescribeWsdl, ElementInfo, OperationInfo, WsdlInfo
from mediator.mapping.steps import FileScope, PendingSteps, composed_route, link_steps
from mediator.mapping.templating import DATA_ENV, XML_ENV, compile_expression, compile_leaf
from mediator.mapping.values import interpolate, parse_duration, parse_size
from mediator.mapping.yamlsource import KeyPath, YamlLoadError, load_yaml

__all__ = [
    "HTTP_METHODS",
    "SUPPORTED_VERSIONS",
    "discover_files",
    "load_mappings",
    "zero_config_address_variable",
]

SUPPORTED_VERSIONS = (1,)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_TOP_KEYS = {"version", "service", "routes", "env", "defaults"}
_SERVICE_KEYS = {
    "wsdl",
    "name",
    "service",
    "port",
    "address",
    "timeout",
    "connect_timeout",
    "max_response_size",
    "namespaces",
    *SERVICE_POLICY_KEYS,
    *SERVICE_SECURITY_KEYS,
}
_DEFAULTS_KEYS = {"absent", "naming"}
_ROUTE_KEYS = {
    *HTTP_METHODS,
    "name",
    "operation",
    "summary",
    "params",
    "headers",
    "request",
    "response",
    "errors",
    "steps",
    "mode",
    "job_ttl",
    *ROUTE_POLICY_KEYS,
    *ROUTE_SECURITY_KEYS,
}
_REQUEST_KEYS = {"args", "body", "soap_header"}
_ERROR_KEYS = {"when", "status", "title"}
_PARAM_KEYS = {"type", "required", "default", "enum"}
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SERVICE_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_MAX_RESPONSE = 10 * 1024 * 1024


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
        for name, document in _zero_config_documents(wsdl, describe, wsdl_cache):
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


ZERO_CONFIG_ARGS = "{{ body if body is not none else {} }}"


def zero_config_address_variable(service: str) -> str:
    """The environment variable overriding a zero-config service's address:
    ``MEDIATOR_ADDRESS_`` and the service name upper-cased (``OrderService`` →
    ``MEDIATOR_ADDRESS_ORDERSERVICE``)."""
    return "MEDIATOR_ADDRESS_" + re.sub(r"[^A-Za-z0-9]", "_", service).upper()


def _zero_config_documents(
    wsdl: Path, describe: DescribeWsdl, cache: dict[Path, WsdlInfo | str]
) -> list[tuple[str, dict[str, Any]]]:
    """Mapping documents for a WSDL without a mapping file: one per service (first port)."""
    path = wsdl.resolve()
    if path not in cache:
        try:
            cache[path] = describe(path)
        except (OSError, ValueError) as exc:
            cache[path] = str(exc)
    info = cache[path]
    if isinstance(info, str):
        return [
            (f"{wsdl} (zero-config)", {"version": 1, "service": {"wsdl": str(path)}, "routes": []})
        ]
    documents = []
    for service in info.services.values():
        port = next(iter(service.ports.values()))
        routes = [
            {
                "post": f"/soap/{service.name}/{operation}",
                "name": f"{service.name}.{operation}",
                "summary": f"{operation} of {service.name} (zero-config)",
                "operation": operation,
                "request": {"args": ZERO_CONFIG_ARGS},
                "response": {},
            }
            for operation in port.operations
        ]
        document = {
            "version": 1,
            "defaults": {"naming": "keep"},
            "service": {
                "wsdl": str(path),
                "service": service.name,
                "port": port.name,
                "address": f"${{{zero_config_address_variable(service.name)}:-{port.address}}}",
            },
            "routes": routes,
        }
        documents.append((f"{wsdl} (zero-config {service.name})", document))
    return documents


def _duplicate_routes(located: list[tuple[Route, IssueSink, KeyPath]]) -> list[MappingIssue]:
    """Routes with the same method and path shape; ``located`` gives each route's method key."""
    seen: dict[tuple[str, str], Route] = {}
    issues = []
    for route, sink, path in located:
        key = (route.method, _PATH_PARAM.sub("{}", route.path))
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


def _unknown_keys(
    sink: IssueSink, raw: Mapping[str, Any], allowed: set[str], path: KeyPath
) -> None:
    for key in raw:
        if key not in allowed:
            sink.at_key((*path, key), f"unknown key; expected one of: {', '.join(sorted(allowed))}")


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
        self.route_keys: list[tuple[Route, KeyPath]] = []  # each route with its method's key
        self.namespaces: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self.naming: Naming = "camel"
        self.absent: Absent = "omit"
        self.zero_config = False
        self.service_name: str | None = None  # service.name, as steps of any file name it
        self.composed: list[PendingSteps] = []  # routes with steps, compiled by link_steps

    def scope(self) -> FileScope | None:
        """What steps (of this or another file) need to call this file's service."""
        if self.upstream is None:
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
            compile_request=self._load_request,
            compile_errors=self._load_errors,
            check_references=self._check_references,
            pending=self.composed,
        )

    def load(self) -> list[Route]:
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
        _unknown_keys(self.sink, raw, _TOP_KEYS, ())
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
        self.upstream = self._load_service(raw["service"])
        routes_raw = raw.get("routes")
        if routes_raw is None:
            self.sink.at(1, 1, "missing key routes; expected a list of routes")
            return []
        if not isinstance(routes_raw, list):
            self.sink.at_value(("routes",), "expected a list of routes")
            return []
        if self.upstream is None:
            return []
        routes = []
        for index, route_raw in enumerate(routes_raw):
            route = self._load_route(route_raw, ("routes", index))
            if route is not None:
                routes.append(route)
                self.route_keys.append((route, ("routes", index, route.method.lower())))
        return routes

    # -- file-level blocks ---------------------------------------------------------------

    def _load_defaults(self, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.sink.at_value(("defaults",), "expected a mapping with absent and/or naming")
            return
        _unknown_keys(self.sink, raw, _DEFAULTS_KEYS, ("defaults",))
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

    def _string(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            self.sink.at_value((*path, key), f"expected a string, got {type(value).__name__}")
            return None
        try:
            return interpolate(value, self.environ)
        except KeyError as exc:
            self.sink.at_value(
                (*path, key),
                f"environment variable {exc.args[0]} is not set and has no default (use "
                f"${{{exc.args[0]}:-default}})",
            )
            return None

    def _resolve_wsdl(self, name: str) -> Path:
        candidate = Path(name)
        if candidate.is_absolute():
            return candidate
        bases = [self.wsdl_dir] if self.wsdl_dir else []
        bases.append(self.file.parent)
        for base in bases:
            if (base / candidate).is_file():
                return (base / candidate).resolve()
        return ((bases[0]) / candidate).resolve()

    def _describe(self, path: Path) -> WsdlInfo | str:
        if path not in self.wsdl_cache:
            try:
                self.wsdl_cache[path] = self.describe(path)
            except (OSError, ValueError) as exc:
                self.wsdl_cache[path] = str(exc)
        return self.wsdl_cache[path]

    def _load_service(self, raw: Any) -> Upstream | None:
        path: KeyPath = ("service",)
        if not isinstance(raw, dict):
            self.sink.at_value(path, "expected a mapping with at least wsdl")
            return None
        _unknown_keys(self.sink, raw, _SERVICE_KEYS, path)
        self._load_namespaces(raw.get("namespaces"))
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or not _SERVICE_NAME.match(name)):
            self.sink.at_value((*path, "name"), f"expected a name such as orders, got {name!r}")
        elif name is not None:
            self.service_name = name
        wsdl_name = self._string(raw, "wsdl", path)
        if wsdl_name is None:
            if "wsdl" not in raw:
                self.sink.at_key(path, "missing key wsdl; expected the WSDL file (under wsdl/)")
            return None
        wsdl_path = self._resolve_wsdl(wsdl_name)
        if not wsdl_path.is_file():
            self.sink.at_value(
                (*path, "wsdl"),
                f"WSDL file {wsdl_name!r} not found (looked in "
                f"{self.wsdl_dir or self.file.parent})",
            )
            return None
        info = self._describe(wsdl_path)
        if isinstance(info, str):
            self.sink.at_value((*path, "wsdl"), f"cannot load WSDL {wsdl_name!r}: {info}")
            return None
        service_name = self._string(raw, "service", path)
        if service_name is None:
            if not info.services:
                self.sink.at_value((*path, "wsdl"), "the WSDL declares no service with a SOAP port")
                return None
            service_name = next(iter(info.services))
        service = info.services.get(service_name)
        if service is None:
            self.sink.at_value(
                (*path, "service"),
                f"no service {service_name!r} in the WSDL; expected one of: "
                f"{', '.join(info.services)}",
            )
            return None
        port_name = self._string(raw, "port", path) or next(iter(service.ports), None)
        port = service.ports.get(port_name or "")
        if port is None:
            self.sink.at_value(
                (*path, "port"),
                f"no SOAP port {port_name!r} in service {service_name}; expected one of: "
                f"{', '.join(service.ports) or 'none'}",
            )
            return None
        address = self._string(raw, "address", path) or port.address
        if not address or not re.match(r"^https?://", address):
            self.sink.at_value(
                (*path, "address"), f"expected an http:// or https:// URL, got {address!r}"
            )
            return None
        if re.match(r"^https?://[^/?#]*@", address):
            self.sink.at_value(
                (*path, "address"),
                "credentials in the address are not allowed; use service.credentials.basic",
            )
            return None
        timeout = self._parse(raw, "timeout", parse_duration, DEFAULT_TIMEOUT, path)
        connect_timeout = self._parse(
            raw, "connect_timeout", parse_duration, DEFAULT_CONNECT_TIMEOUT, path
        )
        max_bytes = self._parse(raw, "max_response_size", parse_size, DEFAULT_MAX_RESPONSE, path)
        return Upstream(
            key=f"{wsdl_path.name}#{service_name}/{port.name}@{address}",
            wsdl=wsdl_path,
            service=service_name,
            port=port,
            address=address,
            timeout=float(timeout),
            connect_timeout=float(min(connect_timeout, timeout)),
            max_response_bytes=int(max_bytes),
            policy=compile_upstream_policy(raw, self.sink, path, self.environ),
            credentials=compile_credentials(
                raw.get("credentials"),
                self.sink,
                (*path, "credentials"),
                self.environ,
                self.file.parent,
            ),
            tls=compile_tls(
                raw.get("tls"), self.sink, (*path, "tls"), self.environ, self.file.parent
            ),
        )

    def _parse(
        self, raw: Mapping[str, Any], key: str, parser: Any, default: float, path: KeyPath
    ) -> float:
        if key not in raw:
            return default
        value = raw[key]
        if isinstance(value, str):
            value = self._string(raw, key, path)
            if value is None:
                return default
        try:
            return cast(float, parser(value))
        except ValueError as exc:
            self.sink.at_value((*path, key), str(exc))
            return default

    def _load_namespaces(self, raw: Any) -> None:
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.sink.at_value(
                ("service", "namespaces"), "expected a mapping of prefix to namespace URI"
            )
            return
        for prefix, uri in raw.items():
            if not re.match(r"^[A-Za-z_][\w.\-]*$", prefix) or prefix.lower().startswith("xml"):
                self.sink.at_key(
                    ("service", "namespaces", prefix),
                    f"invalid prefix {prefix!r}; expected an XML name not starting with xml",
                )
            elif not isinstance(uri, str) or not uri:
                self.sink.at_value(("service", "namespaces", prefix), "expected a namespace URI")
            else:
                self.namespaces[prefix] = uri

    # -- routes --------------------------------------------------------------------------

    def _load_route(self, raw: Any, path: KeyPath) -> Route | None:
        assert self.upstream is not None
        if not isinstance(raw, dict):
            self.sink.at_value(
                path, "expected a route mapping such as {get: /things/{id}, operation: GetThing}"
            )
            return None
        _unknown_keys(self.sink, raw, _ROUTE_KEYS, path)
        methods = [m for m in HTTP_METHODS if m in raw]
        if len(methods) != 1:
            self.sink.at_key(
                path,
                f"expected exactly one of {', '.join(HTTP_METHODS)} with the route's path, got "
                f"{len(methods)}",
            )
            return None
        method = methods[0]
        url = raw[method]
        if not isinstance(url, str) or not url.startswith("/"):
            self.sink.at_value((*path, method), f"expected a path starting with /, got {url!r}")
            return None
        if "steps" in raw:
            return self._load_composed(raw, path, method, url)
        op_name = raw.get("operation")
        operations = self.upstream.port.operations
        if not isinstance(op_name, str):
            self.sink.at_key(
                path, f"missing key operation; expected one of: {', '.join(operations)}"
            )
            return None
        operation = operations.get(op_name)
        if operation is None:
            self.sink.at_value(
                (*path, "operation"),
                f"no operation {op_name!r} in port {self.upstream.port.name}; expected one of: "
                f"{', '.join(operations)}",
            )
            return None
        params = self._load_params(raw.get("params"), url, (*path, "params"))
        headers = self._load_headers(raw.get("headers"), (*path, "headers"))
        request = self._load_request(raw.get("request"), operation, (*path, "request"))
        security = self._load_security(raw, path)
        self._check_references(
            raw.get("request"),
            params,
            headers,
            (*path, "request"),
            extra=("client",) if security["auth"] and not security["auth"].public else (),
        )
        response = compile_response(
            raw.get("response"),
            operation.output,
            self.namespaces,
            self.sink,
            (*path, "response"),
            naming=self.naming,
            absent=self.absent,
        )
        errors = self._load_errors(raw.get("errors"), (*path, "errors"))
        name = raw.get("name") or f"{method.upper()} {url}"
        if request is None or response is None:
            return None
        line, _ = self.sink.positions.key(path)
        return Route(
            name=str(name),
            method=method.upper(),
            path=url,
            file=str(self.file),
            line=line,
            upstream=self.upstream,
            operation=operation,
            params=params,
            headers=headers,
            env=self.env,
            request=request,
            response=response,
            errors=errors,
            namespaces=self.namespaces,
            summary=str(raw.get("summary", "")),
            **asdict(compile_route_policy(raw, self.sink, path, self.environ)),
            **self._load_mode(raw, path),
            **security,
        )

    def _load_security(self, raw: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        """A route's ``auth`` and ``rate_limit`` (docs/security.md); request templates with
        a WS-Security password or nonce written in clear are refused."""
        request = raw.get("request")
        if isinstance(request, dict):
            for key in ("body", "soap_header"):
                if isinstance(request.get(key), str):
                    for message in clear_secret_issues(request[key]):
                        self.sink.at_value((*path, "request", key), message)
        return {
            "auth": compile_route_auth(raw.get("auth"), self.sink, (*path, "auth")),
            "rate_limits": compile_rate_limits(
                raw.get("rate_limit"), self.sink, (*path, "rate_limit")
            ),
        }

    def _load_mode(self, raw: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        """A route's ``mode`` (sync, async, both) and ``job_ttl`` (see docs/jobs.md)."""
        mode = raw.get("mode", "sync")
        if mode not in ROUTE_MODES:
            self.sink.at_value(
                (*path, "mode"), f"expected one of: {', '.join(ROUTE_MODES)}, got {mode!r}"
            )
            mode = "sync"
        job_ttl = None
        if "job_ttl" in raw:
            job_ttl = self._parse(raw, "job_ttl", parse_duration, 0.0, path) or None
        if "steps" in raw and mode != "sync":
            self.sink.at_value((*path, "mode"), "a route with steps can only be sync for now")
        return {"mode": mode, "job_ttl": job_ttl}

    def _load_composed(self, raw: dict[str, Any], path: KeyPath, method: str, url: str) -> Route:
        """A route with steps: its own parts now, its steps once every file has loaded."""
        assert self.upstream is not None
        for key in ("operation", "request"):
            if key in raw:
                self.sink.at_key(
                    (*path, key), f"a route with steps has no {key} of its own; put it in a step"
                )
        self._load_mode(raw, path)
        line, _ = self.sink.positions.key(path)
        route = composed_route(
            name=str(raw.get("name") or f"{method.upper()} {url}"),
            method=method.upper(),
            path=url,
            file=str(self.file),
            line=line,
            upstream=self.upstream,
            params=self._load_params(raw.get("params"), url, (*path, "params")),
            headers=self._load_headers(raw.get("headers"), (*path, "headers")),
            env=self.env,
            errors=self._load_errors(raw.get("errors"), (*path, "errors")),
            namespaces=self.namespaces,
            summary=str(raw.get("summary", "")),
            **asdict(compile_route_policy(raw, self.sink, path, self.environ)),
            **self._load_security(raw, path),
        )
        self.composed.append(PendingSteps(route, raw["steps"], raw.get("response"), path))
        return route

    def _check_references(
        self,
        raw: Any,
        params: tuple[ParamSpec, ...],
        headers: tuple[str, ...],
        path: KeyPath,
        extra: Collection[str] = (),
    ) -> None:
        """Every template of the request may read only what the route provides (and
        ``extra``: ``steps`` and the fan-out item, for a step)."""
        if not isinstance(raw, dict):
            return
        variables = RouteVariables(
            path=[p.name for p in params if p.location == "path"],
            query=[p.name for p in params if p.location == "query"],
            headers=headers,
            env=list(self.env),
            extra=extra,
        )
        templates: list[tuple[KeyPath, str, Environment]] = []

        def collect(value: Any, key_path: KeyPath) -> None:
            if isinstance(value, str):
                templates.append((key_path, value, DATA_ENV))
            elif isinstance(value, dict):
                for key, item in value.items():
                    collect(item, (*key_path, key))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    collect(item, (*key_path, index))

        collect(raw.get("args"), (*path, "args"))
        for key in ("body", "soap_header"):
            if isinstance(raw.get(key), str):
                templates.append(((*path, key), raw[key], XML_ENV))
        for key_path, source, env in templates:
            for message in template_reference_issues(source, env, variables):
                self.sink.at_value(key_path, message)

    def _load_params(self, raw: Any, url: str, path: KeyPath) -> tuple[ParamSpec, ...]:
        in_path = _PATH_PARAM.findall(url)
        declared: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
        if raw is not None:
            if not isinstance(raw, dict):
                self.sink.at_value(path, "expected a mapping with path and/or query")
            else:
                _unknown_keys(self.sink, raw, {"path", "query"}, path)
                for location in ("path", "query"):
                    block = raw.get(location)
                    if block is None:
                        continue
                    if not isinstance(block, dict):
                        self.sink.at_value(
                            (*path, location), "expected a mapping of parameter name to type"
                        )
                        continue
                    declared[location] = block
        specs = []
        for name in declared["path"]:
            if name not in in_path:
                self.sink.at_key(
                    (*path, "path", name),
                    f"path parameter {name!r} is not in the route path; path parameters: "
                    f"{', '.join(in_path) or 'none'}",
                )
        for name in in_path:
            specs.append(
                self._param(
                    name, "path", declared["path"].get(name, "string"), (*path, "path", name)
                )
            )
        for name, spec in declared["query"].items():
            specs.append(self._param(name, "query", spec, (*path, "query", name)))
        return tuple(specs)

    def _param(self, name: str, location: str, raw: Any, path: KeyPath) -> ParamSpec:
        spec: dict[str, Any] = (
            {"type": raw} if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        )
        if not isinstance(raw, str | dict):
            self.sink.at_value(
                path,
                f"expected a type ({', '.join(PARAM_KINDS)}) or a mapping with "
                "type/required/default/enum",
            )
        _unknown_keys(self.sink, spec, _PARAM_KEYS, path)
        kind = spec.get("type", "string")
        if kind not in PARAM_KINDS:
            self.sink.at_value(
                path if isinstance(raw, str) else (*path, "type"),
                f"unknown type {kind!r}; expected one of: {', '.join(PARAM_KINDS)}",
            )
            kind = "string"
        required = spec.get("required", location == "path")
        if location == "path" and required is not True:
            self.sink.at_value((*path, "required"), "path parameters are always required")
        enum = spec.get("enum")
        if enum is not None and (not isinstance(enum, list) or not enum):
            self.sink.at_value((*path, "enum"), "expected a non-empty list of allowed values")
            enum = None
        return ParamSpec(
            name=name,
            location=cast(Any, location),
            kind=kind,
            required=bool(required),
            default=spec.get("default"),
            enum=tuple(enum) if enum else None,
        )

    def _load_headers(self, raw: Any, path: KeyPath) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.sink.at_value(path, "expected a list of HTTP header names the templates may read")
            return ()
        names = []
        for index, name in enumerate(raw):
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                self.sink.at_value((*path, index), f"expected an HTTP header name, got {name!r}")
            else:
                names.append(name.lower())
        return tuple(names)

    def _template(self, source: Any, path: KeyPath) -> Template | None:
        if not isinstance(source, str):
            self.sink.at_value(path, "expected an XML template (a string)")
            return None
        try:
            return XML_ENV.from_string(source)
        except TemplateSyntaxError as exc:
            self.sink.at_value(
                path,
                f"template does not compile: {exc.message}",
                line_offset=max(exc.lineno - 1, 0) or 0,
            )
            return None

    def _load_request(
        self, raw: Any, operation: OperationInfo, path: KeyPath
    ) -> RequestSpec | None:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.sink.at_value(
                path, "expected a mapping with args or body, and optionally soap_header"
            )
            return None
        _unknown_keys(self.sink, raw, _REQUEST_KEYS, path)
        if "args" in raw and "body" in raw:
            self.sink.at_key(
                (*path, "body"),
                "give either args (serialized against the WSDL) or body (raw XML), not both",
            )
            return None
        header = (
            self._template(raw["soap_header"], (*path, "soap_header"))
            if "soap_header" in raw
            else None
        )
        if "body" in raw:
            body = self._template(raw["body"], (*path, "body"))
            if body is None:
                return None
            return RequestSpec(body=body, soap_header=header, source=raw)
        args = self._compile_args(raw.get("args", {}), operation.input, (*path, "args"))
        return RequestSpec(args=args, soap_header=header, source=raw)

    def _compile_args(self, raw: Any, element: ElementInfo | None, path: KeyPath) -> ArgNode:
        if isinstance(raw, str):
            try:
                return compile_leaf(raw)
            except TemplateSyntaxError as exc:
                self.sink.at_value(path, f"template does not compile: {exc.message}")
                return None
        if isinstance(raw, list):
            return [self._compile_args(item, element, (*path, i)) for i, item in enumerate(raw)]
        if isinstance(raw, dict):
            children = element.type.children if element is not None else ()
            names = [c.local for c in children]
            compiled: dict[str, ArgNode] = {}
            for key, value in raw.items():
                child = next((c for c in children if c.local == key), None)
                if element is not None and child is None and not element.type.open:
                    expected = ", ".join(names) or "nothing (the element has no children)"
                    self.sink.at_key(
                        (*path, key),
                        f"no element {key!r} in {element.local}; expected one of: {expected}",
                    )
                    continue
                compiled[key] = self._compile_args(value, child, (*path, key))
            if element is not None and not element.type.open:
                for child in children:
                    if child.min_occurs > 0 and child.local not in raw:
                        self.sink.at_key(
                            path, f"missing required element {child.local!r} of {element.local}"
                        )
            return compiled
        return raw

    def _load_errors(self, raw: Any, path: KeyPath) -> tuple[ErrorRule, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.sink.at_value(path, "expected a list of {when, status, title} rules")
            return ()
        rules = []
        for index, rule in enumerate(raw):
            rule_path = (*path, index)
            if not isinstance(rule, dict):
                self.sink.at_value(rule_path, "expected a mapping with when and status")
                continue
            _unknown_keys(self.sink, rule, _ERROR_KEYS, rule_path)
            when = rule.get("when")
            status = rule.get("status")
            if not isinstance(when, str):
                self.sink.at_key(
                    rule_path,
                    "missing key when; expected a Jinja expression over fault (code, string, "
                    "detail…)",
                )
                continue
            if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
                self.sink.at_value(
                    (*rule_path, "status") if "status" in rule else rule_path,
                    f"expected an HTTP error status 400-599, got {status!r}",
                )
                continue
            try:
                compiled = compile_expression(when)
            except TemplateSyntaxError as exc:
                self.sink.at_value(
                    (*rule_path, "when"), f"expression does not compile: {exc.message}"
                )
                continue
            title = rule.get("title")
            rules.append(
                ErrorRule(
                    source=when, when=compiled, status=status, title=str(title) if title else None
                )
            )
        return tuple(rules)
