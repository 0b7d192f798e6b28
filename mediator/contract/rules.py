"""The fixtures configuration (``contract.yaml``): which values are redacted and which masked.

*Redaction* happens when recording: a value matched by a redaction rule is replaced by
:data:`REDACTED` before it is written, so secrets never reach a fixture file. *Masking* happens
when comparing (verify, replay matching): a value matched by a mask rule is replaced by
:data:`MASKED` on both sides, so volatile values (timestamps, nonces, generated ids) do not
count. Every redaction rule is also a mask rule, since a redacted recording cannot equal the
live value.

XML rules are XPath 1.0 expressions evaluated on the whole SOAP envelope (select elements,
attributes or text nodes); JSON rules are JSON Pointers (RFC 6901) where a ``*`` segment matches
every member of an object or item of an array.

The file, at the root of a fixtures directory, looks like::

    version: 1
    namespaces: {o: "urn:example:orders"}
    redact:
      xml: ["//o:CardNumber"]
      json: ["/card/number"]
      headers: [x-tenant-secret]
      defaults: true           # WS-Security passwords, nonces, tokens, SAML assertions
    mask:
      xml: ["//o:RequestedAt"]
      json: ["/createdAt"]
    routes:
      create-order:
        mask: {xml: ["//o:Reference"], json: ["/id"]}
    record:
      pretty: true             # false stores SOAP bodies byte for byte
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from mediator.errors import MappingError, MappingIssue
from mediator.mapping.issues import IssueSink
from mediator.mapping.yamlsource import KeyPath, YamlLoadError, load_yaml
from mediator.translate.envelope import SOAP11_ENV, SOAP12_ENV

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_NAMESPACES",
    "MASKED",
    "REDACTED",
    "ContractConfig",
    "JsonRule",
    "RuleSet",
    "XmlRule",
    "apply_json_rules",
    "apply_xml_rules",
    "compile_rules",
    "is_secret_header",
    "load_config",
]

CONFIG_FILE = "contract.yaml"
REDACTED = "REDACTED"
MASKED = "[masked]"

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

DEFAULT_NAMESPACES: dict[str, str] = {
    "soap": SOAP11_ENV,
    "soap12": SOAP12_ENV,
    "wsse": WSSE,
    "wsu": WSU,
    "wsse11": "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "saml1": "urn:oasis:names:tc:SAML:1.0:assertion",
    "saml2": "urn:oasis:names:tc:SAML:2.0:assertion",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsd": "http://www.w3.org/2001/XMLSchema",
}
"""Prefixes every rule may use without declaring them."""

_DEFAULT_REDACT_XML = (
    "//wsse:Password",
    "//wsse:Nonce",
    "//wsse:BinarySecurityToken",
    "//wsse11:EncryptedHeader",
    "//xenc:CipherValue",
    "//saml1:Assertion",
    "//saml2:Assertion",
)
_DEFAULT_MASK_XML = (
    "//wsu:Created",
    "//wsu:Expires",
    "//ds:DigestValue",
    "//ds:SignatureValue",
    "//@wsu:Id",
)
_SECRET_HEADER = re.compile(
    r"authorization|cookie|pass(word|wd)?|secret|token|api[-_]?key|credential|signature",
    re.IGNORECASE,
)
_TOP_KEYS = {"version", "namespaces", "redact", "mask", "routes", "record"}
_RECORD_KEYS = {"pretty"}
_REDACT_KEYS = {"xml", "json", "headers", "defaults"}
_MASK_KEYS = {"xml", "json"}
_ROUTE_KEYS = {"mask"}


@dataclass(frozen=True, slots=True)
class XmlRule:
    """An XPath selecting what a rule covers in a SOAP envelope."""

    source: str
    xpath: etree.XPath


@dataclass(frozen=True, slots=True)
class JsonRule:
    """A JSON Pointer (``*`` matches any member or item) selecting what a rule covers."""

    source: str
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleSet:
    """XML and JSON rules applied together."""

    xml: tuple[XmlRule, ...] = ()
    json: tuple[JsonRule, ...] = ()

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(self.xml + other.xml, self.json + other.json)

    @property
    def sources(self) -> list[str]:
        """Every rule as written (for reports)."""
        return [rule.source for rule in self.xml] + [rule.source for rule in self.json]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractConfig:
    """A fixtures directory's rules (defaults when it has no ``contract.yaml``)."""

    namespaces: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_NAMESPACES))
    redact: RuleSet = field(default_factory=RuleSet)
    redact_headers: tuple[str, ...] = ()
    mask: RuleSet = field(default_factory=RuleSet)
    route_masks: dict[str, RuleSet] = field(default_factory=dict)
    pretty: bool = True

    @classmethod
    def default(cls) -> ContractConfig:
        """The built-in rules: WS-Security secrets redacted, WS-Security volatiles masked."""
        namespaces = dict(DEFAULT_NAMESPACES)
        return cls(
            namespaces=namespaces,
            redact=RuleSet(tuple(_xml_rule(s, namespaces) for s in _DEFAULT_REDACT_XML)),
            mask=RuleSet(tuple(_xml_rule(s, namespaces) for s in _DEFAULT_MASK_XML)),
        )

    def masks_for(self, route: str | None, extra: RuleSet | None = None) -> RuleSet:
        """Every rule ignored when comparing an exchange of ``route``: masks, redactions,
        the route's own masks and ``extra`` (a fixture's own masks)."""
        rules = self.mask + self.redact
        if route is not None and route in self.route_masks:
            rules = rules + self.route_masks[route]
        return rules + extra if extra is not None else rules

    def redacts_name(self, name: str) -> bool:
        """True when the value of an HTTP header or query parameter of this name is redacted
        in recordings (listed under ``redact.headers``, or naming a credential)."""
        return name.lower() in self.redact_headers or is_secret_header(name)


