"""Extracting typed JSON from SOAP responses (mediator.translate.response)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mediator.errors import ExtractError
from mediator.mapping.issues import IssueSink
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import ResponseSpec, Route
from mediator.mapping.response_plan import compile_response
from mediator.mapping.service_info import AttributeInfo, ElementInfo, TypeInfo
from mediator.translate.envelope import SOAP11_ENV, read_envelope
from mediator.translate.jsonio import dumps
from mediator.translate.response import extract_response
from mediator.translate.xmlsafe import parse_xml

WSDL_DIR = Path(__file__).resolve().parents[3] / "wsdl"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

MAPPING = """\
version: 1
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
  - get: /orders/{id}
    name: order
    operation: GetOrder
    request: {args: {OrderId: 1}}
    response:
      root: o:GetOrderResponse/o:Order
      fields:
        id: o:Id
        status: o:Status
        orderDate: o:OrderDate
        createdAt: o:CreatedAt
        shippedAt: o:ShippedAt
        total: o:Total
        paid: o:Paid
        note: o:Note
        customer:
          xpath: o:Customer
          fields: {id: o:Id, name: o:Name, email: o:Email, vip: o:Vip}
        lines:
          xpath: o:Line
          fields: {sku: o:Sku, quantity: o:Quantity, unitPrice: o:UnitPrice}
  - get: /orders-extra/{id}
    name: extra
    operation: GetOrder
    request: {args: {OrderId: 1}}
    response:
      root: o:GetOrderResponse/o:Order
      absent: "null"
      fields:
        idText: {xpath: o:Id, type: string}
        note: o:Note
        email: o:Customer/o:Email
        noteOmitted: {xpath: o:Note, absent: omit}
        skus: o:Line/o:Sku
        firstSku: o:Line[1]/o:Sku
        lineCount: {xpath: count(o:Line), type: integer}
        hasNote: {xpath: boolean(o:Note), type: boolean}
        firstLine: {xpath: o:Line, list: false, fields: {sku: o:Sku}}
        totals: {xpath: o:Total, list: true}
        customerXml: {xpath: o:Customer/o:Name, type: xml}
        customerText: {xpath: o:Customer, type: string}
  - get: /orders
    name: search
    operation: SearchOrders
    response:
      root: o:SearchOrdersResponse
      template: >-
        {'count': fields.orders | length,
         'ids': fields.orders | map(attribute='id') | list,
         'sum': fields.orders | sum(attribute='total'),
         'firstName': xml['o:SearchOrdersResponse']['o:Order'][0]['o:CustomerName']}
      fields:
        orders:
          xpath: o:Order
          fields: {id: o:Id, customerName: o:CustomerName, total: o:Total}
  - get: /customers/{id}
    name: customer
    operation: GetCustomer
    request: {args: {CustomerId: 1}}
"""

KEEP = """\
version: 1
defaults: {naming: keep, absent: "null"}
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
  - get: /raw-customers/{id}
    name: customer-keep
    operation: GetCustomer
    request: {args: {CustomerId: 1}}
