"""WSDL loading through zeep, and plain descriptions of what a WSDL offers.

WSDLs are read from local files only: imports and includes are resolved relative to the
file, and anything remote is refused (a WSDL is never fetched at run time). The few schemas
every SOAP toolkit takes for granted (the SOAP 1.1 encoding schema that rpc/encoded WSDLs
import by namespace, and ``xml.xsd``) are served from copies carried here. DTDs and entities
are forbidden. Each WSDL is loaded once per registry.

zeep drops what the gateway needs beyond structure: enumeration facets are read back from the
schema files themselves, choices are recorded as alternatives, simpleContent becomes a scalar
with attributes, and SOAP-encoded arrays name their item type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import zeep
import zeep.exceptions
from lxml import etree
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding, SoapBinding
from zeep.xsd import types as xsd_types
from zeep.xsd.elements import Any as XsdAny
from zeep.xsd.elements import Element as XsdElement
from zeep.xsd.elements.indicators import Indicator
from zeep.xsd.types import builtins as xsd_builtins
from zeep.xsd.types.simple import AnySimpleType

from mediator.mapping.service_info import (
    AttributeInfo,
    ChoiceInfo,
    ElementInfo,
    OperationInfo,
    PortInfo,
    ScalarKind,
    ServiceInfo,
    TypeInfo,
    WsdlInfo,
)

__all__ = ["WELL_KNOWN_SCHEMAS", "LocalOnlyTransport", "WsdlRegistry"]

_XSD = "http://www.w3.org/2001/XMLSchema"
_SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"

_SCALARS: tuple[tuple[type, ScalarKind], ...] = (
    (xsd_builtins.Boolean, "boolean"),
    (xsd_builtins.Integer, "integer"),
    (xsd_builtins.Decimal, "decimal"),
    (xsd_builtins.Float, "number"),
    (xsd_builtins.Double, "number"),
    (xsd_builtins.DateTime, "datetime"),
    (xsd_builtins.Date, "date"),
    (xsd_builtins.Time, "time"),
    (xsd_builtins.Base64Binary, "base64"),
)

_SOAP_ENC_SIMPLE = (
    "string", "boolean", "float", "double", "decimal", "duration", "dateTime", "time", "date",
    "gYearMonth", "gYear", "gMonthDay", "gDay", "gMonth", "hexBinary", "base64Binary", "anyURI",
    "QName", "NOTATION", "normalizedString", "token", "language", "Name", "NMTOKEN", "NCName",
    "ID", "IDREF", "ENTITY", "integer", "nonPositiveInteger", "negativeInteger", "long", "int",
    "short", "byte", "nonNegativeInteger", "unsignedLong", "unsignedInt", "unsignedShort",
    "unsignedByte", "positiveInteger",
)  # fmt: skip

_SOAP_ENCODING_XSD = (
    f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- The parts of the SOAP 1.1 encoding schema that WSDLs refer to (arrays, structs and the
     typed value wrappers), carried locally so that rpc/encoded WSDLs load offline. -->
<xs:schema xmlns:xs="{_XSD}" xmlns:tns="{_SOAP_ENC}" targetNamespace="{_SOAP_ENC}">
  <xs:attribute name="root"><xs:simpleType><xs:restriction base="xs:boolean">
    <xs:pattern value="0|1"/></xs:restriction></xs:simpleType></xs:attribute>
  <xs:attributeGroup name="commonAttributes">
    <xs:attribute name="id" type="xs:ID"/>
    <xs:attribute name="href" type="xs:anyURI"/>
    <xs:anyAttribute namespace="##other" processContents="lax"/>
  </xs:attributeGroup>
  <xs:simpleType name="arrayCoordinate"><xs:restriction base="xs:string"/></xs:simpleType>
  <xs:attribute name="arrayType" type="xs:string"/>
  <xs:attribute name="offset" type="tns:arrayCoordinate"/>
  <xs:attributeGroup name="arrayAttributes">
    <xs:attribute ref="tns:arrayType"/>
    <xs:attribute ref="tns:offset"/>
  </xs:attributeGroup>
  <xs:attribute name="position" type="tns:arrayCoordinate"/>
  <xs:attributeGroup name="arrayMemberAttributes">
    <xs:attribute ref="tns:position"/>
  </xs:attributeGroup>
  <xs:group name="Array">
    <xs:sequence>
      <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
  </xs:group>
  <xs:element name="Array" type="tns:Array"/>
  <xs:complexType name="Array">
    <xs:group ref="tns:Array" minOccurs="0"/>
    <xs:attributeGroup ref="tns:arrayAttributes"/>
    <xs:attributeGroup ref="tns:commonAttributes"/>
  </xs:complexType>
  <xs:element name="Struct" type="tns:Struct"/>
  <xs:group name="Struct">
    <xs:sequence>
      <xs:any namespace="##any" minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
    </xs:sequence>
  </xs:group>
  <xs:complexType name="Struct">
    <xs:group ref="tns:Struct" minOccurs="0"/>
    <xs:attributeGroup ref="tns:commonAttributes"/>
  </xs:complexType>
  <xs:simpleType name="base64"><xs:restriction base="xs:base64Binary"/></xs:simpleType>
"""
    + "".join(
        f'  <xs:complexType name="{name}"><xs:simpleContent><xs:extension base="xs:{name}">'
        '<xs:attributeGroup ref="tns:commonAttributes"/></xs:extension></xs:simpleContent>'
        "</xs:complexType>\n"
        for name in _SOAP_ENC_SIMPLE
    )
    + "</xs:schema>\n"
).encode()

