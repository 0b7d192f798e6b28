"""Hardened XML parsing: no DTDs, no entities, no network, bounded size and structure.

Every XML document Mediator reads from outside (upstream responses, rendered templates)
goes through :func:`parse_xml`.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

__all__ = ["XMLLimits", "XMLRejected", "parse_xml", "xml_safe_text"]


@dataclass(frozen=True, slots=True)
class XMLLimits:
    """Structural bounds on a parsed document."""

    max_depth: int = 128
    max_children: int = 100_000
    max_attributes: int = 256
    max_namespaces: int = 256
    max_text: int = 10 * 1024 * 1024
    max_name: int = 1024


DEFAULT_LIMITS = XMLLimits()


class XMLRejected(ValueError):
    """The document is not well-formed, or not acceptable (DTD, entities, bounds)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        collect_ids=False,
        remove_blank_text=False,
    )


_PARSER = _parser()


def parse_xml(data: bytes, limits: XMLLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted XML bytes.

    Raises:
        XMLRejected: when the XML is ill-formed, carries a DTD or entity reference, or
            exceeds ``limits``. The message never quotes the document.
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise XMLRejected(f"ill-formed XML (line {exc.lineno}): {exc.msg}") from None
    if root is None:
        raise XMLRejected("empty XML document")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XMLRejected("XML with a DTD (DOCTYPE) is not accepted")
    _check_structure(root, limits)
    return root


def _check_structure(root: etree._Element, limits: XMLLimits) -> None:
    depth = 0
    children: list[int] = [0]
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if event == "end":
            depth -= 1
            children.pop()
            continue
        if isinstance(element, etree._Entity):
            raise XMLRejected("XML entity references are not accepted")
        depth += 1
        if depth > limits.max_depth:
            raise XMLRejected(f"XML nested deeper than {limits.max_depth} levels")
        children[-1] += 1
        if children[-1] > limits.max_children:
            raise XMLRejected(f"an XML element has more than {limits.max_children} children")
        children.append(0)
        if not isinstance(element.tag, str):
            continue
        if len(element.tag) > limits.max_name:
            raise XMLRejected("an XML name is too long")
        if len(element.attrib) > limits.max_attributes:
            raise XMLRejected(f"an XML element has more than {limits.max_attributes} attributes")
        parent = element.getparent()
        own_ns = len(element.nsmap) - (len(parent.nsmap) if parent is not None else 0)
        if own_ns > limits.max_namespaces:
            raise XMLRejected("an XML element declares too many namespaces")
        if element.text and len(element.text) > limits.max_text:
            raise XMLRejected("an XML text node is too large")
    for entity in root.iter(etree.Entity):
        raise XMLRejected(f"XML entity reference &{entity.name}; is not accepted")


def xml_safe_text(text: str) -> bool:
    """True when every character of ``text`` can appear in an XML 1.0 document."""
    for ch in text:
        code = ord(ch)
        if code < 0x20 and ch not in "\t\n\r":
            return False
        if 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            return False
    return True