"""


@pytest.fixture(scope="module")
def routes(registry, tmp_path_factory) -> dict[str, Route]:
    """The routes of the test mappings, by name."""
    folder = tmp_path_factory.mktemp("response")
    (folder / "svc.yaml").write_text(textwrap.dedent(MAPPING), encoding="utf-8")
    (folder / "keep.yaml").write_text(textwrap.dedent(KEEP), encoding="utf-8")
    mappings = load_mappings([folder], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    return {route.name: route for route in mappings.routes}


def _body(content: str):
    data = (
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body>{content}</soap:Body></soap:Envelope>'
    )
    return read_envelope(data.encode(), expected_version="1.1").body


LINE = "<Line><Sku>{sku}</Sku><Description>d</Description><Quantity>{qty}</Quantity><UnitPrice>{price}</UnitPrice></Line>"


def _order(
    lines: int = 1, *, note: str = "", email: str = "", shipped: str = "", total: str = "1234.50"
) -> str:
    items = "".join(LINE.format(sku=f"S-{i}", qty=i + 1, price=f"{i}.10") for i in range(lines))
    shipped_at = shipped or f'<ShippedAt xmlns:xsi="{XSI}" xsi:nil="true"/>'
    return f"""<GetOrderResponse xmlns="urn:example:orders"><Order>
        <Id>42</Id>
        <Customer><Id>7</Id><Name>Ann &amp; Co</Name>{email}<Vip>1</Vip></Customer>
        <Status>shipped</Status>
        <OrderDate>2024-01-31</OrderDate>
        <CreatedAt>2024-01-31T10:15:00.250+01:00</CreatedAt>
        {shipped_at}
        <Total>{total}</Total>
        <Paid>false</Paid>
        {note}
        {items}
    </Order></GetOrderResponse>"""


# -- typing from the XSD -------------------------------------------------------------------


def test_fields_are_typed_from_the_xsd(routes):
    """int → int, decimal → exact Decimal, boolean → bool, date/dateTime → ISO strings, nil → None."""
    data = extract_response(routes["order"].response, _body(_order()))
    assert data == {
        "id": 42,
        "status": "shipped",
        "orderDate": "2024-01-31",
        "createdAt": "2024-01-31T10:15:00.250+01:00",
        "shippedAt": None,
        "total": Decimal("1234.50"),
        "paid": False,
        "customer": {"id": 7, "name": "Ann & Co", "vip": True},
        "lines": [{"sku": "S-0", "quantity": 1, "unitPrice": Decimal("0.10")}],
    }
    assert type(data["id"]) is int
    assert str(data["total"]) == "1234.50"


def test_decimals_keep_exact_digits_in_json(routes):
    """Extracted decimals are written to JSON with exactly the digits of the XML."""
    data = extract_response(routes["order"].response, _body(_order(total="1000.000")))
    assert b'"total":1000.000' in dumps(data)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_repeated_elements_are_always_arrays(routes, count):
    """A maxOccurs>1 element is a JSON array for 0, 1 or many items."""
    data = extract_response(routes["order"].response, _body(_order(lines=count)))
    assert data["lines"] == [
        {"sku": f"S-{i}", "quantity": i + 1, "unitPrice": Decimal(f"{i}.10")} for i in range(count)
    ]


def test_nil_is_null_and_present_values_are_kept(routes):
    """xsi:nil gives None; the same element with a value gives the typed value."""
    body = _body(_order(shipped="<ShippedAt>2024-02-01T00:00:00Z</ShippedAt>"))
    assert extract_response(routes["order"].response, body)["shippedAt"] == "2024-02-01T00:00:00Z"


def test_absent_optional_is_omitted_by_default(routes):
    """An absent optional element is left out of the JSON by default."""
    data = extract_response(routes["order"].response, _body(_order()))
    assert "note" not in data
    assert "email" not in data["customer"]


def test_present_optional_is_included(routes):
    """A present optional element is included."""
    body = _body(_order(note="<Note>fragile</Note>", email="<Email>a@example.com</Email>"))
    data = extract_response(routes["order"].response, body)
    assert (data["note"], data["customer"]["email"]) == ("fragile", "a@example.com")


def test_absent_null_gives_null(routes):
    """With absent: null an absent element is null; a field may override back to omit."""
    data = extract_response(routes["extra"].response, _body(_order()))
    assert (data["note"], data["email"]) == (None, None)
    assert "noteOmitted" not in data


def test_default_namespace_and_other_prefixes(routes):
    """The response's own prefixes do not matter: only namespace URIs are matched."""
    content = _order().replace(
        '<GetOrderResponse xmlns="urn:example:orders">',
        '<x:GetOrderResponse xmlns:x="urn:example:orders" xmlns="urn:example:orders">',
    )
    content = content.replace("</GetOrderResponse>", "</x:GetOrderResponse>").replace(
        "<Id>42</Id>", "<y:Id xmlns:y='urn:example:orders'>42</y:Id>"
    )
    data = extract_response(routes["order"].response, _body(content))
    assert data["id"] == 42
    assert data["customer"]["name"] == "Ann & Co"


def test_wrong_namespace_does_not_match(routes):
    """Elements in another namespace do not match the mapping's prefix."""
    content = _order().replace('xmlns="urn:example:orders"', 'xmlns="urn:other"')
    with pytest.raises(ExtractError) as info:
        extract_response(routes["order"].response, _body(content))
    assert str(info.value) == "response root 'o:GetOrderResponse/o:Order' matched no element"


def test_root_not_found(routes):
    """A root XPath matching nothing is an ExtractError naming the root."""
    with pytest.raises(ExtractError) as info:
        extract_response(routes["order"].response, _body('<Other xmlns="urn:example:orders"/>'))
    assert str(info.value) == "response root 'o:GetOrderResponse/o:Order' matched no element"


