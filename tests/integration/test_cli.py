"""The ``mediator`` command as a user runs it: a real process, real sockets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.backends.processes import free_port, stop_process, wait_http
from tests.conftest import MAPPINGS_DIR, WSDL_DIR

pytestmark = pytest.mark.integration

MEDIATOR = [sys.executable, "-m", "mediator"]


def test_serve_answers_translated_json(demo_backend: str) -> None:
    """`mediator serve` loads the example, translates a real call and logs JSON lines."""
    port = free_port()
    env = {**os.environ, "ORDERS_SOAP_URL": f"{demo_backend}/orders"}
    process = subprocess.Popen(
        [
            *MEDIATOR,
            "serve",
            str(MAPPINGS_DIR),
            "--wsdl-dir",
            str(WSDL_DIR),
            "--port",
            str(port),
            "--log-format",
            "json",
        ],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/orders/1002")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders/1002", timeout=5) as response:
            assert response.status == 200
            body = json.loads(response.read())
        assert body["id"] == 1002
        assert body["shippedAt"] is None
        assert body["lines"][0]["quantity"] == 1
    finally:
        stop_process(process, signum=signal.SIGINT)
    assert process.stdout is not None
    with process.stdout:
        output = process.stdout.read().decode()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    handled = [line for line in lines if line["event"] == "gateway.request_handled"]
    assert handled and handled[-1]["status"] == 200 and handled[-1]["operation"] == "GetOrder"
    (started,) = [line for line in lines if line["event"] == "gateway.started"]
    assert started["loop"] == "uvloop"  # a default dependency on Linux


def test_serve_refuses_invalid_mappings(tmp_path: Path) -> None:
    """`mediator serve` with a broken mapping prints file:line issues and exits 1 without serving."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\nservice:\n  wsdl: orders.wsdl\nroutes:\n  - get: /x\n    operation: Nope\n"
    )
    result = subprocess.run(
        [*MEDIATOR, "serve", str(bad), "--wsdl-dir", str(WSDL_DIR), "--port", str(free_port())],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{bad}:6:16: routes[0].operation: no operation 'Nope'" in result.stderr.decode()


def test_check_passes_on_the_bundled_mappings() -> None:
    """`mediator check` exits 0 on the bundled example."""
    result = subprocess.run(
        [*MEDIATOR, "check", str(MAPPINGS_DIR), "--wsdl-dir", str(WSDL_DIR)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"ok: 5 route(s)" in result.stdout


def _try(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*MEDIATOR, "try", *argv, "--mappings", str(MAPPINGS_DIR), "--wsdl-dir", str(WSDL_DIR)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_try_prints_the_envelope_offline() -> None:
    """`mediator try POST /orders --body …` prints the SOAP request it would send, escaped."""
    result = _try(
        "POST",
        "/orders",
        "--body",
        '{"customerId": 3, "lines": [{"sku": "A&B", "quantity": 2, "unitPrice": 1.5}]}',
    )
    assert result.returncode == 0, result.stderr
    assert "== SOAP 1.1 request: POST http://127.0.0.1:8081/orders" in result.stderr
    assert 'SOAPAction: "urn:example:orders/CreateOrder"' in result.stderr
    assert "<o:Sku>A&amp;B</o:Sku>" in result.stdout
    assert "<o:UnitPrice>1.5</o:UnitPrice>" in result.stdout


def test_try_translates_a_response_file_with_explain(tmp_path: Path) -> None:
    """`--response FILE --explain` prints what each XPath matched and the JSON the client gets."""
    response = tmp_path / "response.xml"
    response.write_text(
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        '<SearchOrdersResponse xmlns="urn:example:orders"><Order><Id>1</Id><CustomerName>A</CustomerName>'
        "<Status>open</Status><OrderDate>2026-01-01</OrderDate><Total>2.50</Total></Order>"
        "</SearchOrdersResponse></s:Body></s:Envelope>"
    )
    result = _try("GET", "/orders?status=open", "--response", str(response), "--explain")
    assert result.returncode == 0, result.stderr
    assert "orders" in result.stderr and "matched 1 as object" in result.stderr
    assert json.loads(result.stdout) == {
        "orders": [
            {
                "id": 1,
                "customerName": "A",
                "status": "open",
                "orderDate": "2026-01-01",
                "total": 2.5,
            }
        ]
    }


def test_try_call_uses_the_real_upstream(demo_backend: str) -> None:
    """`--call` sends the request to the upstream and prints the translated answer."""
    result = _try(
        "GET", "/customers/3", "--call", env={"ORDERS_SOAP_URL": f"{demo_backend}/orders"}
    )
    assert result.returncode == 0, result.stderr
    assert "== SOAP response: HTTP 200" in result.stderr
    assert json.loads(result.stdout) == {
        "customer": {"id": 3, "name": "Grace Hopper", "email": "grace@example.org", "vip": False}
    }


def test_try_unknown_route_lists_routes() -> None:
    """An unmapped path is an error that lists the routes there are."""
    result = _try("GET", "/nope")
    assert result.returncode == 1
    assert "no route for GET /nope; routes: GET /orders/{id}" in result.stderr


def test_serve_with_two_workers(demo_backend: str) -> None:
    """`--workers 2` starts two processes on one port; SIGINT stops them all."""
    port = free_port()
    env = {**os.environ, "ORDERS_SOAP_URL": f"{demo_backend}/orders"}
    process = subprocess.Popen(
        [
            *MEDIATOR,
            "serve",
            str(MAPPINGS_DIR),
            "--wsdl-dir",
            str(WSDL_DIR),
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-format",
            "json",
        ],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/customers/1")
        for _ in range(10):
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/customers/1", timeout=5
            ) as response:
                assert json.loads(response.read())["customer"]["id"] == 1
    finally:
        stop_process(process, signum=signal.SIGINT)
    assert process.returncode == 0
    assert process.stdout is not None
    with process.stdout:
        output = process.stdout.read().decode()
    started = {
        json.loads(line)["pid"] for line in output.splitlines() if '"gateway.started"' in line
    }
    assert len(started) == 2
