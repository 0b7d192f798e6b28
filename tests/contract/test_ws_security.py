"""Recording a WS-Security call: the password never reaches a fixture, which still verifies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from mediator.contract.record import FixtureRecorder
from mediator.contract.rules import load_config
from mediator.contract.verify import Verifier
from mediator.gateway.app import create_app
from mediator.mapping.loader import load_mappings
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import WSDL_DIR

pytestmark = pytest.mark.integration

MAPPING = Path(__file__).parent / "mappings" / "secure_orders.yaml"
ANSWER = (
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    b'<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id><Total>1.50</Total></Order>'
    b"</GetOrderResponse></s:Body></s:Envelope>"
)


def _load(
    environ: dict[str, str], text: str | None = None, tmp: Path | None = None
) -> tuple[Any, WsdlRegistry]:
    path = MAPPING
    if text is not None and tmp is not None:
        path = tmp / "secure_orders.yaml"
        path.write_text(text)
    registry = WsdlRegistry()
    return load_mappings(
        [path], describe=registry.describe, wsdl_dir=WSDL_DIR, environ=environ
    ), registry


async def test_password_is_redacted_and_the_recording_verifies(
    tmp_path: Path, aiohttp_server: Callable[..., Any], aiohttp_client: Callable[..., Any]
) -> None:
    """The recorded request holds REDACTED instead of the password; verify passes with another
    password (redacted values are masked) and fails when the header template changes."""

    async def backend(request: web.Request) -> web.Response:
        return web.Response(body=ANSWER, content_type="text/xml")

    app = web.Application()
    app.router.add_post("/orders", backend)
    server = await aiohttp_server(app)
    fixtures = tmp_path / "fixtures"
    mappings, registry = _load(
        {"ORDERS_SOAP_URL": str(server.make_url("/orders")), "ORDERS_WSS_PASSWORD": "correct horse"}
    )
    recorder = FixtureRecorder(fixtures)
    client = await aiohttp_client(create_app(mappings, registry=registry, observers=[recorder]))
    response = await client.get("/secure/orders/7")
    assert response.status == 200
    (directory,) = recorder.recorded
    stored = "".join(path.read_text() for path in directory.iterdir())
    assert "correct horse" not in stored
    assert "<wsse:Password>REDACTED</wsse:Password>" in stored
    assert "<wsse:Username>mediator</wsse:Username>" in stored

    other, registry = _load({"ORDERS_WSS_PASSWORD": "another secret"})
    assert Verifier(other, registry, load_config(fixtures), fixtures).verify_path(directory).passed

    changed_text = MAPPING.read_text().replace("<wsse:Username>mediator<", "<wsse:Username>robot<")
    changed, registry = _load({"ORDERS_WSS_PASSWORD": "x"}, changed_text, tmp_path)
    result = Verifier(changed, registry, load_config(fixtures), fixtures).verify_path(directory)
    assert not result.passed
    diff_lines = result.differences[0].diff.splitlines()[2:]
    assert [line[0] + line[1:].strip() for line in diff_lines if line[:1] in "+-"] == [
        "-<wsse:Username>mediator</wsse:Username>",
        "+<wsse:Username>robot</wsse:Username>",
    ]