def test_bad_value_for_the_type(routes):
    """Text that is not valid for the field's XSD type is an ExtractError naming the field."""
    body = _body(_order().replace("<Id>42</Id>", "<Id>forty-two</Id>"))
    with pytest.raises(ExtractError) as info:
        extract_response(routes["order"].response, body)
    assert str(info.value) == "field 'id' (o:Id): not an integer"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("<Paid>false</Paid>", "<Paid>no</Paid>", "field 'paid' (o:Paid): not a boolean"),
        (
            "<Total>1234.50</Total>",
            "<Total>1,234.50</Total>",
            "field 'total' (o:Total): not a decimal",
        ),
        (
            "<OrderDate>2024-01-31</OrderDate>",
            "<OrderDate>31/01/2024</OrderDate>",
            "field 'orderDate' (o:OrderDate): not a date",
        ),
    ],
)
def test_bad_values_of_other_types(routes, old, new, message):
    """Booleans, decimals and dates are validated too."""
    with pytest.raises(ExtractError) as info:
        extract_response(routes["order"].response, _body(_order().replace(old, new)))
    assert str(info.value) == message


def test_empty_text_of_a_typed_field_is_null(routes):
    """An empty element of a non-string type is null rather than an error."""
    body = _body(_order().replace("<Total>1234.50</Total>", "<Total/>"))
    assert extract_response(routes["order"].response, body)["total"] is None


# -- explicit types, lists, functions ---------------------------------------------------------


def test_explicit_type_and_list_overrides(routes):
    """type: overrides the XSD type; list: forces or suppresses arrays; functions are typed."""
    body = _body(_order(lines=2, note="<Note>n</Note>"))
    data = extract_response(routes["extra"].response, body)
    assert data["idText"] == "42"
    assert data["skus"] == ["S-0", "S-1"]
    assert data["firstSku"] == "S-0"
    assert data["lineCount"] == 2
    assert data["hasNote"] is True
    assert data["firstLine"] == {"sku": "S-0"}
    assert data["totals"] == [Decimal("1234.50")]


def test_xml_type_keeps_the_element_markup(routes):
    """type: xml gives the element serialized, escaping intact."""
    data = extract_response(routes["extra"].response, _body(_order()))
    markup = data["customerXml"]
    assert markup.startswith('<Name xmlns="urn:example:orders"')
    assert markup.endswith(">Ann &amp; Co</Name>")
    element = parse_xml(markup.encode())
    assert (element.tag, element.text) == ("{urn:example:orders}Name", "Ann & Co")


def test_string_type_of_complex_element_is_its_text(routes):
    """type: string on an element with children gives all its text."""
    data = extract_response(routes["extra"].response, _body(_order()))
    assert data["customerText"] == "7Ann & Co1"


def test_function_results_without_matches(routes):
    """count() of nothing is 0 and boolean() of nothing is false."""
    data = extract_response(routes["extra"].response, _body(_order(lines=0)))
    assert (data["lineCount"], data["hasNote"], data["skus"], data["firstSku"]) == (
        0,
        False,
        [],
        None,
    )


# -- derived plans -----------------------------------------------------------------------


def test_response_derived_from_the_xsd_uses_camel_case(routes):
    """Without a response block, fields come from the XSD with camelCase names."""
    body = _body(
        '<r:GetCustomerResponse xmlns:r="urn:example:orders"><r:Customer><r:Id>7</r:Id>'
        "<r:Name>Ann</r:Name><r:Vip>true</r:Vip></r:Customer></r:GetCustomerResponse>"
    )
    assert extract_response(routes["customer"].response, body) == {
        "customer": {"id": 7, "name": "Ann", "vip": True}
    }


def test_naming_keep_and_absent_null_defaults(routes):
    """defaults.naming: keep keeps XML names; defaults.absent: null makes absent fields null."""
    body = _body(
        '<GetCustomerResponse xmlns="urn:example:orders"><Customer><Id>7</Id>'
        "<Name>Ann</Name><Vip>0</Vip></Customer></GetCustomerResponse>"
    )
    assert extract_response(routes["customer-keep"].response, body) == {
        "Customer": {"Id": 7, "Name": "Ann", "Email": None, "Vip": False}
    }


# -- template --------------------------------------------------------------------------------


def _search(count: int) -> str:
    orders = "".join(
        f"<Order><Id>{i}</Id><CustomerName>C{i}</CustomerName><Status>open</Status>"
        f"<OrderDate>2024-01-0{i}</OrderDate><Total>{i}.50</Total></Order>"
        for i in range(1, count + 1)
    )
    return f'<SearchOrdersResponse xmlns="urn:example:orders">{orders}</SearchOrdersResponse>'


