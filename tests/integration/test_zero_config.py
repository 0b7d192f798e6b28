"""Zero-config: a WSDL alone gives one generic JSON route per operation."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from aiohttp.test_utils import TestServer

from mediator.gateway.app import create_app
from mediator.mapping.loader import load_mappings
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import WSDL_DIR

pytestmark = pytest.mark.integration


async def test_generic_routes_call_every_operation(
    aiohttp_client, registry: WsdlRegistry, node_backend: str
) -> None:  # type: ignore[no-untyped-def]
    """POST /soap/{service}/{operation} takes the input elements as JSON and returns typed output."""
    mappings = load_mappings(
        [],
        describe=registry.describe,
        wsdl_dir=WSDL_DIR,
        environ={"MEDIATOR_ADDRESS_ORDERSERVICE": f"{node_backend}/orders"},
        zero_config=[WSDL_DIR / "orders.wsdl"],
    )
    assert sorted(r.path for r in mappings.routes) == [
        "/soap/OrderService/CreateOrder",
        "/soap/OrderService/GetCustomer",
        "/soap/OrderService/GetOrder",
        "/soap/OrderService/SearchOrders",
    ]
    client = await aiohttp_client(TestServer(create_app(mappings, registry=registry)))
    response = await client.post("/soap/OrderService/GetCustomer", json={"CustomerId": 2})
    assert response.status == 200
    assert await response.json() == {"Customer": {"Id": 2, "Name": "Józef Wybicki", "Vip": False}}
    response = await client.post("/soap/OrderService/SearchOrders", json={"CustomerId": 2})
    assert json.loads(await response.text(), parse_float=Decimal) == {
        "Order": [
            {
                "Id": 1003,
                "CustomerName": "Józef Wybicki",
                "Status": "cancelled",
                "OrderDate": "2026-05-20",
                "Total": Decimal("0.00"),
            }
        ]
    }
    response = await client.post("/soap/OrderService/SearchOrders")
    assert len((await response.json())["Order"]) >= 3
    response = await client.post("/soap/OrderService/GetCustomer", json={"CustomerId": "two"})
    assert response.status == 400
    assert (await response.json())[
        "detail"
    ] == "GetCustomer/CustomerId: expected an integer, got 'two'"
    response = await client.post("/soap/OrderService/GetCustomer", json={"Customer": 2})
    assert response.status == 400
    assert (
        "unexpected element 'Customer'; expected one of: CustomerId"
        in (await response.json())["detail"]
    )
