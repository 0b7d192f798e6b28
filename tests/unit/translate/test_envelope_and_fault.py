"""SOAP envelopes and faults (mediator.translate.envelope, mediator.translate.fault)."""

from __future__ import annotations

import pytest
from lxml import etree

from mediator.errors import Fault, UpstreamError, UpstreamProtocolError
from mediator.translate.envelope import (
    SOAP11_ENV,
    SOAP12_ENV,
    build_envelope,
    read_envelope,
)
from mediator.translate.xmlsafe import XMLLimits, XMLRejected, parse_xml

ORD = "urn:example:orders"


def _soap11(body: str, header: str = "", prefix: str = "soap") -> bytes:
    head = f"<{prefix}:Header>{header}</{prefix}:Header>" if header else ""
    return (
        f'<{prefix}:Envelope xmlns:{prefix}="{SOAP11_ENV}">{head}'
        f"<{prefix}:Body>{body}</{prefix}:Body></{prefix}:Envelope>"
    ).encode()


def _soap12(body: str, header: str = "") -> bytes:
    head = f"<env:Header>{header}</env:Header>" if header else ""
    return (
        f'<env:Envelope xmlns:env="{SOAP12_ENV}">{head}<env:Body>{body}</env:Body></env:Envelope>'
    ).encode()


def _fault(data: bytes, expected_version: str = "1.1", **kwargs) -> Fault:
    with pytest.raises(Fault) as info:
        read_envelope(data, expected_version=expected_version, **kwargs)
    return info.value


# -- reading envelopes ---------------------------------------------------------------------


def test_reads_a_soap11_envelope():
    """A SOAP 1.1 envelope gives its version and Body; no Header gives None."""
    envelope = read_envelope(_soap11(f'<o:R xmlns:o="{ORD}"/>'), expected_version="1.1")
    assert envelope.version == "1.1"
    assert envelope.header is None
    assert envelope.body.tag == f"{{{SOAP11_ENV}}}Body"
    assert envelope.body[0].tag == f"{{{ORD}}}R"


def test_reads_a_soap12_envelope_with_header():
    """A SOAP 1.2 envelope gives its version, Header and Body."""
    data = _soap12(f'<o:R xmlns:o="{ORD}"/>', header=f'<o:Trace xmlns:o="{ORD}">t1</o:Trace>')
    envelope = read_envelope(data, expected_version="1.2")
    assert envelope.version == "1.2"
    assert envelope.header is not None
    assert envelope.header.findtext(f"{{{ORD}}}Trace") == "t1"
    assert envelope.body.tag == f"{{{SOAP12_ENV}}}Body"


def test_any_envelope_prefix_is_accepted():
    """The envelope prefix does not matter, only its namespace."""
    envelope = read_envelope(_soap11("<R/>", prefix="S"), expected_version="1.1")
    assert envelope.body[0].tag == "R"


def test_empty_body_is_accepted():
    """An empty Body is a valid (empty) response."""
    envelope = read_envelope(_soap11(""), expected_version="1.1")
    assert len(envelope.body) == 0


def test_wrong_soap_version_is_a_protocol_error():
    """A SOAP 1.2 envelope answering a SOAP 1.1 request is a protocol error."""
    with pytest.raises(UpstreamProtocolError) as info:
        read_envelope(_soap12("<R/>"), expected_version="1.1", http_status=200, upstream="http://u")
    assert str(info.value) == "a SOAP 1.2 envelope answered a SOAP 1.1 request"
    assert (info.value.status, info.value.upstream) == (200, "http://u")


def test_soap11_answering_soap12_is_a_protocol_error():
    """A SOAP 1.1 envelope answering a SOAP 1.2 request is a protocol error."""
    with pytest.raises(UpstreamProtocolError, match=r"^a SOAP 1.1 envelope answered a SOAP 1.2"):
        read_envelope(_soap11("<R/>"), expected_version="1.2")


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>Service Unavailable</body></html>",
        b'<Envelope xmlns="urn:not-soap"><Body/></Envelope>',
        b"<Envelope><Body/></Envelope>",
        f'<s:Body xmlns:s="{SOAP11_ENV}"/>'.encode(),
    ],
    ids=["html", "foreign-namespace", "no-namespace", "body-as-root"],
)
def test_non_envelope_root_is_a_protocol_error(data):
    """XML whose root is not a SOAP Envelope is a protocol error."""
    with pytest.raises(UpstreamProtocolError) as info:
        read_envelope(data, expected_version="1.1", http_status=502, upstream="u")
    assert str(info.value) == "the response is XML but not a SOAP envelope"
    assert info.value.status == 502


def test_missing_body_is_a_protocol_error():
    """An envelope without a Body is a protocol error."""
    data = f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Header/></s:Envelope>'.encode()
    with pytest.raises(UpstreamProtocolError) as info:
        read_envelope(data, expected_version="1.1")
    assert str(info.value) == "the SOAP envelope has no Body"


