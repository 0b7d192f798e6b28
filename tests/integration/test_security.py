"""Gateway security against the running gateway: authentication (API keys, JWT, mutual TLS),
authorisation, rate limits (in memory and shared through a real redis-server), inbound
limits at their boundaries, slow clients, header hygiene, credentials to the backend (Basic,
WS-Security, client certificates), start-up refusals, and a search of every output for
planted secrets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree
from structlog.testing import capture_logs

from mediator.contract.record import FixtureRecorder
from mediator.gateway.app import create_app
from mediator.gateway.auth import server_ssl_context
from mediator.gateway.settings import GatewaySettings
from mediator.log import redact_secrets
from mediator.mapping.loader import load_mappings
from mediator.mapping.security_file import load_security_config
from mediator.upstream.credentials import WSSE, WSU, password_digest
from mediator.upstream.wsdl import WsdlRegistry
from tests.backends.node_soap import (
    NODE_DIR,
    _await_port,
    _require_tool,
    ensure_node_modules,
)
from tests.backends.processes import stop_process
from tests.backends.redis_server import run_redis_server
from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.conftest import REPO, WSDL_DIR
from tests.unit.upstream.test_credentials import Pki, make_pki

pytestmark = pytest.mark.integration

API_KEY = "mk_test_Q2hhbmdlTWVJbkFSZWFsR2F0ZXdheQ"
JWT_SECRET = "jwt-secret-planted-0123456789abcdef-XYZ"
WSS_PASSWORD = "wss-Pa55w0rd-planted-7f3c"
BASIC_PASSWORD = "basic-Pa55w0rd-planted-91ab"

ORDER_XML = (
    '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id><Customer><Id>1</Id>'
    "<Name>N</Name><Vip>false</Vip></Customer><Status>open</Status>"
    "<OrderDate>2026-01-02</OrderDate><CreatedAt>2026-01-02T03:04:05Z</CreatedAt>"
    "<Total>1.5</Total><Paid>0</Paid></Order></GetOrderResponse>"
)
CREATED_XML = (
    '<CreateOrderResponse xmlns="urn:example:orders"><OrderId>9</OrderId>'
    "<Status>open</Status><Total>2.5</Total></CreateOrderResponse>"
)
FAULT_XML = (
    '<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:Client'
    "</faultcode><faultstring>Rejected</faultstring></s:Fault>"
)

ROUTES = """
routes:
  - get: /orders/{id}
    name: get-order
    operation: GetOrder
    auth: {scopes: [orders:read]}
    params: {path: {id: integer}}
    request: {args: {OrderId: "{{ path.id }}"}}
    response: {root: o:GetOrderResponse/o:Order, fields: {id: o:Id, status: o:Status}}
  - post: /orders
    name: create-order
    operation: CreateOrder
    auth: required
    request:
      body: |
        <o:CreateOrder><o:CustomerId>{{ body.customerId | int }}</o:CustomerId>
        <o:Line><o:Sku>S</o:Sku><o:Quantity>1</o:Quantity><o:UnitPrice>1</o:UnitPrice></o:Line>
        <o:Note>by {{ client.subject }} ({{ client.method }})</o:Note></o:CreateOrder>
    response: {status: 201, root: o:CreateOrderResponse, fields: {id: o:OrderId}}
  - get: /public/orders/{id}
    name: public-order
    operation: GetOrder
    auth: public
    rate_limit: {rate: 2/min, burst: 2, per: route}
    params: {path: {id: integer}}
    request: {args: {OrderId: "{{ path.id }}"}}
    response: {root: o:GetOrderResponse/o:Order, fields: {id: o:Id}}
  - post: /public/notes
    name: public-note
    operation: CreateOrder
    auth: public
    request:
      body: |
        <o:CreateOrder><o:CustomerId>1</o:CustomerId>
        <o:Line><o:Sku>S</o:Sku><o:Quantity>1</o:Quantity><o:UnitPrice>1</o:UnitPrice></o:Line>
        <o:Note>{{ body.note | default('') }}</o:Note></o:CreateOrder>
    response: {status: 201, root: o:CreateOrderResponse, fields: {id: o:OrderId}}
"""


def _mapping(directory: Path, service_extra: str = "", routes: str = ROUTES) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "orders.yaml").write_text(
        "version: 1\nservice:\n  wsdl: orders.wsdl\n  address: ${ORDERS_SOAP_URL}\n"
        "  timeout: 5s\n  retries: 0\n  namespaces: {o: urn:example:orders}\n"
        + service_extra
        + routes
    )
    return directory


def _security_file(directory: Path, extra: str = "") -> Path:
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    path = directory / "security.yaml"
    path.write_text(
        f"""version: 1
