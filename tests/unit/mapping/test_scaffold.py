"""Scaffolding mapping files from WSDL descriptions (mediator.mapping.scaffold), and the
descriptions it relies on (mediator.upstream.wsdl)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mediator.mapping.loader import load_mappings
from mediator.mapping.model import Route
from mediator.mapping.scaffold import (
    ScaffoldError,
    ScaffoldFile,
    ScaffoldOptions,
    example_value,
    scaffold_mappings,
)
from mediator.mapping.service_info import TypeInfo
from mediator.mapping.yamlsource import load_yaml
from mediator.translate.context import build_context
from mediator.translate.request import render_request
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO

CORPUS = REPO / "tests" / "wsdl" / "corpus"
NS = "urn:test:scaffold"


def _wsdl(
    tmp_path: Path,
    operations: list[tuple[str, str, str]],
    types: str = "",
    *,
    address: str = "http://legacy.invalid/svc",
    name: str = "svc.wsdl",
) -> Path:
    """A document/literal wrapped WSDL: (operation, input sequence, output sequence) each."""
    elements = "".join(
        f'<xs:element name="{op}"><xs:complexType><xs:sequence>{inp}</xs:sequence></xs:complexType></xs:element>'
        f'<xs:element name="{op}Response"><xs:complexType><xs:sequence>{out}</xs:sequence></xs:complexType></xs:element>'
        for op, inp, out in operations
    )
    messages = "".join(
        f'<message name="{op}In"><part name="p" element="t:{op}"/></message>'
        f'<message name="{op}Out"><part name="p" element="t:{op}Response"/></message>'
        for op, _, _ in operations
    )
    port_ops = "".join(
        f'<operation name="{op}"><input message="t:{op}In"/><output message="t:{op}Out"/></operation>'
        for op, _, _ in operations
    )
    binding_ops = "".join(
        f'<operation name="{op}"><soap:operation soapAction="{NS}/{op}"/>'
        '<input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>'
        for op, _, _ in operations
    )
    path = tmp_path / name
    path.write_text(
        f"""<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
            xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="{NS}" targetNamespace="{NS}">
          <types><xs:schema targetNamespace="{NS}" elementFormDefault="qualified">{types}{elements}</xs:schema></types>
          {messages}<portType name="PT">{port_ops}</portType>
          <binding name="B" type="t:PT"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>{binding_ops}</binding>
          <service name="Svc"><port name="P" binding="t:B"><soap:address location="{address}"/></port></service>
        </definitions>"""
    )
    return path


def _scaffold(registry: WsdlRegistry, path: Path, **options: Any) -> ScaffoldFile:
    (file,) = scaffold_mappings(registry.describe(path), ScaffoldOptions(wsdl=str(path), **options))
    return file


def _load(registry: WsdlRegistry, tmp_path: Path, file: ScaffoldFile) -> dict[str, Route]:
    """Write and load the scaffolded file; its routes by operation name."""
    target = tmp_path / "scaffolded.yaml"
    target.write_text(file.text)
    mappings = load_mappings([target], describe=registry.describe, environ={})
    return {route.operation.name: route for route in mappings.routes}


def _routes(file: ScaffoldFile) -> list[dict[str, Any]]:
    return list(load_yaml(file.text, file.name).data["routes"])


def _render(route: Route, body: Any = None, path: dict[str, str] | None = None) -> Any:
    context = build_context(route, path=path or {}, query={}, body=body, headers={})
    return render_request(route, context)


ORDER_TYPES = """
<xs:simpleType name="Status"><xs:restriction base="xs:string">
  <xs:enumeration value="open"/><xs:enumeration value="shipped"/></xs:restriction></xs:simpleType>
<xs:complexType name="Line"><xs:sequence>
  <xs:element name="Sku" type="xs:string"/><xs:element name="Qty" type="xs:int"/></xs:sequence></xs:complexType>