def test_body_in_another_namespace_is_missing():
    """A Body element outside the envelope namespace does not count as the Body."""
    data = f'<s:Envelope xmlns:s="{SOAP11_ENV}"><Body/></s:Envelope>'.encode()
    with pytest.raises(UpstreamProtocolError, match="has no Body"):
        read_envelope(data, expected_version="1.1")


def test_ill_formed_response_is_a_protocol_error():
    """Ill-formed XML is a protocol error carrying the HTTP status; lxml's error is not chained."""
    with pytest.raises(UpstreamProtocolError) as info:
        read_envelope(b"<soap:Envelope", expected_version="1.1", http_status=500, upstream="u")
    assert str(info.value).startswith("ill-formed XML (line 1): ")
    assert (info.value.status, info.value.upstream) == (500, "u")
    assert info.value.__cause__ is None


def test_dtd_in_response_is_a_protocol_error():
    """A response carrying a DTD is refused as a protocol error."""
    data = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + _soap11("<R>&e;</R>")
    with pytest.raises(UpstreamProtocolError) as info:
        read_envelope(data, expected_version="1.1")
    assert str(info.value) == "XML with a DTD (DOCTYPE) is not accepted"


def test_limits_are_applied():
    """Structural limits passed to read_envelope bound the response."""
    data = _soap11("<a><b><c/></b></a>")
    assert (
        read_envelope(data, expected_version="1.1", limits=XMLLimits(max_depth=5)).version == "1.1"
    )
    with pytest.raises(UpstreamProtocolError, match="XML nested deeper than 4 levels"):
        read_envelope(data, expected_version="1.1", limits=XMLLimits(max_depth=4))


# -- SOAP 1.1 faults -----------------------------------------------------------------------

FAULT11 = f"""<soap:Fault>
  <faultcode>soap:Client.Auth.Expired</faultcode>
  <faultstring>  Token expired  </faultstring>
  <faultactor>http://gateway.example/auth</faultactor>
  <detail>
    <o:NotFound xmlns:o="{ORD}"><o:Entity>Order</o:Entity><o:Key>42</o:Key></o:NotFound>
  </detail>
</soap:Fault>"""


def test_soap11_fault_is_raised_with_its_fields():
    """A SOAP 1.1 fault becomes Fault with code, string, actor and detail."""
    fault = _fault(_soap11(FAULT11), http_status=500, upstream="http://u")
    assert fault.soap_version == "1.1"
    assert fault.code == "Client"
    assert fault.code_namespace == SOAP11_ENV
    assert fault.subcodes == ("Auth", "Expired")
    assert fault.string == "Token expired"
    assert fault.actor == "http://gateway.example/auth"
    assert fault.detail == {"NotFound": {"Entity": "Order", "Key": "42"}}
    assert (fault.http_status, fault.upstream) == (500, "http://u")
    assert isinstance(fault, UpstreamError)
    assert str(fault) == "SOAP fault Client: Token expired"


def test_soap11_fault_code_prefix_is_resolved_against_its_own_declarations():
    """The faultcode's prefix is resolved with the namespaces in scope, whatever the prefix."""
    body = (
        '<S:Fault xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:app="urn:app">'
        "<faultcode>app:Throttled</faultcode><faultstring>slow down</faultstring></S:Fault>"
    )
    fault = _fault(_soap11(body, prefix="S"))
    assert (fault.code, fault.code_namespace, fault.subcodes) == ("Throttled", "urn:app", ())


def test_soap11_unprefixed_code_uses_the_default_namespace():
    """An unprefixed faultcode resolves to the default namespace in scope (None here)."""
    fault = _fault(
        _soap11(
            "<soap:Fault><faultcode>Server</faultcode><faultstring>x</faultstring></soap:Fault>"
        )
    )
    assert (fault.code, fault.code_namespace) == ("Server", None)


def test_soap11_dotted_code():
    """A dotted code keeps its first part as code and the rest as subcodes."""
    body = "<soap:Fault><faultcode>soap:Client.Auth</faultcode><faultstring>no</faultstring></soap:Fault>"
    fault = _fault(_soap11(body))
    assert (fault.code, fault.subcodes) == ("Client", ("Auth",))


def test_soap11_fault_without_code_defaults_to_server():
    """A fault without faultcode is a Server fault with an empty string."""
    fault = _fault(_soap11("<soap:Fault/>"))
    assert (fault.code, fault.string, fault.actor, fault.detail) == ("Server", "", None, None)


def test_soap11_fault_detail_text():
    """A detail holding only text gives that text."""
    body = "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring><detail> boom </detail></soap:Fault>"
    assert _fault(_soap11(body)).detail == "boom"