api_keys:
  keys:
    - {{id: batch, sha256: {digest}, scopes: [orders:read], claims: {{tenant: acme}}}}
jwt:
  algorithms: [HS256]
  secret_env: MEDIATOR_TEST_JWT_SECRET
  issuer: https://idp.test
  audience: mediator
limits: {{max_depth: 5, max_items: 50, max_string_length: 200, max_number_length: 20}}
{extra}"""
    )
    return path


def _token(subject: str = "ada", scope: str = "orders:read", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": subject,
        "iss": "https://idp.test",
        "aud": "mediator",
        "exp": now + 300,
        "scope": scope,
        **claims,
    }
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


ENV = {"MEDIATOR_TEST_JWT_SECRET": JWT_SECRET}
Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def backend(aiohttp_server: Callable[..., Any]) -> tuple[ScriptedBackend, str]:
    """A scripted SOAP backend answering GetOrder; its orders URL."""
    scripted = ScriptedBackend(reply=Reply(body=envelope(ORDER_XML)))
    server = await aiohttp_server(scripted.app())
    return scripted, str(server.make_url("/orders"))


@pytest.fixture
def start(
    registry: WsdlRegistry,
    aiohttp_server: Callable[..., Any],
    tmp_path: Path,
) -> Callable[..., Any]:
    """Start a gateway over HTTP(S) for generated mappings and a security file."""

    async def start(
        address: str,
        *,
        security: Path | None = None,
        service_extra: str = "",
        routes: str = ROUTES,
        environ: dict[str, str] | None = None,
        server_kwargs: dict[str, Any] | None = None,
        **settings: Any,
    ) -> TestServer:
        env = {**ENV, "ORDERS_SOAP_URL": address, **(environ or {})}
        directory = _mapping(tmp_path / f"mappings-{time.monotonic_ns()}", service_extra, routes)
        mappings = load_mappings(
            [directory], describe=registry.describe, wsdl_dir=WSDL_DIR, environ=env
        )
        config = load_security_config(security, env) if security else None
        observers = settings.pop("observers", None)
        app = create_app(
            mappings,
            registry=registry,
            settings=GatewaySettings(security=config, **settings),
            observers=observers,
        )
        server: TestServer = await aiohttp_server(app, **(server_kwargs or {}))
        return server

    return start


async def _client(start: Callable[..., Any], *args: Any, **kwargs: Any) -> Client:
    client = TestClient(await start(*args, **kwargs))
    await client.start_server()
    return client


def _assert_problem(body: dict[str, Any], status: int, slug: str) -> None:
    assert body["status"] == status
    assert body["type"] == f"urn:mediator:problem:{slug}"
    assert body["request_id"]


# -- authentication and authorisation -------------------------------------------------------


async def test_missing_invalid_and_insufficient_credentials(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """No credential: 401 problem with a challenge per method; a wrong API key or a forged
    token: 401; a valid token without the route's scope: 403 with insufficient_scope; the
    backend is never called for a refused request."""
    scripted, url = backend
    client = await _client(start, url, security=_security_file(tmp_path))
    try:
        response = await client.get("/orders/7")
        assert response.status == 401
        assert response.content_type == "application/problem+json"
        _assert_problem(await response.json(), 401, "unauthorized")
        assert response.headers["WWW-Authenticate"] == (
            'ApiKey realm="mediator", header="X-API-Key", Bearer realm="mediator"'
        )
        response = await client.get("/orders/7", headers={"X-API-Key": "nope"})
        assert response.status == 401
        forged = jwt.encode({"sub": "x"}, "another-secret-of-32-bytes-or-more!!", "HS256")
        response = await client.get("/orders/7", headers={"Authorization": f"Bearer {forged}"})
        assert response.status == 401
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
        token = _token(scope="orders:write")
        response = await client.get("/orders/7", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 403
        _assert_problem(await response.json(), 403, "forbidden")
        assert (
            'error="insufficient_scope", scope="orders:read"'
            in (response.headers["WWW-Authenticate"])
        )
        assert scripted.received == []
    finally:
        await client.close()


async def test_api_key_and_jwt_are_admitted(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """A valid API key or JWT with the scope reaches the backend and gets the answer."""
    scripted, url = backend
    client = await _client(start, url, security=_security_file(tmp_path))
    try:
        for headers in ({"X-API-Key": API_KEY}, {"Authorization": f"Bearer {_token()}"}):
            response = await client.get("/orders/7", headers=headers)
            assert response.status == 200, await response.text()
            assert await response.json() == {"id": 7, "status": "open"}
        assert len(scripted.received) == 2
    finally:
        await client.close()


async def test_client_identity_reaches_templates_and_logs(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """The authenticated subject and method are available to templates as ``client`` and
    appear on the request's log line (never the credential itself)."""
    scripted, url = backend
    scripted.reply = Reply(body=envelope(CREATED_XML))
    client = await _client(start, url, security=_security_file(tmp_path))
    token = _token(subject="ada")
    try:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            response = await client.post(
                "/orders", json={"customerId": 3}, headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status == 201, await response.text()
        assert b"<o:Note>by ada (jwt)</o:Note>" in scripted.received[-1].body
        line = next(e for e in logs if e["event"] == "gateway.request_handled")
        assert line["client"] == "ada" and line["auth"] == "jwt"
        assert token not in repr(logs)
    finally:
        await client.close()


async def test_require_auth_protects_routes_without_auth_key(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """With require_auth a route that says nothing needs a client; auth: public stays open."""
    _, url = backend
    routes = """
routes:
  - get: /orders/{id}
    operation: GetOrder
    params: {path: {id: integer}}
    request: {args: {OrderId: "{{ path.id }}"}}
    response: {root: o:GetOrderResponse/o:Order, fields: {id: o:Id}}
  - get: /open/{id}
    operation: GetOrder
    auth: public
    params: {path: {id: integer}}
    request: {args: {OrderId: "{{ path.id }}"}}
    response: {root: o:GetOrderResponse/o:Order, fields: {id: o:Id}}
"""
    security = _security_file(tmp_path, "require_auth: true\n")
    client = await _client(start, url, security=security, routes=routes)
    try:
        assert (await client.get("/orders/7")).status == 401
        assert (await client.get("/orders/7", headers={"X-API-Key": API_KEY})).status == 200
        assert (await client.get("/open/7")).status == 200
    finally:
        await client.close()


# -- rate limits ----------------------------------------------------------------------------


async def test_rate_limit_boundary_429_and_headers(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str]
) -> None:
    """A burst of 2: two requests pass with RateLimit fields, the third is 429 with
    Retry-After and the same fields, and never reaches the backend."""
    scripted, url = backend
    client = await _client(start, url)
    try:
        first = await client.get("/public/orders/7")
        assert first.status == 200
        assert first.headers["RateLimit-Policy"] == '"route";q=2;w=60'
        assert first.headers["RateLimit"] == '"route";r=1;t=30'
        assert (await client.get("/public/orders/7")).status == 200
        refused = await client.get("/public/orders/7")
        assert refused.status == 429
        _assert_problem(await refused.json(), 429, "too-many-requests")
        assert refused.headers["Retry-After"] == "30"
        assert refused.headers["RateLimit"].startswith('"route";r=0;')
        assert len(scripted.received) == 2
        metrics = await (await client.get("/metrics")).text()
        assert 'mediator_rate_limit_rejections_total{route="' in metrics
        rejected = [
            line
            for line in metrics.splitlines()
            if line.startswith("mediator_rate_limit_rejections_total{")
        ]
        assert [line.rsplit(" ", 1)[1] for line in rejected] == ["1.0"]
    finally:
        await client.close()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throw-away redis-server (installed on demand by tests/backends/redis_server.py)."""
    with run_redis_server() as url:
        yield url


async def test_redis_shares_counters_between_instances(
    start: Callable[..., Any],
    backend: tuple[ScriptedBackend, str],
    tmp_path: Path,
    redis_url: str,
) -> None:
    """Two gateway instances on one Redis share a client's bucket: the per-client burst of
    3 is spent across both, and the fourth request is refused by either."""
    _, url = backend
    prefix = f"test:{time.monotonic_ns()}:"
    extra = (
        f"rate_limits:\n  store: redis\n  redis_url: {redis_url}\n  redis_prefix: '{prefix}'\n"
        "  per_client: {rate: 3/min, burst: 3}\n"
    )
    security = _security_file(tmp_path, extra)
    first = await _client(start, url, security=security)
    second = await _client(start, url, security=security)
    headers = {"X-API-Key": API_KEY}
    try:
        statuses = [
            (await first.get("/orders/7", headers=headers)).status,
            (await second.get("/orders/7", headers=headers)).status,
            (await first.get("/orders/7", headers=headers)).status,
        ]
        assert statuses == [200, 200, 200]
        refused = await second.get("/orders/7", headers=headers)
        assert refused.status == 429
        assert refused.headers["RateLimit"].startswith('"client-global";r=0;')
        assert (await first.get("/orders/7", headers=headers)).status == 429
        other = await first.get("/orders/7", headers={"Authorization": f"Bearer {_token()}"})
        assert other.status == 200  # another client has its own bucket
    finally:
        await first.close()
        await second.close()


async def test_redis_outage_fails_open_by_default(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """An unreachable Redis lets requests through (on_store_error: allow), or refuses them
    with 503 rate-limit-unavailable (deny); never a 500."""
    _, url = backend
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    for mode, status in (("allow", 200), ("deny", 503)):
        extra = (
            f"rate_limits:\n  store: redis\n  redis_url: {dead}\n  on_store_error: {mode}\n"
            "  per_client: {rate: 3/min}\n"
        )
        client = await _client(start, url, security=_security_file(tmp_path, extra))
        try:
            response = await client.get("/orders/7", headers={"X-API-Key": API_KEY})
            assert response.status == status
            if status == 503:
                _assert_problem(await response.json(), 503, "rate-limit-unavailable")
        finally:
            await client.close()


# -- inbound limits -------------------------------------------------------------------------


def _body_of_size(size: int) -> bytes:
    """A valid JSON body of exactly ``size`` bytes."""
    head = b'{"note": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_size_at_the_limit_and_one_past(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], chunked: bool
) -> None:
    """A body of exactly --max-body bytes is translated; one byte more is 413, with a
    Content-Length or chunked."""
    scripted, url = backend
    scripted.reply = Reply(body=envelope(CREATED_XML))
    routes = ROUTES.replace("{{ body.note | default('') }}", "{{ body.note | length }}")
    client = await _client(start, url, routes=routes, max_body_bytes=1024)

    def payload(size: int) -> Any:
        data = _body_of_size(size)
        if not chunked:
            return data

        async def stream() -> AsyncIterator[bytes]:
            for index in range(0, len(data), 100):
                yield data[index : index + 100]

        return stream()

    headers = {"Content-Type": "application/json"}
    try:
        response = await client.post("/public/notes", data=payload(1024), headers=headers)
        assert response.status == 201, await response.text()
        assert b"<o:Note>1012</o:Note>" in scripted.received[-1].body
        response = await client.post("/public/notes", data=payload(1025), headers=headers)
        assert response.status == 413
        _assert_problem(await response.json(), 413, "payload-too-large")
        assert len(scripted.received) == 1
    finally:
        await client.close()


BAD_BODIES: list[tuple[bytes, str]] = [
    (b'{"note": NaN}', "not a JSON number"),
    (b'{"note": Infinity}', "not a JSON number"),
    (b'{"note": "a", "note": "b"}', "duplicate key"),
    (b'{"note": "\xff"}', "invalid UTF-8"),
    (b'\xef\xbb\xbf{"note": "a"}', "byte order mark"),
    (b'{"note": "a\\u0001"}', "XML cannot carry"),
    (b'{"note": "a\\ud800"}', "XML cannot carry"),
    (b'{"note": "a\\uffff"}', "XML cannot carry"),
    (b'{"a": [[[[1]]]]}', ""),  # depth 5: at the limit
    (b'{"a": [[[[[1]]]]]}', "nested deeper than 5"),
    (json.dumps({"a": list(range(50))}).encode(), ""),
    (json.dumps({"a": list(range(51))}).encode(), "more than 50 entries"),
    (json.dumps({"note": "x" * 200}).encode(), ""),
    (json.dumps({"note": "x" * 201}).encode(), "longer than 200 characters"),
    (b'{"n": 12345678901234567890}', ""),
    (b'{"n": 123456789012345678901}', "a number longer than 20"),
    (b'{"n": 1' + b"0" * 5000 + b"}", "too many digits"),
    (b'{"note": ', "invalid JSON"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
async def test_bad_bodies_are_400_never_500(
    start: Callable[..., Any],
    backend: tuple[ScriptedBackend, str],
    tmp_path: Path,
    body: bytes,
    message: str,
) -> None:
    """Each JSON limit holds at its boundary (translated) and one past it (400 naming the
    problem); malformed input is a 400, never a 500, and never reaches the backend."""
    scripted, url = backend
    scripted.reply = Reply(body=envelope(CREATED_XML))
    client = await _client(start, url, security=_security_file(tmp_path))
    try:
        response = await client.post(
            "/public/notes", data=body, headers={"Content-Type": "application/json"}
        )
        if not message:
            assert response.status == 201, await response.text()
            return
        assert response.status == 400, await response.text()
        problem = await response.json()
        _assert_problem(problem, 400, "invalid-request")
        assert message in problem["detail"]
        assert scripted.received == []
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("ctype", "status"),
    [("text/plain", 415), ("application/json; charset=iso-8859-1", 400)],
)
async def test_media_type_and_charset_are_checked(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], ctype: str, status: int
) -> None:
    """A body that is not JSON is 415; JSON in another charset is 400."""
    _, url = backend
    client = await _client(start, url)
    try:
        response = await client.post("/public/notes", data=b"{}", headers={"Content-Type": ctype})
        assert response.status == status
    finally:
        await client.close()


async def test_query_and_path_parameters_are_bounded(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """Too many query parameters, or a value XML cannot carry, is a 400 before any work."""
    _, url = backend
    client = await _client(start, url, security=_security_file(tmp_path))
    try:
        many = "&".join(f"p{i}=1" for i in range(65))
        assert (await client.get(f"/public/orders/7?{many}")).status == 400
        assert (await client.get("/public/orders/7?q=%00")).status == 400
    finally:
        await client.close()


# -- slow clients ---------------------------------------------------------------------------


async def _raw_exchange(
    port: int, chunks: list[tuple[bytes, float]], wait: float, until: bytes | None = None
) -> bytes:
    """Send ``chunks`` (each after its delay) and read what the server answers until it
    closes the connection, ``until`` arrives, or ``wait`` seconds pass."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = b""
    try:
        for data, delay in chunks:
            await asyncio.sleep(delay)
            if reader.at_eof():
                break
            writer.write(data)
            await writer.drain()
        async with asyncio.timeout(wait):
            while chunk := await reader.read(65536):
                received += chunk
                if until is not None and until in received:
                    break
    except (TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()
    return received


async def test_trickled_headers_are_cut_off(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str]
) -> None:
    """A request head sent within the keep-alive timeout is served; one trickled past it is
    cut off: the connection is closed without an answer (slowloris)."""
    _, url = backend
    server = await start(url, server_kwargs={"keepalive_timeout": 0.6})
    port = server.port
    head = b"GET /public/orders/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    quick = [(head, 0.0), (b"X-A: 1\r\n", 0.1), (b"\r\n", 0.1)]
    answer = await _raw_exchange(port, quick, wait=5)
    assert answer.startswith(b"HTTP/1.1 200")
    started = time.monotonic()
    trickle = [(head, 0.0)] + [(b"X-A: 1\r\n", 0.2)] * 15  # 3 s of headers
    answer = await _raw_exchange(port, trickle, wait=5)
    assert answer == b""
    assert time.monotonic() - started < 2.5  # closed at ~0.6 s, not after the trickle


async def test_body_in_time_is_read_and_a_stalled_body_is_408(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str]
) -> None:
    """A body that arrives in two parts within the body timeout is translated; a body that
    stalls is answered 408 once the timeout passes."""
    scripted, url = backend
    scripted.reply = Reply(body=envelope(CREATED_XML))
    server = await start(url, body_timeout=0.5)
    body = b'{"note": "hello"}'
    head = (
        b"POST /public/notes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
    )
    answer = await _raw_exchange(server.port, [(head + body[:5], 0.0), (body[5:], 0.2)], wait=5)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    started = time.monotonic()
    answer = await _raw_exchange(
        server.port, [(head + body[:5], 0.0)], wait=5, until=b"request-timeout"
    )
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"request-timeout" in answer
    assert 0.4 < time.monotonic() - started < 3


