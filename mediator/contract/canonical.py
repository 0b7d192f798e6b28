"""Canonical text of XML and JSON for comparison, with masks, and readable diffs.

Two XML documents are *equal* for Mediator's contracts when their canonical texts are equal.
The canonical text keeps element and attribute names (by namespace URI, not by prefix), leaf
text exactly, and element order; it ignores the XML declaration, the encoding, prefix choice,
where namespaces are declared, attribute order, comments, processing instructions, CDATA
wrapping, and whitespace-only text between elements. Masked values (see
:mod:`mediator.contract.rules`) are replaced by :data:`~mediator.contract.rules.MASKED` on both
sides before comparing.

The text is pretty-printed XML with stable prefixes (the mapping's own, then the well-known
SOAP and WS-Security ones, then ``ns0``, ``ns1``… in order of first use), so a unified diff of
two canonical texts reads like a diff of the documents themselves.

JSON is canonical when members are sorted and numbers keep their exact digits: ``1``, ``1.0``
and ``true`` differ, ``1.50`` and ``1.5`` differ, member order does not count.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson
from lxml import etree

from mediator.contract.rules import (
    DEFAULT_NAMESPACES,
    MASKED,
    JsonRule,
    XmlRule,
    apply_json_rules,
    apply_xml_rules,
)
from mediator.translate.envelope import SOAP11_ENV, SOAP12_ENV

__all__ = [
    "body_element_name",
    "canonical_json",
    "canonical_xml",
    "similarity",
    "soap_body",
    "text_diff",
]

_XML_NS = "http://www.w3.org/XML/1998/namespace"


def canonical_xml(
    root: etree._Element,
    *,
    masks: Iterable[XmlRule] = (),
    prefixes: Mapping[str, str] | None = None,
    body_only: bool = False,
) -> str:
    """The canonical text of ``root`` (which is not modified).

    Args:
        root: a parsed document (usually a SOAP envelope).
        masks: XPath rules whose matches are replaced by ``[masked]`` first.
        prefixes: preferred prefix → namespace URI (e.g. the mapping's ``namespaces``).
        body_only: compare only what is inside the SOAP Body (replay matching, where the
            envelope version and header may differ); the children are shown under ``<Body>``.
    """
    tree = copy.deepcopy(root)
    apply_xml_rules(tree, masks, MASKED)
    if body_only:
        wrapper = etree.Element("Body")
        body = soap_body(tree)
        for child in list(body) if body is not None else ():
            wrapper.append(child)
        tree = wrapper
    nsmap = _prefixes_for(tree, prefixes or {})
    rebuilt = _rebuild(tree, None, nsmap)
    etree.indent(rebuilt, "  ")
    return etree.tostring(rebuilt, encoding="unicode") + "\n"


def soap_body(envelope: etree._Element) -> etree._Element | None:
    """The ``Body`` of a SOAP 1.1 or 1.2 envelope, if it has one."""
    for namespace in (SOAP11_ENV, SOAP12_ENV):
        body = envelope.find(f"{{{namespace}}}Body")
        if body is not None:
            return body
    return None


def body_element_name(envelope: etree._Element | None) -> str:
    """The Clark name of the first element in a SOAP envelope's Body (``""`` when none)."""
    body = soap_body(envelope) if envelope is not None else None
    first = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    return str(first.tag) if first is not None else ""


def _prefixes_for(root: etree._Element, preferred: Mapping[str, str]) -> dict[str, str]:
    """Prefix → URI for every namespace used in ``root``: preferred prefixes first."""
    by_uri: dict[str, str] = {}
    for prefix, uri in [*preferred.items(), *DEFAULT_NAMESPACES.items()]:
        by_uri.setdefault(uri, prefix)
    used: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        names = [element.tag, *element.attrib.keys()]
        for name in names:
            uri = etree.QName(name).namespace
            if uri and uri != _XML_NS and uri not in used:
                used.append(uri)
    nsmap: dict[str, str] = {}
    counter = 0
    for uri in used:
        prefix = by_uri.get(uri, "")
        if not prefix or prefix in nsmap:
            while f"ns{counter}" in nsmap or f"ns{counter}" in preferred:
                counter += 1
            prefix = f"ns{counter}"
        nsmap[prefix] = uri
    return nsmap


def _rebuild(
    source: etree._Element, parent: etree._Element | None, nsmap: dict[str, str]
) -> etree._Element:
    """Copy ``source`` with sorted attributes and without insignificant whitespace."""
    if parent is None:
        element = etree.Element(source.tag, nsmap=nsmap)
    else:
        element = etree.SubElement(parent, source.tag)
    attributes: dict[str, str] = {str(k): str(v) for k, v in source.attrib.items()}
    for name in sorted(attributes):
        element.set(name, attributes[name])
    children = [c for c in source if isinstance(c.tag, str)]
    text = _join_text(source)
    if children:
        element.text = text if text and text.strip() else None
        for child in children:
            rebuilt = _rebuild(child, element, nsmap)
            tail = child.tail
            rebuilt.tail = tail if tail and tail.strip() else None
    else:
        element.text = text or None
    return element


def _join_text(element: etree._Element) -> str | None:
    """The element's own text, including text that follows comments or PIs it holds."""
    parts = [element.text or ""]
    parts.extend(c.tail or "" for c in element if not isinstance(c.tag, str))
    joined = "".join(parts)
    return joined or None


def canonical_json(value: Any, *, masks: Iterable[JsonRule] = ()) -> str:
    """The canonical text of a JSON value: sorted members, two-space indent, exact digits.

    Decimals (as parsed with ``parse_float=Decimal``) are written with their exact digits.
    """
    masked = apply_json_rules(value, masks, MASKED)
    data = orjson.dumps(masked, default=_decimal, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return data.decode("utf-8") + "\n"


def _decimal(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def text_diff(expected: str, actual: str, *, expected_name: str, actual_name: str) -> str:
    """A unified diff (three lines of context) of two texts; empty when they are equal."""
    lines = difflib.unified_diff(
        expected.splitlines(),
        actual.splitlines(),
        fromfile=expected_name,
        tofile=actual_name,
        lineterm="",
    )
    return "\n".join(lines)


def similarity(first: str, second: str) -> float:
    """How alike two canonical texts are, from 0.0 to 1.0 (by lines)."""
    return difflib.SequenceMatcher(None, first.splitlines(), second.splitlines()).ratio()
