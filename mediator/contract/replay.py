"""Replay: an aiohttp SOAP backend answering from recorded fixtures (``mediator replay``).

A request is matched to a fixture by operation and body:

- *operation*: the first element in the request's Body (its qualified name) equals the
  recorded one, or the SOAP action (``SOAPAction`` in 1.1, ``action`` of the content type in
  1.2) equals the recorded action;
- *body*: the canonical text of the Body's content (:mod:`mediator.contract.canonical`) equals
  the recorded one, after the masks of the fixtures directory, of the fixture's route and of
  the fixture itself are applied to both.

The first matching fixture (in name order) answers with its recorded status, content type and
SOAP response. Any operation of any WSDL replays, in SOAP 1.1 and 1.2: a fixture recorded in
one version answers a request in the other with its envelope converted (faults included).

An unmatched request gets a SOAP Fault (``Server``/``Receiver``, HTTP 500) whose reason names
the closest fixtures and whose detail holds, for each, a unified diff of the recorded body
against the one received.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from lxml import etree

from mediator.contract.canonical import body_element_name, canonical_xml, similarity, text_diff
from mediator.contract.fixture import (
    Fixture,
    discover_fixtures,
    load_fixture,
    parse_soap,
)
from mediator.contract.record import soap_action_of
from mediator.contract.rules import ContractConfig, RuleSet, XmlRule, load_config
from mediator.log import get_logger
from mediator.translate.envelope import SOAP11_ENV, SOAP12_ENV

__all__ = ["ReplayAnswer", "ReplayBackend", "convert_envelope"]

_log = get_logger("mediator.contract")
_REPLAY_NS = "urn:mediator:replay"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
_ENV = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
_CODES_11_TO_12 = {"Client": "Sender", "Server": "Receiver"}
_CODES_12_TO_11 = {v: k for k, v in _CODES_11_TO_12.items()}
_CLOSEST = 3


@dataclass(frozen=True, slots=True)
class ReplayAnswer:
    """What the backend answers, and which fixture answered (``None``: no match)."""

    status: int
    content_type: str
    body: bytes
    fixture: Fixture | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    fixture: Fixture
    masks: tuple[XmlRule, ...]
    canonical: str


@dataclass(slots=True)
class ReplayBackend:
    """Answers SOAP requests from fixtures; ``served`` lists the fixture names used."""

    fixtures: Sequence[Fixture]
    config: ContractConfig = field(default_factory=ContractConfig.default)
    wsdl: bytes | None = None
    served: list[str] = field(default_factory=list)
    _entries: list[_Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        for fixture in self.fixtures:
            root = parse_soap(fixture.soap_request)
            if root is None:
                _log.warning("contract.replay_fixture_skipped", fixture=fixture.name)
                continue
            rules: RuleSet = self.config.masks_for(fixture.route, fixture.masks(self.config))
            text = canonical_xml(
                root, masks=rules.xml, prefixes=self.config.namespaces, body_only=True
            )
            self._entries.append(_Entry(fixture, rules.xml, text))

    @classmethod
    def from_directory(cls, root: Path, *, wsdl: bytes | None = None) -> ReplayBackend:
        """A backend for every fixture under ``root``, with its ``contract.yaml`` rules.

        Raises:
            FixtureError: a fixture cannot be read.
            MappingError: ``contract.yaml`` is invalid.
        """
        config = load_config(root)
        fixtures = [load_fixture(path, root) for path in discover_fixtures(root)]
        return cls(fixtures, config, wsdl=wsdl)

    def app(self) -> web.Application:
        """An aiohttp application: POST anywhere is SOAP; GET ``?wsdl`` serves the WSDL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._handle_post)
        app.router.add_get("/{tail:.*}", self._handle_get)
        return app

    async def _handle_post(self, request: web.Request) -> web.Response:
        answer = self.answer(request.headers, await request.read())
        return web.Response(
            body=answer.body, status=answer.status, headers={"Content-Type": answer.content_type}
        )

    async def _handle_get(self, request: web.Request) -> web.Response:
        if self.wsdl is not None and "wsdl" in {k.lower() for k in request.query}:
            return web.Response(body=self.wsdl, content_type="text/xml", charset="utf-8")
        raise web.HTTPNotFound(text="mediator replay: POST SOAP requests here\n")

    def answer(self, headers: Mapping[str, str], body: bytes) -> ReplayAnswer:
        """The recorded answer to a SOAP request, or a fault naming the closest fixtures."""
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        root = parse_soap(body)
        namespace = etree.QName(root).namespace if root is not None else None
        if root is None or namespace not in (SOAP11_ENV, SOAP12_ENV):
            version = "1.2" if "application/soap+xml" in ctype else "1.1"
            reason = "replay: the request is not a SOAP envelope"
            return self._fault(version, reason, [], status=400)
        version = "1.2" if namespace == SOAP12_ENV else "1.1"
        element = body_element_name(root)
        action = soap_action_of(headers)
        candidates = [
            e
            for e in self._entries
            if e.fixture.body_element == element or (action and e.fixture.soap_action == action)
        ]
        texts: dict[tuple[XmlRule, ...], str] = {}
        for entry in candidates:
            text = texts.get(entry.masks)
            if text is None:
                text = canonical_xml(
                    root, masks=entry.masks, prefixes=self.config.namespaces, body_only=True
                )
                texts[entry.masks] = text
            if text == entry.canonical:
                self.served.append(entry.fixture.name)
                _log.info("contract.replay_matched", fixture=entry.fixture.name)
                return self._recorded(entry.fixture, version)
        return self._unmatched(root, version, element, candidates or self._entries)

    def _recorded(self, fixture: Fixture, version: str) -> ReplayAnswer:
        recorded_type = {k.lower(): v for k, v in fixture.soap_response_headers.items()}.get(
            "content-type"
        )
        if fixture.soap_version == version or parse_soap(fixture.soap_response) is None:
            content_type = recorded_type or _CONTENT_TYPES[fixture.soap_version]
            return ReplayAnswer(
                fixture.soap_response_status, content_type, fixture.soap_response, fixture
            )
        converted = convert_envelope(fixture.soap_response, version)
        return ReplayAnswer(
            fixture.soap_response_status, _CONTENT_TYPES[version], converted, fixture
        )

    def _unmatched(
        self, root: etree._Element, version: str, element: str, entries: Sequence[_Entry]
    ) -> ReplayAnswer:
        ranked: list[tuple[float, _Entry, str]] = []
        for entry in entries:
            received = canonical_xml(
                root, masks=entry.masks, prefixes=self.config.namespaces, body_only=True
            )
            ranked.append((similarity(entry.canonical, received), entry, received))
        ranked.sort(key=lambda item: (-item[0], item[1].fixture.name))
        closest = ranked[:_CLOSEST]
        operation = etree.QName(element).localname if element else "unknown"
        if closest:
            names = ", ".join(f"{e.fixture.name} ({score:.0%} alike)" for score, e, _ in closest)
            reason = (
                f"replay: no recorded {operation} exchange matches this request; closest: {names}"
            )
        else:
            reason = f"replay: no recorded exchange for operation {operation}"
        details = [
            (
                entry.fixture.name,
                score,
                text_diff(
                    entry.canonical,
                    received,
                    expected_name=f"{entry.fixture.name} (recorded)",
                    actual_name="received",
                ),
            )
            for score, entry, received in closest
        ]
        _log.warning(
            "contract.replay_unmatched",
            operation=operation,
            closest=[name for name, _, _ in details],
            diff=details[0][2] if details else None,
        )
        return self._fault(version, reason, details, operation=operation)

    def _fault(
        self,
        version: str,
        reason: str,
        closest: Sequence[tuple[str, float, str]],
        *,
        status: int = 500,
        operation: str = "",
    ) -> ReplayAnswer:
        detail = etree.Element(f"{{{_REPLAY_NS}}}NoMatch", nsmap={"r": _REPLAY_NS})
        if operation:
            etree.SubElement(detail, f"{{{_REPLAY_NS}}}Operation").text = operation
        for name, score, diff in closest:
            item = etree.SubElement(detail, f"{{{_REPLAY_NS}}}Closest")
            etree.SubElement(item, f"{{{_REPLAY_NS}}}Fixture").text = name
            etree.SubElement(item, f"{{{_REPLAY_NS}}}Similarity").text = f"{score:.2f}"
            etree.SubElement(item, f"{{{_REPLAY_NS}}}Diff").text = diff
        code = "Server" if version == "1.1" else "Receiver"
        body = _fault_envelope(version, code, reason, [detail])
        return ReplayAnswer(status, _CONTENT_TYPES[version], body)