def test_soap11_empty_detail_is_none():
    """An empty detail gives None."""
    body = "<soap:Fault><faultcode>soap:Server</faultcode><faultstring>x</faultstring><detail/></soap:Fault>"
    assert _fault(_soap11(body)).detail is None


def test_fault_detail_keeps_attributes_lists_and_nil():
    """Detail entries keep attributes (@name), repeated children as lists, nil as None."""
    body = """<soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad</faultstring>
      <detail><v:Errors xmlns:v="urn:v" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" count="2">
        <v:Error field="qty">too big</v:Error>
        <v:Error field="sku">unknown</v:Error>
        <v:Hint xsi:nil="true"/>
      </v:Errors></detail></soap:Fault>"""
    assert _fault(_soap11(body)).detail == {
        "Errors": {
            "@count": "2",
            "Error": [{"@field": "qty", "#text": "too big"}, {"@field": "sku", "#text": "unknown"}],
            "Hint": None,
        }
    }


def test_fault_detail_repeated_entries_become_a_list():
    """Several detail entries with the same name are all kept, as a list."""
    body = """<soap:Fault><faultcode>soap:Client</faultcode><faultstring>bad</faultstring>
      <detail><Error>first</Error><Error>second</Error><Code>7</Code></detail></soap:Fault>"""
    assert _fault(_soap11(body)).detail == {"Error": ["first", "second"], "Code": "7"}


def test_fault_after_a_comment_is_found():
    """Comments before the Fault element in the Body do not hide it."""
    body = "<!-- note --><soap:Fault><faultcode>soap:Client</faultcode><faultstring>x</faultstring></soap:Fault>"
    assert _fault(_soap11(body)).code == "Client"


def test_fault_not_first_in_body_is_not_a_fault():
    """Only a Fault as the Body's first element is a fault."""
    body = "<R/><soap:Fault><faultcode>soap:Client</faultcode></soap:Fault>"
    assert read_envelope(_soap11(body), expected_version="1.1").body[0].tag == "R"


# -- SOAP 1.2 faults -----------------------------------------------------------------------

FAULT12 = """<env:Fault xmlns:m="urn:m">
  <env:Code>
    <env:Value>env:Sender</env:Value>
    <env:Subcode>
      <env:Value>m:Auth</env:Value>
      <env:Subcode><env:Value>m:Expired</env:Value></env:Subcode>
    </env:Subcode>
  </env:Code>
  <env:Reason><env:Text xml:lang="en">Token expired</env:Text></env:Reason>
  <env:Node>http://node.example</env:Node>
  <env:Role>http://role.example</env:Role>
  <env:Detail><m:Info code="E1">expired at noon</m:Info></env:Detail>
</env:Fault>"""


def test_soap12_fault_is_raised_with_its_fields():
    """A SOAP 1.2 fault gives Code/Value, the Subcode chain, Reason/Text, Role and Detail."""
    fault = _fault(_soap12(FAULT12), expected_version="1.2", http_status=400)
    assert fault.soap_version == "1.2"
    assert fault.code == "Sender"
    assert fault.code_namespace == SOAP12_ENV
    assert fault.subcodes == ("Auth", "Expired")
    assert fault.string == "Token expired"
    assert fault.actor == "http://role.example"
    assert fault.detail == {"Info": {"@code": "E1", "#text": "expired at noon"}}
    assert fault.http_status == 400


def test_soap12_fault_uses_node_without_role():
    """Without Role, the Node is the fault's actor."""
    body = FAULT12.replace("<env:Role>http://role.example</env:Role>", "")
    assert _fault(_soap12(body), expected_version="1.2").actor == "http://node.example"


def test_soap12_minimal_fault():
    """A 1.2 fault without Code, Reason or Detail is a Receiver fault."""
    fault = _fault(_soap12("<env:Fault/>"), expected_version="1.2")
    assert (fault.code, fault.string, fault.subcodes, fault.actor, fault.detail) == (
        "Receiver",
        "",
        (),
        None,
        None,
    )


def test_fault_of_the_other_version_is_still_raised():
    """A Fault is raised even when the envelope is not of the expected version."""
    fault = _fault(_soap12(FAULT12), expected_version="1.1")
    assert (fault.soap_version, fault.code) == ("1.2", "Sender")


# -- building envelopes ------------------------------------------------------------------


@pytest.mark.parametrize(("version", "namespace"), [("1.1", SOAP11_ENV), ("1.2", SOAP12_ENV)])
def test_build_envelope_wraps_the_body(version, namespace):
    """The body XML is wrapped in an Envelope/Body of the version's namespace."""
    data = build_envelope(
        version, "<o:GetOrder><o:OrderId>1</o:OrderId></o:GetOrder>", namespaces={"o": ORD}
    )
    assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
    root = parse_xml(data)
    assert root.tag == f"{{{namespace}}}Envelope"
    assert root.find(f"{{{namespace}}}Header") is None
    assert root.find(f"{{{namespace}}}Body/{{{ORD}}}GetOrder/{{{ORD}}}OrderId").text == "1"