"""
GET_ORDER = (
    "GetOrder",
    '<xs:element name="OrderId" type="xs:int"/>',
    '<xs:element name="Order"><xs:complexType><xs:sequence>'
    '<xs:element name="Id" type="xs:int"/><xs:element name="Status" type="t:Status"/>'
    '<xs:element name="Line" type="t:Line" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>',
)
CANCEL_ORDER = (
    "CancelOrder",
    '<xs:element name="OrderId" type="xs:int"/><xs:element name="Note" type="xs:string" minOccurs="0"/>',
    '<xs:element name="Done" type="xs:boolean"/>',
)

EXPECTED = """\
version: 1
defaults:
  naming: camel                                 # JSON names of fields derived from the XSD: camel or keep
service:
  wsdl: svc.wsdl
  service: Svc
  port: P                                       # SOAP 1.1
  address: "${SVC_URL:-http://legacy.invalid/svc}"
  namespaces:
    scaffold: urn:test:scaffold
routes:

  # GetOrder (document; SOAPAction urn:test:scaffold/GetOrder)
  - get: "/orders/{orderId}"
    name: get-order
    summary: Get order
    operation: GetOrder
    params:
      path: {orderId: integer}                  # OrderId: int
    request:
      args:
        OrderId: "{{ path.orderId }}"           # xsd:int (integer)
    response:
      root: scaffold:GetOrderResponse/scaffold:Order # scaffold:Order
      fields:
        id: scaffold:Id                         # xsd:int (integer)
        status: scaffold:Status                 # scaffold:Status: open | shipped
        lines:                                  # scaffold:Line, list
          xpath: scaffold:Line
          fields:
            sku: scaffold:Sku                   # xsd:string
            qty: scaffold:Qty                   # xsd:int (integer)

  # CancelOrder (document; SOAPAction urn:test:scaffold/CancelOrder)
  - post: /cancel-order
    name: cancel-order
    summary: Cancel order
    operation: CancelOrder
    request:
      args:
        OrderId: "{{ body.orderId }}"           # xsd:int (integer)
        Note: "{{ body.note | default(none) }}" # xsd:string, optional
    # example body: {"orderId": 1, "note": "text"}
    response:
      root: scaffold:CancelOrderResponse        # scaffold:CancelOrderResponse
      fields:
        done: scaffold:Done                     # xsd:boolean