_XML_XSD = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- The attributes of the XML namespace (xml:lang, xml:space, xml:base, xml:id). -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           targetNamespace="http://www.w3.org/XML/1998/namespace" xml:lang="en">
  <xs:attribute name="lang" type="xs:language"/>
  <xs:attribute name="space"><xs:simpleType><xs:restriction base="xs:NCName">
    <xs:enumeration value="default"/><xs:enumeration value="preserve"/>
  </xs:restriction></xs:simpleType></xs:attribute>
  <xs:attribute name="base" type="xs:anyURI"/>
  <xs:attribute name="id" type="xs:ID"/>
  <xs:attributeGroup name="specialAttrs">
    <xs:attribute ref="xml:base"/><xs:attribute ref="xml:lang"/>
    <xs:attribute ref="xml:space"/><xs:attribute ref="xml:id"/>
  </xs:attributeGroup>
</xs:schema>
"""

WELL_KNOWN_SCHEMAS: dict[str, bytes] = {
    "http://schemas.xmlsoap.org/soap/encoding": _SOAP_ENCODING_XSD,
    "https://www.w3.org/2001/xml.xsd": _XML_XSD,
    "http://www.w3.org/2001/xml.xsd": _XML_XSD,
}
"""Schemas served from local copies, by URL (without a trailing slash); nothing else remote
is ever read."""


def _safe_parser() -> etree.XMLParser:
    """A parser for schema files: no entities, no DTD, no network (one per use: lxml parsers
    are not thread-safe)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class LocalOnlyTransport(zeep.Transport):
    """A zeep transport that reads local files, serves :data:`WELL_KNOWN_SCHEMAS` from local
    copies and refuses every other fetch."""

    def __init__(self) -> None:
        super().__init__(cache=None, timeout=1, operation_timeout=1)

    def _load_remote_data(self, url: str) -> bytes:
        known = WELL_KNOWN_SCHEMAS.get(url.rstrip("/"))
        if known is not None:
            return known
        raise ValueError(
            f"refusing to fetch {url!r}: WSDLs and schemas are read from local files only"
        )


def _settings() -> zeep.Settings:
    # forbid_external stays off so that well-known schemas reach LocalOnlyTransport, which
    # serves them from local copies and refuses every other URL.
    return zeep.Settings(
        strict=False,
        raw_response=True,
        xml_huge_tree=False,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=False,
        xsd_ignore_sequence_order=False,
    )


def _scalar_kind(xsd_type: Any) -> ScalarKind:
    for cls, kind in _SCALARS:
        if isinstance(xsd_type, cls):
            return kind
    return "string"