def test_build_envelope_with_header():
    """Header XML goes into a Header before the Body."""
    data = build_envelope("1.1", "<o:B/>", header_xml="<o:Token>t</o:Token>", namespaces={"o": ORD})
    root = parse_xml(data)
    assert [etree.QName(child).localname for child in root] == ["Header", "Body"]
    assert root.findtext(f"{{{SOAP11_ENV}}}Header/{{{ORD}}}Token") == "t"


def test_build_envelope_escapes_namespace_uris():
    """An ampersand in a namespace URI is escaped in the declaration."""
    uri = "http://x.example/ns?a=1&b=2"
    root = parse_xml(build_envelope("1.1", "<p:X/>", namespaces={"p": uri}))
    assert root.find(f"{{{SOAP11_ENV}}}Body")[0].tag == f"{{{uri}}}X"


def test_build_envelope_ignores_a_soapenv_mapping_prefix():
    """A mapping prefix named soapenv does not redeclare the envelope prefix."""
    root = parse_xml(build_envelope("1.2", "<x/>", namespaces={"soapenv": "urn:other"}))
    assert root.tag == f"{{{SOAP12_ENV}}}Envelope"


def test_build_envelope_rejects_ill_formed_body():
    """A body that is not well-formed XML is rejected."""
    with pytest.raises(XMLRejected):
        build_envelope("1.1", "<o:A><o:B></o:A>", namespaces={"o": ORD})


def test_build_envelope_rejects_undeclared_prefix():
    """A body using a prefix the mapping does not declare is rejected."""
    with pytest.raises(XMLRejected, match="ill-formed XML"):
        build_envelope("1.1", "<q:A/>", namespaces={"o": ORD})


def test_built_envelope_reads_back():
    """An envelope built by build_envelope is read back by read_envelope."""
    data = build_envelope("1.2", f'<R xmlns="{ORD}">ok</R>')
    envelope = read_envelope(data, expected_version="1.2")
    assert envelope.body.findtext(f"{{{ORD}}}R") == "ok"


@pytest.mark.parametrize(
    "body",
    [
        "<o:A>&ent;</o:A>",
        "<o:A>&#0;</o:A>",
        "<o:A>\x01</o:A>",
        '<!DOCTYPE o:A [<!ENTITY e "x">]><o:A>&e;</o:A>',
        '<o:A><!DOCTYPE x SYSTEM "file:///etc/passwd"></o:A>',
        "<o:A a='1' a='2'/>",
        "text</soapenv:Body>",
        "<o:A>]]></o:A>",
        "<o:A/><?xml version='1.0'?>",
    ],
)
def test_build_envelope_refuses_what_parse_xml_refuses(body):
    """Entities, DTDs, invalid characters, duplicate attributes or a broken Envelope are
    refused with parse_xml's message (the check is the same well-formedness)."""
    with pytest.raises(XMLRejected) as built:
        build_envelope("1.1", body, namespaces={"o": ORD})
    text = f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENV}" xmlns:o="{ORD}">'
    text += f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    with pytest.raises(XMLRejected) as parsed:
        parse_xml(text.encode())
    assert str(built.value) == str(parsed.value)


def test_build_envelope_accepts_predefined_and_character_references():
    """The five predefined entities and character references are plain XML."""
    data = build_envelope(
        "1.1", "<o:A>&lt;&amp;&gt;&quot;&apos;&#233;&#x1F600;</o:A>", namespaces={"o": ORD}
    )
    assert parse_xml(data).findtext(f".//{{{ORD}}}A") == "<&>\"'é\U0001f600"


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\x1f", "\ufffe", "\uffff"])
def test_vouched_content_with_characters_xml_cannot_carry_is_still_refused(char):
    """well_formed vouches for structure only: characters XML cannot carry still lead to
    the parse and its error."""
    body = f"<o:A>{char}</o:A>"
    with pytest.raises(XMLRejected) as vouched:
        build_envelope("1.1", body, namespaces={"o": ORD}, well_formed=True)
    with pytest.raises(XMLRejected) as parsed:
        build_envelope("1.1", body, namespaces={"o": ORD})
    assert str(vouched.value) == str(parsed.value)


def test_vouched_content_is_written_unchanged():
    """Skipping the parse changes nothing in the bytes written."""
    body, header = "<o:A>\t&lt;é\U0001f600\r\n</o:A>", "<o:T>t</o:T>"
    built = [
        build_envelope("1.2", body, header_xml=header, namespaces={"o": ORD}, well_formed=flag)
        for flag in (True, False)
    ]
    assert built[0] == built[1]
