"""The WSDL registry: plain descriptions of what each WSDL offers, and zeep clients on demand.

WSDLs are read from local files only: imports and includes are resolved relative to the
file, and anything remote is refused (a WSDL is never fetched at run time). The few schemas
every SOAP toolkit takes for granted (the SOAP 1.1 encoding schema that rpc/encoded WSDLs
import by namespace, and ``xml.xsd``) are served from copies carried here. DTDs and entities
are forbidden. Each WSDL is loaded once per registry.

Parsing happens in :mod:`mediator.upstream.zeep_wsdl`, imported only when a WSDL has to be
parsed: a registry with a :class:`~mediator.upstream.wsdl_cache.WsdlCache` answers
:meth:`WsdlRegistry.describe` from the cache while no file the description was read from has
changed, and builds a zeep client only when :meth:`WsdlRegistry.client` is first called.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mediator.mapping.service_info import WsdlInfo
from mediator.upstream.wsdl_cache import SourceRecorder, WsdlCache

if TYPE_CHECKING:
    import zeep

__all__ = ["WELL_KNOWN_SCHEMAS", "WsdlRegistry"]

_XSD = "http://www.w3.org/2001/XMLSchema"
_SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"

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


class WsdlRegistry:
    """Loads each WSDL once: its description (from ``cache`` when given and still valid) and,
    on demand, the zeep client that builds request envelopes."""

    def __init__(self, cache: WsdlCache | None = None) -> None:
        self.cache = cache
        self._clients: dict[Path, zeep.Client] = {}
        self._sources: dict[Path, SourceRecorder] = {}
        self._infos: dict[Path, WsdlInfo] = {}

    def client(self, path: Path) -> zeep.Client:
        """The zeep client for a local WSDL file (parsed on first use).

        Raises:
            ValueError: when the WSDL cannot be loaded; the message says why.
            OSError: when the WSDL file cannot be read.
        """
        path = path.resolve()
        client = self._clients.get(path)
        if client is None:
            from mediator.upstream import zeep_wsdl

            recorder = SourceRecorder()
            client = zeep_wsdl.load_client(path, recorder)
            self._clients[path] = client
            self._sources[path] = recorder
        return client

    def describe(self, path: Path) -> WsdlInfo:
        """Plain descriptions of every SOAP service, port and operation of the WSDL.

        Raises:
            ValueError: when the WSDL cannot be loaded.
            OSError: when the WSDL file cannot be read.
        """
        path = path.resolve()
        info = self._infos.get(path)
        if info is not None:
            return info
        info = self.cache.lookup(path) if self.cache is not None else None
        if info is None:
            from mediator.upstream import zeep_wsdl

            client = self.client(path)
            recorder = self._sources[path]
            info = zeep_wsdl.describe_client(client, path, recorder)
            if self.cache is not None and recorder.consistent:
                self.cache.store(path, info, recorder.files)
        self._infos[path] = info
        return info