def is_secret_header(name: str) -> bool:
    """True for header names that carry credentials (Authorization, Cookie, *-Token, …)."""
    return bool(_SECRET_HEADER.search(name))


def _xml_rule(source: str, namespaces: Mapping[str, str]) -> XmlRule:
    """Compile an XPath rule; raises ``ValueError`` with lxml's reason when it is invalid."""
    try:
        xpath = etree.XPath(source, namespaces=dict(namespaces))
        xpath(etree.Element("probe"))  # undeclared prefixes only fail on evaluation
    except etree.XPathError as exc:
        hint = ""
        if "prefix" in str(exc):
            hint = f" (declared prefixes: {', '.join(sorted(namespaces))}; add it under namespaces)"
        raise ValueError(f"invalid XPath {source!r}: {exc}{hint}") from None
    return XmlRule(source, xpath)


def _json_rule(source: str) -> JsonRule:
    """Parse a JSON Pointer; raises ``ValueError`` when it is not one."""
    if source == "":
        return JsonRule(source, ())
    if not source.startswith("/"):
        raise ValueError(f"invalid JSON Pointer {source!r}: it must be empty or start with '/'")
    tokens = tuple(t.replace("~1", "/").replace("~0", "~") for t in source[1:].split("/"))
    return JsonRule(source, tokens)


def compile_rules(
    xml: Iterable[str] = (), json: Iterable[str] = (), *, namespaces: Mapping[str, str]
) -> RuleSet:
    """Compile rule strings.

    Raises:
        ValueError: for the first invalid XPath or JSON Pointer.
    """
    return RuleSet(
        tuple(_xml_rule(source, namespaces) for source in xml),
        tuple(_json_rule(source) for source in json),
    )


def apply_xml_rules(root: etree._Element, rules: Iterable[XmlRule], replacement: str) -> int:
    """Replace what each rule selects in ``root`` (in place) by ``replacement``.

    A selected element loses its children and gets ``replacement`` as text (its attributes
    stay); a selected attribute or text node gets ``replacement`` as value. Other XPath
    results (numbers, strings) are ignored. Returns how many nodes were replaced.
    """
    count = 0
    for rule in rules:
        result: Any = rule.xpath(root)
        for node in result if isinstance(result, list) else ():
            if isinstance(node, etree._Element):
                for child in list(node):
                    node.remove(child)
                node.text = replacement
                count += 1
            elif getattr(node, "is_attribute", False):
                node.getparent().set(node.attrname, replacement)
                count += 1
            elif getattr(node, "is_text", False):
                node.getparent().text = replacement
                count += 1
            elif getattr(node, "is_tail", False):
                node.getparent().tail = replacement
                count += 1
    return count


def apply_json_rules(value: Any, rules: Iterable[JsonRule], replacement: Any) -> Any:
    """A copy of ``value`` with what each rule points at replaced by ``replacement``.

    A pointer to a member or item that does not exist changes nothing.
    """
    for rule in rules:
        value = _replace(value, rule.tokens, replacement)
    return value


def _replace(value: Any, tokens: tuple[str, ...], replacement: Any) -> Any:
    if not tokens:
        return replacement
    head, rest = tokens[0], tokens[1:]
    if isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        return {k: _replace(v, rest, replacement) if k in keys else v for k, v in value.items()}
    if isinstance(value, list):
        if head == "*":
            return [_replace(item, rest, replacement) for item in value]
        if head.isdigit() and int(head) < len(value):
            index = int(head)
            return [
                _replace(item, rest, replacement) if i == index else item
                for i, item in enumerate(value)
            ]
    return value


