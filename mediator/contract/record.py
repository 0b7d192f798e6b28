"""Recording: an exchange observer that writes every upstream exchange as a fixture.

``mediator serve --record DIR`` registers a :class:`FixtureRecorder` with the gateway. For
each request that reached the SOAP service and got an answer (a success, a fault, or an
unusable answer) it writes one fixture directory (see :mod:`mediator.contract.fixture`);
requests refused before the upstream call (bad input, unknown paths) and calls that got no
answer (timeouts, refused connections) are not recorded.

Before anything is written, secrets are redacted by the fixtures directory's rules
(``contract.yaml``; WS-Security passwords, nonces, binary tokens and SAML assertions by
default), in the SOAP bodies, the JSON bodies, headers and query parameters naming a
credential. Recording the same request again replaces its fixture.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from mediator.contract.canonical import body_element_name
from mediator.contract.fixture import (
    Fixture,
    fixture_slug,
    parse_soap,
    pretty_xml,
    route_slug,
    write_fixture,
)
from mediator.contract.rules import (
    REDACTED,
    ContractConfig,
    apply_json_rules,
    apply_xml_rules,
    load_config,
)
from mediator.log import get_logger
from mediator.translate.envelope import SOAP12_ENV
from mediator.upstream.client import WireLog

__all__ = ["ExchangeView", "FixtureRecorder", "fixture_from_exchange", "soap_action_of"]

_log = get_logger("mediator.contract")
_KEPT_SOAP_HEADERS = ("content-type", "soapaction")


class ExchangeView(Protocol):
    """What the recorder reads from a gateway exchange (``mediator.gateway.exchange.Exchange``
    satisfies it; the contract layer does not import the gateway)."""

    @property
    def started_at(self) -> float: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> dict[str, str]: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def json_request(self) -> Any: ...
    @property
    def route(self) -> str | None: ...
    @property
    def operation(self) -> str | None: ...
    @property
    def mapping_file(self) -> str | None: ...
    @property
    def wire(self) -> WireLog | None: ...
    @property
    def status(self) -> int: ...
    @property
    def response_headers(self) -> dict[str, str]: ...
    @property
    def response_body(self) -> bytes: ...


class FixtureRecorder:
    """An exchange observer writing fixtures under ``directory``.

    Args:
        directory: the fixtures directory (created when missing); its ``contract.yaml``
            supplies the rules unless ``config`` is given.
        config: the redaction rules to apply.
    """

    def __init__(self, directory: Path, config: ContractConfig | None = None) -> None:
        self.directory = directory
        self.config = config if config is not None else load_config(directory)
        self.recorded: list[Path] = []

    def __call__(self, exchange: ExchangeView) -> None:
        """Write ``exchange`` as a fixture, if it reached the upstream and got an answer."""
        fixture = fixture_from_exchange(exchange, self.directory, self.config)
        if fixture is None:
            _log.debug("contract.exchange_skipped", path=exchange.path, status=exchange.status)
            return
        write_fixture(fixture)
        self.recorded.append(fixture.path)
        _log.info("contract.exchange_recorded", fixture=fixture.name, route=fixture.route)


def soap_action_of(headers: Mapping[str, str]) -> str:
    """The SOAP action of a request: ``SOAPAction`` (1.1) or the content type's ``action``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    action = lowered.get("soapaction", "").strip().strip('"')
    if action:
        return action
    for param in lowered.get("content-type", "").split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "action":
            return value.strip().strip('"')
    return ""


def _timestamp(seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def _relative(file: str | None) -> str | None:
    if file is None:
        return None
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _xml_body(data: bytes, config: ContractConfig) -> tuple[bytes, etree._Element | None]:
    """Redacted (and, unless configured otherwise, pretty-printed) XML; raw when not XML."""
    root = parse_soap(data)
    if root is None:
        return data, None
    replaced = apply_xml_rules(root, config.redact.xml, REDACTED)
    if config.pretty:
        return pretty_xml(root), root
    if replaced:
        return etree.tostring(root, xml_declaration=True, encoding="utf-8"), root
    return data, root


def _soap_version(envelope: etree._Element | None, headers: Mapping[str, str]) -> str:
    if envelope is not None and etree.QName(envelope).namespace == SOAP12_ENV:
        return "1.2"
    if envelope is not None:
        return "1.1"
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    return "1.2" if "application/soap+xml" in ctype else "1.1"


def _named(values: Mapping[str, str], config: ContractConfig) -> dict[str, str]:
    return {k: REDACTED if config.redacts_name(k) else v for k, v in values.items()}


def fixture_from_exchange(
    exchange: ExchangeView, directory: Path, config: ContractConfig
) -> Fixture | None:
    """The redacted fixture of an exchange, placed under ``directory``; ``None`` when the
    exchange did not reach the upstream, got no answer, or has no route."""
    wire = exchange.wire
    if (
        exchange.route is None
        or wire is None
        or wire.request_body is None
        or wire.response_status is None
        or wire.response_body is None
    ):
        return None
    request_headers = wire.request_headers or {}
    soap_request, request_root = _xml_body(wire.request_body, config)
    soap_response, response_root = _xml_body(wire.response_body, config)
    try:
        json_response = json.loads(exchange.response_body, parse_float=Decimal)
    except ValueError:
        json_response = exchange.response_body.decode("utf-8", "replace")
    content_type = {k.lower(): v for k, v in exchange.response_headers.items()}.get(
        "content-type", "application/json"
    )
    if content_type.startswith("application/problem+json") and isinstance(json_response, dict):
        json_response.pop("request_id", None)  # differs on every call; never compared
    json_rules = config.redact.json
    has_body = exchange.json_request is not None
    json_request = apply_json_rules(exchange.json_request, json_rules, REDACTED)
    query = _named(exchange.query, config)
    response_headers = {k.lower(): v for k, v in (wire.response_headers or {}).items()}
    name = f"{route_slug(exchange.route)}/" + fixture_slug(
        exchange.method, exchange.path, query, json_request if has_body else None
    )
    return Fixture(
        path=directory / name,
        name=name,
        route=exchange.route,
        operation=exchange.operation or "",
        mapping_file=_relative(exchange.mapping_file),
        recorded_at=_timestamp(exchange.started_at),
        method=exchange.method,
        http_path=exchange.path,
        query=query,
        headers=_named(exchange.headers, config),
        json_request=json_request,
        has_json_request=has_body,
        soap_version=_soap_version(request_root, request_headers),
        soap_action=soap_action_of(request_headers),
        body_element=body_element_name(request_root),
        soap_request_headers={
            k.lower(): v for k, v in request_headers.items() if k.lower() in _KEPT_SOAP_HEADERS
        },
        soap_request=soap_request,
        soap_response_status=wire.response_status,
        soap_response_headers={
            k: v for k, v in response_headers.items() if k in _KEPT_SOAP_HEADERS
        },
        soap_response=soap_response,
        soap_response_file="soap-response.xml"
        if response_root is not None
        else "soap-response.txt",
        response_status=exchange.status,
        response_content_type=content_type.split(";", 1)[0].strip(),
        json_response=apply_json_rules(json_response, json_rules, REDACTED),
    )