"""


def test_whole_file_for_a_keyed_read_and_an_update(registry: WsdlRegistry, tmp_path: Path) -> None:
    """The complete output for a small WSDL: header, service, a GET with a typed path
    parameter, a POST with guarded optional input, fields with types, lists and enumerations
    in comments."""
    path = _wsdl(tmp_path, [GET_ORDER, CANCEL_ORDER], ORDER_TYPES)
    (file,) = scaffold_mappings(registry.describe(path), ScaffoldOptions(wsdl="svc.wsdl"))
    body = file.text.split("version: 1\n", 1)
    assert body[0].startswith("# Scaffolded by `mediator scaffold` from svc.wsdl: service Svc,")
    assert "version: 1\n" + body[1] == EXPECTED
    assert file.name == "svc.yaml" and (file.service, file.port) == ("Svc", "P")
    assert [(r.method, r.path, r.example_path, r.example_body) for r in file.routes] == [
        ("GET", "/orders/{orderId}", "/orders/1", None),
        ("POST", "/cancel-order", "/cancel-order", {"orderId": 1, "note": "text"}),
    ]


# -- routes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "inputs", "expected"),
    [
        ("GetOrder", '<xs:element name="OrderId" type="xs:int"/>', ("get", "/orders/{orderId}")),
        ("FindCustomerById", '<xs:element name="Id" type="xs:long"/>', ("get", "/customers/{id}")),
        ("LookupCategory", '<xs:element name="Code" type="xs:string"/>', ("get", "/categories/{code}")),
        ("GetAddress", '<xs:element name="Key" type="xs:string"/>', ("get", "/addresses/{key}")),
        ("GetOrder", '<xs:element name="A" type="xs:int"/><xs:element name="B" type="xs:int"/>', ("post", "/get-order")),
        ("GetOrder", '<xs:element name="Ids" type="xs:int" maxOccurs="unbounded"/>', ("post", "/get-order")),
        ("Getaway", '<xs:element name="Id" type="xs:int"/>', ("post", "/getaway")),
        ("CreateHTTPSession", '<xs:element name="Id" type="xs:int"/>', ("post", "/create-http-session")),
        ("renew_loan", '<xs:element name="Id" type="xs:int"/>', ("post", "/renew-loan")),
        ("Ping", "", ("post", "/ping")),
    ],
)  # fmt: skip
def test_rest_route_for_an_operation(
    registry: WsdlRegistry, tmp_path: Path, operation: str, inputs: str, expected: tuple[str, str]
) -> None:
    """A read (Get/Find/Lookup… + a capitalised noun) with one simple, single key is
    GET /plural-noun/{key} (a By… suffix dropped); anything else is POST /kebab-case-name."""
    file = _scaffold(registry, _wsdl(tmp_path, [(operation, inputs, "")]))
    (route,) = _routes(file)
    method = "get" if "get" in route else "post"
    assert (method, route[method]) == expected


def test_path_parameter_types_and_enumerations(registry: WsdlRegistry, tmp_path: Path) -> None:
    """The key's XSD type becomes the path parameter's type; an enumerated key lists its values."""
    types = (
        '<xs:simpleType name="Kind"><xs:restriction base="xs:string"><xs:enumeration value="a"/>'
        '<xs:enumeration value="b"/></xs:restriction></xs:simpleType>'
    )
    operations = [
        ("GetDay", '<xs:element name="Day" type="xs:date"/>', ""),
        ("GetRate", '<xs:element name="Rate" type="xs:decimal"/>', ""),
        ("GetFlag", '<xs:element name="Flag" type="xs:boolean"/>', ""),
        ("GetKind", '<xs:element name="Kind" type="t:Kind"/>', ""),
    ]
    file = _scaffold(registry, _wsdl(tmp_path, operations, types))
    assert [r["params"]["path"] for r in _routes(file)] == [
        {"day": "date"},
        {"rate": "number"},
        {"flag": "boolean"},
        {"kind": {"type": "string", "enum": ["a", "b"]}},
    ]
    assert [r.example_path for r in file.routes] == [
        "/days/2024-01-31",
        "/rates/9.99",
        "/flags/true",
        "/kinds/a",
    ]


def test_colliding_paths_fall_back_to_the_operation_name(
    registry: WsdlRegistry, tmp_path: Path
) -> None:
    """Two reads of the same noun do not share a path: the second is /operation-name/{key}."""
    operations = [
        ("GetTicket", '<xs:element name="Number" type="xs:string"/>', ""),
        ("FindTicket", '<xs:element name="Number" type="xs:string"/>', ""),
    ]
    file = _scaffold(registry, _wsdl(tmp_path, operations))
    assert [r.path for r in file.routes] == ["/tickets/{number}", "/find-ticket/{number}"]


def test_several_ports_get_a_file_each_with_unique_paths(registry: WsdlRegistry) -> None:
    """Each SOAP port has its own file; a port whose paths another file already took has all
    its paths prefixed with its name, so the files load together."""
    files = scaffold_mappings(
        registry.describe(CORPUS / "tickets_multi_port.wsdl"), ScaffoldOptions(wsdl="t.wsdl")
    )
    assert [(f.name, f.port, [r.path for r in f.routes]) for f in files] == [
        ("t-tickets-tickets-soap.yaml", "TicketsSoap",
         ["/tickets/{ticketNumber}", "/close-ticket", "/find-ticket/{ticketNumber}"]),
        ("t-tickets-tickets-soap12.yaml", "TicketsSoap12",
         ["/tickets-soap12/tickets/{ticketNumber}", "/tickets-soap12/close-ticket",
          "/tickets-soap12/find-ticket/{ticketNumber}"]),
        ("t-agents-agents-soap.yaml", "AgentsSoap",
         ["/agents-soap/agents/{agentId}", "/agents-soap/tickets/{ticketNumber}"]),
    ]  # fmt: skip
    assert (
        'address: "${TICKETS_TICKETS_SOAP12_URL:-http://legacy.example.invalid/Tickets.asmx}"'
        in files[1].text
    )


def test_service_and_port_selection(registry: WsdlRegistry) -> None:
    """--service and --port narrow the files; an unknown name lists the valid ones."""
    info = registry.describe(CORPUS / "tickets_multi_port.wsdl")
    (only,) = scaffold_mappings(info, ScaffoldOptions(wsdl="t.wsdl", port="TicketsSoap12"))
    assert only.name == "t.yaml" and only.routes[0].path == "/tickets/{ticketNumber}"
    assert [
        f.port for f in scaffold_mappings(info, ScaffoldOptions(wsdl="t.wsdl", service="Tickets"))
    ] == [
        "TicketsSoap",
        "TicketsSoap12",
    ]
    with pytest.raises(
        ScaffoldError, match=r"no service 'Nope' in the WSDL; expected one of: Tickets, Agents"
    ):
        scaffold_mappings(info, ScaffoldOptions(wsdl="t.wsdl", service="Nope"))
    with pytest.raises(
        ScaffoldError, match=r"no SOAP port 'X'; expected one of: Agents/AgentsSoap"
    ):
        scaffold_mappings(info, ScaffoldOptions(wsdl="t.wsdl", service="Agents", port="X"))


def test_address_defaults_and_override(registry: WsdlRegistry, tmp_path: Path) -> None:
    """The WSDL's address is the default of an environment variable; an unusable address
    becomes a placeholder with a comment; --address writes the given URL."""
    path = _wsdl(tmp_path, [CANCEL_ORDER], address="REPLACE_WITH_ACTUAL_URL")
    text = _scaffold(registry, path).text
    assert 'address: "${SVC_URL:-http://localhost/}"' in text
    assert "the WSDL's address 'REPLACE_WITH_ACTUAL_URL' is not a URL: set SVC_URL" in text
    text = _scaffold(registry, path, address="https://soap.example/svc").text
    assert "  address: https://soap.example/svc\n" in text


# -- requests -------------------------------------------------------------------------------------


def test_args_omit_absent_optional_values(registry: WsdlRegistry, tmp_path: Path) -> None:
    """In args, an absent optional JSON value (or null) omits the element; a present one is
    passed typed; a missing required one is a client error."""
    routes = _load(registry, tmp_path, _scaffold(registry, _wsdl(tmp_path, [CANCEL_ORDER])))
    route = routes["CancelOrder"]
    assert _render(route, {"orderId": 7}).args == {"OrderId": 7, "Note": None}
    assert _render(route, {"orderId": "7", "note": "late"}).args == {"OrderId": 7, "Note": "late"}
    with pytest.raises(Exception, match=r"OrderId|orderId"):
        _render(route, {})


NESTED = (
    "PlaceOrder",
    '<xs:element name="Customer"><xs:complexType><xs:sequence><xs:element name="Name" type="xs:string"/>'
    '<xs:element name="Vip" type="xs:boolean" minOccurs="0"/></xs:sequence></xs:complexType></xs:element>'
    '<xs:element name="Tag" type="xs:string" minOccurs="0" maxOccurs="3"/>',
    "",
)


def test_args_nest_required_complex_elements(registry: WsdlRegistry, tmp_path: Path) -> None:
    """A required single complex element nests in args, its leaves read from the JSON object
    of the same (camelCase) name; repeated simple elements take a JSON array."""
    file = _scaffold(registry, _wsdl(tmp_path, [NESTED]))
    assert _routes(file)[0]["request"]["args"] == {
        "Customer": {
            "Name": "{{ body.customer.name }}",
            "Vip": "{{ body.customer.vip | default(none) }}",
        },
        "Tag": "{{ body.tags | default(none) }}",
    }
    route = _load(registry, tmp_path, file)["PlaceOrder"]
    rendered = _render(route, {"customer": {"name": "Ada"}, "tags": ["a", "b"]})
    assert rendered.args == {"Customer": {"Name": "Ada", "Vip": None}, "Tag": ["a", "b"]}
    assert file.routes[0].example_body == {
        "customer": {"name": "text", "vip": True},
        "tags": ["text"],
    }


LINES = (
    "AddLines",
    '<xs:element name="OrderId" type="xs:int"/>'
    '<xs:element name="Line" type="t:Line" maxOccurs="unbounded"/>'
    '<xs:element name="Gift" minOccurs="0"><xs:complexType><xs:sequence>'
    '<xs:element name="Message" type="xs:string"/></xs:sequence>'
    '<xs:attribute name="wrap" type="xs:boolean"/></xs:complexType></xs:element>',
    "",
)


def test_body_template_for_lists_of_objects(registry: WsdlRegistry, tmp_path: Path) -> None:
    """Repeated or optional complex elements (and attributes) are rendered by an XML body
    template: a loop over the JSON array, guards that leave absent elements and attributes
    out, and strict filters for numbers; every value is escaped."""
    file = _scaffold(registry, _wsdl(tmp_path, [LINES], ORDER_TYPES))
    request = _routes(file)[0]["request"]
    assert set(request) == {"body"}
    assert "{% for line in body.lines %}" in request["body"]
    route = _load(registry, tmp_path, file)["AddLines"]
    xml = _render(
        route, {"orderId": 3, "lines": [{"sku": "A&B", "qty": 2}, {"sku": "C", "qty": "4"}]}
    ).body_xml
    compact = re.sub(r">\s+<", "><", xml).strip()
    assert compact == (
        "<scaffold:AddLines><scaffold:OrderId>3</scaffold:OrderId>"
        "<scaffold:Line><scaffold:Sku>A&amp;B</scaffold:Sku><scaffold:Qty>2</scaffold:Qty></scaffold:Line>"
        "<scaffold:Line><scaffold:Sku>C</scaffold:Sku><scaffold:Qty>4</scaffold:Qty></scaffold:Line>"
        "</scaffold:AddLines>"
    )
    xml = _render(
        route, {"orderId": 3, "lines": [], "gift": {"message": "hi", "wrap": True}}
    ).body_xml
    assert '<scaffold:Gift wrap="true">' in xml and "<scaffold:Message>hi</scaffold:Message>" in xml
    with pytest.raises(Exception, match="integer"):
        _render(route, {"orderId": "three", "lines": []})


def test_bare_simple_key_uses_a_body_template(registry: WsdlRegistry, tmp_path: Path) -> None:
    """A keyed read whose Body element is itself the simple key (document/literal bare) is a
    GET rendering that element from the path parameter."""
    file = _scaffold(registry, CORPUS / "warehouse_bare.wsdl")
    route = next(r for r in _routes(file) if r.get("get") == "/on-hands/{sku}")
    assert route["request"]["body"].startswith("<warehouse:Sku>{{ path.sku }}</warehouse:Sku>")
    assert route["response"] == {"root": "warehouse:OnHand", "fields": {"value": "."}}


def test_choice_members_are_optional_and_named_in_comments(
    registry: WsdlRegistry, tmp_path: Path
) -> None:
    """Each member of an xsd:choice is guarded and commented with the alternatives; the example
    body takes the first branch only."""
    file = _scaffold(registry, CORPUS / "shapes_choice_extension.wsdl")
    assert 'ById: "{{ body.byId | default(none) }}"' in file.text
    assert "one of: ById | ByName | NearX+NearY" in file.text
    find = next(r for r in file.routes if r.operation == "FindShape")
    assert find.example_body == {"byId": 1, "precision": 0}


def test_recursive_input_is_capped(registry: WsdlRegistry, tmp_path: Path) -> None:
    """A recursive input type is rendered two levels deep, then left out with a comment."""
    file = _scaffold(registry, CORPUS / "catalog_deep_recursive.wsdl")
    body = next(r for r in _routes(file) if r.get("post") == "/search-parts")["request"]["body"]
    assert body.count("<catalog:And>") == 1
    assert "{# And: recursive catalog:Filter, not rendered deeper #}" in body


# -- responses ------------------------------------------------------------------------------------


def test_response_fields_are_typed_from_the_xsd(registry: WsdlRegistry, tmp_path: Path) -> None:
    """A wrapper with one required complex child is unwrapped; every field loads with the type
    and list-ness of its XSD element."""
    routes = _load(
        registry, tmp_path, _scaffold(registry, _wsdl(tmp_path, [GET_ORDER], ORDER_TYPES))
    )
    response = routes["GetOrder"].response
    assert response.root_source == "scaffold:GetOrderResponse/scaffold:Order"
    kinds = [
        (f.name, f.kind, f.is_list, [(s.name, s.kind) for s in f.fields]) for f in response.fields
    ]
    assert kinds == [
        ("id", "integer", False, []),
        ("status", "string", False, []),
        ("lines", "object", True, [("sku", "string"), ("qty", "integer")]),
    ]


def test_attributes_and_simple_content(registry: WsdlRegistry) -> None:
    """Attributes are fields read from @name; simple content with attributes is an object with
    the text as value."""
    file = _scaffold(registry, CORPUS / "payments_soap12.wsdl")
    route = next(r for r in _routes(file) if r.get("get"))
    assert route["response"]["fields"]["amount"] == {
        "xpath": "payments:Amount",
        "fields": {"currency": "@currency", "value": "text()"},
    }


def test_recursive_output_is_capped_as_xml(registry: WsdlRegistry) -> None:
    """A recursive output type is expanded twice; the level below is returned as XML."""
    file = _scaffold(registry, CORPUS / "catalog_deep_recursive.wsdl")
    fields = next(r for r in _routes(file) if r.get("get", "").startswith("/category-trees"))[
        "response"
    ]["fields"]
    assert fields["subcategories"]["fields"]["subcategories"] == {
        "xpath": "catalog:Subcategory",
        "type": "xml",
    }


def test_deep_nesting_is_kept_whole(registry: WsdlRegistry) -> None:
    """Ten levels of nesting without recursion are all listed (the single wrapper child unwrapped)."""
    file = _scaffold(registry, CORPUS / "catalog_deep_recursive.wsdl")
    route = next(r for r in _routes(file) if r.get("post") == "/get-layers")
    assert route["response"]["root"] == "catalog:GetLayersResponse/catalog:L1"
    node = route["response"]["fields"]
    for level in range(1, 11):
        assert node[f"depth{level}"] == f"catalog:Depth{level}"
        if level < 10:
            node = node[f"l{level + 1}"]["fields"]
    assert node["leaf"] == "catalog:Leaf"


def test_open_content_input_is_sent_as_given(registry: WsdlRegistry, tmp_path: Path) -> None:
    """A required xsd:anyType input element is a plain value in args (not left out)."""
    operation = (
        "Put",
        '<xs:element name="Payload" type="xs:anyType"/><xs:element name="Id" type="xs:int"/>',
        "",
    )
    file = _scaffold(registry, _wsdl(tmp_path, [operation]))
    assert _routes(file)[0]["request"]["args"] == {
        "Payload": "{{ body.payload }}",
        "Id": "{{ body.id }}",
    }
    route = _load(registry, tmp_path, file)["Put"]
    assert _render(route, {"payload": "free text", "id": 2}).args == {
        "Payload": "free text",
        "Id": 2,
    }


def test_soap_encoded_array_fields_are_explicit(registry: WsdlRegistry) -> None:
    """A SOAP-encoded array's items (named freely) are read with * and explicit types."""
    file = _scaffold(registry, CORPUS / "quotes_rpc_encoded.wsdl")
    route = next(r for r in _routes(file) if r.get("post") == "/list-quotes")
    assert route["response"]["fields"]["quotes"] == {
        "xpath": "quotes/*",
        "list": True,
        "fields": {
            "symbol": {"xpath": "symbol", "type": "string"},
            "price": {"xpath": "price", "type": "number"},
            "volume": {"xpath": "volume", "type": "integer"},
            "time": {"xpath": "time", "type": "datetime"},
        },
    }