# -- what reaches the backend ---------------------------------------------------------------


async def test_client_headers_are_never_forwarded(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """The client's SOAPAction, Host, Content-Type, hop-by-hop headers, credentials and
    cookies stay at the gateway; the backend sees only what the gateway builds."""
    scripted, url = backend
    client = await _client(start, url, security=_security_file(tmp_path))
    sent = {
        "SOAPAction": "urn:evil",
        "Host": "evil.example",
        "Content-Type": "text/evil",
        "Keep-Alive": "timeout=999",
        "TE": "trailers",
        "Trailer": "X-Evil",
        "Proxy-Authorization": "Basic ZXZpbDpldmls",
        "Cookie": "session=evil",
        "X-Forwarded-For": "6.6.6.6",
        "X-API-Key": API_KEY,
    }
    try:
        response = await client.get("/orders/7", headers=sent)
        assert response.status == 200
    finally:
        await client.close()
    received = {k.lower(): v for k, v in scripted.received[-1].headers.items()}
    assert received["soapaction"] == '"urn:example:orders/GetOrder"'
    assert received["content-type"] == "text/xml; charset=utf-8"
    assert "evil" not in received["host"]
    for name in ("keep-alive", "te", "trailer", "proxy-authorization", "cookie", "x-api-key"):
        assert name not in received, name
    assert "x-forwarded-for" not in received
    assert not any("evil" in value or API_KEY in value for value in received.values())


async def test_basic_and_ws_security_digest_reach_the_backend(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str]
) -> None:
    """HTTP Basic is sent as Authorization; the UsernameToken's PasswordDigest verifies with
    the password, its nonce and created time; the password itself never crosses the wire."""
    scripted, url = backend
    extra = (
        "  credentials:\n"
        "    ws_security: {username: gw, password_env: T_WSS_PW, timestamp: 1m}\n"
        "    basic: {username: gw-basic, password_env: T_BASIC_PW}\n"
    )
    client = await _client(
        start,
        url,
        service_extra=extra,
        environ={"T_WSS_PW": WSS_PASSWORD, "T_BASIC_PW": BASIC_PASSWORD},
    )
    try:
        assert (await client.get("/public/orders/7")).status == 200
        assert (await client.get("/public/orders/7")).status == 200
    finally:
        await client.close()
    first, second = scripted.received
    expected = base64.b64encode(f"gw-basic:{BASIC_PASSWORD}".encode()).decode()
    assert first.headers["Authorization"] == f"Basic {expected}"
    assert WSS_PASSWORD.encode() not in first.body
    root = etree.fromstring(first.body)
    ns = {"wsse": WSSE, "wsu": WSU}
    nonce = base64.b64decode(root.findtext(".//wsse:Nonce", namespaces=ns) or "")
    created = root.findtext(".//wsse:UsernameToken/wsu:Created", namespaces=ns) or ""
    digest = root.findtext(".//wsse:Password", namespaces=ns)
    assert digest == password_digest(nonce, created, WSS_PASSWORD)
    assert root.find(".//wsu:Timestamp/wsu:Expires", ns) is not None
    assert root.findtext(".//wsse:Nonce", namespaces=ns) != etree.fromstring(second.body).findtext(
        ".//wsse:Nonce", namespaces=ns
    )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A CA with a server and a client certificate."""
    return make_pki(tmp_path / "pki")


async def test_upstream_tls_with_ca_bundle_and_client_certificate(
    start: Callable[..., Any], aiohttp_server: Callable[..., Any], pki: Pki
) -> None:
    """An HTTPS backend requiring a client certificate is reached with service.tls (CA
    bundle, certificate, key); without it the default verification refuses the backend's
    certificate: 502, not sent."""
    backend_ssl = server_ssl_context(pki.server_cert, pki.server_key, client_ca=pki.ca)
    scripted = ScriptedBackend(reply=Reply(body=envelope(ORDER_XML)))
    server = await aiohttp_server(scripted.app(), ssl=backend_ssl)
    url = f"https://127.0.0.1:{server.port}/orders"
    tls = (
        f"  tls: {{ca_file: {pki.ca}, cert_file: {pki.client_cert}, key_file: {pki.client_key}}}\n"
    )
    client = await _client(start, url, service_extra=tls)
    try:
        response = await client.get("/public/orders/7")
        assert response.status == 200, await response.text()
    finally:
        await client.close()
    client = await _client(start, url)
    try:
        response = await client.get("/public/orders/7")
        assert response.status == 502
        problem = await response.json()
        _assert_problem(problem, 502, "upstream-unavailable")
        assert problem["outcome"] == "not-sent"
    finally:
        await client.close()
    assert len(scripted.received) == 1


async def test_mutual_tls_identifies_clients(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], pki: Pki, tmp_path: Path
) -> None:
    """Served with --tls-client-ca (optional certificates), a client certificate signed by
    the CA authenticates its common name with the rights listed for it; a client without
    one is 401; one from another CA cannot even connect."""
    _, url = backend
    security = _security_file(
        tmp_path, "mtls:\n  clients: [{subject: batch-client, scopes: [orders:read]}]\n"
    )
    routes = ROUTES.replace(
        "auth: {scopes: [orders:read]}", "auth: {scopes: [orders:read], methods: [mtls]}"
    )
    server_ssl = server_ssl_context(
        pki.server_cert, pki.server_key, client_ca=pki.ca, require_client_cert=False
    )
    server = await start(url, security=security, routes=routes, server_kwargs={"ssl": server_ssl})
    base = f"https://127.0.0.1:{server.port}"

    def context(cert: Path | None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(pki.ca))
        if cert is not None:
            ctx.load_cert_chain(str(cert), str(cert.with_suffix(".key")))
        return ctx

    async with aiohttp.ClientSession() as session:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            async with session.get(f"{base}/orders/7", ssl=context(pki.client_cert)) as r:
                assert r.status == 200, await r.text()
        line = next(e for e in logs if e["event"] == "gateway.request_handled")
        assert line["client"] == "batch-client" and line["auth"] == "mtls"
        async with session.get(f"{base}/orders/7", ssl=context(None)) as r:
            assert r.status == 401
            assert r.headers["WWW-Authenticate"] == 'ClientCertificate realm="mediator"'
        async with session.get(
            f"{base}/orders/7", ssl=context(None), headers={"X-API-Key": API_KEY}
        ) as r:
            assert r.status == 401  # the route accepts client certificates only


# -- start-up refusals ----------------------------------------------------------------------


def _serve_all(runs: list[tuple[list[str], dict[str, str]]]) -> list[tuple[int, str]]:
    """Run ``mediator serve ARGS`` for each run at once; their exit codes and stderr."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mediator", "serve", *args, "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", **env},
        )
        for args, env in runs
    ]
    results = []
    for process in processes:
        try:
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        results.append((process.returncode, stderr))
    return results


