"""The HTTP transport's error classification (mediator.upstream.transport), without sockets."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver

from mediator.errors import UpstreamUnavailable
from mediator.upstream import transport
from mediator.upstream.transport import HttpTransport, create_session


class FailingResolver(AbstractResolver):
    """A resolver for which every name is unknown (like NXDOMAIN)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> Any:
        self.asked.append(host)
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_dns_failure_is_unavailable_and_not_sent():
    """A name that does not resolve never reached anything: UpstreamUnavailable(sent=False)."""
    resolver = FailingResolver()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=resolver))
    try:
        with pytest.raises(UpstreamUnavailable) as info:
            await HttpTransport(session).send(
                "http://legacy.invalid/svc",
                b"<x/>",
                {},
                timeout=1,
                connect_timeout=1,
                max_bytes=10,
            )
    finally:
        await session.close()
    assert info.value.sent is False
    assert resolver.asked == ["legacy.invalid"]
    assert "legacy.invalid" in info.value.upstream


async def test_session_is_unbounded_and_tracked():
    """The pool has no global or per-host limit (bulkheads bound it) and its requests note
    their progress; no aiohttp trace hooks are paid for."""
    session = create_session()
    try:
        connector = session.connector
        assert isinstance(connector, aiohttp.TCPConnector)
        assert connector.limit == 0 and connector.limit_per_host == 0
        assert session._request_class is transport._TrackedRequest
        assert session.trace_configs == []
    finally:
        await session.close()


def test_progress_without_tracking_assumes_the_request_arrived():
    """A session without the tracking request class cannot prove anything: assume it was
    sent."""
    progress = transport._Progress()
    assert progress.may_have_arrived is True
    progress.traced = True
    assert progress.may_have_arrived is False
    progress.head_sent = True
    assert progress.may_have_arrived is True


@pytest.mark.parametrize(
    ("error", "reused", "responded", "stale"),
    [
        (aiohttp.ServerDisconnectedError(), True, False, True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), True, False, True),
        (aiohttp.ServerDisconnectedError(), False, False, False),  # a fresh connection
        (aiohttp.ServerDisconnectedError(), True, True, False),  # the answer had begun
        (aiohttp.ServerDisconnectedError(object()), True, False, False),  # partial head
    ],
)
def test_stale_keepalive_detection(error, reused, responded, stale):
    """Only a reused connection lost before any response byte counts as stale (not sent)."""
    progress = transport._Progress()
    progress.traced = progress.head_sent = True
    progress.reused, progress.responded = reused, responded
    assert transport._is_stale_connection(error, progress) is stale