def test_keep_naming(registry: WsdlRegistry, tmp_path: Path) -> None:
    """--naming keep uses the XSD names for parameters, JSON bodies and fields."""
    file = _scaffold(
        registry, _wsdl(tmp_path, [GET_ORDER, CANCEL_ORDER], ORDER_TYPES), naming="keep"
    )
    get, cancel = _routes(file)
    assert get["get"] == "/orders/{OrderId}"
    assert list(get["response"]["fields"]) == ["Id", "Status", "Line"]
    assert cancel["request"]["args"]["Note"] == "{{ body.Note | default(none) }}"
    assert "  naming: keep" in file.text


def test_creates_answer_201_and_faults_are_suggested(registry: WsdlRegistry) -> None:
    """A create operation answers 201; declared faults are listed as commented error rules."""
    file = _scaffold(registry, CORPUS / "library_wrapped.wsdl")
    add = next(r for r in _routes(file) if r.get("post") == "/add-book")
    assert add["response"]["status"] == 201
    assert (
        '    #   - when: fault.detail and "InvalidBook" in fault.detail\n    #     status: 422'
        in file.text
    )
    assert (
        '    #   - when: fault.detail and "BookNotFound" in fault.detail\n    #     status: 404'
        in file.text
    )


def test_json_names_stay_unique_and_safe(registry: WsdlRegistry, tmp_path: Path) -> None:
    """An attribute whose JSON name an element already has is renamed; names that are dict
    methods or keywords are read by subscript in templates."""
    operation = (
        "Store",
        '<xs:element name="Items" type="xs:string"/>'
        '<xs:element name="Item"><xs:complexType><xs:sequence><xs:element name="Id" type="xs:int"/>'
        '</xs:sequence><xs:attribute name="id" type="xs:int"/></xs:complexType></xs:element>',
        '<xs:element name="Item" minOccurs="0"><xs:complexType><xs:sequence><xs:element name="Id" type="xs:int"/>'
        '</xs:sequence><xs:attribute name="id" type="xs:int"/></xs:complexType></xs:element>',
    )
    file = _scaffold(registry, _wsdl(tmp_path, [operation]))
    (route,) = _routes(file)
    assert 'body["items"]' in route["request"]["body"]
    assert list(route["response"]["fields"]["item"]["fields"]) == ["idAttribute", "id"]
    _load(registry, tmp_path, file)