def load_config(directory: Path) -> ContractConfig:
    """The rules of a fixtures directory: its ``contract.yaml`` added to the defaults.

    Raises:
        MappingError: listing every issue of the file, each at ``file:line:col``.
    """
    path = directory / CONFIG_FILE
    if not path.is_file():
        return ContractConfig.default()
    try:
        source = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except YamlLoadError as exc:
        raise MappingError(
            [MappingIssue(str(path), exc.line, exc.column, "", exc.message)]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError([MappingIssue(str(path), 1, 1, "", f"cannot read: {exc}")]) from None
    sink = IssueSink(str(path), source.positions)
    config = _ConfigReader(sink).read(source.data)
    if sink.issues:
        raise MappingError(sink.issues)
    return config


class _ConfigReader:
    """Validates a parsed ``contract.yaml``, collecting every issue."""

    def __init__(self, sink: IssueSink) -> None:
        self.sink = sink
        self.namespaces = dict(DEFAULT_NAMESPACES)

    def read(self, data: Any) -> ContractConfig:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.sink.at_value((), "expected a map with version, namespaces, redact, mask, routes")
            return ContractConfig.default()
        self._keys(data, _TOP_KEYS, ())
        if data.get("version") != 1:
            self.sink.at_value(("version",), f"expected version 1, got {data.get('version')!r}")
        namespaces = data.get("namespaces") or {}
        if isinstance(namespaces, dict):
            for prefix, uri in namespaces.items():
                if isinstance(uri, str) and uri:
                    self.namespaces[prefix] = uri
                else:
                    self.sink.at_value(("namespaces", prefix), "expected a namespace URI")
        else:
            self.sink.at_value(("namespaces",), "expected a map of prefix → namespace URI")
        redact_raw = self._map(data, "redact", _REDACT_KEYS, ())
        mask_raw = self._map(data, "mask", _MASK_KEYS, ())
        defaults = ContractConfig.default()
        use_defaults = redact_raw.get("defaults", True)
        if not isinstance(use_defaults, bool):
            self.sink.at_value(("redact", "defaults"), "expected true or false")
            use_defaults = True
        redact = self._rules(redact_raw, ("redact",))
        mask = self._rules(mask_raw, ("mask",))
        if use_defaults:
            redact, mask = defaults.redact + redact, defaults.mask + mask
        headers = self._strings(redact_raw.get("headers"), ("redact", "headers"))
        route_masks: dict[str, RuleSet] = {}
        routes = data.get("routes") or {}
        if not isinstance(routes, dict):
            self.sink.at_value(("routes",), "expected a map of route name → {mask: …}")
            routes = {}
        for name, raw in routes.items():
            route_raw = self._map(routes, name, _ROUTE_KEYS, ("routes",))
            if raw is not None:
                inner = self._map(route_raw, "mask", _MASK_KEYS, ("routes", name))
                route_masks[name] = self._rules(inner, ("routes", name, "mask"))
        pretty = self._map(data, "record", _RECORD_KEYS, ()).get("pretty", True)
        if not isinstance(pretty, bool):
            self.sink.at_value(("record", "pretty"), "expected true or false")
            pretty = True
        return ContractConfig(
            namespaces=self.namespaces,
            redact=redact,
            redact_headers=tuple(h.lower() for h in headers),
            mask=mask,
            route_masks=route_masks,
            pretty=pretty,
        )

    def _keys(self, raw: Mapping[str, Any], allowed: set[str], path: KeyPath) -> None:
        for key in raw:
            if key not in allowed:
                choices = ", ".join(sorted(allowed))
                self.sink.at_key((*path, key), f"unknown key; expected one of {choices}")

    def _map(
        self, parent: Mapping[str, Any], key: str, allowed: set[str], path: KeyPath
    ) -> dict[str, Any]:
        raw = parent.get(key)
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            self.sink.at_value((*path, key), f"expected a map with {', '.join(sorted(allowed))}")
            return {}
        self._keys(raw, allowed, (*path, key))
        return raw

    def _strings(self, raw: Any, path: KeyPath) -> list[str]:
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            self.sink.at_value(path, "expected a list of strings")
            return []
        return list(raw)

    def _rules(self, raw: Mapping[str, Any], path: KeyPath) -> RuleSet:
        xml: list[XmlRule] = []
        json: list[JsonRule] = []
        for index, source in enumerate(self._strings(raw.get("xml"), (*path, "xml"))):
            try:
                xml.append(_xml_rule(source, self.namespaces))
            except ValueError as exc:
                self.sink.at_value((*path, "xml", index), str(exc))
        for index, source in enumerate(self._strings(raw.get("json"), (*path, "json"))):
            try:
                json.append(_json_rule(source))
            except ValueError as exc:
                self.sink.at_value((*path, "json", index), str(exc))
        return RuleSet(tuple(xml), tuple(json))
