"""The on-disk format of a recorded exchange: one directory of small, reviewable files.

::

    fixtures/                      a fixtures directory (``contract.yaml`` at its root)
      get-order/                   one directory per route
        get-orders-1001/           one directory per exchange
          fixture.json             metadata: route, operation, mapping file, HTTP request,
                                   SOAP version and action, statuses, headers kept, masks
          request.json             the JSON request body (only when there was one)
          soap-request.xml         the SOAP request the gateway sent (pretty-printed)
          soap-response.xml        the SOAP response it received (pretty-printed;
                                   ``soap-response.txt`` when it was not XML)
          response.json            the JSON the gateway returned

XML is pretty-printed (indented; whitespace-only text between elements dropped, leaf text
kept) and JSON is indented with its exact decimal digits, so recordings diff well in git.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

from mediator.contract.rules import ContractConfig, RuleSet, compile_rules
from mediator.errors import MediatorError
from mediator.translate.jsonio import dumps
from mediator.translate.xmlsafe import XMLRejected, parse_xml

__all__ = [
    "FIXTURE_FILE",
    "FORMAT_VERSION",
    "Fixture",
    "FixtureError",
    "discover_fixtures",
    "fixture_slug",
    "load_fixture",
    "parse_soap",
    "pretty_json",
    "pretty_xml",
    "route_slug",
    "write_fixture",
]

FIXTURE_FILE = "fixture.json"
FORMAT_VERSION = 1
_REQUEST_JSON = "request.json"
_SOAP_REQUEST = "soap-request.xml"
_RESPONSE_JSON = "response.json"
_SLUG = re.compile(r"[^A-Za-z0-9._]+")
_MAX_SLUG = 72


class FixtureError(MediatorError):
    """A fixture directory cannot be read: a file is missing, not JSON, or not XML."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class Fixture:
    """One recorded exchange, as stored (bodies are the stored bytes)."""

    path: Path
    name: str
    route: str | None
    operation: str
    mapping_file: str | None
    recorded_at: str
    method: str
    http_path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json_request: Any = None
    has_json_request: bool = False
    soap_version: str = "1.1"
    soap_action: str = ""
    body_element: str = ""
    soap_request_headers: dict[str, str] = field(default_factory=dict)
    soap_request: bytes = b""
    soap_response_status: int = 200
    soap_response_headers: dict[str, str] = field(default_factory=dict)
    soap_response: bytes = b""
    soap_response_file: str = "soap-response.xml"
    response_status: int = 200
    response_content_type: str = "application/json"
    json_response: Any = None
    mask_sources: dict[str, list[str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``name (route, METHOD path)`` for reports."""
        return f"{self.name} ({self.route or 'no route'}: {self.method} {self.http_path})"

    def masks(self, config: ContractConfig) -> RuleSet:
        """The fixture's own mask rules, compiled with the config's namespaces.

        Raises:
            FixtureError: when a rule is not a valid XPath or JSON Pointer.
        """
        try:
            return compile_rules(
                self.mask_sources.get("xml", ()),
                self.mask_sources.get("json", ()),
                namespaces=config.namespaces,
            )
        except ValueError as exc:
            raise FixtureError(self.path / FIXTURE_FILE, f"masks: {exc}") from None

    def replace(self, **changes: Any) -> Fixture:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def discover_fixtures(root: Path) -> list[Path]:
    """Every fixture directory under ``root`` (a directory holding ``fixture.json``), sorted.

    ``root`` may itself be a fixture directory.
    """
    if (root / FIXTURE_FILE).is_file():
        return [root]
    return sorted(path.parent for path in root.rglob(FIXTURE_FILE))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise FixtureError(path, "missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FixtureError(path, f"not valid JSON: {exc}") from None


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise FixtureError(path, f"cannot read: {exc.strerror or exc}") from None


def _section(meta: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = meta.get(key)
    if not isinstance(value, dict):
        raise FixtureError(path, f"{key}: expected an object")
    return value


def load_fixture(directory: Path, root: Path | None = None) -> Fixture:
    """Read the fixture stored in ``directory``; ``root`` names it relative to a tree.

    Raises:
        FixtureError: a file is missing or unreadable, or the metadata is malformed.
    """
    meta_path = directory / FIXTURE_FILE
    meta = _read_json(meta_path)
    if not isinstance(meta, dict):
        raise FixtureError(meta_path, "expected a JSON object")
    if meta.get("format") != FORMAT_VERSION:
        raise FixtureError(meta_path, f"unknown format {meta.get('format')!r}; expected 1")
    request = _section(meta, "request", meta_path)
    soap_request = _section(meta, "soap_request", meta_path)
    soap_response = _section(meta, "soap_response", meta_path)
    response = _section(meta, "response", meta_path)
    has_body = (directory / _REQUEST_JSON).is_file()
    response_file = str(soap_response.get("file") or "soap-response.xml")
    if "/" in response_file or response_file.startswith("."):
        raise FixtureError(meta_path, f"soap_response.file: {response_file!r} is not a file name")
    try:
        name = directory.relative_to(root).as_posix() if root else directory.name
    except ValueError:
        name = directory.name
    masks = meta.get("masks") or {}
    if not isinstance(masks, dict):
        raise FixtureError(meta_path, "masks: expected an object with xml and json lists")
    try:
        return Fixture(
            path=directory,
            name=name or directory.name,
            route=meta.get("route"),
            operation=str(meta["operation"]),
            mapping_file=meta.get("mapping_file"),
            recorded_at=str(meta.get("recorded_at", "")),
            method=str(request["method"]).upper(),
            http_path=str(request["path"]),
            query={str(k): str(v) for k, v in (request.get("query") or {}).items()},
            headers={str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()},
            json_request=_read_json(directory / _REQUEST_JSON) if has_body else None,
            has_json_request=has_body,
            soap_version=str(soap_request.get("soap_version", "1.1")),
            soap_action=str(soap_request.get("soap_action", "")),
            body_element=str(soap_request.get("body_element", "")),
            soap_request_headers=dict(soap_request.get("headers") or {}),
            soap_request=_read_bytes(directory / _SOAP_REQUEST),
            soap_response_status=int(soap_response.get("status", 200)),
            soap_response_headers=dict(soap_response.get("headers") or {}),
            soap_response=_read_bytes(directory / response_file),
            soap_response_file=response_file,
            response_status=int(response["status"]),
            response_content_type=str(response.get("content_type", "application/json")),
            json_response=_read_json(directory / _RESPONSE_JSON),
            mask_sources={k: [str(s) for s in v] for k, v in masks.items() if isinstance(v, list)},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FixtureError(meta_path, f"malformed metadata: {type(exc).__name__}: {exc}") from None


def write_fixture(fixture: Fixture) -> None:
    """Write every file of ``fixture`` into ``fixture.path`` (created when missing).

    Bodies are written as given: callers pretty-print and redact them first.
    """
    directory = fixture.path
    directory.mkdir(parents=True, exist_ok=True)
    meta: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "recorded_at": fixture.recorded_at,
        "route": fixture.route,
        "operation": fixture.operation,
        "mapping_file": fixture.mapping_file,
        "request": {
            "method": fixture.method,
            "path": fixture.http_path,
            "query": fixture.query,
            "headers": fixture.headers,
        },
        "soap_request": {
            "soap_version": fixture.soap_version,
            "soap_action": fixture.soap_action,
            "body_element": fixture.body_element,
            "headers": fixture.soap_request_headers,
        },
        "soap_response": {
            "status": fixture.soap_response_status,
            "headers": fixture.soap_response_headers,
            "file": fixture.soap_response_file,
        },
        "response": {
            "status": fixture.response_status,
            "content_type": fixture.response_content_type,
        },
    }
    if fixture.mask_sources:
        meta["masks"] = fixture.mask_sources
    _write(directory / FIXTURE_FILE, pretty_json(meta))
    if fixture.has_json_request:
        _write(directory / _REQUEST_JSON, pretty_json(fixture.json_request))
    else:
        (directory / _REQUEST_JSON).unlink(missing_ok=True)
    _write(directory / _SOAP_REQUEST, fixture.soap_request)
    for stale in ("soap-response.xml", "soap-response.txt"):
        if stale != fixture.soap_response_file:
            (directory / stale).unlink(missing_ok=True)
    _write(directory / fixture.soap_response_file, fixture.soap_response)
    _write(directory / _RESPONSE_JSON, pretty_json(fixture.json_response))


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def pretty_json(value: Any) -> bytes:
    """Indented JSON (two spaces, member order kept, decimals exact) ending in a newline."""
    return dumps(value, indent=True) + b"\n"


def pretty_xml(root: etree._Element) -> bytes:
    """Indented XML with a declaration, ending in a newline (``root`` is modified).

    Whitespace-only text between elements is replaced by indentation; leaf text, prefixes
    and attribute order are kept.
    """
    for element in root.iter():
        if not isinstance(element.tag, str) or not len(element):
            continue
        if element.text is not None and not element.text.strip():
            element.text = None
        for child in element:
            if child.tail is not None and not child.tail.strip():
                child.tail = None
    etree.indent(root, "  ")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8") + b"\n"


def parse_soap(data: bytes) -> etree._Element | None:
    """Parse XML bytes with the hardened parser; ``None`` when they are not XML."""
    try:
        return parse_xml(data)
    except XMLRejected:
        return None


def fixture_slug(method: str, path: str, query: dict[str, str], body: Any) -> str:
    """A stable directory name for a request: ``get-orders-1001``, ``get-orders-customerId-2``,
    ``post-orders-3f2a9c1e`` (a short hash of the body tells bodies apart)."""
    parts = [method.lower(), path]
    parts.extend(f"{key}-{value}" for key, value in sorted(query.items()))
    slug = _SLUG.sub("-", "-".join(parts)).strip("-.")[:_MAX_SLUG].rstrip("-.")
    if body is not None:
        digest = hashlib.sha256(pretty_json(body)).hexdigest()[:8]
        slug = f"{slug}-{digest}"
    return slug or "exchange"


def route_slug(route: str) -> str:
    """A directory name for a route name (``GET /orders/{id}`` → ``GET-orders-id``)."""
    return _SLUG.sub("-", route).strip("-.")[:_MAX_SLUG] or "route"