def test_example_values() -> None:
    """Examples are valid for their type: the first enumerated value, or a value of the kind."""
    assert example_value(TypeInfo("{urn:x}Kind", scalar="string", enumeration=("b", "a"))) == "b"
    assert example_value(TypeInfo("{urn:x}Level", scalar="integer", enumeration=("2", "4"))) == 2
    assert (
        example_value(TypeInfo("{http://www.w3.org/2001/XMLSchema}gYearMonth", scalar="string"))
        == "2024-01"
    )
    assert (
        example_value(TypeInfo("{http://www.w3.org/2001/XMLSchema}dateTime", scalar="datetime"))
        == "2024-01-31T12:00:00Z"
    )


# -- descriptions scaffolding relies on -------------------------------------------------------------


def _operation(registry: WsdlRegistry, wsdl: str, name: str) -> Any:
    info = registry.describe(CORPUS / wsdl)
    return next(p for s in info.services.values() for p in s.ports.values()).operations[name]


def test_describer_reads_enumerations(registry: WsdlRegistry) -> None:
    """Enumerations come back from the schema files: named types, types restricting an
    enumerated type, anonymous element types, attribute types, and types in included files."""
    find = _operation(registry, "shapes_choice_extension.wsdl", "FindShape")
    assert find.input.type.child(find.input.namespace, "Precision").type.enumeration == (
        "0",
        "2",
        "4",
    )
    draw = _operation(registry, "shapes_choice_extension.wsdl", "DrawShapes").input.type
    canvas = draw.children[0].type
    assert canvas.attribute(None, "unit").enumeration == ("mm", "cm", "in")  # MetricUnit → Unit
    circle = draw.child(draw.children[0].namespace, "Circle").type
    assert circle.child(draw.children[0].namespace, "Color").type.enumeration == ("red", "blue")
    contact = _operation(registry, "crm_split.wsdl", "GetContact").output.type.children[0].type
    assert contact.child("urn:example:crm:types", "Kind").type.enumeration == ("person", "company")