def _qname_text(qname: Any) -> str:
    return qname.text if isinstance(qname, etree.QName) else str(qname or "")


def _max(value: Any) -> int | None:
    return None if value == "unbounded" else int(value)


def _xsd(local: str) -> str:
    return f"{{{_XSD}}}{local}"


class _Facets:
    """Enumeration facets of simple types, read from the schema files zeep loaded.

    zeep keeps no facets, so each schema file (and every file it includes) is parsed again
    here. Global simple types are keyed by their qualified name; anonymous ones by the name
    of the element or attribute declaring them, which is how zeep names them. A key defined
    twice with different values is ambiguous and yields no enumeration.
    """

    _MAX_BASE_HOPS = 8

    def __init__(self, documents: Iterable[tuple[str | None, str | None]]) -> None:
        self._entries: dict[str, set[tuple[tuple[str, ...], str | None]]] = {}
        visited: set[Path] = set()
        for location, namespace in documents:
            if location and not urlparse(location).scheme:
                self._read(Path(location), namespace, visited)

    def _read(self, path: Path, namespace: str | None, visited: set[Path]) -> None:
        path = path.resolve()
        if path in visited or not path.is_file():
            return
        visited.add(path)
        try:
            root = etree.parse(str(path), parser=_safe_parser()).getroot()
        except (OSError, etree.XMLSyntaxError):
            return
        schemas = [root] if root.tag == _xsd("schema") else list(root.iter(_xsd("schema")))
        for schema in schemas:
            target = schema.get("targetNamespace") or namespace
            self._index(schema, target)
            for tag in ("include", "redefine"):
                for node in schema.findall(_xsd(tag)):
                    location = node.get("schemaLocation")
                    if location and not urlparse(location).scheme:
                        self._read(path.parent / location, target, visited)

    def _index(self, schema: etree._Element, target: str | None) -> None:
        for simple in schema.iter(_xsd("simpleType")):
            parent = simple.getparent()
            if parent is None:
                continue
            if parent is schema:
                name = simple.get("name")
            elif parent.tag in (_xsd("element"), _xsd("attribute")):
                name = parent.get("name")
            else:
                continue
            restriction = simple.find(_xsd("restriction"))
            if not name or restriction is None:
                continue
            values = tuple(e.get("value", "") for e in restriction.findall(_xsd("enumeration")))
            base = restriction.get("base")
            base_name = None
            if base:
                prefix, _, local = base.rpartition(":")
                base_name = etree.QName(restriction.nsmap.get(prefix or None), local).text
            key = etree.QName(target or None, name).text
            self._entries.setdefault(key, set()).add((values, base_name))

    def enumeration(self, type_name: str) -> tuple[str, ...]:
        """The enumerated values of the simple type named ``type_name`` (``()`` if none)."""
        for _hop in range(self._MAX_BASE_HOPS):
            entries = self._entries.get(type_name)
            if not entries or len(entries) > 1:
                return ()
            ((values, base),) = entries
            if values or not base:
                return values
            type_name = base
        return ()


