"""OpenAPI 3.1 from the mappings: a valid document that describes the real responses."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration


def _response_schema(
    document: dict[str, Any], path: str, method: str, status: int, ctype: str
) -> dict[str, Any]:
    schema: dict[str, Any] = document["paths"][path][method]["responses"][str(status)]["content"][
        ctype
    ]["schema"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


async def test_document_is_valid_and_matches_real_responses(
    gateway: GatewayFactory, node_backend: str
) -> None:
    """/openapi.json validates as OpenAPI 3.1 and every example answer fits its declared schema."""
    client = await gateway(environ={"ORDERS_SOAP_URL": f"{node_backend}/orders"})
    response = await client.get("/openapi.json")
    assert response.status == 200
    document = await response.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/orders/{id}",
        "/orders",
        "/customers/{id}",
        "/customers/{id}/overview",
    }
    get_order = document["paths"]["/orders/{id}"]["get"]
    assert get_order["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    assert "404" in get_order["responses"]
    create = document["paths"]["/orders"]["post"]
    assert set(create["requestBody"]["content"]["application/json"]["schema"]["properties"]) == {
        "customerId",
        "lines",
        "note",
    }
    cases = [
        ("/orders/{id}", "get", "/orders/1001", 200, "application/json"),
        ("/orders/{id}", "get", "/orders/1003", 200, "application/json"),
        ("/orders/{id}", "get", "/orders/4242", 404, "application/problem+json"),
        ("/orders", "get", "/orders?customerId=1", 200, "application/json"),
        ("/orders", "get", "/orders?customerId=3", 200, "application/json"),
        ("/customers/{id}", "get", "/customers/2", 200, "application/json"),
        ("/customers/{id}", "get", "/customers/abc", 400, "application/problem+json"),
        ("/customers/{id}/overview", "get", "/customers/1/overview", 200, "application/json"),
    ]
    for template, method, url, status, ctype in cases:
        answer = await client.get(url)
        assert answer.status == status, url
        jsonschema.validate(
            json.loads(await answer.text()),
            _response_schema(document, template, method, status, ctype),
        )


async def test_schema_rejects_a_wrong_shape(gateway: GatewayFactory, node_backend: str) -> None:
    """The response schema is strict enough to catch a mistyped answer (it can fail)."""
    client = await gateway(environ={"ORDERS_SOAP_URL": f"{node_backend}/orders"})
    document = await (await client.get("/openapi.json")).json()
    schema = _response_schema(document, "/orders/{id}", "get", 200, "application/json")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "1001", "lines": []}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": 1001, "lines": [], "unexpected": 1}, schema)


async def test_docs_page_uses_local_assets_only(gateway: GatewayFactory) -> None:
    """/docs is an HTML page that loads nothing from other hosts."""
    client = await gateway(environ={"ORDERS_SOAP_URL": "http://127.0.0.1:9/orders"})
    response = await client.get("/docs")
    assert response.status == 200
    assert response.content_type == "text/html"
    text = await response.text()
    assert "openapi.json" in text
    assert "http://" not in text and "https://" not in text


async def test_composed_and_async_routes_are_described(registry, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A composed route lists its steps and their fault statuses; an async route documents 202."""
    from mediator.gateway.openapi import build_openapi
    from mediator.mapping.loader import load_mappings
    from tests.conftest import MAPPINGS_DIR, WSDL_DIR

    text = (
        (MAPPINGS_DIR / "orders.yaml")
        .read_text()
        .replace("    name: create-order\n", "    name: create-order\n    mode: both\n")
    )
    (tmp_path / "orders.yaml").write_text(text)
    document = build_openapi(
        load_mappings([tmp_path], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    )
    validate(document)
    overview = document["paths"]["/customers/{id}/overview"]["get"]
    assert overview["description"].startswith(
        "Composed of steps `customer` → `GetCustomer` of `OrderService`"
    )
    assert overview["responses"]["404"]["description"] == "Customer not found"
    create = document["paths"]["/orders"]["post"]
    assert "Prefer: respond-async" in create["responses"]["202"]["description"]
    assert set(create["responses"]["202"]["headers"]) == {"Location", "Retry-After"}
    assert "202" not in document["paths"]["/orders/{id}"]["get"]["responses"]
