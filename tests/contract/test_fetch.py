"""Fetching a live WSDL: imports followed and rewritten, deadlines, size caps, one origin."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from lxml import etree

from mediator.contract.fetch import fetch_wsdl
from mediator.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import WSDL_DIR

pytestmark = pytest.mark.integration

XSD = "http://www.w3.org/2001/XMLSchema"


def _split_wsdl() -> tuple[bytes, bytes]:
    """The example WSDL with its schema moved to /types.xsd (imported by location)."""
    root = etree.parse(str(WSDL_DIR / "orders.wsdl")).getroot()
    schema = root.find(f"{{http://schemas.xmlsoap.org/wsdl/}}types/{{{XSD}}}schema")
    assert schema is not None
    schema_bytes = etree.tostring(schema)
    types = schema.getparent()
    assert types is not None
    types.remove(schema)
    wrapper = etree.SubElement(types, f"{{{XSD}}}schema")
    etree.SubElement(
        wrapper,
        f"{{{XSD}}}import",
        namespace="urn:example:orders",
        schemaLocation="schemas/types.xsd?v=1",
    )
    return etree.tostring(root), schema_bytes


async def _serve(
    aiohttp_server: Callable[..., Any], routes: dict[str, Callable[[web.Request], Any]]
) -> Any:
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    return await aiohttp_server(app)


async def test_imports_are_fetched_rewritten_and_load_offline(
    aiohttp_server: Callable[..., Any], tmp_path: Path
) -> None:
    """A WSDL importing its schema by relative URL loads from the fetched copy like the original."""
    wsdl, schema = _split_wsdl()

    async def get_wsdl(request: web.Request) -> web.Response:
        return web.Response(body=wsdl, content_type="text/xml")

    async def get_schema(request: web.Request) -> web.Response:
        return web.Response(body=schema, content_type="text/xml")

    server = await _serve(
        aiohttp_server, {"/svc/orders": get_wsdl, "/svc/schemas/types.xsd": get_schema}
    )
    fetched = await fetch_wsdl(str(server.make_url("/svc/orders?wsdl")))
    assert sorted(fetched.documents) == ["doc1.xsd", "service.wsdl"]
    assert b'schemaLocation="doc1.xsd"' in fetched.documents["service.wsdl"]
    info = WsdlRegistry().describe(fetched.write(tmp_path))
    original = WsdlRegistry().describe(WSDL_DIR / "orders.wsdl")
    assert (
        info.services["OrderService"].ports.keys() == original.services["OrderService"].ports.keys()
    )


async def test_other_origins_sizes_statuses_and_deadlines_are_refused(
    aiohttp_server: Callable[..., Any],
) -> None:
    """A cross-origin import, an oversized or non-200 document and a slow server all fail with a reason."""
    foreign = b'<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"><import location="http://elsewhere.example/x.wsdl"/></definitions>'

    async def cross(request: web.Request) -> web.Response:
        return web.Response(body=foreign, content_type="text/xml")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"<a>" + b"x" * 5000 + b"</a>", content_type="text/xml")

    async def missing(request: web.Request) -> web.Response:
        return web.Response(status=404)

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(body=b"<a/>")

    server = await _serve(
        aiohttp_server, {"/cross": cross, "/big": big, "/missing": missing, "/slow": slow}
    )
    with pytest.raises(
        UpstreamProtocolError,
        match=r"references http://elsewhere.example/x.wsdl, outside http://127.0.0.1:",
    ):
        await fetch_wsdl(str(server.make_url("/cross")))
    with pytest.raises(UpstreamProtocolError, match="larger than 1000 bytes"):
        await fetch_wsdl(str(server.make_url("/big")), max_bytes=1000)
    with pytest.raises(UpstreamProtocolError, match="answered HTTP 404"):
        await fetch_wsdl(str(server.make_url("/missing")))
    with pytest.raises(UpstreamTimeout, match=r"no answer within 0\.2s"):
        await fetch_wsdl(str(server.make_url("/slow")), timeout=0.2)


async def test_an_unreachable_server_is_unavailable() -> None:
    """Nothing listening: UpstreamUnavailable."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(UpstreamUnavailable):
        await fetch_wsdl(f"http://127.0.0.1:{port}/x?wsdl", timeout=2)
