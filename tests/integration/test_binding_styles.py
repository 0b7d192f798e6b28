"""rpc/literal and document/literal bare operations, end to end against a scripted backend."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

MAPPINGS = Path(__file__).parent / "mappings"
SOAP11 = "{http://schemas.xmlsoap.org/soap/envelope/}"


def _body_child(data: bytes) -> etree._Element:
    root = etree.fromstring(data)
    body = root.find(f"{SOAP11}Body")
    assert body is not None
    return body[0]


async def test_rpc_literal(gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str]) -> None:
    """rpc/literal: the request wraps unqualified parts in the operation element; the response too."""
    backend, url = scripted
    backend.reply = Reply(
        body=envelope(
            '<i:GetStockResponse xmlns:i="urn:example:inventory"><quantity>12</quantity><price>3.50</price>'
            "<bin><code>A-7</code><count>2</count></bin></i:GetStockResponse>"
        )
    )
    client = await gateway(paths=[MAPPINGS / "inventory.yaml"], environ={"RPC_URL": url})
    response = await client.get("/stock/SKU-1?warehouse=4")
    assert response.status == 200
    assert json.loads(await response.text(), parse_float=Decimal) == {
        "quantity": 12,
        "price": Decimal("3.50"),
        "bin": {"code": "A-7", "count": 2},
    }
    sent = backend.received[-1]
    assert sent.headers["SOAPAction"] == '"urn:example:inventory#GetStock"'
    wrapper = _body_child(sent.body)
    assert wrapper.tag == "{urn:example:inventory}GetStock"
    assert [(child.tag, child.text) for child in wrapper] == [("sku", "SKU-1"), ("warehouse", "4")]


async def test_rpc_literal_derived_response(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str]
) -> None:
    """Without a response block an rpc response is derived from the message parts."""
    backend, url = scripted
    backend.reply = Reply(
        body=envelope(
            '<GetStockResponse xmlns="urn:example:inventory"><quantity xmlns="">0</quantity><price xmlns="">1</price>'
            '<bin xmlns=""><code>Z</code><count>0</count></bin></GetStockResponse>'
        )
    )
    client = await gateway(paths=[MAPPINGS / "inventory.yaml"], environ={"RPC_URL": url})
    response = await client.get("/stock-derived/X")
    assert response.status == 200
    assert await response.json() == {"quantity": 0, "price": 1, "bin": {"code": "Z", "count": 0}}


async def test_document_literal_bare(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str]
) -> None:
    """document/literal bare: the body is the part element itself; attributes and repeated elements map."""
    backend, url = scripted
    backend.reply = Reply(
        body=envelope(
            '<StockLevel xmlns="urn:example:inventory:bare" asOf="2026-11-01"><Sku>S</Sku><Quantity>9000000000</Quantity>'
            "<Reorder>true</Reorder><Location>A1</Location></StockLevel>"
        )
    )
    client = await gateway(paths=[MAPPINGS / "inventory_bare.yaml"], environ={"BARE_URL": url})
    response = await client.get("/levels/S")
    assert response.status == 200
    assert await response.json() == {
        "sku": "S",
        "quantity": 9000000000,
        "reorder": True,
        "asOf": "2026-11-01",
        "locations": ["A1"],
    }
    wrapper = _body_child(backend.received[-1].body)
    assert wrapper.tag == "{urn:example:inventory:bare}StockQuery"
    assert wrapper[0].tag == "{urn:example:inventory:bare}Sku" and wrapper[0].text == "S"
    derived = await client.get("/levels-derived/S")
    assert await derived.json() == {
        "asOf": "2026-11-01",
        "sku": "S",
        "quantity": 9000000000,
        "reorder": True,
        "location": ["A1"],
    }
