"""The upstream transport over real loopback HTTP (mediator.upstream.transport)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from mediator.upstream import transport
from mediator.upstream.transport import HttpTransport, create_session


async def test_progress_records_reuse_and_the_written_head(aiohttp_server):
    """The first request on a connection is fresh, the next one on it is a reuse, and a
    request that got an answer had its head written."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(body=b"<a/>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/", ok)
    server = await aiohttp_server(app)
    session = create_session()
    seen: list[tuple[bool, bool]] = []
    original = transport._TrackedRequest.send

    async def spy(self: Any, conn: Any) -> Any:
        response = await original(self, conn)
        progress = transport._PROGRESS.get()
        assert progress is not None
        seen.append((progress.reused, progress.head_sent))
        return response

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(transport._TrackedRequest, "send", spy)
            sender = HttpTransport(session)
            for _ in range(2):
                answer = await sender.send(
                    str(server.make_url("/")),
                    b"<x/>",
                    {},
                    timeout=5,
                    connect_timeout=5,
                    max_bytes=100,
                )
                assert answer.body == b"<a/>"
    finally:
        await session.close()
    assert seen == [(False, True), (True, True)]
    assert transport._PROGRESS.get() is None  # reset after each call
