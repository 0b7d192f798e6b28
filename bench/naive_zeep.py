"""What users write today: a JSON service that calls zeep's synchronous client per request.

Modelled on a FastAPI app with plain ``def`` endpoints: an async HTTP server (aiohttp here)
that runs each blocking handler in a thread pool (32 threads, one per benchmark connection;
FastAPI's default pool has 40). The zeep ``Client`` is built once at start-up, as a typical
user would; every request calls the operation synchronously (zeep renders the envelope, POSTs
it with ``requests``, parses the reply into zeep objects), then turns the result into JSON with
``zeep.helpers.serialize_object`` and ``json.dumps``. The ``requests`` pool is sized to the
thread pool so connections are kept alive rather than churned (a small favour to this
contender; by default requests keeps only 10).

    .venv/bin/python bench/naive_zeep.py --wsdl bench/wsdl/bench.wsdl \
        --backend http://127.0.0.1:18081/bench --port 18083
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import zeep
import zeep.exceptions
from aiohttp import web
from requests.adapters import HTTPAdapter
from zeep.helpers import serialize_object

__all__ = ["create_app", "main"]

THREADS = 32
_BINDING = "{urn:bench:accounts}BenchSoap11"


def _to_json(result: Any) -> bytes:
    return json.dumps(serialize_object(result), default=str).encode()  # type: ignore[no-untyped-call]


def _address(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "Street": data["street"],
        "City": data["city"],
        "Postcode": data["postcode"],
        "Region": data.get("region"),
        "Country": data["country"],
    }


def _line(data: dict[str, Any]) -> dict[str, Any]:
    line: dict[str, Any] = {
        "Sku": data["sku"],
        "Quantity": data["quantity"],
        "UnitPrice": data["unitPrice"],
    }
    options = data.get("options")
    if options is not None:
        line["Options"] = {"GiftWrap": options["giftWrap"], "Engraving": options.get("engraving")}
    return line


class NaiveProxy:
    """The blocking handlers; each runs in a worker thread."""

    def __init__(self, wsdl: Path, backend: str) -> None:
        session = requests.Session()
        session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=THREADS))
        transport = zeep.Transport(session=session)  # type: ignore[no-untyped-call]
        client = zeep.Client(str(wsdl), transport=transport)  # type: ignore[no-untyped-call]
        self.client = client
        self.service = client.create_service(_BINDING, backend)  # type: ignore[no-untyped-call]

    def get_account(self, account_id: int) -> bytes:
        return _to_json(self.service.GetAccount(AccountId=account_id))

    def list_transactions(self, account_id: int, limit: int) -> bytes:
        return _to_json(self.service.ListTransactions(AccountId=account_id, Limit=limit))

    def create_order(self, body: dict[str, Any]) -> bytes:
        customer = body["customer"]
        result = self.service.CreateOrder(
            Reference=body["reference"],
            Customer={
                "Id": customer["id"],
                "Name": customer["name"],
                "Email": customer["email"],
                "BillingAddress": _address(customer["billingAddress"]),
            },
            ShipTo=_address(body["shipTo"]),
            Line=[_line(line) for line in body["lines"]],
            Delivery={
                "Method": body["delivery"]["method"],
                "RequestedDate": body["delivery"]["requestedDate"],
            },
            Note=body.get("note"),
        )
        return _to_json(result)


PROXY_KEY = web.AppKey("proxy", NaiveProxy)
POOL_KEY = web.AppKey("pool", ThreadPoolExecutor)


async def _in_thread(
    request: web.Request, call: Callable[[], bytes], status: int = 200
) -> web.Response:
    loop = asyncio.get_running_loop()
    try:
        payload = await loop.run_in_executor(request.app[POOL_KEY], call)
    except zeep.exceptions.Fault as exc:
        return web.json_response({"error": exc.message}, status=502)
    return web.Response(body=payload, status=status, content_type="application/json")


async def get_account(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    account_id = int(request.match_info["id"])
    return await _in_thread(request, lambda: proxy.get_account(account_id))


async def list_transactions(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    account_id = int(request.match_info["id"])
    limit = int(request.query.get("limit", "200"))
    return await _in_thread(request, lambda: proxy.list_transactions(account_id, limit))


async def create_order(request: web.Request) -> web.Response:
    proxy = request.app[PROXY_KEY]
    body = await request.json()
    return await _in_thread(request, lambda: proxy.create_order(body), status=201)


def create_app(wsdl: Path, backend: str) -> web.Application:
    """The naive proxy over the bench WSDL, calling ``backend``."""
    app = web.Application()
    app[PROXY_KEY] = NaiveProxy(wsdl, backend)

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="zeep")
        app[POOL_KEY] = pool
        yield
        pool.shutdown(wait=False, cancel_futures=True)

    app.cleanup_ctx.append(pool_ctx)
    app.router.add_get("/accounts/{id}", get_account)
    app.router.add_get("/accounts/{id}/transactions", list_transactions)
    app.router.add_post("/orders", create_order)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Naive zeep-per-request JSON proxy (the baseline)."
    )
    parser.add_argument("--wsdl", type=Path, required=True)
    parser.add_argument("--backend", required=True, help="SOAP endpoint URL")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18083)
    args = parser.parse_args()
    web.run_app(
        create_app(args.wsdl, args.backend),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
