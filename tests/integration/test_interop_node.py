"""Interop with node-soap (npm ``soap``), an engine written outside this project.

The services are ``tests/backends/node/interop-server.js`` (WSDLs in
``tests/backends/node/wsdl``), used as node-soap ships them; the mappings are in
``tests/interop``. Every test asserts the whole JSON the client receives. Engine quirks are
described in ``docs/interop.md``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mediator.gateway.exchange import Exchange
from tests.backends.node_soap import (
    NODE_DIR,
    _await_port,
    _require_tool,
    ensure_node_modules,
)
from tests.backends.processes import stop_process
from tests.integration.conftest import GatewayFactory
from tests.integration.exact_json import D, exact_json

pytestmark = pytest.mark.integration

INTEROP = Path(__file__).resolve().parent.parent / "interop"
WSS_PASSWORD = "pässwörd-🔑-42"  # what interop-server.js accepts
REQUEST_ID = "interop-node-1"


@pytest.fixture(scope="session")
def node_interop() -> Iterator[str]:
    """``interop-server.js`` on an ephemeral loopback port, for the whole session; its base URL."""
    ensure_node_modules()
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    with subprocess.Popen(
        [_require_tool("node"), "interop-server.js", "--port", "0"],
        cwd=NODE_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=env,
    ) as proc:
        try:
            port = _await_port(proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(proc)


@pytest.fixture(params=["1.1", "1.2"])
def catalog_env(request: pytest.FixtureRequest, node_interop: str) -> dict[str, str]:
    """The Catalog mapping pointed at node-soap's SOAP 1.1 or SOAP 1.2 endpoint."""
    if request.param == "1.1":
        return {"CATALOG_URL": f"{node_interop}/catalog"}
    return {"CATALOG_URL": f"{node_interop}/catalog12", "CATALOG_PORT": "CatalogSoap12"}


# ------------------------------------------------------------------ document/literal

PRODUCT_1 = {
    "id": 1,
    "sku": "KB-1",
    "name": "Clavier ergonomique « Zoë »",
    "description": "Touches mécaniques — 日本語配列 ✓ 🎹",
    "price": D("129.90"),
    "discount": D("10.00"),
    "inStock": True,
    "releaseDate": "2025-02-28",
    "updatedAt": "2026-01-05T10:20:30Z",
    "rating": D("4.5"),
    "tags": ["usb", "keyboard", "ergonomic"],
    "variants": [
        {"code": "FR", "color": "gris anthracite", "weight": D("0.850"), "available": True},
        {"code": "DE", "weight": None, "available": False},
    ],
}
PRODUCT_2 = {
    "id": 2,
    "sku": "MS-2",
    "name": "Mouse",
    "description": None,  # absent, and the mapping says absent: null
    "price": D("0.10"),
    "discount": None,  # xsi:nil
    "inStock": False,
    "releaseDate": "1999-12-31",
    "updatedAt": "2026-03-01T00:00:00+01:00",
    "tags": [],
    "variants": [],
}
PRODUCT_3 = {
    "id": 3,
    "sku": "CB-3",
    "name": 'Câble & <adaptateur> "USB-C"',
    "description": "",  # present and empty: an empty string, not null
    "price": D("1234567890.123456789"),
    "discount": 0,
    "inStock": True,
    "releaseDate": "2026-02-01",
    "updatedAt": "2026-02-01T08:00:00.250Z",
    "rating": 3,
    "tags": ["usb"],
    "variants": [{"code": "STD", "color": "noir", "weight": D("0.045"), "available": True}],
}


@pytest.mark.parametrize(
    ("product_id", "expected"), [(1, PRODUCT_1), (2, PRODUCT_2), (3, PRODUCT_3)]
)
async def test_document_literal_wrapped_typed_from_the_xsd(
    gateway: GatewayFactory, catalog_env: dict[str, str], product_id: int, expected: Any
) -> None:
    """doc/literal wrapped over SOAP 1.1 and 1.2: decimals keep their digits, booleans, dates,
    nil → null, absent optional → null (absent: null) or omitted, lists of 0, 1 and many."""
    client = await gateway(paths=[INTEROP / "node_catalog.yaml"], environ=catalog_env)
    response = await client.get(f"/products/{product_id}")
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    assert await exact_json(response) == expected


