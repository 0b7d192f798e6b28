"""Rendering requests from a context (mediator.translate.request)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from mediator.errors import ClientError, RenderError
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import Route
from mediator.translate.coerce import ensure_xml_safe
from mediator.translate.context import build_context
from mediator.translate.envelope import SOAP11_ENV, build_envelope
from mediator.translate.jsonio import loads_strict
from mediator.translate.request import _ensure_xml_safe, render_request
from mediator.translate.xmlsafe import parse_xml

WSDL_DIR = Path(__file__).resolve().parents[3] / "wsdl"
ORD = "urn:example:orders"

MAPPING = """\
version: 1
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
  - get: /orders/{id}
    name: typed
    operation: GetOrder
    params:
      path: {id: integer}
    request:
      args: {OrderId: "{{ path.id }}"}
  - get: /by-name/{id}
    name: untyped
    operation: GetOrder
    request:
      args: {OrderId: "{{ path.id }}"}
  - get: /literal
    name: literal
    operation: GetOrder
    request:
      args: {OrderId: 5}
  - get: /search
    name: search
    operation: SearchOrders
    params:
      query: {customerId: integer, status: string}
    request:
      args:
        CustomerId: "{{ query.customerId }}"
        Status: "{{ query.status }}"
  - post: /orders
    name: args
    operation: CreateOrder
    request:
      args:
        CustomerId: "{{ body.customerId | int }}"
        Line: "{{ body.lines }}"
        Note: "Note: {{ body.note | default('none') }}"
  - post: /optional
    name: optional
    operation: CreateOrder
    request:
      args:
        CustomerId: "{{ body.customerId }}"
        Line: "{{ body.lines }}"
        Note: "{{ body.note | default(none) }}"
  - post: /raw
    name: raw
    operation: CreateOrder
    headers: [X-Token]
    request:
      soap_header: "<o:Token>{{ headers['x-token'] }}</o:Token>"
      body: |
        <o:CreateOrder>
          <o:CustomerId>{{ body.customerId | int }}</o:CustomerId>
          {% for line in body.lines %}
          <o:Line>
            <o:Sku>{{ line.sku }}</o:Sku>
            <o:Quantity>{{ line.quantity | int }}</o:Quantity>
            <o:UnitPrice>{{ line.unitPrice | decimal }}</o:UnitPrice>
          </o:Line>
          {% endfor %}
          <o:Note>{{ body.note }}</o:Note>
        </o:CreateOrder>
  - get: /broken/{id}
    name: broken
    operation: GetOrder
    params:
      path: {id: integer}
    request:
      args: {OrderId: "{{ path.id // 0 }}"}