def _envelope(version: str) -> tuple[etree._Element, etree._Element]:
    ns = _ENV[version]
    envelope = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    return envelope, etree.SubElement(envelope, f"{{{ns}}}Body")


def _serialize(envelope: etree._Element) -> bytes:
    etree.indent(envelope, "  ")
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8") + b"\n"


def _fault_envelope(
    version: str,
    code: str,
    reason: str,
    detail: Sequence[etree._Element] | None,
    *,
    subcodes: Sequence[str] = (),
    actor: str | None = None,
) -> bytes:
    ns = _ENV[version]
    envelope, body = _envelope(version)
    fault = etree.SubElement(body, f"{{{ns}}}Fault")
    if version == "1.1":
        etree.SubElement(fault, "faultcode").text = ".".join([f"soap:{code}", *subcodes])
        etree.SubElement(fault, "faultstring").text = reason
        if actor:
            etree.SubElement(fault, "faultactor").text = actor
        holder = etree.SubElement(fault, "detail") if detail is not None else None
    else:
        code_element = etree.SubElement(fault, f"{{{ns}}}Code")
        etree.SubElement(code_element, f"{{{ns}}}Value").text = f"soap:{code}"
        parent = code_element
        for subcode in subcodes:
            parent = etree.SubElement(parent, f"{{{ns}}}Subcode")
            etree.SubElement(parent, f"{{{ns}}}Value").text = subcode
        text = etree.SubElement(etree.SubElement(fault, f"{{{ns}}}Reason"), f"{{{ns}}}Text")
        text.set(f"{{{_XML_NS}}}lang", "en")
        text.text = reason
        if actor:
            etree.SubElement(fault, f"{{{ns}}}Role").text = actor
        holder = etree.SubElement(fault, f"{{{ns}}}Detail") if detail is not None else None
    if holder is not None and detail is not None:
        holder.extend(detail)
    return _serialize(envelope)


