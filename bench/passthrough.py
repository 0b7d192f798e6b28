"""The ceiling: an aiohttp forwarder that moves bytes to the SOAP backend and back, untranslated.

It serves the same routes as the bench mapping, with the same server and client stack as the
gateway (aiohttp server, one pooled keep-alive ``ClientSession``), but does no translation:
the request body (empty for GET) is POSTed with the route's SOAPAction and the upstream bytes
are returned as they came. Whatever the gateway does beyond this is the cost of translating.

    .venv/bin/python bench/passthrough.py --backend http://127.0.0.1:18081/bench --port 18082
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

__all__ = ["create_app", "main"]

_NS = "urn:bench:accounts"
SESSION_KEY = web.AppKey("session", aiohttp.ClientSession)

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _forward(backend: str, action: str) -> Handler:
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{_NS}/{action}"'}

    async def handler(request: web.Request) -> web.Response:
        body = await request.read()
        session = request.app[SESSION_KEY]
        async with session.post(backend, data=body, headers=headers) as upstream:
            payload = await upstream.read()
            return web.Response(
                body=payload,
                status=upstream.status,
                headers={"Content-Type": upstream.headers["Content-Type"]},
            )

    return handler


def create_app(backend: str) -> web.Application:
    """The forwarder: GET /accounts/{id}, GET /accounts/{id}/transactions, POST /orders."""
    app = web.Application()

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=100, limit_per_host=32, keepalive_timeout=30)
        async with aiohttp.ClientSession(connector=connector, trust_env=False) as session:
            app[SESSION_KEY] = session
            yield

    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/accounts/{id}", _forward(backend, "GetAccount"))
    app.router.add_get("/accounts/{id}/transactions", _forward(backend, "ListTransactions"))
    app.router.add_post("/orders", _forward(backend, "CreateOrder"))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Byte pass-through to the bench SOAP backend.")
    parser.add_argument("--backend", required=True, help="SOAP endpoint URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18082)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    args = parser.parse_args()
    loop = asyncio.new_event_loop()
    if args.loop == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    web.run_app(
        create_app(args.backend),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=loop,
    )


if __name__ == "__main__":
    main()
