"""Hardened XML parsing: no DTDs, no entities, no network, no files, bounded structure.

Every XML document Mediator reads from outside (upstream responses, rendered templates)
goes through :func:`parse_xml`. Three independent defences keep DTD tricks (XXE, billion
laughs, external parameter entities) harmless:

1. the prolog is scanned *before* parsing, and a document type declaration is refused, so
   libxml2 never reads a DTD at all (it would otherwise load external DTDs and parameter
   entities from local files even with ``load_dtd=False``);
2. the parser resolves no entities, loads no DTD, has network access off and a resolver
   that answers every external reference with an empty document;
3. after parsing, any DTD or entity node left in the tree is refused.

The document's size is bounded by the caller (the transport's size cap); its shape by
:class:`XMLLimits`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

from mediator.xmlparser import hardened_parser

__all__ = ["DEFAULT_LIMITS", "XMLLimits", "XMLRejected", "parse_xml", "xml_safe_text"]


@dataclass(frozen=True, slots=True)
class XMLLimits:
    """Structural bounds on a parsed document.

    ``max_text`` bounds every text node, tail text and attribute value; ``max_name`` every
    element and attribute name; ``max_namespaces`` the declarations of one element.
    """

    max_depth: int = 128
    max_children: int = 100_000
    max_attributes: int = 256
    max_namespaces: int = 256
    max_text: int = 10 * 1024 * 1024
    max_name: int = 1024


DEFAULT_LIMITS = XMLLimits()

_DTD_MESSAGE = "XML with a DTD (DOCTYPE) is not accepted"


class XMLRejected(ValueError):
    """The document is not well-formed, or not acceptable (DTD, entities, bounds)."""


class _RefuseExternal(etree.Resolver):
    """Answers every external DTD or entity with an empty document: nothing is read."""

    # lxml-stubs lack the ``context`` argument lxml passes (and resolve_string needs).
    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:  # type: ignore[override]
        return cast(Any, self).resolve_string("", context)


def _parser() -> etree.XMLParser:
    parser = hardened_parser()
    parser.resolvers.add(_RefuseExternal())
    return parser


_PARSER = _parser()

# What may precede the root element besides a DOCTYPE: a BOM, whitespace, the XML
# declaration or other processing instructions, and comments.
_PROLOG_BYTES = re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)
_PROLOG_TEXT = re.compile(r"\ufeff?(?:[ \t\r\n]+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)

# Documents whose first bytes show an encoding that is not ASCII-compatible (XML 1.0
# appendix F): they are decoded before their prolog is scanned.
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16"),
    (b"\xff\xfe", "utf-16"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00!", "utf-16-be"),
    (b"<\x00!\x00", "utf-16-le"),
    (b"Lo\xa7\x94", "cp500"),
)


def _declares_dtd(data: bytes) -> bool:
    """Whether a document type declaration (``<!DOCTYPE``) precedes the root element."""
    for signature, encoding in _WIDE_ENCODINGS:
        if data.startswith(signature):
            text = data.decode(encoding, errors="replace")
            end = _PROLOG_TEXT.match(text)
            rest = end.end() if end else 0
            return text.startswith("<!", rest) and not text.startswith("<!--", rest)
    match = _PROLOG_BYTES.match(data)
    rest = match.end() if match else 0
    return data.startswith(b"<!", rest) and not data.startswith(b"<!--", rest)


def parse_xml(data: bytes, limits: XMLLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted XML bytes.

    Raises:
        XMLRejected: when the XML is ill-formed, carries a DTD or entity reference, or
            exceeds ``limits``. The message never quotes the document.
    """
    if _declares_dtd(data):
        raise XMLRejected(_DTD_MESSAGE)
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise XMLRejected(f"ill-formed XML (line {exc.lineno}): {exc.msg}") from None
    if root is None:
        raise XMLRejected("empty XML document")
    docinfo = cast(Any, root.getroottree().docinfo)
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XMLRejected(_DTD_MESSAGE)
    if not _plainly_within(data, root, limits):
        _check_structure(root, limits)  # the exact walk, in Python: only when it could fail
    for entity in root.iter(etree.Entity):
        raise XMLRejected(f"XML entity reference &{cast(Any, entity).name}; is not accepted")
    return root


_TOTAL_ATTRIBUTES = etree.XPath("count(//@*)")


@functools.lru_cache(maxsize=16)
def _deeper_than(depth: int) -> etree.XPath:
    """True when an element stands deeper than ``depth`` (a path of depth + 1 steps)."""
    return etree.XPath("boolean(/" + "/*" * (depth + 1) + ")")


# XML whitespace and the bytes that end a name map to b" ", every other byte to b"x": a run
# of n + 1 b"x" in the translated document exists exactly when some run of bytes without
# whitespace or ``<>="'/`` is longer than n, and no XML name can be longer than such a run.
_NAME_RUNS = bytes(0x20 if byte in b" \t\r\n<>=\"'/" else 0x78 for byte in range(256))


def _names_within(data: bytes, max_name: int) -> bool:
    """No run of name bytes is longer than ``max_name`` (translate and search run in C)."""
    return len(data) <= max_name or b"x" * (max_name + 1) not in data.translate(_NAME_RUNS)


def _plainly_within(data: bytes, root: etree._Element, limits: XMLLimits) -> bool:
    """Cheap upper bounds, counted in C, that prove every structural bound holds.

    False means only that a bound could be exceeded; :func:`_check_structure` then decides.
    Without a DTD no entity can expand, so the raw bytes bound every node of the tree:
    every attribute needs a ``=``, every namespace declaration an ``xmlns``.
    """
    tags = data.count(b"<")
    return (
        len(data) <= limits.max_text  # no text node or attribute value can be larger
        and tags <= limits.max_children  # no element can have more children
        and data.count(b"xmlns") <= limits.max_namespaces
        and (
            data.count(b"=") <= limits.max_attributes
            or cast(float, _TOTAL_ATTRIBUTES(root)) <= limits.max_attributes
        )
        and _names_within(data, limits.max_name)
        and (tags <= 2 * limits.max_depth or not _deeper_than(limits.max_depth)(root))
    )


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
        if element.tail and len(element.tail) > limits.max_text:
            raise XMLRejected("an XML text node is too large")
        if not isinstance(element.tag, str):
            continue
        if len(element.tag) > limits.max_name:
            raise XMLRejected("an XML name is too long")
        attributes = element.attrib
        if attributes:
            if len(attributes) > limits.max_attributes:
                raise XMLRejected(
                    f"an XML element has more than {limits.max_attributes} attributes"
                )
            for name, value in attributes.items():
                if len(name) > limits.max_name:
                    raise XMLRejected("an XML name is too long")
                if len(value) > limits.max_text:
                    raise XMLRejected("an XML attribute value is too large")
        parent = element.getparent()
        own_ns = len(element.nsmap) - (len(parent.nsmap) if parent is not None else 0)
        if own_ns > limits.max_namespaces:
            raise XMLRejected("an XML element declares too many namespaces")
        if element.text and len(element.text) > limits.max_text:
            raise XMLRejected("an XML text node is too large")
    for entity in root.iter(etree.Entity):
        raise XMLRejected(f"XML entity reference &{cast(Any, entity).name}; is not accepted")


_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe_text(text: str) -> bool:
    """True when every character of ``text`` can appear in an XML 1.0 document."""
    return _NOT_XML_TEXT.search(text) is None
