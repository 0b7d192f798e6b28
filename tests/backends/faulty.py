"""A fault-injecting SOAP backend: every slow, broken or hostile answer, on demand.

:class:`FaultyBackend` is an aiohttp app on 127.0.0.1. The first path segment picks the
behaviour (``/hang``, ``/gzip-bomb``, ``/xxe-parameter`` …, see :data:`MODES`), so each
upstream of a test gets its own behaviour by its address; ``script`` overrides it for the
next requests (e.g. fail once, then answer). It records what it received and whether the
gateway hung up on it.

:class:`Canary` is a bare TCP server that counts every connection and byte: XXE payloads
point at it, and it must see nothing. :class:`RawBackend` speaks HTTP over bare sockets for
what aiohttp's server cannot do: close a kept-alive connection on the next request (a stale
pooled connection), or accept and drop connections (a failed TLS handshake).
:func:`unresponsive_port` gives a port whose accept queue is full, so connecting hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from aiohttp import web

__all__ = [
    "MODES",
    "SECRET",
    "Canary",
    "FaultyBackend",
    "RawBackend",
    "closed_port",
    "compression_bomb",
    "envelope",
    "fault11",
    "unresponsive_port",
]

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
ORDERS = "urn:example:orders"

ORDER_XML = (
    f'<GetOrderResponse xmlns="{ORDERS}"><Order><Id>7</Id><Customer><Id>1</Id><Name>N</Name>'
    "<Vip>false</Vip></Customer><Status>open</Status><OrderDate>2026-01-02</OrderDate>"
    "<CreatedAt>2026-01-02T03:04:05Z</CreatedAt><Total>1.5</Total><Paid>true</Paid></Order>"
    "</GetOrderResponse>"
)
CREATED_XML = (
    f'<CreateOrderResponse xmlns="{ORDERS}"><OrderId>99</OrderId><Status>open</Status>'
    "<Total>2</Total></CreateOrderResponse>"
)
SECRET = "UPSTREAM-SECRET-BYTES"
"""Planted in hostile answers: it must never reach a client."""


def envelope(body_xml: str, version: str = "1.1", *, prolog: str = "") -> bytes:
    """A SOAP envelope of the given version around Body content."""
    ns = SOAP11 if version == "1.1" else SOAP12
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<s:Envelope xmlns:s="{ns}"><s:Body>'
        f"{body_xml}</s:Body></s:Envelope>"
    ).encode()


def fault11(code: str, reason: str = "refused") -> bytes:
    """A SOAP 1.1 fault with the given code (``Client``, ``Server``)."""
    return envelope(
        f'<s:Fault xmlns:s="{SOAP11}"><faultcode>s:{code}</faultcode>'
        f"<faultstring>{reason}</faultstring><detail><Why xmlns='urn:x'>{code}</Why></detail>"
        "</s:Fault>"
    )


@functools.cache
def compression_bomb(encoding: str, size: int = 128 * 1024 * 1024) -> bytes:
    """A valid-looking SOAP answer padded with ``size`` bytes of spaces, compressed.

    About 1000:1: 128 MiB inflate from ~130 KiB. Cached: built once per test session.
    """
    wbits = 31 if encoding == "gzip" else 15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    head = envelope(ORDER_XML)[: -len(b"</s:Body></s:Envelope>")]
    parts = [compressor.compress(head)]
    block = b" " * (1024 * 1024)
    for _ in range(size // len(block)):
        parts.append(compressor.compress(block))
    parts.append(compressor.compress(b"</s:Body></s:Envelope>"))
    parts.append(compressor.flush())
    return b"".join(parts)


def _xxe(canary: str, kind: str) -> bytes:
    order = ORDER_XML.replace("<Name>N</Name>", "<Name>&x;</Name>")
    doctypes = {
        "xxe-external": f'<!DOCTYPE s:Envelope [<!ENTITY x SYSTEM "{canary}/entity">]>',
        "xxe-parameter": (f'<!DOCTYPE s:Envelope [<!ENTITY % p SYSTEM "{canary}/param.dtd"> %p;]>'),
        "xxe-dtd": f'<!DOCTYPE s:Envelope SYSTEM "{canary}/external.dtd">',
        "xxe-public": f'<!DOCTYPE s:Envelope PUBLIC "-//X//DTD X//EN" "{canary}/public.dtd">',
        "billion-laughs": (
            '<!DOCTYPE s:Envelope [<!ENTITY l "lol">'
            + "".join(f'<!ENTITY l{i} "{(f"&l{i - 1};" if i else "&l;") * 10}">' for i in range(9))
            + '<!ENTITY x "&l8;">]>'
        ),
    }
    return envelope(order, prolog=doctypes[kind])


def _nested(depth: int) -> str:
    return "<d>" * depth + "</d>" * depth


_XML = "text/xml; charset=utf-8"


@functools.cache
def _canned(mode: str, canary: str) -> tuple[int, bytes, str]:
    """Status, body and content type of a fixed answer (built once per mode)."""
    secret_envelope = envelope(f"<Secret>{SECRET}</Secret>")
    answers: dict[str, Callable[[], tuple[int, bytes, str]]] = {
        "fault-client": lambda: (500, fault11("Client", "Order rejected"), _XML),
        "fault-server": lambda: (500, fault11("Server", "Database offline"), _XML),
        "xxe-external": lambda: (200, _xxe(canary, "xxe-external"), _XML),
        "xxe-parameter": lambda: (200, _xxe(canary, "xxe-parameter"), _XML),
        "xxe-dtd": lambda: (200, _xxe(canary, "xxe-dtd"), _XML),
        "xxe-public": lambda: (200, _xxe(canary, "xxe-public"), _XML),
        "xxe-utf16": lambda: (
            200,
            _xxe(canary, "xxe-dtd").decode().replace("utf-8", "utf-16").encode("utf-16"),
            _XML,
        ),
        "billion-laughs": lambda: (200, _xxe(canary, "billion-laughs"), _XML),
        "deep": lambda: (200, envelope(_nested(200)), _XML),
        "very-deep": lambda: (200, envelope(_nested(300)), _XML),
        "wide": lambda: (200, envelope("<w>" + "<i/>" * 150_000 + "</w>"), _XML),
        "many-attributes": lambda: (
            200,
            envelope("<a " + " ".join(f'a{i}="{SECRET}"' for i in range(300)) + "/>"),
            _XML,
        ),
        "many-namespaces": lambda: (
            200,
            envelope("<a " + " ".join(f'xmlns:p{i}="urn:{i}"' for i in range(300)) + "/>"),
            _XML,
        ),
        "long-name": lambda: (200, envelope(f"<{'n' * 5000}/>"), _XML),
        "big-attribute": lambda: (200, envelope(f'<a v="{"x" * (11 * 1024 * 1024)}"/>'), _XML),
        "truncated": lambda: (200, envelope(ORDER_XML)[:200], _XML),
        "not-envelope": lambda: (200, f"<Order><Secret>{SECRET}</Secret></Order>".encode(), _XML),
        "wrong-version": lambda: (
            200,
            envelope(ORDER_XML, "1.2"),
            "application/soap+xml; charset=utf-8",
        ),
        "html-error": lambda: (
            503,
            f"<html><body><h1>Service Unavailable</h1>{SECRET}</body></html>".encode(),
            "text/html",
        ),
        "html-200": lambda: (200, f"<html><body>{SECRET}</body></html>".encode(), "text/html"),
        "proxy-502": lambda: (502, b"<html><body>Bad Gateway</body></html>", "text/html"),
        "wrong-content-type": lambda: (200, secret_envelope, "application/json"),
        "octet-stream": lambda: (200, secret_envelope, "application/octet-stream"),
        "garbage": lambda: (200, b"\x00\xff" + SECRET.encode() + b"\x89PNG", _XML),
        "http-500-no-fault": lambda: (500, secret_envelope, _XML),
    }
    return answers[mode]()


MODES = (
    "ok",
    "slow",
    "hang",
    "trickle",
    "drop",
    "fault-client",
    "fault-server",
    "oversize",
    "oversize-declared",
    "gzip-bomb",
    "deflate-bomb",
    "xxe-external",
    "xxe-parameter",
    "xxe-dtd",
    "xxe-public",
    "xxe-utf16",
    "billion-laughs",
    "deep",
    "very-deep",
    "wide",
    "many-attributes",
    "many-namespaces",
    "long-name",
    "big-attribute",
    "truncated",
    "cut-body",
    "not-envelope",
    "wrong-version",
    "html-error",
    "html-200",
    "proxy-502",
    "wrong-content-type",
    "octet-stream",
    "garbage",
    "http-500-no-fault",
    "redirect",
)
"""Every behaviour, named by the first path segment (``/slow/0.5`` waits 0.5 s)."""


@dataclass
class Received:
    """One request that reached the backend's handler."""

    mode: str
    headers: dict[str, str]
    body: bytes
    request: web.Request = field(repr=False)

    @property
    def connection_closed(self) -> bool:
        """Whether the gateway has closed this request's connection."""
        transport = self.request.transport
        return transport is None or transport.is_closing()