def test_start_up_refuses_unsafe_configurations(tmp_path: Path) -> None:
    """mediator serve exits 1 listing every unsafe setting: TLS verification off without
    --allow-insecure-upstream-tls, a password going out in clear over http://, require_auth
    with no method; and a mapping holding a password in clear does not even load."""
    env = {"ORDERS_SOAP_URL": "https://127.0.0.1:9/orders", "PW": "x"}
    unsafe = _mapping(tmp_path / "unsafe", "  tls: {verify: false}\n")
    (unsafe / "cleartext.yaml").write_text(
        "version: 1\nservice:\n  wsdl: orders.wsdl\n  address: http://legacy.internal/orders\n"
        "  credentials: {basic: {username: u, password_env: PW}}\n"
        "routes:\n  - get: /cleartext/{id}\n    operation: GetOrder\n"
        "    request: {args: {OrderId: '{{ path.id }}'}}\n"
    )
    empty = tmp_path / "empty-security.yaml"
    empty.write_text("version: 1\nrequire_auth: true\n")
    clear = _mapping(tmp_path / "clear", "  credentials: {basic: {username: u, password: p}}\n")
    wsdl = ["--wsdl-dir", str(WSDL_DIR)]
    (code, stderr), (clear_code, clear_stderr) = _serve_all(
        [([str(unsafe), *wsdl, "--security", str(empty)], env), ([str(clear), *wsdl], env)]
    )
    assert code == 1, stderr
    assert (
        "service.tls.verify: TLS verification is off; start with --allow-insecure-upstream-tls"
        in stderr
    )
    assert "HTTP Basic would send a password in clear to http://legacy.internal" in stderr
    assert "require_auth: no authentication method is configured" in stderr
    assert "GET /orders/{id}: auth: the route requires authentication but" in stderr
    assert "5 issue(s) found" in stderr  # and POST /orders (auth: required)
    assert clear_code == 1
    assert "a secret in clear is not allowed here; use password_env" in clear_stderr


