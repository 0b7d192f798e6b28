"""Every error path of the gateway, by status and body, against a scripted SOAP backend."""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from typing import Any

import pytest
from structlog.testing import capture_logs

from mediator.errors import UpstreamUnavailable
from mediator.types import TransportResponse
from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

ORDER_XML = (
    '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id><Customer><Id>1</Id><Name>N</Name>'
    "<Vip>false</Vip></Customer><Status>open</Status><OrderDate>2026-01-02</OrderDate>"
    "<CreatedAt>2026-01-02T03:04:05Z</CreatedAt><ShippedAt xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance'"
    ' xsi:nil="true"/><Total>1.5</Total><Paid>0</Paid></Order></GetOrderResponse>'
)
FAULT11 = (
    '<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:Server</faultcode>'
    "<faultstring>Database offline</faultstring><detail><Code xmlns='urn:x'>DB-17</Code></detail></s:Fault>"
)
FAULT12 = (
    '<s:Fault xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Code><s:Value>s:Sender</s:Value>'
    "<s:Subcode><s:Value xmlns:e='urn:err'>e:NotFound</s:Value></s:Subcode></s:Code>"
    '<s:Reason><s:Text xml:lang="en">No such order</s:Text></s:Reason></s:Fault>'
)


def _assert_problem(body: dict[str, Any], status: int, slug: str) -> None:
    assert body["status"] == status
    assert body["type"] == f"urn:mediator:problem:{slug}"
    assert isinstance(body["request_id"], str) and body["request_id"]
    assert "Traceback" not in str(body)


@pytest.fixture
def env(scripted: tuple[ScriptedBackend, str]) -> dict[str, str]:
    return {"ORDERS_SOAP_URL": f"{scripted[1]}/orders"}


async def test_success_sends_the_right_soap_request(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], env: dict[str, str]
) -> None:
    """The upstream gets the operation's SOAPAction (not the client's), an XML body and the request id."""
    backend, _ = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await gateway(environ=env)
    response = await client.get(
        "/orders/7",
        headers={"SOAPAction": "evil", "X-Request-ID": "trace-42", "Content-Type": "text/plain"},
    )
    assert response.status == 200
    assert (await response.json())["paid"] is False
    assert response.headers["X-Request-ID"] == "trace-42"
    sent = backend.received[-1]
    assert sent.headers["SOAPAction"] == '"urn:example:orders/GetOrder"'
    assert sent.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert sent.headers["X-Request-ID"] == "trace-42"
    assert b"<ns0:OrderId>7</ns0:OrderId>" in sent.body