@dataclass
class FaultyBackend:
    """The fault-injecting SOAP backend (see the module docstring)."""

    canary_url: str = "http://127.0.0.1:9"
    script: deque[str] = field(default_factory=deque)
    """Behaviours (``"drop"``, ``"slow/0.3"``) for the next requests, before the path's."""
    received: list[Received] = field(default_factory=list)
    hung_up: list[str] = field(default_factory=list)
    """Modes of answers the gateway abandoned before they ended (hang, trickle, oversize)."""

    def app(self) -> web.Application:
        """The aiohttp application (serve it with ``aiohttp_server``)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{mode}", self._handle)
        app.router.add_post("/{mode}/{arg}", self._handle)
        return app

    def count(self, mode: str | None = None) -> int:
        """Requests received (in ``mode`` only, when given)."""
        return sum(1 for r in self.received if mode is None or r.mode == mode)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.script:
            mode, _, scripted_arg = self.script.popleft().partition("/")
            arg = scripted_arg or None
        else:
            mode, arg = request.match_info["mode"], request.match_info.get("arg")
        self.received.append(Received(mode, dict(request.headers), await request.read(), request))
        action = request.headers.get("SOAPAction", "")
        ok = envelope(CREATED_XML if "CreateOrder" in action else ORDER_XML)
        handler = getattr(self, "_" + mode.replace("-", "_"), None)
        if handler is not None:
            response: web.StreamResponse = await handler(request, ok, arg)
            return response
        return self._simple(mode, ok)

    def _simple(self, mode: str, ok: bytes) -> web.Response:
        if mode == "ok":
            return web.Response(body=ok, headers={"Content-Type": _XML})
        status, body, ctype = _canned(mode, self.canary_url)
        return web.Response(status=status, body=body, headers={"Content-Type": ctype})

    async def _slow(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        await asyncio.sleep(float(arg or "1"))
        return web.Response(body=ok, content_type="text/xml")

    async def _wait_for_hangup(self, request: web.Request, mode: str) -> None:
        # A hang-up either cancels this handler (handler cancellation on) or closes the
        # transport (polled: aiohttp has no disconnect event otherwise).
        try:
            while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        finally:
            self.hung_up.append(mode)

    async def _hang(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        await self._wait_for_hangup(request, "hang")
        return web.Response(body=ok, content_type="text/xml")

    async def _trickle(
        self, request: web.Request, ok: bytes, arg: str | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await response.prepare(request)
        try:
            for index in range(len(ok)):
                await response.write(ok[index : index + 1])
                await asyncio.sleep(float(arg or "0.05"))
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self.hung_up.append("trickle")
            raise
        await self._wait_for_hangup(request, "trickle")
        return response

    async def _drop(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        assert request.transport is not None
        request.transport.abort()  # received and possibly processed, never answered
        raise asyncio.CancelledError

    async def _stream(self, request: web.Request, declared: int | None) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        if declared is not None:
            response.content_length = declared
        await response.prepare(request)
        chunk = b"<x>" + b"a" * (64 * 1024) + b"</x>"
        await response.write(envelope("")[: -len(b"</s:Body></s:Envelope>")])
        try:
            for _ in range(1024):  # up to 64 MiB
                await response.write(chunk)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            self.hung_up.append("oversize")
            raise
        return response

    async def _oversize(
        self, request: web.Request, ok: bytes, arg: str | None
    ) -> web.StreamResponse:
        return await self._stream(request, None)

    async def _oversize_declared(
        self, request: web.Request, ok: bytes, arg: str | None
    ) -> web.StreamResponse:
        return await self._stream(request, 64 * 1024 * 1024)

    async def _bomb(self, encoding: str) -> web.Response:
        response = web.Response(body=compression_bomb(encoding))
        response.headers["Content-Type"] = "text/xml"
        response.headers["Content-Encoding"] = encoding
        return response

    async def _gzip_bomb(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        return await self._bomb("gzip")

    async def _deflate_bomb(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        return await self._bomb("deflate")

    async def _cut_body(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        assert request.transport is not None
        request.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(ok)
            + ok[: len(ok) // 2]
        )
        await asyncio.sleep(0.01)
        request.transport.close()
        raise asyncio.CancelledError

    async def _redirect(self, request: web.Request, ok: bytes, arg: str | None) -> web.Response:
        return web.Response(status=302, headers={"Location": f"{self.canary_url}/redirected"})


class Canary:
    """A TCP server that must receive nothing: it counts connections and bytes."""

    def __init__(self) -> None:
        self.connections = 0
        self.data = b""
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> Canary:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            self.data += await asyncio.wait_for(reader.read(4096), 1)
        writer.close()

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class RawBackend:
    """HTTP/1.1 over bare sockets, for connection-level faults.

    ``mode``: ``"stale"`` answers the first request of each connection with keep-alive and
    closes the connection, unanswered, when a second request arrives on it (as if it had
    closed it while idle); ``"accept-close"`` accepts and closes at once (a TLS handshake
    with it fails).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.processed: list[bytes] = []
        self.dropped = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The listening port."""
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> RawBackend:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.mode == "accept-close":
            writer.close()
            return
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                if served >= 1:
                    self.dropped += 1
                    writer.close()
                    return
                served += 1
                self.processed.append(body)
                answer = envelope(CREATED_XML if b"CreateOrder" in head else ORDER_XML)
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: keep-alive\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(answer) + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@contextlib.contextmanager
def unresponsive_port() -> Iterator[int]:
    """A loopback port that never completes a TCP handshake (its accept queue is full)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port: int = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
