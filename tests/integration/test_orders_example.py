"""The bundled example end to end: gateway → node-soap (SOAP 1.1 and 1.2) → typed JSON."""

from __future__ import annotations

from decimal import Decimal
from decimal import Decimal as D
from typing import Any

import pytest

from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

ORDER_1001 = {
    "id": 1001,
    "status": "shipped",
    "orderDate": "2026-03-14",
    "createdAt": "2026-03-14T09:26:53Z",
    "shippedAt": "2026-03-16T15:00:00Z",
    "total": D("1234.50"),
    "paid": True,
    "note": "Leave at the porter's desk & ring twice",
    "customer": {"id": 1, "name": "Ada Lovelace", "email": "ada@example.org", "vip": True},
    "lines": [
        {
            "sku": "ANL-ENG-01",
            "description": "Analytical engine gear set",
            "quantity": 2,
            "unitPrice": D("500.00"),
        },
        {
            "sku": "PNC-CRD-10",
            "description": "Punched cards, box of 1000",
            "quantity": 3,
            "unitPrice": D("78.10"),
        },
        {"sku": "BRS-CRK-02", "description": "Brass crank", "quantity": 1, "unitPrice": D("0.20")},
    ],
}
ORDER_1003 = {
    "id": 1003,
    "status": "cancelled",
    "orderDate": "2026-05-20",
    "createdAt": "2026-05-20T08:15:30Z",
    "shippedAt": None,
    "total": D("0.00"),
    "paid": False,
    "customer": {"id": 2, "name": "Józef Wybicki", "vip": False},
    "lines": [],
}


@pytest.fixture(params=["1.1", "1.2"])
def soap_env(request: pytest.FixtureRequest, node_backend: str) -> dict[str, str]:
    """The example mapping pointed at node-soap's SOAP 1.1 or SOAP 1.2 endpoint."""
    if request.param == "1.1":
        return {"ORDERS_SOAP_URL": f"{node_backend}/orders"}
    return {"ORDERS_SOAP_URL": f"{node_backend}/orders12", "ORDERS_PORT": "OrderPortSoap12"}


async def _json(response: Any) -> Any:
    import json

    return json.loads(await response.text(), parse_float=Decimal)


async def test_get_order_is_typed_from_the_xsd(
    gateway: GatewayFactory, soap_env: dict[str, str]
) -> None:
    """Numbers, exact decimals, booleans, dates, nested objects and a list of many come back typed."""
    client = await gateway(environ=soap_env)
    response = await client.get("/orders/1001")
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await _json(response)
    assert body == ORDER_1001
    assert '"total":1234.50' in await response.text()  # decimal digits exactly as sent


async def test_nil_absent_and_empty_list(gateway: GatewayFactory, soap_env: dict[str, str]) -> None:
    """xsi:nil is null, an absent optional element is omitted, zero items is an empty array."""
    client = await gateway(environ=soap_env)
    response = await client.get("/orders/1003")
    assert response.status == 200
    assert await _json(response) == ORDER_1003


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("customerId=3", []),
        ("customerId=2", [1003]),
        ("customerId=1", [1001, 1002]),
        ("status=open", [1002]),
    ],
)
async def test_search_returns_arrays_of_0_1_many(
    gateway: GatewayFactory, soap_env: dict[str, str], query: str, ids: list[int]
) -> None:
    """A list field is always a JSON array, whether 0, 1 or many elements came back."""
    client = await gateway(environ=soap_env)
    response = await client.get(f"/orders?{query}")
    assert response.status == 200
    body = await _json(response)
    assert [order["id"] for order in body["orders"]] == ids
    if ids == [1003]:
        assert body["orders"] == [
            {
                "id": 1003,
                "customerName": "Józef Wybicki",
                "status": "cancelled",
                "orderDate": "2026-05-20",
                "total": D("0"),
            }
        ]


async def test_create_order_renders_a_nested_body(
    gateway: GatewayFactory, soap_env: dict[str, str]
) -> None:
    """POST renders the nested JSON into the SOAP body and answers 201 with the created order."""
    client = await gateway(environ=soap_env)
    payload = {
        "customerId": 3,
        "lines": [
            {"sku": "A&B<1>", "quantity": 2, "unitPrice": 10.05},
            {"sku": "C", "quantity": 1, "unitPrice": "0.10"},
        ],
        "note": "</o:Note><o:Injected/>",
    }
    response = await client.post("/orders", json=payload)
    assert response.status == 201, await response.text()
    body = await _json(response)
    assert body["status"] == "open"
    assert body["total"] == Decimal("20.20")
    created = await _json(await client.get(f"/orders/{body['id']}"))
    assert created["note"] == "</o:Note><o:Injected/>"  # carried as text, never as markup
    assert [line["sku"] for line in created["lines"]] == ["A&B<1>", "C"]


async def test_declared_fault_maps_to_404(
    gateway: GatewayFactory, soap_env: dict[str, str]
) -> None:
    """The NotFound fault (SOAP 1.1 Client / 1.2 Sender) becomes a 404 problem with the fault as JSON."""
    client = await gateway(environ=soap_env)
    response = await client.get("/orders/4242")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["type"] == "urn:mediator:problem:upstream-fault"
    assert body["title"] == "Order not found"
    assert body["status"] == 404
    assert body["detail"] == "Order 4242 not found"
    assert body["fault"]["code"] == ("Client" if "ORDERS_PORT" not in soap_env else "Sender")
    assert body["fault"]["detail"] == {"NotFound": {"Entity": "Order", "Key": "4242"}}
    assert body["request_id"] == response.headers["X-Request-ID"]


async def test_client_fault_without_rule_match_uses_next_rule(
    gateway: GatewayFactory, soap_env: dict[str, str]
) -> None:
    """A Client fault without detail falls to the second rule (422 Order rejected)."""
    client = await gateway(environ=soap_env)
    response = await client.post(
        "/orders", json={"customerId": 1, "lines": [{"sku": "X", "quantity": 0, "unitPrice": 1}]}
    )
    assert response.status == 422
    body = await response.json()
    assert body["title"] == "Order rejected"
    assert body["detail"] == "Quantity must be at least 1"


async def test_schema_derived_response(gateway: GatewayFactory, soap_env: dict[str, str]) -> None:
    """A route without a response block returns the whole output, shaped and typed from the XSD."""
    client = await gateway(environ=soap_env)
    response = await client.get("/customers/1")
    assert response.status == 200
    assert await response.json() == {
        "customer": {"id": 1, "name": "Ada Lovelace", "email": "ada@example.org", "vip": True}
    }
