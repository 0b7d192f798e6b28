"""The gateway in front of `replay`: every bundled exchange comes back as recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from mediator.contract.fixture import load_fixture
from mediator.contract.outcome import recorded_outcome
from mediator.contract.replay import ReplayBackend
from mediator.gateway.app import create_app
from mediator.mapping.loader import load_mappings
from mediator.translate.jsonio import dumps
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import MAPPINGS_DIR, WSDL_DIR
from tests.contract.test_bundled_fixtures import BUNDLED, FIXTURES_DIR

pytestmark = pytest.mark.integration


async def _gateway_over_replay(
    version: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> tuple[TestClient[web.Request, web.Application], ReplayBackend]:
    backend = ReplayBackend.from_directory(FIXTURES_DIR)
    server = await aiohttp_server(backend.app())
    environ = {"ORDERS_SOAP_URL": str(server.make_url("/orders"))}
    if version == "1.2":
        environ["ORDERS_PORT"] = "OrderPortSoap12"
    registry = WsdlRegistry()
    mappings = load_mappings(
        [MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ=environ
    )
    client = await aiohttp_client(create_app(mappings, registry=registry))
    return client, backend


def _reduced(status: int, content_type: str, body: Any) -> tuple[int, Any]:
    outcome = recorded_outcome(
        load_fixture(BUNDLED[0]).replace(
            response_status=status, response_content_type=content_type, json_response=body
        )
    )
    return outcome.status, outcome.body


@pytest.mark.parametrize("version", ["1.1", "1.2"])
async def test_every_recorded_exchange_replays_through_the_gateway(
    version: str, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    """Each recorded JSON request, sent to a gateway whose backend is `replay`, gets the recorded
    answer (SOAP 1.2 requests are answered from the SOAP 1.1 recordings, converted)."""
    client, backend = await _gateway_over_replay(version, aiohttp_server, aiohttp_client)
    for directory in BUNDLED:
        fixture = load_fixture(directory, FIXTURES_DIR)
        response = await client.request(
            fixture.method,
            fixture.http_path,
            params=fixture.query,
            data=dumps(fixture.json_request) if fixture.has_json_request else None,
            headers={"Content-Type": "application/json"} if fixture.has_json_request else None,
        )
        body = json.loads(await response.text(), parse_float=Decimal)
        content_type = response.content_type
        got = _reduced(response.status, content_type, body)
        expected = recorded_outcome(fixture)
        if version == "1.2" and isinstance(expected.body, dict) and "fault" in expected.body:
            code = expected.body["fault"]["code"]
            expected.body["fault"]["code"] = {"Client": "Sender", "Server": "Receiver"}.get(
                code, code
            )
        assert got == (expected.status, expected.body), fixture.name
    assert sorted(backend.served) == sorted(p.relative_to(FIXTURES_DIR).as_posix() for p in BUNDLED)


async def test_an_unrecorded_request_gets_a_problem_naming_the_closest_fixtures(
    aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    """A request nobody recorded fails visibly: the problem's fault names the closest fixtures."""
    client, _ = await _gateway_over_replay("1.1", aiohttp_server, aiohttp_client)
    response = await client.get("/orders/31337")
    problem = await response.json()
    assert response.status == 502
    assert problem["fault"]["code"] == "Server"
    assert problem["detail"].startswith(
        "replay: no recorded GetOrder exchange matches this request; closest: get-order/"
    )
    assert "31337" in json.dumps(problem["fault"]["detail"])


async def test_a_composed_route_is_served_from_its_steps_recordings(
    aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    """A route composing several operations replays from the single-operation recordings."""
    client, backend = await _gateway_over_replay("1.1", aiohttp_server, aiohttp_client)
    response = await client.get("/customers/1/overview")
    body = await response.json()
    assert response.status == 200, body
    assert body["customer"]["name"] == "Ada Lovelace"
    assert [order["id"] for order in body["orders"]] == [1001, 1002]
    assert sorted(backend.served) == [
        "get-customer/get-customers-1",
        "get-order/get-orders-1001",
        "get-order/get-orders-1002",
        "search-orders/get-orders-customerId-1",
    ]