# -- secrets never leak ---------------------------------------------------------------------


async def test_planted_secrets_appear_in_no_output(
    start: Callable[..., Any], backend: tuple[ScriptedBackend, str], tmp_path: Path
) -> None:
    """An API key, a JWT, a WS-Security PasswordText password and a Basic password are used
    on successful, refused and failed requests; no log line (rendered through the real
    redacting pipeline), response body, recorded fixture, explain trace or metrics page
    contains any of them."""
    scripted, url = backend
    extra = (
        "  credentials:\n"
        "    ws_security: {username: gw, password_env: T_WSS_PW, password_type: text}\n"
        "    basic: {username: gw-basic, password_env: T_BASIC_PW}\n"
    )
    fixtures = tmp_path / "fixtures"
    token = _token()
    secrets = [
        API_KEY,
        token,
        token.split(".")[2],  # the signature alone
        JWT_SECRET,
        WSS_PASSWORD,
        BASIC_PASSWORD,
        base64.b64encode(f"gw-basic:{BASIC_PASSWORD}".encode()).decode(),
    ]
    buffer = io.StringIO()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            redact_secrets,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    outputs: list[str] = []
    try:
        client = await _client(
            start,
            url,
            security=_security_file(tmp_path),
            service_extra=extra,
            environ={"T_WSS_PW": WSS_PASSWORD, "T_BASIC_PW": BASIC_PASSWORD},
            observers=[FixtureRecorder(fixtures)],
            explain=20,
        )
        try:
            requests = [
                ("GET", "/orders/7", {"X-API-Key": API_KEY}, None),
                ("GET", "/orders/7", {"Authorization": f"Bearer {token}"}, None),
                ("GET", "/orders/7", {"X-API-Key": API_KEY + "-wrong"}, None),
                ("GET", "/orders/7", {"Authorization": f"Bearer {token}x"}, None),
                ("POST", "/orders", {"Authorization": f"Bearer {token}"}, b'{"customerId": NaN}'),
            ]
            for method, path, headers, body in requests:
                response = await client.request(
                    method,
                    path,
                    headers={**headers, "Content-Type": "application/json"},
                    data=body,
                )
                outputs.append(await response.text())
                outputs.append(json.dumps(dict(response.headers)))
            scripted.reply = Reply(body=envelope(FAULT_XML), status=500)
            response = await client.get("/orders/7", headers={"X-API-Key": API_KEY})
            assert response.status == 422
            outputs.append(await response.text())
            metrics = await client.get("/metrics")
            assert metrics.status == 200
            outputs.append(await metrics.text())
            listing = await client.get("/_mediator/traces")
            assert listing.status == 200
            traces = (await listing.json())["traces"]
            assert len(traces) >= 3  # the admitted and the failed requests were traced
            for trace in traces:
                outputs.append(await (await client.get(trace["href"])).text())
        finally:
            await client.close()
    finally:
        structlog.reset_defaults()
    assert WSS_PASSWORD.encode() in scripted.received[0].body  # it was really sent
    recorded = [p.read_text() for p in fixtures.rglob("*") if p.is_file()]
    assert recorded, "the recorder wrote no fixture"
    logged = buffer.getvalue()
    assert "gateway.request_handled" in logged
    everything = {"logs": logged, "responses": "\n".join(outputs), "fixtures": "\n".join(recorded)}
    for where, text in everything.items():
        for secret in secrets:
            assert secret not in text, f"a planted secret leaked into {where}"


