"""The requests recorded into ``fixtures/`` for the bundled example, and how to record them.

Re-record the bundled fixtures (after a change to the example backend or mappings) with::

    .venv/bin/python -m tests.contract.bundled fixtures

It starts the demo backend (``examples/orders/backend.py``) and a gateway with a recording
observer in-process, sends every request below and writes one fixture per exchange.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from examples.orders.backend import create_app as create_backend
from mediator.contract.record import FixtureRecorder
from mediator.gateway.app import create_app
from mediator.mapping.loader import load_mappings
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import MAPPINGS_DIR, WSDL_DIR

REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/orders/1001", None),
    ("GET", "/orders/1002", None),
    ("GET", "/orders/1003", None),
    ("GET", "/orders/4242", None),
    ("GET", "/orders?customerId=1", None),
    ("GET", "/orders?customerId=2", None),
    ("GET", "/orders?customerId=3", None),
    ("GET", "/orders?status=open", None),
    ("GET", "/customers/1", None),
    ("GET", "/customers/2", None),
    ("GET", "/customers/99", None),
    (
        "POST",
        "/orders",
        {"customerId": 1, "lines": [{"sku": "NTB-A5", "quantity": 2, "unitPrice": 19.99}]},
    ),
    (
        "POST",
        "/orders",
        {
            "customerId": 3,
            "lines": [
                {"sku": "ANL-ENG-01", "quantity": 1, "unitPrice": 500.00},
                {"sku": "BRS-CRK-02", "quantity": 4, "unitPrice": 0.20},
            ],
            "note": "Fragile: gears & <cranks>",
        },
    ),
    ("POST", "/orders", {"customerId": 77, "lines": [{"sku": "X", "quantity": 1, "unitPrice": 1}]}),
    ("POST", "/orders", {"customerId": 1, "lines": [{"sku": "X", "quantity": 0, "unitPrice": 1}]}),
]
"""Method, path with query, JSON body: successes, faults, lists of 0, 1 and many."""


async def record_bundled(directory: Path, environ: dict[str, str] | None = None) -> list[Path]:
    """Record :data:`REQUESTS` through the example mapping against the demo backend.

    Returns the fixture directories written. ``environ`` adds mapping variables (e.g.
    ``ORDERS_PORT``); the SOAP URL always points at the in-process backend.
    """
    backend = TestServer(create_backend())
    await backend.start_server()
    try:
        registry = WsdlRegistry()
        env = {**(environ or {}), "ORDERS_SOAP_URL": str(backend.make_url("/orders"))}
        if env.get("ORDERS_PORT") == "OrderPortSoap12":
            env["ORDERS_SOAP_URL"] = str(backend.make_url("/orders12"))
        mappings = load_mappings(
            [MAPPINGS_DIR], describe=registry.describe, wsdl_dir=WSDL_DIR, environ=env
        )
        recorder = FixtureRecorder(directory)
        app = create_app(mappings, registry=registry, observers=[recorder])
        client = TestClient(TestServer(app))
        await client.start_server()
        try:
            for method, path, body in REQUESTS:
                response = await client.request(method, path, json=body)
                await response.read()
        finally:
            await client.close()
        return recorder.recorded
    finally:
        await backend.close()


if __name__ == "__main__":
    written = asyncio.run(record_bundled(Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures")))
    print(f"recorded {len(written)} exchange(s)")