async def test_soap12_action_goes_in_the_content_type(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str]
) -> None:
    """On a SOAP 1.2 port the action is a parameter of application/soap+xml, with no SOAPAction header."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML, "1.2"), content_type="application/soap+xml")
    client = await gateway(environ={"ORDERS_SOAP_URL": url, "ORDERS_PORT": "OrderPortSoap12"})
    response = await client.get("/orders/7")
    assert response.status == 200
    sent = backend.received[-1]
    assert (
        sent.headers["Content-Type"]
        == 'application/soap+xml; charset=utf-8; action="urn:example:orders/GetOrder"'
    )
    assert "SOAPAction" not in sent.headers
    assert b"http://www.w3.org/2003/05/soap-envelope" in sent.body


async def test_invalid_request_id_is_replaced(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], env: dict[str, str]
) -> None:
    """A request id with unsafe characters is not echoed; a fresh one is generated and sent upstream."""
    backend, _ = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await gateway(environ=env)
    response = await client.get("/orders/7", headers={"X-Request-ID": "bad id\twith spaces"})
    rid = response.headers["X-Request-ID"]
    assert rid != "bad id\twith spaces" and re.fullmatch("[0-9a-f]{32}", rid)
    assert backend.received[-1].headers["X-Request-ID"] == rid


@pytest.mark.parametrize(
    ("fault", "version", "http_status", "status", "expected"),
    [
        (
            FAULT11,
            "1.1",
            500,
            502,
            {"code": "Server", "reason": "Database offline", "detail": {"Code": "DB-17"}},
        ),
        (
            FAULT11,
            "1.1",
            200,
            502,
            {"code": "Server", "reason": "Database offline", "detail": {"Code": "DB-17"}},
        ),
        (
            FAULT12,
            "1.2",
            500,
            422,
            {"code": "Sender", "subcodes": ["NotFound"], "reason": "No such order"},
        ),
        (
            FAULT12,
            "1.2",
            200,
            422,
            {"code": "Sender", "subcodes": ["NotFound"], "reason": "No such order"},
        ),
    ],
)
async def test_unmapped_fault_is_422_or_502_with_fault_json(
    gateway: GatewayFactory,
    scripted: tuple[ScriptedBackend, str],
    fault: str,
    version: str,
    http_status: int,
    status: int,
    expected: dict[str, Any],
) -> None:
    """A fault no rule matches carries code, reason and detail, whatever the HTTP status:
    a Client/Sender fault is a 422, a Server/Receiver fault a 502."""
    backend, url = scripted
    ctype = "text/xml" if version == "1.1" else "application/soap+xml"
    backend.reply = Reply(body=envelope(fault, version), status=http_status, content_type=ctype)
    environ = {"ORDERS_SOAP_URL": url} | (
        {"ORDERS_PORT": "OrderPortSoap12"} if version == "1.2" else {}
    )
    client = await gateway(environ=environ)
    response = await client.get("/orders/7")
    assert response.status == status
    assert response.content_type == "application/problem+json"
    body = await response.json()
    _assert_problem(body, status, "upstream-fault")
    assert body["fault"] == expected


async def test_unreachable_upstream_is_502(gateway: GatewayFactory) -> None:
    """Connection refused becomes 502 upstream-unavailable, without the address or errno text."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = await gateway(environ={"ORDERS_SOAP_URL": f"http://127.0.0.1:{port}/orders"})
    response = await client.get("/orders/1")
    assert response.status == 502
    body = await response.json()
    _assert_problem(body, 502, "upstream-unavailable")
    assert str(port) not in str(body)


async def test_slow_upstream_is_504(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Any
) -> None:
    """An upstream slower than the route's timeout becomes 504 upstream-timeout."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML), delay=2.0)
    mapping = _with_timeout(tmp_path, "300ms")
    client = await gateway(paths=[mapping], environ={"ORDERS_SOAP_URL": url})
    response = await client.get("/orders/7")
    assert response.status == 504
    _assert_problem(await response.json(), 504, "upstream-timeout")


async def test_trickling_upstream_is_504(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], tmp_path: Any
) -> None:
    """The deadline covers the whole body: a response that trickles in past it is a 504."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(ORDER_XML), trickle=0.05)
    mapping = _with_timeout(tmp_path, "500ms")
    client = await gateway(paths=[mapping], environ={"ORDERS_SOAP_URL": url})
    response = await client.get("/orders/7")
    assert response.status == 504


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (
            Reply(
                body=b"<html><body>Service Unavailable</body></html>",
                status=503,
                content_type="text/html",
            ),
            "html",
        ),
        (Reply(body=b"not xml at all", status=200, content_type="text/xml"), "garbage"),
        (Reply(body=envelope(ORDER_XML)[:-40], status=200), "truncated"),
        (Reply(body=b"<root>not an envelope</root>", status=200), "not-envelope"),
        (Reply(body=envelope(ORDER_XML, "1.2"), status=200), "wrong-version"),
        (Reply(body=envelope(ORDER_XML), status=500), "500-without-fault"),
        (
            Reply(body=b'<!DOCTYPE x [<!ENTITY e "boom">]>' + envelope(ORDER_XML)[38:], status=200),
            "dtd",
        ),
    ],
)
async def test_unusable_responses_are_502(
    gateway: GatewayFactory,
    scripted: tuple[ScriptedBackend, str],
    env: dict[str, str],
    reply: Reply,
    why: str,
) -> None:
    """Anything that is not a usable SOAP answer is 502 upstream-invalid-response, never the upstream bytes."""
    backend, _ = scripted
    backend.reply = reply
    client = await gateway(environ=env)
    response = await client.get("/orders/7")
    assert response.status == 502, why
    body = await response.json()
    _assert_problem(body, 502, "upstream-invalid-response")
    assert "Service Unavailable" not in str(body) and "boom" not in str(body)