def _summary(product: dict[str, Any]) -> dict[str, Any]:
    """The XSD-derived JSON of a Catalog product, from the data above (camelCase, lists always)."""
    derived = {
        "id": product["id"],
        "sku": product["sku"],
        "name": product["name"],
        "price": product["price"],
        "discount": product["discount"],
        "inStock": product["inStock"],
        "releaseDate": product["releaseDate"],
        "updatedAt": product["updatedAt"],
        "tag": product["tags"],
        "variant": product["variants"],
    }
    if product["description"] is not None:
        derived["description"] = product["description"]
    if "rating" in product:
        derived["rating"] = product["rating"]
    return derived


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("none", []),
        ("keyboard", [_summary(PRODUCT_1)]),
        ("usb", [_summary(PRODUCT_1), _summary(PRODUCT_3)]),
    ],
    ids=["zero", "one", "many"],
)
async def test_derived_list_of_zero_one_many(
    gateway: GatewayFactory, catalog_env: dict[str, str], tag: str, expected: list[Any]
) -> None:
    """A repeated element is always a JSON array, whether node-soap wrote 0, 1 or many of it."""
    client = await gateway(paths=[INTEROP / "node_catalog.yaml"], environ=catalog_env)
    response = await client.get("/products", params={"tag": tag})
    assert response.status == 200, await response.text()
    assert await exact_json(response) == {"product": expected}


async def test_request_values_and_non_ascii_round_trip(
    gateway: GatewayFactory, catalog_env: dict[str, str]
) -> None:
    """A nested JSON body goes out typed by the XSD (int, decimal, boolean, date) and non-ASCII
    text (astral plane included) comes back unchanged."""
    client = await gateway(paths=[INTEROP / "node_catalog.yaml"], environ=catalog_env)
    review = {
        "author": "Zoë Łukasiewicz-山田 🎉",
        "text": "Très bien — <b>sehr gut</b> & 很好",
        "score": "4.50",
        "recommended": True,
        "visitedOn": "2026-02-28",
    }
    response = await client.post("/products/3/reviews", json=review)
    assert response.status == 201, await response.text()
    assert await exact_json(response) == {
        "reviewId": 7003,
        "stored": {
            "productId": 3,
            "author": "Zoë Łukasiewicz-山田 🎉",
            "text": "Très bien — <b>sehr gut</b> & 很好",
            "score": D("4.50"),
            "recommended": True,
            "visitedOn": "2026-02-28",
        },
    }


