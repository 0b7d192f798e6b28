"""The contract commands as users run them: verify, serve --record, replay, drift."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mediator.cli import main
from tests.backends.processes import free_port, stop_process, wait_http
from tests.conftest import MAPPINGS_DIR, WSDL_DIR
from tests.contract.conftest import FIXTURES_DIR

MEDIATOR = [sys.executable, "-m", "mediator"]
MAPPING_ARGS = ["--mappings", str(MAPPINGS_DIR), "--wsdl-dir", str(WSDL_DIR)]


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    return int(caught.value.code or 0)


def test_verify_passes_on_the_bundled_fixtures(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`mediator verify fixtures` exits 0, says ok per fixture and writes a JUnit report."""
    code = _run(
        ["verify", str(FIXTURES_DIR), *MAPPING_ARGS, "--junit", str(tmp_path / "junit.xml")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "ok get-order/get-orders-1001" in out
    assert out.rstrip().endswith("passed, 0 failed")
    assert b'failures="0"' in (tmp_path / "junit.xml").read_bytes()


def test_verify_fails_with_diffs_then_update_fixes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A changed mapping exits 1 with the diff; --update rewrites and exits 0; the next run passes."""
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, fixtures)
    mapping = tmp_path / "orders.yaml"
    mapping.write_text(
        (MAPPINGS_DIR / "orders.yaml").read_text().replace("paid: o:Paid", "isPaid: o:Paid")
    )
    args = ["verify", str(fixtures), "--mappings", str(mapping), "--wsdl-dir", str(WSDL_DIR), "-q"]
    assert _run([*args, "--junit", str(tmp_path / "j.xml")]) == 1
    out = capsys.readouterr().out
    assert "FAIL get-order/get-orders-1001" in out
    assert '-  "paid": true,' in out and '+  "isPaid": true,' in out
    assert b'type="ContractMismatch"' in (tmp_path / "j.xml").read_bytes()
    assert _run([*args, "--update"]) == 0
    assert "UPDATED get-order/get-orders-1001" in capsys.readouterr().out
    assert _run(args) == 0


def test_verify_exits_2_when_it_cannot_start(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A missing directory, an empty one, or broken mappings exit 2 with the reason."""
    assert _run(["verify", str(tmp_path / "nope"), *MAPPING_ARGS]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert _run(["verify", str(tmp_path), *MAPPING_ARGS]) == 2
    assert "no fixtures under" in capsys.readouterr().err
    (tmp_path / "contract.yaml").write_text("version: 1\nmask: {jsn: []}\n")
    assert _run(["verify", str(tmp_path), *MAPPING_ARGS]) == 2
    assert "mask.jsn: unknown key" in capsys.readouterr().err


@pytest.mark.integration
def test_serve_record_writes_fixtures_that_verify(demo_backend: str, tmp_path: Path) -> None:
    """`mediator serve --record DIR` records real traffic; `mediator verify DIR` then passes."""
    port = free_port()
    fixtures = tmp_path / "recorded"
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
            "--record",
            str(fixtures),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/orders/1001")
        for path in ("/orders/1002", "/orders/4242", "/orders/abc"):
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).close()
    finally:
        stop_process(process, signum=signal.SIGINT)
    names = sorted(
        p.parent.relative_to(fixtures).as_posix() for p in fixtures.rglob("fixture.json")
    )
    assert names == [
        "get-order/get-orders-1001",
        "get-order/get-orders-1002",
        "get-order/get-orders-4242",
    ]  # /orders/abc never reached the upstream
    result = subprocess.run(
        [*MEDIATOR, "verify", str(fixtures), *MAPPING_ARGS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
def test_replay_serves_fixtures_and_the_wsdl() -> None:
    """`mediator replay DIR --port P --wsdl F` answers recorded SOAP and serves ?wsdl."""
    port = free_port()
    process = subprocess.Popen(
        [
            *MEDIATOR,
            "replay",
            str(FIXTURES_DIR),
            "--port",
            str(port),
            "--wsdl",
            str(WSDL_DIR / "orders.wsdl"),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/orders?wsdl")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/orders?wsdl", timeout=5) as response:
            assert b"<wsdl:definitions" in response.read()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/orders",
            data=(FIXTURES_DIR / "get-customer/get-customers-1/soap-request.xml").read_bytes(),
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert (
                response.read()
                == (FIXTURES_DIR / "get-customer/get-customers-1/soap-response.xml").read_bytes()
            )
    finally:
        stop_process(process, signum=signal.SIGINT)


def _modified_wsdl() -> bytes:
    text = (WSDL_DIR / "orders.wsdl").read_text()
    return text.replace(
        '<xs:element name="Vip" type="xs:boolean"/>', '<xs:element name="Vip" type="xs:string"/>'
    ).encode()


@pytest.mark.integration
async def test_drift_reports_a_changed_live_wsdl(aiohttp_server: Callable[..., Any]) -> None:
    """`mediator drift` fetches the live WSDL, exits 1 and names operations, types, routes and fields."""
    documents = {"/changed": _modified_wsdl(), "/same": (WSDL_DIR / "orders.wsdl").read_bytes()}

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=documents[request.path], content_type="text/xml")

    app = web.Application()
    app.router.add_get("/{name}", serve)
    server = await aiohttp_server(app)

    async def drift(url: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            *MEDIATOR,
            "drift",
            *MAPPING_ARGS,
            "--url",
            url,
            "--timeout",
            "5s",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode()

    code, out = await drift(str(server.make_url("/changed?wsdl")))
    assert code == 1, out
    assert "~ GetOrder output GetOrderResponse/Order/Customer/Vip: type boolean → string" in out
    assert "Customer/Vip: type boolean → string (in GetCustomer output, GetOrder output)" in out
    assert "route get-order: response.customer.vip ←" in out
    assert "route get-customer: response.customer.vip ←" in out
    code, out = await drift(str(server.make_url("/same?wsdl")))
    assert (code, out.splitlines()[-1]) == (0, "  no differences")
    code, out = await drift(f"http://127.0.0.1:{free_port()}/gone?wsdl")
    assert code == 2 and "mediator drift: GET http://127.0.0.1:" in out


def test_record_option_is_documented_in_serve_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`mediator serve --help` lists --record DIR."""
    assert _run(["serve", "--help"]) == 0
    assert "--record DIR" in capsys.readouterr().out


def test_fixture_json_files_are_pretty_and_sorted(fixtures_dir: Path) -> None:
    """Bundled metadata files are indented JSON ending in a newline (diff-friendly)."""
    for meta in fixtures_dir.rglob("fixture.json"):
        text = meta.read_text()
        assert text.endswith("}\n") and text.startswith('{\n  "format": 1,')
        assert json.loads(text)["format"] == 1
