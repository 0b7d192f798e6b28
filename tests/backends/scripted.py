"""A scripted SOAP backend for error-path tests: each test says what it answers.

It records every request it receives (headers and body) so tests can check what the
gateway sent upstream.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"


@dataclass
class Reply:
    """What the backend answers next."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/xml; charset=utf-8"
    delay: float = 0.0
    trickle: float = 0.0  # seconds between chunks of the body, to answer slowly


@dataclass
class Received:
    """One request as the backend saw it."""

    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedBackend:
    """An aiohttp app answering every POST with ``reply``."""

    reply: Reply = field(default_factory=Reply)
    received: list[Received] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(dict(request.headers), await request.read()))
        reply = self.reply
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if not reply.trickle:
            return web.Response(
                body=reply.body, status=reply.status, headers={"Content-Type": reply.content_type}
            )
        response = web.StreamResponse(
            status=reply.status, headers={"Content-Type": reply.content_type}
        )
        await response.prepare(request)
        for index in range(0, len(reply.body), 16):
            await response.write(reply.body[index : index + 16])
            await asyncio.sleep(reply.trickle)
        await response.write_eof()
        return response


def envelope(body_xml: str, version: str = "1.1") -> bytes:
    """Wrap Body content in a SOAP envelope of the given version."""
    ns = SOAP11 if version == "1.1" else SOAP12
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{ns}"><s:Body>{body_xml}</s:Body></s:Envelope>'
    ).encode()