async def test_optional_request_element(
    gateway: GatewayFactory, catalog_env: dict[str, str]
) -> None:
    """An optional element given in JSON is sent and echoed; a JSON number for a decimal keeps
    its digits on the way out."""
    client = await gateway(paths=[INTEROP / "node_catalog.yaml"], environ=catalog_env)
    response = await client.post(
        "/products/1/reviews",
        data=(
            '{"author": "A", "text": "", "score": 5.0, "recommended": false,'
            ' "visitedOn": "2026-01-01", "email": "a@example.org"}'
        ),
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 201, await response.text()
    assert await exact_json(response) == {
        "reviewId": 7001,
        "stored": {
            "productId": 1,
            "author": "A",
            "text": "",
            "score": D("5.0"),
            "recommended": False,
            "visitedOn": "2026-01-01",
            "email": "a@example.org",
        },
    }


def _exported(i: int) -> dict[str, Any]:
    """Product ``i`` of ExportProducts as the gateway derives it (mirrors exportedProduct)."""
    product: dict[str, Any] = {
        "id": i,
        "sku": f"EXP-{i:05d}",
        "name": f"Artikel {i} – Größe {i % 7}",
    }
    if i % 3 != 0:
        product["description"] = f"Beschreibung für Artikel {i}"
    product.update(
        {
            "price": D(f"{i}.{i % 100:02d}"),
            "discount": None if i % 5 == 0 else D(f"{i % 10}.5"),
            "inStock": i % 2 == 0,
            "releaseDate": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "updatedAt": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
        }
    )
    if i % 4 != 0:
        product["rating"] = D(f"{i % 5}.{i % 10}")
    product["tag"] = [f"tag-{k}" for k in range(i % 3)]
    product["variant"] = (
        [{"code": f"V{i}", "weight": D("1.250"), "available": True}] if i % 2 == 1 else []
    )
    return product


async def test_large_response(gateway: GatewayFactory, node_interop: str) -> None:
    """Several hundred kilobytes of SOAP (1200 products) come back whole and typed."""
    seen: list[Exchange] = []
    client = await gateway(
        paths=[INTEROP / "node_catalog.yaml"],
        environ={"CATALOG_URL": f"{node_interop}/catalog"},
        observers=[seen.append],
    )
    response = await client.get("/exports", params={"count": "1200"})
    assert response.status == 200, await response.text()
    assert await exact_json(response) == {"product": [_exported(i) for i in range(1, 1201)]}
    wire = seen[-1].wire
    assert wire is not None and wire.response_body is not None
    assert len(wire.response_body) > 400_000


async def test_undeclared_xsi_prefix_is_refused(gateway: GatewayFactory, node_interop: str) -> None:
    """node-soap as shipped writes xsi:nil="true" without declaring xsi: that answer is not
    namespace-well-formed, so the gateway refuses it (502) rather than guess; answers without
    a null are unaffected."""
    client = await gateway(
        paths=[INTEROP / "node_catalog.yaml"],
        environ={"CATALOG_URL": f"{node_interop}/catalog-as-shipped"},
    )
    response = await client.get("/products/2", headers={"X-Request-ID": REQUEST_ID})
    assert response.status == 502
    assert await response.json() == {
        "type": "urn:mediator:problem:upstream-invalid-response",
        "title": "Invalid Upstream Response",
        "status": 502,
        "detail": "the SOAP service answered with something that is not a usable SOAP response",
        "instance": "/products/2",
        "request_id": REQUEST_ID,
    }
    unaffected = await client.get("/products/3")
    assert unaffected.status == 200
    assert await exact_json(unaffected) == PRODUCT_3


async def test_absent_null_unquoted(
    gateway: GatewayFactory, node_interop: str, tmp_path: Path
) -> None:
    """``absent: null`` written as the README shows (unquoted) is accepted."""
    mapping = (INTEROP / "node_catalog.yaml").read_text(encoding="utf-8")
    mapping = mapping.replace('absent: "null"', "absent: null").replace(
        "wsdl: ../backends/", f"wsdl: {INTEROP.parent}/backends/"
    )
    assert "absent: null}" in mapping
    path = tmp_path / "catalog.yaml"
    path.write_text(mapping, encoding="utf-8")
    client = await gateway(paths=[path], environ={"CATALOG_URL": f"{node_interop}/catalog"})
    response = await client.get("/products/2")
    assert await exact_json(response) == PRODUCT_2


# -------------------------------------------------------------------------- faults


async def test_fault_soap11_maps_to_404(gateway: GatewayFactory, node_interop: str) -> None:
    """node-soap's SOAP 1.1 fault (HTTP 500, unqualified detail entries) → 404 by the NotFound rule."""
    client = await gateway(
        paths=[INTEROP / "node_catalog.yaml"], environ={"CATALOG_URL": f"{node_interop}/catalog"}
    )
    response = await client.get("/products/42", headers={"X-Request-ID": REQUEST_ID})
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert await response.json() == {
        "type": "urn:mediator:problem:upstream-fault",
        "title": "Product not found",
        "status": 404,
        "detail": "Product 42 not found",
        "instance": "/products/42",
        "request_id": REQUEST_ID,
        "fault": {
            "code": "Client",
            "reason": "Product 42 not found",
            "detail": {"NotFound": {"Entity": "Product", "Key": "42"}},
        },
    }


async def test_fault_soap12_maps_to_404(gateway: GatewayFactory, node_interop: str) -> None:
    """node-soap's SOAP 1.2 fault (Sender, a subcode, detail entries in the envelope namespace)
    → 404 by the same rule: rules see local names."""
    client = await gateway(
        paths=[INTEROP / "node_catalog.yaml"],
        environ={"CATALOG_URL": f"{node_interop}/catalog12", "CATALOG_PORT": "CatalogSoap12"},
    )
    response = await client.get("/products/42", headers={"X-Request-ID": REQUEST_ID})
    assert response.status == 404
    assert await response.json() == {
        "type": "urn:mediator:problem:upstream-fault",
        "title": "Product not found",
        "status": 404,
        "detail": "Product 42 not found",
        "instance": "/products/42",
        "request_id": REQUEST_ID,
        "fault": {
            "code": "Sender",
            "subcodes": ["NotFound"],
            "reason": "Product 42 not found",
            "detail": {"NotFound": {"Entity": "Product", "Key": "42"}},
        },
    }


async def test_server_fault_maps_to_503(
    gateway: GatewayFactory, catalog_env: dict[str, str]
) -> None:
    """A Server (1.1) / Receiver (1.2) fault without detail → 503 by the code rule."""
    client = await gateway(paths=[INTEROP / "node_catalog.yaml"], environ=catalog_env)
    response = await client.get("/products/500", headers={"X-Request-ID": REQUEST_ID})
    assert response.status == 503
    code = "Receiver" if "CATALOG_PORT" in catalog_env else "Server"
    assert await response.json() == {
        "type": "urn:mediator:problem:upstream-fault",
        "title": "Catalog unavailable",
        "status": 503,
        "detail": "Catalog database unavailable",
        "instance": "/products/500",
        "request_id": REQUEST_ID,
        "fault": {"code": code, "reason": "Catalog database unavailable"},
    }


# --------------------------------------------------------------------- WS-Security


async def test_ws_security_username_token_accepted(
    gateway: GatewayFactory, node_interop: str
) -> None:
    """The UsernameToken rendered by the soap_header template, with the password from env,
    passes node-soap's authenticate check."""
    client = await gateway(
        paths=[INTEROP / "node_catalog_secure.yaml"],
        environ={
            "CATALOG_SECURE_URL": f"{node_interop}/catalog-secure",
            "CATALOG_WSS_PASSWORD": WSS_PASSWORD,
        },
    )
    response = await client.get("/secure/products/3")
    assert response.status == 200, await response.text()
    assert await exact_json(response) == {
        "id": 3,
        "name": 'Câble & <adaptateur> "USB-C"',
        "price": D("1234567890.123456789"),
        "tags": ["usb"],
    }


async def test_ws_security_wrong_password_maps_by_http_status(
    gateway: GatewayFactory, node_interop: str
) -> None:
    """A rejected token (HTTP 401 with a fault) becomes the mapping's 502 "credentials" problem."""
    client = await gateway(
        paths=[INTEROP / "node_catalog_secure.yaml"],
        environ={
            "CATALOG_SECURE_URL": f"{node_interop}/catalog-secure",
            "CATALOG_WSS_PASSWORD": "wrong",
        },
    )
    response = await client.get("/secure/products/3", headers={"X-Request-ID": REQUEST_ID})
    assert response.status == 502
    body = await response.json()
    assert {k: body[k] for k in ("type", "title", "status", "instance", "request_id")} == {
        "type": "urn:mediator:problem:upstream-fault",
        "title": "The catalog rejected the gateway's credentials",
        "status": 502,
        "instance": "/secure/products/3",
        "request_id": REQUEST_ID,
    }


async def test_ws_security_rejection_fault_is_read(
    gateway: GatewayFactory, node_interop: str
) -> None:
    """The rejection's code, subcode and reason reach the client, whatever layout node-soap used."""
    client = await gateway(
        paths=[INTEROP / "node_catalog_secure.yaml"],
        environ={
            "CATALOG_SECURE_URL": f"{node_interop}/catalog-secure",
            "CATALOG_WSS_PASSWORD": "wrong",
        },
    )
    response = await client.get("/secure/products/3", headers={"X-Request-ID": REQUEST_ID})
    assert await response.json() == {
        "type": "urn:mediator:problem:upstream-fault",
        "title": "The catalog rejected the gateway's credentials",
        "status": 502,
        "detail": "Invalid username or password",
        "instance": "/secure/products/3",
        "request_id": REQUEST_ID,
        "fault": {
            "code": "Client",
            "subcodes": ["AuthenticationFailure"],
            "reason": "Invalid username or password",
        },
    }


# ---------------------------------------------------------------------- rpc/literal

QUOTE_ACME = {
    "symbol": "ACME",
    "price": D("101.25"),
    "closed": False,
    "asOf": "2026-04-01T15:30:00Z",
}


@pytest.mark.parametrize(
    ("symbol", "days", "expected"),
    [
        (
            "NEW",
            3,
            {
                "symbol": "NEW",
                "price": 1,
                "closed": False,
                "asOf": "2026-04-01T09:00:00Z",
                "history": [],
            },
        ),
        (
            "ÜBER",
            3,
            {
                "symbol": "ÜBER",
                "price": D("7.000"),
                "closed": True,
                "asOf": "2026-04-01T17:30:00+02:00",
                "history": [{"day": "2026-03-29", "close": D("7.000")}],
            },
        ),
        (
            "ACME",
            2,
            {
                **QUOTE_ACME,
                "history": [
                    {"day": "2026-03-29", "close": D("100.50")},
                    {"day": "2026-03-30", "close": D("101.25")},
                ],
            },
        ),
    ],
    ids=["zero", "one", "many"],
)
async def test_rpc_literal_by_local_name(
    gateway: GatewayFactory, node_interop: str, symbol: str, days: int, expected: Any
) -> None:
    """rpc/literal: zeep's request is accepted; node-soap's namespace-qualified parts are read by
    local-name() XPaths with explicit types (the mapping-side workaround)."""
    client = await gateway(
        paths=[INTEROP / "quotes.yaml"], environ={"QUOTES_URL": f"{node_interop}/quotes"}
    )
    response = await client.get(f"/quotes-by-local-name/{symbol}", params={"days": str(days)})
    assert response.status == 200, await response.text()
    assert await exact_json(response) == expected


async def test_rpc_literal_derived_from_parts(gateway: GatewayFactory, node_interop: str) -> None:
    """Without a response block, an rpc/literal response is derived from the message parts."""
    client = await gateway(
        paths=[INTEROP / "quotes.yaml"], environ={"QUOTES_URL": f"{node_interop}/quotes"}
    )
    response = await client.get("/quotes/ACME", params={"days": "2"})
    assert response.status == 200
    assert await exact_json(response) == {
        **QUOTE_ACME,
        "history": {
            "point": [
                {"day": "2026-03-29", "close": D("100.50")},
                {"day": "2026-03-30", "close": D("101.25")},
            ]
        },
    }


async def test_rpc_literal_fault_maps_to_404(gateway: GatewayFactory, node_interop: str) -> None:
    """An rpc/literal SOAP 1.1 Client fault without detail → 404 by the code rule."""
    client = await gateway(
        paths=[INTEROP / "quotes.yaml"], environ={"QUOTES_URL": f"{node_interop}/quotes"}
    )
    response = await client.get("/quotes/NOPE", headers={"X-Request-ID": REQUEST_ID})
    assert response.status == 404
    assert await response.json() == {
        "type": "urn:mediator:problem:upstream-fault",
        "title": "Unknown symbol",
        "status": 404,
        "detail": "Unknown symbol NOPE",
        "instance": "/quotes/NOPE",
        "request_id": REQUEST_ID,
        "fault": {"code": "Client", "reason": "Unknown symbol NOPE"},
    }