def test_response_template_builds_the_answer(routes):
    """A response template shapes the answer from the typed fields and the raw XML view."""
    data = extract_response(routes["search"].response, _body(_search(2)))
    assert data == {"count": 2, "ids": [1, 2], "sum": Decimal("4.00"), "firstName": "C1"}


def test_response_template_failure_is_an_extract_error(routes):
    """A template that fails on the response (here: one result is not a list) is an ExtractError."""
    with pytest.raises(ExtractError) as info:
        extract_response(routes["search"].response, _body(_search(1)))
    assert str(info.value).startswith("response template failed: ")


def test_trace_records_what_each_xpath_matched(routes):
    """A trace lists the root and every field with its XPath, match count and kind."""
    trace: list = []
    extract_response(routes["search"].response, _body(_search(2)), trace)
    assert trace[:3] == [
        {"field": "(root)", "xpath": "o:SearchOrdersResponse", "matched": 1},
        {"field": "orders", "xpath": "o:Order", "matched": 2, "kind": "object"},
        {"field": "id", "xpath": "o:Id", "matched": 1, "kind": "integer"},
    ]
    assert len(trace) == 2 + 2 * 3


# -- attributes and text() (hand-built schema) -------------------------------------------------

P = "urn:example:prices"
PRICE = TypeInfo(
    "Price",
    scalar="decimal",
    attributes=(AttributeInfo("currency", None, "string"), AttributeInfo("rate", None, "integer")),
)
PRICES = ElementInfo(
    "PriceResponse",
    P,
    TypeInfo(
        "PriceResponse",
        children=(
            ElementInfo("Price", P, PRICE, min_occurs=0, max_occurs=None),
            ElementInfo("Label", P, TypeInfo("xs:string", scalar="string")),
        ),
        attributes=(AttributeInfo("count", None, "integer"),),
    ),
)
PRICE_XML = (
    '<q:PriceResponse xmlns:q="urn:example:prices" count="2">'
    '<q:Price currency="EUR" rate="3">9.90</q:Price>'
    '<q:Price currency="USD">10.00</q:Price>'
    "<q:Label>Spring</q:Label></q:PriceResponse>"
)


def _plan(raw) -> ResponseSpec:
    sink = IssueSink("prices.yaml")
    spec = compile_response(
        raw, PRICES, {"p": P}, sink, ("response",), naming="camel", absent="omit"
    )
    assert sink.issues == []
    assert spec is not None
    return spec


def test_attributes_and_simple_content_are_derived():
    """Derived fields include attributes by name and simple content as value."""
    data = extract_response(_plan(None), _body(PRICE_XML))
    assert data == {
        "count": 2,
        "price": [
            {"currency": "EUR", "rate": 3, "value": Decimal("9.90")},
            {"currency": "USD", "value": Decimal("10.00")},
        ],
        "label": "Spring",
    }


def test_attribute_and_text_paths_are_typed():
    """@attribute and text() paths take the XSD type of the attribute or content."""
    spec = _plan(
        {
            "fields": {
                "count": "@count",
                "currency": "p:Price[1]/@currency",
                "rates": "p:Price/@rate",
                "amounts": "p:Price/text()",
                "label": "p:Label/text()",
            }
        }
    )
    assert extract_response(spec, _body(PRICE_XML)) == {
        "count": 2,
        "currency": "EUR",
        "rates": [3],
        "amounts": [Decimal("9.90"), Decimal("10.00")],
        "label": "Spring",
    }


def test_bad_attribute_value_is_an_extract_error():
    """An attribute value that does not fit its type is an ExtractError."""
    spec = _plan({"fields": {"count": "@count"}})
    with pytest.raises(ExtractError) as info:
        extract_response(spec, _body(PRICE_XML.replace('count="2"', 'count="two"')))
    assert str(info.value) == "field 'count' (@count): not an integer"


def test_default_root_is_the_first_body_element():
    """Without root, the Body's first element is the root."""
    spec = _plan({"fields": {"label": "p:Label"}})
    assert spec.root_source == "*[1]"
    assert extract_response(spec, _body(PRICE_XML)) == {"label": "Spring"}


def test_empty_body_has_no_root():
    """An empty Body is an ExtractError for the default root."""
    with pytest.raises(ExtractError, match=r"^response root '\*\[1\]' matched no element$"):
        extract_response(_plan(None), _body(""))
