"""SOAP 1.1 and 1.2 faults, parsed into :class:`mediator.errors.Fault`."""

from __future__ import annotations

from typing import Any

from lxml import etree

from mediator.errors import Fault
from mediator.translate.xmljson import element_to_data, text_content

__all__ = ["parse_fault"]

_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


def _qname_value(element: etree._Element | None) -> tuple[str, str | None]:
    """Resolve a QName-valued text (``soap:Client``) against the element's namespaces."""
    if element is None or not element.text:
        return "", None
    text = element.text.strip()
    prefix, _, local = text.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    return local, namespace


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return text_content(element).strip()


def _detail(element: etree._Element | None) -> object:
    if element is None:
        return None
    entries = [c for c in element if isinstance(c.tag, str)]
    if not entries:
        text = (element.text or "").strip()
        return text or None
    data: dict[str, Any] = {}
    for entry in entries:
        name, value = etree.QName(entry).localname, element_to_data(entry)
        if name not in data:
            data[name] = value
        elif isinstance(data[name], list):  # element_to_data never returns a list itself
            data[name].append(value)
        else:
            data[name] = [data[name], value]
    return data


def _code_layout(
    fault: etree._Element, namespace: str, version: str, *, http_status: int | None, upstream: str
) -> Fault:
    """A fault laid out as SOAP 1.2 defines it: Code/Value, Subcode, Reason/Text, Detail."""
    ns = f"{{{namespace}}}"
    code, code_ns = _qname_value(fault.find(f"{ns}Code/{ns}Value"))
    subcodes: list[str] = []
    sub = fault.find(f"{ns}Code/{ns}Subcode")
    while sub is not None:
        local, _ = _qname_value(sub.find(f"{ns}Value"))
        subcodes.append(local)
        sub = sub.find(f"{ns}Subcode")
    return Fault(
        code=code or ("Receiver" if version == "1.2" else "Server"),
        code_namespace=code_ns,
        string=_text(fault.find(f"{ns}Reason/{ns}Text")) or "",
        soap_version=version,
        subcodes=tuple(subcodes),
        actor=_text(fault.find(f"{ns}Role")) or _text(fault.find(f"{ns}Node")),
        detail=_detail(fault.find(f"{ns}Detail")),
        http_status=http_status,
        upstream=upstream,
    )


def parse_fault(
    fault: etree._Element, version: str, *, http_status: int | None = None, upstream: str = ""
) -> Fault:
    """Build a :class:`Fault` from a ``Fault`` element of the given SOAP version."""
    own_ns = etree.QName(fault).namespace or ""
    if version == "1.2":
        return _code_layout(fault, _SOAP12, "1.2", http_status=http_status, upstream=upstream)
    if fault.find("faultcode") is None and fault.find(f"{{{own_ns}}}Code") is not None:
        # Some engines (node-soap's WS-Security rejection) put a SOAP 1.2-style fault in a
        # SOAP 1.1 envelope: read it by the 1.2 layout, in the envelope's namespace.
        return _code_layout(fault, own_ns, "1.1", http_status=http_status, upstream=upstream)
    code, code_ns = _qname_value(fault.find("faultcode"))
    # Dotted 1.1 codes (Client.Authentication) keep their first part as the code.
    head, _, rest = code.partition(".")
    return Fault(
        code=head or "Server",
        code_namespace=code_ns,
        string=_text(fault.find("faultstring")) or "",
        soap_version="1.1",
        subcodes=tuple(rest.split(".")) if rest else (),
        actor=_text(fault.find("faultactor")),
        detail=_detail(fault.find("detail")),
        http_status=http_status,
        upstream=upstream,
    )