def convert_envelope(data: bytes, version: str) -> bytes:
    """A SOAP envelope re-expressed in another SOAP version (header and body kept; a Fault
    translated: codes Client↔Sender and Server↔Receiver, faultstring↔Reason, actor↔Role,
    detail↔Detail). Data that is not a SOAP envelope is returned unchanged."""
    root = parse_soap(data)
    source_ns = etree.QName(root).namespace if root is not None else None
    if root is None or source_ns not in (SOAP11_ENV, SOAP12_ENV) or source_ns == _ENV[version]:
        return data
    header = root.find(f"{{{source_ns}}}Header")
    body = root.find(f"{{{source_ns}}}Body")
    fault = body.find(f"{{{source_ns}}}Fault") if body is not None else None
    if fault is not None:
        return _convert_fault(fault, source_ns, version)
    envelope, new_body = _envelope(version)
    if header is not None and len(header):
        new_header = etree.Element(f"{{{_ENV[version]}}}Header")
        new_header.extend(list(header))
        envelope.insert(0, new_header)
    if body is not None:
        new_body.extend(list(body))
    return _serialize(envelope)


def _local_code(text: str | None) -> str:
    return (text or "").strip().rpartition(":")[2]


def _convert_fault(fault: etree._Element, source_ns: str, version: str) -> bytes:
    if source_ns == SOAP11_ENV:
        head, *subcodes = _local_code(fault.findtext("faultcode")).split(".")
        code = _CODES_11_TO_12.get(head, head)
        reason = fault.findtext("faultstring") or ""
        actor = fault.findtext("faultactor")
        detail = fault.find("detail")
    else:
        ns = f"{{{source_ns}}}"
        head = _local_code(fault.findtext(f"{ns}Code/{ns}Value"))
        code = _CODES_12_TO_11.get(head, head)
        subcodes = []
        sub = fault.find(f"{ns}Code/{ns}Subcode")
        while sub is not None:
            subcodes.append(_local_code(sub.findtext(f"{ns}Value")))
            sub = sub.find(f"{ns}Subcode")
        reason = fault.findtext(f"{ns}Reason/{ns}Text") or ""
        actor = fault.findtext(f"{ns}Role")
        detail = fault.find(f"{ns}Detail")
    children = list(detail) if detail is not None else None
    return _fault_envelope(version, code, reason, children, subcodes=subcodes, actor=actor)
