"""Exchange observers see every request completely: JSON in, SOAP both ways, JSON out."""

from __future__ import annotations

import json

import pytest

from mediator.gateway.exchange import Exchange
from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

FAULT = (
    '<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:Client</faultcode>'
    "<faultstring>nope</faultstring></s:Fault>"
)


async def test_observer_gets_success_and_fault(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str]
) -> None:
    """A successful call and a fault are both observed with wire bytes, statuses and bodies."""
    backend, url = scripted
    seen: list[Exchange] = []
    client = await gateway(environ={"ORDERS_SOAP_URL": url}, observers=[seen.append])
    backend.reply = Reply(
        body=envelope(
            '<CreateOrderResponse xmlns="urn:example:orders"><OrderId>5</OrderId><Status>open</Status><Total>2</Total></CreateOrderResponse>'
        )
    )
    payload = {"customerId": 1, "lines": [{"sku": "a", "quantity": 1, "unitPrice": 2}]}
    response = await client.post("/orders", json=payload, headers={"X-Request-ID": "obs-1"})
    assert response.status == 201
    backend.reply = Reply(body=envelope(FAULT), status=500)
    response = await client.get("/orders/9")
    assert response.status == 422  # an unmapped Client fault
    first, second = seen
    assert first.request_id == "obs-1"
    assert first.route == "create-order" and first.operation == "CreateOrder"
    assert first.json_request == payload
    assert first.wire is not None and first.wire.request_body == backend.received[0].body
    assert first.wire.response_status == 200
    assert json.loads(first.response_body) == {"id": 5, "status": "open", "total": 2}
    assert first.status == 201
    assert second.status == 422
    assert second.wire is not None and second.wire.response_status == 500
    assert b"faultstring" in (second.wire.response_body or b"")
    assert json.loads(second.response_body)["type"] == "urn:mediator:problem:upstream-fault"


async def test_failing_observer_does_not_break_the_response(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str]
) -> None:
    """An observer that raises is logged and ignored; the client still gets its answer."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(FAULT), status=500)

    def broken(exchange: Exchange) -> None:
        raise RuntimeError("observer bug")

    client = await gateway(environ={"ORDERS_SOAP_URL": url}, observers=[broken])
    response = await client.get("/orders/9")
    assert response.status == 422
