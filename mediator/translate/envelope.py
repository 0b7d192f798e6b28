"""SOAP envelopes: reading a response into header, body or fault; writing a request envelope."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lxml import etree

from mediator.errors import UpstreamProtocolError
from mediator.translate.fault import parse_fault
from mediator.translate.xmlsafe import XMLLimits, XMLRejected, parse_xml
from mediator.xmlparser import hardened_parser

__all__ = [
    "SOAP11_ENV",
    "SOAP12_ENV",
    "SOAP_ENV_BY_VERSION",
    "Envelope",
    "build_envelope",
    "envelope_declarations",
    "plain_envelope",
    "read_envelope",
]

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
SOAP_ENV_BY_VERSION = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
_VERSION_BY_ENV = {SOAP11_ENV: "1.1", SOAP12_ENV: "1.2"}
_ENVELOPE_TAGS = {f"{{{ns}}}Envelope": ns for ns in _VERSION_BY_ENV}


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed SOAP response envelope (never a fault: faults are raised)."""

    version: str
    header: etree._Element | None
    body: etree._Element


def read_envelope(
    data: bytes,
    *,
    expected_version: str,
    http_status: int | None = None,
    upstream: str = "",
    limits: XMLLimits | None = None,
) -> Envelope:
    """Parse a SOAP response; return its parts, or raise its Fault.

    Raises:
        Fault: the Body holds a SOAP Fault (of either version).
        UpstreamProtocolError: the bytes are not a usable SOAP envelope of the expected version.
    """
    try:
        root = parse_xml(data, limits) if limits else parse_xml(data)
    except XMLRejected as exc:
        raise UpstreamProtocolError(str(exc), upstream=upstream, status=http_status) from None
    namespace = _ENVELOPE_TAGS.get(root.tag)
    if namespace is None:
        raise UpstreamProtocolError(
            "the response is XML but not a SOAP envelope", upstream=upstream, status=http_status
        )
    version = _VERSION_BY_ENV[namespace]
    header = body = None
    header_tag, body_tag = f"{{{namespace}}}Header", f"{{{namespace}}}Body"
    for child in root:  # the first Header and the first Body, as find() would give
        tag = child.tag
        if tag == body_tag:
            if body is None:
                body = child
        elif tag == header_tag and header is None:
            header = child
    if body is None:
        raise UpstreamProtocolError(
            "the SOAP envelope has no Body", upstream=upstream, status=http_status
        )
    first = next(iter(body), None)
    while first is not None and not isinstance(first.tag, str):
        first = first.getnext()
    if first is not None and first.tag == f"{{{namespace}}}Fault":
        raise parse_fault(first, version, http_status=http_status, upstream=upstream)
    if version != expected_version:
        raise UpstreamProtocolError(
            f"a SOAP {version} envelope answered a SOAP {expected_version} request",
            upstream=upstream,
            status=http_status,
        )
    return Envelope(version, header, body)


_WELL_FORMED = hardened_parser()


# UTF-8 bytes of the characters XML 1.0 cannot carry: the C0 controls but tab, LF and CR
# (single bytes, never inside a multi-byte sequence), U+FFFE and U+FFFF; lone surrogates
# cannot be encoded at all.
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])


def _xml_characters_only(data: bytes) -> bool:
    return len(data.translate(None, _CONTROL_BYTES)) == len(data) and (
        data.isascii() or (b"\xef\xbf\xbe" not in data and b"\xef\xbf\xbf" not in data)
    )


def envelope_declarations(version: str, namespaces: Mapping[str, str] | None) -> str:
    """The namespace declarations :func:`build_envelope` writes on the Envelope (with a
    leading space): ``soapenv`` for the version, then the mapping's prefixes."""
    env_ns = SOAP_ENV_BY_VERSION[version]
    return f' xmlns:soapenv="{env_ns}"' + "".join(
        f' xmlns:{prefix}="{_attr(uri)}"'
        for prefix, uri in (namespaces or {}).items()
        if prefix != "soapenv"
    )


def build_envelope(
    version: str,
    body_xml: str,
    *,
    header_xml: str | None = None,
    namespaces: Mapping[str, str] | None = None,
    well_formed: bool = False,
) -> bytes:
    """Wrap already-rendered Body (and Header) content in an envelope of the given version.

    The mapping's namespace prefixes are declared on the Envelope so templates can use them.

    Unless the caller vouches for the content's structure (``well_formed``: rendered from
    templates proved well-formed for these declarations, see
    :mod:`mediator.mapping.wellformed`, with every value escaped) and its bytes hold only
    characters XML can carry (a scan in C), the result is parsed once to prove it
    well-formed (namespaces included), by a parser that loads no DTD, resolves no entity and
    reads nothing from the network or files. Nothing before the Envelope's start tag comes
    from a template, so no document type declaration can occur (one anywhere else is
    ill-formed), and without one the only entity references that parse are the five
    predefined ones. The structural bounds of :func:`~mediator.translate.xmlsafe.parse_xml`,
    meant for documents from outside, are not applied to what the gateway writes itself.

    Raises:
        XMLRejected: when the result is not well-formed XML.
    """
    declarations = envelope_declarations(version, namespaces)
    header = f"<soapenv:Header>{header_xml}</soapenv:Header>" if header_xml else ""
    text = (
        f"<soapenv:Envelope{declarations}>"
        f"{header}<soapenv:Body>{body_xml}</soapenv:Body></soapenv:Envelope>"
    )
    data = text.encode("utf-8")
    if not (well_formed and _xml_characters_only(data)):
        try:
            etree.fromstring(data, _WELL_FORMED)  # rendered templates must be well-formed
        except etree.XMLSyntaxError as exc:
            raise XMLRejected(f"ill-formed XML (line {exc.lineno}): {exc.msg}") from None
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + data


def plain_envelope(version: str, body_xml: str) -> bytes:
    """An envelope around Body content written by :mod:`mediator.translate.serialize`, laid
    out as zeep writes one (``soap-env`` prefix, no Header), so both paths send the same
    bytes. Not for template output: nothing here checks well-formedness."""
    env_ns = SOAP_ENV_BY_VERSION[version]
    return (
        "<?xml version='1.0' encoding='utf-8'?>\n"
        f'<soap-env:Envelope xmlns:soap-env="{env_ns}"><soap-env:Body>{body_xml}'
        "</soap-env:Body></soap-env:Envelope>"
    ).encode()


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