class _Describer:
    def __init__(self, facets: _Facets) -> None:
        self.memo: dict[int, TypeInfo] = {}
        self.facets = facets

    def type_info(self, xsd_type: Any) -> TypeInfo:
        key = id(xsd_type)
        if key in self.memo:
            return self.memo[key]
        name = _qname_text(getattr(xsd_type, "qname", None))
        if not isinstance(xsd_type, xsd_types.ComplexType):
            info = TypeInfo(
                name=name, scalar=_scalar_kind(xsd_type), enumeration=self._enumeration(xsd_type)
            )
            self.memo[key] = info
            return info
        info = TypeInfo(name=name)
        self.memo[key] = info  # registered before children: recursive types terminate
        content = getattr(xsd_type, "_element", None)
        array_type = getattr(getattr(xsd_type, "_array_type", None), "array_type", None)
        if array_type is not None:
            # soapenc:Array restricted with wsdl:arrayType="tns:Item[]": items named freely.
            info.array_item = self.type_info(array_type)
            info.open = True
            return info
        if isinstance(content, XsdElement) and isinstance(content.type, AnySimpleType):
            # simpleContent: zeep models the text as a pseudo-element named _value_1.
            info.scalar = _scalar_kind(content.type)
            info.enumeration = self._enumeration(content.type)
        else:
            children: list[ElementInfo] = []
            choices: list[ChoiceInfo] = []
            open_content = type(xsd_type) is xsd_types.AnyType
            for _name, element in xsd_type.elements_nested:
                open_content |= self._collect(element, children, choices, 1, 1, False)
            info.children = tuple(children)
            info.choices = tuple(choices)
            info.open = open_content
            if not children and content is None:
                base = getattr(xsd_type, "_extension", None) or getattr(
                    xsd_type, "_restriction", None
                )
                if base is not None and not isinstance(base, xsd_types.ComplexType):
                    info.scalar = _scalar_kind(base)
        info.attributes = self._attributes(xsd_type)
        return info

    def _enumeration(self, xsd_type: Any) -> tuple[str, ...]:
        return self.facets.enumeration(_qname_text(getattr(xsd_type, "qname", None)))

    def _attributes(self, xsd_type: Any) -> tuple[AttributeInfo, ...]:
        attributes = []
        for name, attribute in xsd_type.attributes:
            attr_type = getattr(attribute, "type", None)
            if attr_type is None:
                continue
            qname = getattr(attribute, "qname", None)
            namespace = qname.namespace if isinstance(qname, etree.QName) else None
            if namespace == _SOAP_ENC:
                continue  # encoding bookkeeping (arrayType, offset), not data
            attributes.append(
                AttributeInfo(
                    local=qname.localname if isinstance(qname, etree.QName) else name,
                    namespace=namespace,
                    scalar=_scalar_kind(attr_type),
                    required=bool(getattr(attribute, "required", False)),
                    enumeration=self._enumeration(attr_type),
                )
            )
        return tuple(attributes)

    def _collect(
        self,
        node: Any,
        out: list[ElementInfo],
        choices: list[ChoiceInfo],
        min_mult: int,
        max_mult: int | None,
        in_choice: bool,
    ) -> bool:
        """Flatten sequences, choices and groups into child elements; True for xsd:any."""
        if isinstance(node, XsdAny):
            return True
        if isinstance(node, XsdElement):
            out.append(
                self.element_info(
                    node, min_factor=0 if in_choice else min_mult, max_factor=max_mult
                )
            )
            return False
        if not (isinstance(node, Indicator) or hasattr(node, "child")):
            return False
        node_min = int(getattr(node, "min_occurs", 1) or 0)
        node_max = _max(getattr(node, "max_occurs", 1))
        choice = type(node).__name__ == "Choice"
        new_max = None if node_max is None or max_mult is None else node_max * max_mult
        new_min = min(min_mult, node_min)
        found_any = False
        members: Any = node if isinstance(node, Indicator) else [node.child]
        alternatives: list[tuple[str, ...]] = []
        for member in members:
            element = member[1] if isinstance(member, tuple) else member
            start = len(out)
            found_any |= self._collect(element, out, choices, new_min, new_max, in_choice or choice)
            alternatives.append(tuple(e.local for e in out[start:]))
        if choice:
            choices.append(
                ChoiceInfo(
                    alternatives=tuple(alternatives),
                    optional=new_min == 0 or in_choice,
                    repeated=new_max is None or new_max > 1,
                )
            )
        return found_any

    def element_info(
        self, element: Any, *, min_factor: int = 1, max_factor: int | None = 1
    ) -> ElementInfo:
        qname = element.qname if isinstance(element.qname, etree.QName) else None
        max_occurs = _max(element.max_occurs)
        if max_occurs is not None and max_factor is not None:
            max_occurs = max_occurs * max_factor
        elif max_factor is None:
            max_occurs = None
        return ElementInfo(
            local=qname.localname if qname is not None else str(element.name),
            namespace=qname.namespace if qname is not None else None,
            type=self.type_info(element.type),
            min_occurs=int(element.min_occurs or 0) * min_factor,
            max_occurs=max_occurs,
            nillable=bool(element.nillable),
        )

    def body_element(self, message: Any) -> ElementInfo | None:
        body = getattr(message, "body", None)
        if body is None:
            return None
        if body.qname is None:  # several body parts: treat the Body itself as open content
            return None
        return self.element_info(body)

    def fault_elements(self, operation: Any) -> tuple[ElementInfo, ...]:
        """The detail elements of the operation's declared faults (one per fault part)."""
        found: list[ElementInfo] = []
        for fault in (getattr(operation, "faults", None) or {}).values():
            parts = getattr(getattr(fault, "abstract", None), "parts", None) or {}
            for part in parts.values():
                element = getattr(part, "element", None)
                if element is not None and all(
                    (f.namespace, f.local) != _element_key(element) for f in found
                ):
                    found.append(self.element_info(element))
        return tuple(found)