def test_describer_simple_content_choices_arrays_and_faults(registry: WsdlRegistry) -> None:
    """simpleContent is a scalar with attributes (no pseudo-child); choices list their
    branches; a SOAP-encoded array names its item type; fault detail elements are described."""
    authorize = _operation(registry, "payments_soap12.wsdl", "Authorize")
    amount = authorize.input.type.child("http://example.com/payments/v2", "Amount").type
    assert (amount.scalar, amount.children, [a.local for a in amount.attributes]) == (
        "decimal",
        (),
        ["currency"],
    )
    assert [f.local for f in authorize.faults] == ["PaymentFault"]
    choice = _operation(registry, "shapes_choice_extension.wsdl", "FindShape").input.type.choices
    assert [(c.alternatives, c.optional, c.repeated) for c in choice] == [
        ((("ById",), ("ByName",), ("NearX", "NearY")), False, False)
    ]
    quotes = (
        _operation(registry, "quotes_rpc_encoded.wsdl", "ListQuotes").output.type.children[0].type
    )
    assert quotes.array_item is not None and quotes.array_item.name == "{urn:example:quotes}Quote"
    assert quotes.attributes == ()


def test_describer_refuses_remote_schemas(registry: WsdlRegistry, tmp_path: Path) -> None:
    """Only the well-known schemas are served locally; any other remote import is refused."""
    path = _wsdl(
        tmp_path,
        [CANCEL_ORDER],
        '<xs:import namespace="urn:remote" schemaLocation="http://example.com/remote.xsd"/>',
    )
    with pytest.raises(ValueError, match=r"refusing to fetch 'http://example\.com/remote\.xsd'"):
        WsdlRegistry().describe(path)


def test_port_without_operations(registry: WsdlRegistry, tmp_path: Path) -> None:
    """A WSDL with no operations still yields a loadable file."""
    path = tmp_path / "empty.wsdl"
    path.write_text(textwrap.dedent(f"""\
        <definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
            xmlns:t="{NS}" targetNamespace="{NS}">
          <portType name="PT"/>
          <binding name="B" type="t:PT"><soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/></binding>
          <service name="Svc"><port name="P" binding="t:B"><soap:address location="http://x.invalid/"/></port></service>
        </definitions>"""))  # fmt: skip
    file = _scaffold(registry, path)
    assert "routes: []" in file.text and file.routes == ()
    assert _load(registry, tmp_path, file) == {}
