"""Generates ``large_erp.wsdl``: a large document/literal WSDL with hundreds of types.

Run ``python tests/wsdl/corpus/generate_large.py`` after changing this script and commit its
output. The result is deterministic: the same script always writes the same file.

The WSDL models a legacy ERP: 240 entity types (scalar fields of every common XSD type,
twelve enumerations, references to earlier entities, optional and repeated), 40 value types
(some with attributes, some simpleContent), 12 enumerations, elements shared through
``ref``, and 60 operations (keyed reads, searches returning lists, updates taking nested
input): about 400 named and anonymous types in all.
"""

from __future__ import annotations

from pathlib import Path

OUTPUT = Path(__file__).with_name("large_erp.wsdl")
NS = "urn:example:erp"
ENTITIES = 240
VALUES = 40
ENUMS = 12
READS = 30
SEARCHES = 18
UPDATES = 12
SCALARS = ("xs:string", "xs:int", "xs:decimal", "xs:date", "xs:boolean", "xs:dateTime", "xs:long")
WORDS = (
    "Account", "Invoice", "Ledger", "Vendor", "Asset", "Budget", "Contract", "Shipment",
    "Warehouse", "Employee", "Payroll", "Project", "Receipt", "Quote", "Tax", "Journal",
    "Batch", "Plant", "Route", "Tariff",
)  # fmt: skip


def _entity(index: int) -> str:
    return f"{WORDS[index % len(WORDS)]}{index:03d}"


def _enum_type(index: int) -> str:
    values = "".join(
        f'<xs:enumeration value="{chr(65 + index)}{n}"/>' for n in range(3 + index % 4)
    )
    return (
        f'    <xs:simpleType name="Code{index:02d}"><xs:restriction base="xs:string">'
        f"{values}</xs:restriction></xs:simpleType>\n"
    )


def _value_type(index: int) -> str:
    if index % 4 == 0:
        return (
            f'    <xs:complexType name="Amount{index:02d}"><xs:simpleContent>'
            f'<xs:extension base="xs:decimal"><xs:attribute name="currency" type="erp:Code{index % ENUMS:02d}"'
            ' use="required"/></xs:extension></xs:simpleContent></xs:complexType>\n'
        )
    return (
        f'    <xs:complexType name="Value{index:02d}"><xs:sequence>'
        f'<xs:element name="Label" type="xs:string"/>'
        f'<xs:element name="Score" type="xs:int" minOccurs="0"/>'
        f'<xs:element name="Weight" type="xs:decimal" minOccurs="0"/>'
        f'</xs:sequence><xs:attribute name="kind" type="erp:Code{index % ENUMS:02d}"/></xs:complexType>\n'
    )


def _value_name(index: int) -> str:
    return f"Amount{index:02d}" if index % 4 == 0 else f"Value{index:02d}"