# -- interoperability -----------------------------------------------------------------------


NODE_WSS_PASSWORD = "pässwörd-🔑-42"  # what interop-server.js accepts


@pytest.fixture(scope="module")
def node_catalog() -> Iterator[str]:
    """node-soap's interop server (``tests/backends/node``) on a free port; its base URL."""
    ensure_node_modules()
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    with subprocess.Popen(
        [_require_tool("node"), "interop-server.js", "--port", "0"],
        cwd=NODE_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=env,
    ) as proc:
        try:
            yield f"http://127.0.0.1:{_await_port(proc)}"
        finally:
            stop_process(proc)


async def test_ws_security_credentials_accepted_by_node_soap(
    registry: WsdlRegistry, aiohttp_client: Callable[..., Any], node_catalog: str, tmp_path: Path
) -> None:
    """service.credentials.ws_security (PasswordText, non-ASCII password from the
    environment) passes node-soap's UsernameToken check on its WS-Security port, with no
    soap_header template; a wrong password is refused by node-soap."""
    wsdl = REPO / "tests" / "backends" / "node" / "wsdl" / "catalog.wsdl"
    (tmp_path / "catalog.yaml").write_text(
        f"""version: 1
service:
  wsdl: {wsdl}
  port: CatalogSecure
  address: ${{CATALOG_SECURE_URL}}
  namespaces: {{c: urn:interop:catalog}}
  credentials:
    ws_security: {{username: mediator, password_env: CATALOG_WSS_PASSWORD, password_type: text}}
routes:
  - get: /secure/products/{{id}}
    operation: GetProduct
    params: {{path: {{id: integer}}}}
    request: {{args: {{Id: "{{{{ path.id }}}}"}}}}
    response: {{root: c:GetProductResponse/c:Product, fields: {{id: c:Id}}}}
"""
    )
    for password, status in ((NODE_WSS_PASSWORD, 200), ("wrong", 422)):
        environ = {
            "CATALOG_SECURE_URL": f"{node_catalog}/catalog-secure",
            "CATALOG_WSS_PASSWORD": password,
        }
        mappings = load_mappings([tmp_path], describe=registry.describe, environ=environ)
        client = await aiohttp_client(TestServer(create_app(mappings, registry=registry)))
        response = await client.get("/secure/products/3")
        assert response.status == status, await response.text()
        if status == 200:
            assert await response.json() == {"id": 3}
