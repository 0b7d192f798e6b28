"""A mapping file's ``service:`` block → :class:`~mediator.mapping.model.Upstream`.

Reads the WSDL (through the upstream layer's ``describe``), picks the service and port,
interpolates ``${VAR}`` in string settings, parses durations and sizes, and compiles the
service's policy, credentials and TLS keys. Issues go to the file's sink.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediator.mapping.credentials import compile_credentials, compile_tls
from mediator.mapping.issues import IssueSink
from mediator.mapping.keys import SERVICE_KEYS, unknown_keys
from mediator.mapping.model import Upstream
from mediator.mapping.resilience import compile_upstream_policy
from mediator.mapping.service_info import DescribeWsdl, OperationInfo, PortInfo, WsdlInfo
from mediator.mapping.values import interpolate, parse_duration, parse_size
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE",
    "DEFAULT_TIMEOUT",
    "ServiceBlock",
    "load_service",
    "port_operation",
    "read_number",
    "read_string",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_MAX_RESPONSE = 10 * 1024 * 1024

_SERVICE_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


def read_string(
    raw: Mapping[str, Any], key: str, path: KeyPath, sink: IssueSink, environ: Mapping[str, str]
) -> str | None:
    """``raw[key]`` with ``${VAR}`` interpolated from ``environ``; ``None`` when absent or
    wrong (reported at ``path.key``)."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        sink.at_value((*path, key), f"expected a string, got {type(value).__name__}")
        return None
    try:
        return interpolate(value, environ)
    except KeyError as exc:
        sink.at_value(
            (*path, key),
            f"environment variable {exc.args[0]} is not set and has no default (use "
            f"${{{exc.args[0]}:-default}})",
        )
        return None


def port_operation(
    raw: Mapping[str, Any], port: PortInfo, sink: IssueSink, path: KeyPath, *, where: str
) -> OperationInfo | None:
    """The operation of ``port`` that ``raw["operation"]`` names, or ``None`` after an
    issue listing the port's operations (``where`` names the port in it)."""
    operations = port.operations
    name = raw.get("operation")
    if not isinstance(name, str):
        sink.at_key(path, f"missing key operation; expected one of: {', '.join(operations)}")
        return None
    operation = operations.get(name)
    if operation is None:
        sink.at_value(
            (*path, "operation"),
            f"no operation {name!r} in {where}; expected one of: {', '.join(operations)}",
        )
    return operation


def read_number(
    raw: Mapping[str, Any],
    key: str,
    parser: Callable[[Any], float],
    default: float,
    path: KeyPath,
    sink: IssueSink,
    environ: Mapping[str, str],
) -> float:
    """``raw[key]`` (interpolated when a string) converted by ``parser`` (a duration or
    size); ``default`` when absent or wrong (reported at ``path.key``)."""
    if key not in raw:
        return default
    value = raw[key]
    if isinstance(value, str):
        value = read_string(raw, key, path, sink, environ)
        if value is None:
            return default
    try:
        return parser(value)
    except ValueError as exc:
        sink.at_value((*path, key), str(exc))
        return default


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceBlock:
    """What a file's ``service:`` block yields."""

    upstream: Upstream | None
    """``None`` when the block has an issue that leaves no service to call."""
    namespaces: dict[str, str]
    """``service.namespaces``: prefix → URI, for the file's XPaths."""
    name: str | None
    """``service.name``, the name steps of any file call the service by, if declared."""


def load_service(
    raw: Any,
    *,
    file: Path,
    sink: IssueSink,
    environ: Mapping[str, str],
    wsdl_dir: Path | None,
    describe: DescribeWsdl,
    wsdl_cache: dict[Path, WsdlInfo | str],
) -> ServiceBlock:
    """Validate and compile the ``service:`` block of ``file``; issues go to ``sink``.

    Args:
        raw: the block as parsed.
        file: the mapping file; relative ``wsdl``, credential and TLS files are looked up
            from its directory.
        sink: the file's issues.
        environ: the environment for ``${VAR}``.
        wsdl_dir: where relative ``wsdl`` paths are looked up first.
        describe: loads a WSDL into plain descriptions.
        wsdl_cache: WSDLs already described (or the reason they could not be), shared by
            every file.
    """
    loader = _ServiceLoader(file, sink, environ, wsdl_dir, describe, wsdl_cache)
    upstream = loader.load(raw)
    return ServiceBlock(upstream=upstream, namespaces=loader.namespaces, name=loader.name)


class _ServiceLoader:
    """Loads one ``service:`` block."""

    def __init__(
        self,
        file: Path,
        sink: IssueSink,
        environ: Mapping[str, str],
        wsdl_dir: Path | None,
        describe: DescribeWsdl,
        wsdl_cache: dict[Path, WsdlInfo | str],
    ) -> None:
        self.file = file
        self.sink = sink
        self.environ = environ
        self.wsdl_dir = wsdl_dir
        self.describe = describe
        self.wsdl_cache = wsdl_cache
        self.namespaces: dict[str, str] = {}
        self.name: str | None = None

    def _string(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> str | None:
        return read_string(raw, key, path, self.sink, self.environ)

    def _parse(
        self,
        raw: Mapping[str, Any],
        key: str,
        parser: Callable[[Any], float],
        default: float,
        path: KeyPath,
    ) -> float:
        return read_number(raw, key, parser, default, path, self.sink, self.environ)

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

    def load(self, raw: Any) -> Upstream | None:
        path: KeyPath = ("service",)
        if not isinstance(raw, dict):
            self.sink.at_value(path, "expected a mapping with at least wsdl")
            return None
        unknown_keys(self.sink, raw, SERVICE_KEYS, path)
        self._load_namespaces(raw.get("namespaces"))
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or not _SERVICE_NAME.match(name)):
            self.sink.at_value((*path, "name"), f"expected a name such as orders, got {name!r}")
        elif name is not None:
            self.name = name
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