def _element_key(element: Any) -> tuple[str | None, str]:
    qname = element.qname if isinstance(element.qname, etree.QName) else None
    if qname is None:
        return None, str(element.name)
    return qname.namespace, qname.localname


class WsdlRegistry:
    """Loads each WSDL once and keeps its zeep client for building request envelopes."""

    def __init__(self) -> None:
        self._clients: dict[Path, zeep.Client] = {}
        self._infos: dict[Path, WsdlInfo] = {}

    def client(self, path: Path) -> zeep.Client:
        """The zeep client for a local WSDL file (loaded on first use).

        Raises:
            ValueError: when the WSDL cannot be loaded; the message says why.
        """
        path = path.resolve()
        client = self._clients.get(path)
        if client is None:
            try:
                client = zeep.Client(
                    str(path), transport=LocalOnlyTransport(), settings=_settings()
                )
            except (zeep.exceptions.Error, etree.XMLSyntaxError, etree.DocumentInvalid) as exc:
                raise ValueError(f"{type(exc).__name__}: {exc}") from exc
            except (KeyError, AttributeError, TypeError, IndexError) as exc:
                raise ValueError(
                    f"unsupported or inconsistent WSDL ({type(exc).__name__}: {exc})"
                ) from exc
            self._clients[path] = client
        return client

    def describe(self, path: Path) -> WsdlInfo:
        """Plain descriptions of every SOAP service, port and operation of the WSDL.

        Raises:
            ValueError: when the WSDL cannot be loaded.
        """
        path = path.resolve()
        if path in self._infos:
            return self._infos[path]
        client = self.client(path)
        documents = [
            (getattr(d, "_location", None), getattr(d, "_target_namespace", None))
            for d in client.wsdl.types.documents
        ]
        describer = _Describer(_Facets(documents))
        services: dict[str, ServiceInfo] = {}
        for service_name, service in client.wsdl.services.items():
            ports: dict[str, PortInfo] = {}
            for port_name, port in service.ports.items():
                binding = port.binding
                if not isinstance(binding, SoapBinding):
                    continue
                operations = {}
                for op_name, operation in binding._operations.items():
                    style = operation.style or "document"
                    output = describer.body_element(operation.output) if operation.output else None
                    if style == "rpc" and output is not None:
                        # zeep names the rpc wrapper after the message; on the wire (WS-I BP
                        # R2729) it is the operation name + "Response".
                        output = dataclasses.replace(output, local=f"{op_name}Response")
                    operations[op_name] = OperationInfo(
                        name=op_name,
                        soap_action=operation.soapaction or "",
                        style=cast(Any, style),
                        input=describer.body_element(operation.input),
                        output=output,
                        faults=describer.fault_elements(operation),
                    )
                ports[port_name] = PortInfo(
                    name=port_name,
                    soap_version="1.2" if isinstance(binding, Soap12Binding) else "1.1",
                    address=(port.binding_options or {}).get("address", ""),
                    operations=operations,
                )
            if ports:
                services[service_name] = ServiceInfo(name=service_name, ports=ports)
        namespaces = {str(k): str(v) for k, v in client.wsdl.types.prefix_map.items() if k}
        info = WsdlInfo(path=path, services=services, namespaces=namespaces)
        self._infos[path] = info
        return info


# Soap11Binding is imported for type checks by callers of ``binding_version``.
_ = Soap11Binding