"""


@pytest.fixture(scope="module")
def routes(registry, tmp_path_factory) -> dict[str, Route]:
    """The routes of the test mapping, by name."""
    path = tmp_path_factory.mktemp("request") / "svc.yaml"
    path.write_text(textwrap.dedent(MAPPING), encoding="utf-8")
    mappings = load_mappings([path], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    return {route.name: route for route in mappings.routes}


def _render(route: Route, *, path=None, query=None, body=None, headers=None):
    context = build_context(
        route, path=path or {}, query=query or {}, body=body, headers=headers or {}
    )
    return render_request(route, context)


def _client_error(route: Route, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        _render(route, **kwargs)
    assert info.value.status == 400
    return info.value.detail


def _json(data: str):
    return loads_strict(data.encode())


ORDER = '{"customerId": 7, "lines": [{"Sku": "A-1", "Quantity": 2, "UnitPrice": 1234.50}]}'
RAW_ORDER = '{"customerId": "7", "lines": [{"sku": "A-1", "quantity": 2, "unitPrice": 1234.50}]'


# -- args --------------------------------------------------------------------------------


def test_single_expression_keeps_native_int(routes):
    """An args leaf that is one expression keeps its native type: the int stays an int."""
    rendered = _render(routes["typed"], path={"id": "42"})
    assert rendered.args == {"OrderId": 42}
    assert type(rendered.args["OrderId"]) is int
    assert (rendered.body_xml, rendered.header_xml) == (None, None)


def test_literal_args_pass_through(routes):
    """Literal YAML values in args are used as they are."""
    assert _render(routes["literal"]).args == {"OrderId": 5}


def test_string_for_xsd_int_is_a_client_error_naming_the_element(routes):
    """A string that is not an integer, for an xsd:int element, names the element path."""
    detail = _client_error(routes["untyped"], path={"id": "abc"})
    assert detail == "GetOrder/OrderId: expected an integer, got 'abc'"


def test_numeric_string_is_coerced_against_the_xsd(routes):
    """A numeric string for an xsd:int element becomes an int."""
    assert _render(routes["untyped"], path={"id": "0042"}).args == {"OrderId": 42}


def test_none_values_are_kept_for_optional_elements(routes):
    """Missing optional query parameters render None, which zeep leaves out."""
    assert _render(routes["search"]).args == {"CustomerId": None, "Status": None}


def test_enumeration_is_checked(routes):
    """A value outside the XSD enumeration is a client error."""
    detail = _client_error(routes["search"], query={"status": "lost"})
    assert detail == "SearchOrders/Status: expected one of open, shipped, cancelled, got 'lost'"


def test_list_for_repeated_element_and_exact_decimal(routes):
    """A native list fills a repeated element; decimals from JSON keep their exact digits."""
    rendered = _render(routes["args"], body=_json(ORDER))
    assert rendered.args == {
        "CustomerId": 7,
        "Line": [{"Sku": "A-1", "Quantity": 2, "UnitPrice": Decimal("1234.50")}],
        "Note": "Note: none",
    }
    assert str(rendered.args["Line"][0]["UnitPrice"]) == "1234.50"


def test_mixed_template_renders_a_string(routes):
    """A leaf mixing text and expressions renders to a string."""
    body = _json(ORDER[:-1] + ', "note": 5}')
    assert _render(routes["args"], body=body).args["Note"] == "Note: 5"


def test_default_none_leaves_an_optional_element_out(routes):
    """default(none) on a missing optional value renders None, not an error."""
    assert _render(routes["optional"], body=_json(ORDER)).args["Note"] is None


def test_strict_int_filter_rejects_text(routes):
    """ "abc" | int is a client error, not 0."""
    body = _json(ORDER.replace('"customerId": 7', '"customerId": "abc"'))
    assert _client_error(routes["args"], body=body) == "expected an integer, got 'abc'"


@pytest.mark.parametrize("value", ["4.5", "true", "1E+999999"])
def test_strict_int_filter_rejects_non_integers(routes, value):
    """Fractions, booleans and absurdly large numbers are rejected by | int, promptly."""
    body = _json(ORDER.replace('"customerId": 7', f'"customerId": {value}'))
    assert _client_error(routes["args"], body=body).startswith("expected an integer, got ")


def test_strict_int_filter_accepts_integral_numbers(routes):
    """Integral numbers and numeric strings pass | int."""
    for value in ('"12"', "12", "12.0"):
        body = _json(ORDER.replace('"customerId": 7', f'"customerId": {value}'))
        assert _render(routes["args"], body=body).args["CustomerId"] == 12


def test_missing_body_key_in_args_is_a_client_error(routes):
    """A missing body key used by an args expression is a client error naming the key."""
    body = _json('{"lines": []}')
    detail = _client_error(routes["optional"], body=body)
    assert detail == (
        "the request lacks a value the mapping needs: 'dict object' has no attribute 'customerId'"
    )


def test_missing_body_key_under_a_filter_is_a_client_error(routes):
    """A missing key passed through a filter is a client error too."""
    detail = _client_error(routes["args"], body=_json('{"lines": []}'))
    assert detail == (
        "the request lacks a value the mapping needs: 'dict object' has no attribute 'customerId'"
    )


def test_missing_body_is_a_client_error(routes):
    """A route reading the body, called without one, is a client error."""
    detail = _client_error(routes["optional"], body=None)
    assert detail.startswith("the request lacks a value the mapping needs: ")
    assert "customerId" in detail


def test_unknown_element_from_body_lists_valid_names(routes):
    """An object from the body with an unknown key is a client error listing valid names."""
    body = _json(ORDER.replace('"UnitPrice"', '"Colour": "red", "UnitPrice"'))
    assert _client_error(routes["args"], body=body) == (
        "CreateOrder/Line[0]: unexpected element 'Colour'; expected one of: Sku, Quantity, UnitPrice"
    )


def test_wrong_type_deep_in_body_names_the_path(routes):
    """A wrong type deep inside a list names the full element path."""
    body = _json(ORDER.replace('"Quantity": 2', '"Quantity": "two"'))
    assert _client_error(routes["args"], body=body) == (
        "CreateOrder/Line[0]/Quantity: expected an integer, got 'two'"
    )


def test_characters_xml_cannot_carry_in_args(routes):
    """A string with a NUL character is a client error, not invalid XML upstream."""
    body = _json(ORDER.replace('"A-1"', '"A\\u0000"'))
    assert _client_error(routes["args"], body=body) == (
        "CreateOrder/Line[0]/Sku: contains characters XML cannot carry"
    )


def test_mapping_bug_is_a_render_error(routes):
    """A template failing for reasons the client did not cause is a RenderError with file:line."""
    route = routes["broken"]
    with pytest.raises(RenderError) as info:
        _render(route, path={"id": "1"})
    assert str(info.value).startswith(f"{route.file}:{route.line}: request template failed: ")
    assert isinstance(info.value.__cause__, ZeroDivisionError)


# -- body templates ----------------------------------------------------------------------


def test_body_template_renders_xml(routes):
    """A body template renders the Body XML and the SOAP header; args is None."""
    body = _json(RAW_ORDER + ', "note": "hello"}')
    rendered = _render(routes["raw"], body=body, headers={"x-token": "t-1"})
    assert rendered.args is None
    assert rendered.header_xml == "<o:Token>t-1</o:Token>"
    root = parse_xml(build_envelope("1.1", rendered.body_xml, namespaces={"o": ORD}))
    order = root.find(f"{{{SOAP11_ENV}}}Body/{{{ORD}}}CreateOrder")
    assert order.findtext(f"{{{ORD}}}CustomerId") == "7"
    assert order.findtext(f"{{{ORD}}}Line/{{{ORD}}}UnitPrice") == "1234.50"
    assert order.findtext(f"{{{ORD}}}Note") == "hello"


def test_body_template_autoescapes_markup(routes):
    """A JSON string with markup cannot inject elements: it round-trips as text."""
    evil = "</o:Note><x>&amp;</x><o:Note>"
    body = _json(RAW_ORDER + ', "note": "' + evil + '"}')
    rendered = _render(routes["raw"], body=body, headers={"x-token": "<evil a='1'/>&"})
    data = build_envelope(
        "1.1", rendered.body_xml, header_xml=rendered.header_xml, namespaces={"o": ORD}
    )
    root = parse_xml(data)
    order = root.find(f"{{{SOAP11_ENV}}}Body/{{{ORD}}}CreateOrder")
    assert [child.tag.split("}")[1] for child in order] == ["CustomerId", "Line", "Note"]
    assert order.findtext(f"{{{ORD}}}Note") == evil
    token = root.find(f"{{{SOAP11_ENV}}}Header/{{{ORD}}}Token")
    assert (token.text, len(token)) == ("<evil a='1'/>&", 0)


def test_body_template_missing_key_is_a_client_error(routes):
    """StrictUndefined: a body key the template needs is missing → client error."""
    detail = _client_error(routes["raw"], body=_json(RAW_ORDER + "}"), headers={"x-token": "t"})
    assert (
        detail
        == "the request lacks a value the mapping needs: 'dict object' has no attribute 'note'"
    )


def test_body_template_missing_header_is_a_client_error(routes):
    """A header the template reads, not sent, is a client error."""
    detail = _client_error(routes["raw"], body=_json(RAW_ORDER + ', "note": ""}'))
    assert detail.startswith("the request lacks a value the mapping needs: ")
    assert "x-token" in detail


def test_body_template_strict_int_filter(routes):
    """ "abc" | int in a body template is a client error."""
    body = _json(RAW_ORDER.replace('"7"', '"abc"') + ', "note": ""}')
    assert _client_error(routes["raw"], body=body, headers={"x-token": "t"}) == (
        "expected an integer, got 'abc'"
    )


def test_body_template_strict_decimal_filter(routes):
    """ "x" | decimal in a body template is a client error; NaN is rejected too."""
    for bad, message in (
        ('"x"', "expected a number, got 'x'"),
        ('"NaN"', "expected a finite number, got 'NaN'"),
    ):
        body = _json(RAW_ORDER.replace("1234.50", bad) + ', "note": ""}')
        assert _client_error(routes["raw"], body=body, headers={"x-token": "t"}) == message


def test_body_template_rejects_characters_xml_cannot_carry(routes):
    """A NUL character anywhere in the input of a body template is a client error."""
    body = _json(RAW_ORDER + ', "note": "a\\u0000b"}')
    assert _client_error(routes["raw"], body=body, headers={"x-token": "t"}) == (
        "body/note: contains characters XML cannot carry"
    )


def _deep(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


_XML_UNSAFE_CASES = [
    {"body": {"note": "plain"}, "headers": {"x-token": "t"}},
    {"body": {"note": "a\tb\nc\rd \x7f \u2028 é \U0001f600"}},
    {"body": {"note": "back\\slash \\b \\f \\u0001"}},
    {"body": {"note": "\b"}},
    {"body": {"note": "\f"}},
    {"body": {"note": "\x01"}},
    {"body": {"note": "\x0b"}},
    {"body": {"note": "\ufffe"}},
    {"body": {"note": "\uffff"}},
    {"body": {"note": "\ud800"}},
    {"body": {"\x01 key": "keys are not checked"}},
    {"body": ("tuples are not walked", "\x01")},
    {"path": {"id": "\x02"}, "body": {"note": "\x01"}},
    {"query": {"q": "\x1f"}, "headers": {"x-token": "\x01"}},
    {"headers": {"x-token": "\udcff"}},
    {"body": {"n": Decimal("NaN"), "big": 2**70, "f": 1.5, "none": None, "t": True}},
    {"body": {"sub": type("S", (str,), {})("\x01")}},
    {"body": {"other": object()}},
    {"body": _deep(63)},
    {"body": _deep(64)},
    {"body": _deep(65)},
    {"body": _deep(64, [])},
    {"body": _deep(64, "\x01")},
    {"body": _deep(70, "\x01")},
    {"body": _deep(300)},
    {"path": None, "query": None, "headers": None, "body": _deep(64)},
    {"path": None, "query": None, "headers": None, "body": _deep(65)},
    {"body": [[1]] * 70},
    {"body": "a plain string body \x00"},
]


def _outcome(check, context) -> Any:
    try:
        check(context)
    except ClientError as exc:
        return (exc.status, exc.detail)
    return None


def _ensure_each(context) -> None:
    for name in ("path", "query", "body", "headers"):
        ensure_xml_safe(context.get(name), name)


@pytest.mark.parametrize("parts", _XML_UNSAFE_CASES)
def test_xml_safety_check_decides_as_ensure_xml_safe(parts):
    """render_request's check of the request parts (proved in C when it can be) raises
    exactly what ensure_xml_safe raises part by part, or nothing when it passes."""
    context = {"path": {}, "query": {}, "body": None, "headers": {}, **parts}
    assert _outcome(_ensure_xml_safe, context) == _outcome(_ensure_each, context)


def test_a_clean_body_is_cleared_without_a_walk(routes):
    """A body template's input within the bounds is cleared without ensure_xml_safe."""
    body = _json(RAW_ORDER + ', "note": "Leave <it> & go"}')
    with mock.patch("mediator.translate.request.ensure_xml_safe", side_effect=AssertionError):
        rendered = _render(routes["raw"], body=body, headers={"x-token": "t"})
    assert "Leave &lt;it&gt; &amp; go" in rendered.body_xml


def test_body_templates_are_proved_well_formed(routes):
    """The raw route's body and header templates are proved: its envelope is built without
    a parse, to the same bytes."""
    body = _json(RAW_ORDER + ', "note": "Leave <it> & go"}')
    rendered = _render(routes["raw"], body=body, headers={"x-token": "t"})
    assert rendered.well_formed
    kwargs = {"header_xml": rendered.header_xml, "namespaces": routes["raw"].namespaces}
    assert build_envelope("1.1", rendered.body_xml, well_formed=True, **kwargs) == (
        build_envelope("1.1", rendered.body_xml, **kwargs)
    )


def test_args_routes_without_a_header_vouch_for_nothing_to_parse(routes):
    """Without templates of XML there is nothing to parse: the flag holds trivially."""
    assert _render(routes["typed"], path={"id": "5"}).well_formed
