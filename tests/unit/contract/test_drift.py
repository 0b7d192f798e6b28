"""Drift: WSDL differences and the routes and fields they affect."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.contract.drift import compare_wsdl, find_impacts, format_report
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import WSDL_DIR

LOCAL = WSDL_DIR / "orders.wsdl"


def _live(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    text = LOCAL.read_text()
    for old, new in replacements:
        assert text.count(old) >= 1, old
        text = text.replace(old, new)
    path = tmp_path / "live.wsdl"
    path.write_text(text)
    return path


@pytest.fixture
def describe() -> WsdlRegistry:
    """A registry for modified copies (each test writes its own file)."""
    return WsdlRegistry()


def test_identical_wsdls_do_not_drift(describe: WsdlRegistry, tmp_path: Path) -> None:
    """A byte-identical copy has no differences."""
    assert compare_wsdl(describe.describe(LOCAL), describe.describe(_live(tmp_path))) == []


def test_a_type_change_names_operation_type_route_and_field(
    describe: WsdlRegistry, tmp_path: Path, orders_mappings: MappingSet
) -> None:
    """Email becoming an int affects GetOrder and GetCustomer outputs, type Customer, and customer.email."""
    live = _live(
        tmp_path,
        (
            '<xs:element name="Email" type="xs:string" minOccurs="0"/>',
            '<xs:element name="Email" type="xs:int" minOccurs="0"/>',
        ),
    )
    changes = compare_wsdl(describe.describe(LOCAL), describe.describe(live))
    texts = {c.describe() for c in changes}
    assert texts == {
        "GetOrder output GetOrderResponse/Order/Customer/Email: type string → integer",
        "GetCustomer output GetCustomerResponse/Customer/Email: type string → integer",
    }
    impacts = find_impacts(changes, orders_mappings)
    assert sorted({(i.route.name, i.part) for i in impacts}) == [
        ("get-customer", "response.customer.email"),
        ("get-order", "response.customer.email"),
    ]
    report = format_report(changes, impacts, local="wsdl/orders.wsdl", live="http://x/orders?wsdl")
    assert (
        "  types:\n    Customer/Email: type string → integer (in GetCustomer output, GetOrder output)"
        in report
    )
    assert (
        "route get-order: response.customer.email ← GetOrder output GetOrderResponse/Order/Customer/Email"
        in report
    )


def test_removed_and_added_elements_and_operations(
    describe: WsdlRegistry, tmp_path: Path, orders_mappings: MappingSet
) -> None:
    """A removed response element hits its field; a new required input element hits the request;
    a removed operation hits every route calling it."""
    live = _live(
        tmp_path,
        ('<xs:element name="CustomerName" type="xs:string"/>', ""),
        (
            '<xs:element name="Status" type="tns:OrderStatus" minOccurs="0"/>\n          </xs:sequence>',
            '<xs:element name="Status" type="tns:OrderStatus" minOccurs="0"/>\n            <xs:element name="Region" type="xs:string"/>\n          </xs:sequence>',
        ),
    )
    live_text = live.read_text()
    while '<wsdl:operation name="GetCustomer">' in live_text:  # port type and both bindings
        start = live_text.index('<wsdl:operation name="GetCustomer">')
        end = live_text.index("</wsdl:operation>", start) + len("</wsdl:operation>")
        live_text = live_text[:start] + live_text[end:]
    live.write_text(live_text)
    changes = compare_wsdl(describe.describe(LOCAL), describe.describe(live))
    parts = {
        (i.route.name, i.part, i.change.describe()) for i in find_impacts(changes, orders_mappings)
    }
    assert (
        "search-orders",
        "response.orders.customerName",
        "SearchOrders output SearchOrdersResponse/Order/CustomerName: element removed",
    ) in parts
    assert (
        "search-orders",
        "request.args",
        "SearchOrders input SearchOrders/Region: element added (required)",
    ) in parts
    assert ("get-customer", "operation", "GetCustomer: operation removed") in parts


def test_list_ness_and_enumerations_are_changes(
    describe: WsdlRegistry, tmp_path: Path, orders_mappings: MappingSet
) -> None:
    """maxOccurs and enumeration values changing are reported with old → new."""
    live = _live(
        tmp_path,
        (
            '<xs:element name="Line" type="tns:OrderLine" minOccurs="0" maxOccurs="unbounded"/>',
            '<xs:element name="Line" type="tns:OrderLine" minOccurs="0"/>',
        ),
        ('<xs:enumeration value="cancelled"/>', '<xs:enumeration value="returned"/>'),
    )
    changes = compare_wsdl(describe.describe(LOCAL), describe.describe(live))
    texts = {c.describe() for c in changes}
    assert "GetOrder output GetOrderResponse/Order/Line: maxOccurs unbounded → 1" in texts
    assert (
        "GetOrder output GetOrderResponse/Order/Status: values added: returned; values removed: cancelled"
        in texts
    )
    parts = {(i.route.name, i.part) for i in find_impacts(changes, orders_mappings)}
    assert ("get-order", "response.lines") in parts
    assert ("search-orders", "request.args.Status") in parts