def _entity_type(index: int) -> str:
    fields = ['<xs:element name="Id" type="xs:int"/>', '<xs:element name="Name" type="xs:string"/>']
    for n in range(3 + index % 5):
        scalar = SCALARS[(index + n) % len(SCALARS)]
        optional = ' minOccurs="0"' if (index + n) % 3 == 0 else ""
        fields.append(f'<xs:element name="Field{n}" type="{scalar}"{optional}/>')
    fields.append(f'<xs:element name="Status" type="erp:Code{index % ENUMS:02d}"/>')
    fields.append(f'<xs:element name="Measure" type="erp:{_value_name(index % VALUES)}"/>')
    if index % 6 == 1:
        fields.append('<xs:element ref="erp:AuditStamp"/>')
    if index >= 10:
        ref = _entity(index // 3)
        fields.append(f'<xs:element name="Parent" type="erp:{ref}" minOccurs="0"/>')
    if index >= 20 and index % 2 == 0:
        ref = _entity(index // 5)
        fields.append(
            f'<xs:element name="Item" type="erp:{ref}" minOccurs="0" maxOccurs="unbounded"/>'
        )
    if index % 7 == 0:
        fields.append(
            '<xs:element name="Note" minOccurs="0" maxOccurs="3"><xs:simpleType>'
            '<xs:restriction base="xs:string"><xs:maxLength value="80"/></xs:restriction>'
            "</xs:simpleType></xs:element>"
        )
    attributes = '<xs:attribute name="revision" type="xs:int"/>' if index % 5 == 0 else ""
    body = "".join(fields)
    return (
        f'    <xs:complexType name="{_entity(index)}"><xs:sequence>{body}</xs:sequence>'
        f"{attributes}</xs:complexType>\n"
    )


def _operations() -> list[tuple[str, str, str]]:
    """(operation, input element body, output element body) for every operation."""
    operations = []
    for n in range(READS):
        entity = _entity(n * 4 % ENTITIES)
        operations.append(
            (
                f"Get{entity}",
                '<xs:element name="Id" type="xs:int"/>',
                f'<xs:element name="{entity}" type="erp:{entity}"/>',
            )
        )
    for n in range(SEARCHES):
        entity = _entity((n * 7 + 3) % ENTITIES)
        operations.append(
            (
                f"Search{entity}",
                '<xs:element name="Name" type="xs:string" minOccurs="0"/>'
                f'<xs:element name="Status" type="erp:Code{n % ENUMS:02d}" minOccurs="0"/>'
                '<xs:element name="Limit" type="xs:int" minOccurs="0"/>',
                f'<xs:element name="Result" type="erp:{entity}" minOccurs="0" maxOccurs="unbounded"/>'
                '<xs:element name="Total" type="xs:long"/>',
            )
        )
    for n in range(UPDATES):
        entity = _entity((n * 11 + 5) % ENTITIES)
        operations.append(
            (
                f"Update{entity}",
                f'<xs:element name="{entity}" type="erp:{entity}"/>'
                '<xs:element name="Reason" type="xs:string" minOccurs="0"/>',
                '<xs:element name="Accepted" type="xs:boolean"/><xs:element ref="erp:AuditStamp"/>',
            )
        )
    return operations


def generate() -> str:
    """The WSDL text."""
    types = [_enum_type(n) for n in range(ENUMS)]
    types += [_value_type(n) for n in range(VALUES)]
    types += [_entity_type(n) for n in range(ENTITIES)]
    types.append(
        '    <xs:element name="AuditStamp"><xs:complexType><xs:sequence>'
        '<xs:element name="At" type="xs:dateTime"/><xs:element name="By" type="xs:string"/>'
        "</xs:sequence></xs:complexType></xs:element>\n"
    )
    messages, port_ops, binding_ops = [], [], []
    for name, request, response in _operations():
        types.append(
            f'    <xs:element name="{name}"><xs:complexType><xs:sequence>{request}'
            f"</xs:sequence></xs:complexType></xs:element>\n"
            f'    <xs:element name="{name}Response"><xs:complexType><xs:sequence>{response}'
            f"</xs:sequence></xs:complexType></xs:element>\n"
        )
        messages.append(
            f'  <wsdl:message name="{name}In"><wsdl:part name="parameters" element="erp:{name}"/></wsdl:message>\n'
            f'  <wsdl:message name="{name}Out"><wsdl:part name="parameters" element="erp:{name}Response"/></wsdl:message>\n'
        )
        port_ops.append(
            f'    <wsdl:operation name="{name}"><wsdl:input message="erp:{name}In"/>'
            f'<wsdl:output message="erp:{name}Out"/></wsdl:operation>\n'
        )
        binding_ops.append(
            f'    <wsdl:operation name="{name}"><soap:operation soapAction="{NS}/{name}"/>'
            '<wsdl:input><soap:body use="literal"/></wsdl:input>'
            '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>\n'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!-- Corpus: a large WSDL (hundreds of types, 60 operations). Generated by\n"
        "     generate_large.py in this directory: edit the script, not this file. -->\n"
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"\n'
        '                  xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"\n'
        '                  xmlns:xs="http://www.w3.org/2001/XMLSchema"\n'
        f'                  xmlns:erp="{NS}" targetNamespace="{NS}" name="Erp">\n'
        "  <wsdl:types>\n"
        f'   <xs:schema targetNamespace="{NS}" elementFormDefault="qualified">\n'
        + "".join(types)
        + "   </xs:schema>\n  </wsdl:types>\n"
        + "".join(messages)
        + '  <wsdl:portType name="ErpPortType">\n'
        + "".join(port_ops)
        + "  </wsdl:portType>\n"
        + '  <wsdl:binding name="ErpSoap" type="erp:ErpPortType">\n'
        + '    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>\n'
        + "".join(binding_ops)
        + "  </wsdl:binding>\n"
        + '  <wsdl:service name="ErpService">\n'
        + '    <wsdl:port name="ErpSoap" binding="erp:ErpSoap">\n'
        + '      <soap:address location="http://legacy.example.invalid/erp"/>\n'
        + "    </wsdl:port>\n  </wsdl:service>\n</wsdl:definitions>\n"
    )


def main() -> None:
    """Write the WSDL next to this script."""
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