async def test_response_not_fitting_the_mapping_is_502(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], env: dict[str, str]
) -> None:
    """A value that is not of its XSD type (Id 'seven') is a 502 upstream-unexpected-response."""
    backend, _ = scripted
    backend.reply = Reply(body=envelope(ORDER_XML.replace("<Id>7</Id>", "<Id>seven</Id>")))
    client = await gateway(environ=env)
    response = await client.get("/orders/7")
    assert response.status == 502
    body = await response.json()
    _assert_problem(body, 502, "upstream-unexpected-response")
    assert "seven" not in str(body)


@pytest.mark.parametrize(
    ("request_args", "status", "slug", "detail_part"),
    [
        (
            {"data": b"{bad json", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid-request",
            "invalid JSON",
        ),
        (
            {"data": b'{"a": NaN}', "headers": {"Content-Type": "application/json"}},
            400,
            "invalid-request",
            "NaN",
        ),
        (
            {"data": b'{"a": 1, "a": 2}', "headers": {"Content-Type": "application/json"}},
            400,
            "invalid-request",
            "duplicate key",
        ),
        (
            {"data": b"\xff\xfe", "headers": {"Content-Type": "application/json"}},
            400,
            "invalid-request",
            "UTF-8",
        ),
        (
            {"data": b"<xml/>", "headers": {"Content-Type": "application/xml"}},
            415,
            "unsupported-media-type",
            "JSON",
        ),
        ({"json": {"lines": []}}, 400, "invalid-request", "customerId"),
        ({"json": {"customerId": "abc", "lines": []}}, 400, "invalid-request", "integer"),
        (
            {
                "json": {
                    "customerId": 1,
                    "lines": [{"sku": "x\u0000", "quantity": 1, "unitPrice": 1}],
                }
            },
            400,
            "invalid-request",
            "XML",
        ),
    ],
)
async def test_bad_client_input_is_4xx(
    gateway: GatewayFactory,
    scripted: tuple[ScriptedBackend, str],
    env: dict[str, str],
    request_args: dict[str, Any],
    status: int,
    slug: str,
    detail_part: str,
) -> None:
    """Invalid JSON, wrong types, missing values and non-JSON bodies are 4xx problems; nothing goes upstream."""
    backend, _ = scripted
    client = await gateway(environ=env)
    response = await client.post("/orders", **request_args)
    assert response.status == status
    body = await response.json()
    _assert_problem(body, status, slug)
    assert detail_part in body["detail"]
    assert backend.received == []


async def test_wrong_path_parameter_type_is_400(
    gateway: GatewayFactory, env: dict[str, str]
) -> None:
    """A path parameter that is not of its declared type is a 400 naming the parameter."""
    client = await gateway(environ=env)
    response = await client.get("/orders/12x")
    assert response.status == 400
    assert (await response.json())[
        "detail"
    ] == "path parameter 'id': expected an integer, got '12x'"


async def test_unknown_route_is_404_and_wrong_method_405(
    gateway: GatewayFactory, env: dict[str, str]
) -> None:
    """Unknown paths are 404 problems; a mapped path with another method is 405 with Allow."""
    client = await gateway(environ=env)
    response = await client.get("/nothing/here")
    assert response.status == 404
    _assert_problem(await response.json(), 404, "not-found")
    response = await client.delete("/orders/1")
    assert response.status == 405
    assert response.headers["Allow"] == "GET"
    _assert_problem(await response.json(), 405, "method-not-allowed")


async def test_oversized_body_is_413(gateway: GatewayFactory, env: dict[str, str]) -> None:
    """A body over the configured limit is a 413 problem."""
    from mediator.gateway.settings import GatewaySettings

    client = await gateway(environ=env, settings=GatewaySettings(max_body_bytes=1024))
    response = await client.post(
        "/orders", data=b"[" + b"1," * 2000 + b"1]", headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    _assert_problem(await response.json(), 413, "payload-too-large")


class _CrashingTransport:
    async def send(
        self, url: str, body: bytes, headers: Mapping[str, str], **kwargs: Any
    ) -> TransportResponse:
        raise ZeroDivisionError("secret internal state 0xdeadbeef")


async def test_gateway_bug_is_a_generic_500(gateway: GatewayFactory, env: dict[str, str]) -> None:
    """An unexpected exception is a generic 500 problem: no exception text, no stack trace."""
    client = await gateway(environ=env, transport=_CrashingTransport())
    with capture_logs() as logs:
        response = await client.get("/orders/1")
    assert response.status == 500
    body = await response.json()
    _assert_problem(body, 500, "internal-error")
    assert "deadbeef" not in str(body) and "ZeroDivision" not in str(body)
    assert any(entry["event"] == "gateway.request_crashed" for entry in logs)


class _RefusingTransport:
    async def send(
        self, url: str, body: bytes, headers: Mapping[str, str], **kwargs: Any
    ) -> TransportResponse:
        raise UpstreamUnavailable("refused", upstream=url)


async def test_one_access_line_per_request(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], env: dict[str, str]
) -> None:
    """Each request logs one gateway.request_handled line with route, operation, statuses and timings."""
    backend, _ = scripted
    backend.reply = Reply(body=envelope(ORDER_XML))
    client = await gateway(environ=env)
    with capture_logs() as logs:
        await client.get(
            "/orders/7", headers={"X-Request-ID": "line-1", "Authorization": "Bearer s3cr3t"}
        )
    lines = [entry for entry in logs if entry["event"] == "gateway.request_handled"]
    assert len(lines) == 1
    line = lines[0]
    assert line["route"] == "get-order"
    assert line["operation"] == "GetOrder"
    assert line["status"] == 200
    assert line["upstream_status"] == 200
    assert {"duration_ms", "render_ms", "upstream_ms", "transform_ms"} <= line.keys()
    assert "s3cr3t" not in str(logs)


async def test_access_line_of_a_fault_carries_the_upstream_status(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], env: dict[str, str]
) -> None:
    """A fault answered with HTTP 500 logs upstream_status 500 next to the client's status."""
    backend, _ = scripted
    backend.reply = Reply(body=envelope(FAULT11), status=500)
    client = await gateway(environ=env)
    with capture_logs() as logs:
        response = await client.get("/orders/7")
    line = next(entry for entry in logs if entry["event"] == "gateway.request_handled")
    assert (line["status"], line["upstream_status"]) == (response.status, 500)


def _with_timeout(tmp_path: Any, timeout: str) -> Any:
    from tests.conftest import MAPPINGS_DIR

    text = (MAPPINGS_DIR / "orders.yaml").read_text()
    target = tmp_path / "orders.yaml"
    target.write_text(text.replace("timeout: 10s", f"timeout: {timeout}"))
    return target


async def test_stalled_body_is_408(gateway: GatewayFactory, env: dict[str, str]) -> None:
    """A client that stops sending its body gets a 408 problem once the body timeout passes."""
    import asyncio

    from mediator.gateway.settings import GatewaySettings

    client = await gateway(environ=env, settings=GatewaySettings(body_timeout=0.3))
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"cust'
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    rest = await asyncio.wait_for(reader.read(4096), timeout=5)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 408")
    assert b"urn:mediator:problem:request-timeout" in rest
