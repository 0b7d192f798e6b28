"""The HTTP transport to SOAP services: one pooled aiohttp session, deadlines, size caps.

Each error says whether the request may have reached the upstream (``sent``), which is what
decides whether it may be retried. The session's request class tells the transport whether
the connection came from the pool and whether the request head was written: a request whose
head was never written, or that died on a reused keep-alive connection before a single
response byte came back (the upstream had closed the idle connection), was not processed.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from collections.abc import Callable, Mapping
from contextvars import ContextVar

import aiohttp
from aiohttp.connector import Connection

from mediator.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from mediator.types import TransportResponse

__all__ = ["HttpTransport", "create_session"]

_CHUNK = 64 * 1024


class _Progress:
    """How far one request got, filled in by :class:`_TrackedRequest`."""

    __slots__ = ("head_sent", "responded", "reused", "traced")

    def __init__(self) -> None:
        self.traced = False  # the session tracks requests (else assume the worst)
        self.reused = False  # the connection came from the keep-alive pool
        self.head_sent = False  # the request line and headers were written
        self.responded = False  # the response head arrived

    @property
    def may_have_arrived(self) -> bool:
        """Whether the upstream may have received the request."""
        return self.head_sent or not self.traced


_PROGRESS: ContextVar[_Progress | None] = ContextVar("mediator_upstream_progress", default=None)
"""The progress of the request the current task is sending (set around one POST)."""

_USED: weakref.WeakSet[asyncio.BaseProtocol] = weakref.WeakSet()
"""Connections (their protocols) that have carried a request: the next one is a reuse."""


class _TrackedRequest(aiohttp.ClientRequest):
    """aiohttp's request, noting in the current :class:`_Progress` whether its connection
    was reused and whether its head was written. (aiohttp's trace hooks can tell the same,
    at the price of a dozen signal objects per request.)"""

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        progress = _PROGRESS.get()
        if progress is None:
            return await super().send(conn)
        progress.traced = True
        protocol = conn.protocol
        if protocol is not None:
            progress.reused = protocol in _USED
            _USED.add(protocol)
        response = await super().send(conn)
        progress.head_sent = True  # written, or queued behind the body writer
        return response


def create_session(*, limit: int = 0, limit_per_host: int = 0) -> aiohttp.ClientSession:
    """A keep-alive client session for upstream calls (call inside a running loop).

    No cookies are kept, no proxy variables from the environment are used, and no default
    timeout applies: every call passes its own deadline. By default the pool has no
    connection limit of its own: each upstream's bulkhead bounds its connections, so a hung
    upstream cannot take the connections of another one on the same host.
    """
    connector = aiohttp.TCPConnector(
        limit=limit, limit_per_host=limit_per_host, keepalive_timeout=30
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None),
        trust_env=False,
        auto_decompress=True,
        raise_for_status=False,
        request_class=_TrackedRequest,
    )


@functools.lru_cache(maxsize=64)
def _connect_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """aiohttp's timeout for connecting within ``seconds`` (the whole exchange is bounded
    by the caller's deadline); one object per distinct value."""
    return aiohttp.ClientTimeout(total=None, connect=seconds, sock_connect=seconds)


def _is_stale_connection(error: aiohttp.ClientError, progress: _Progress) -> bool:
    """A reused keep-alive connection closed before any byte of the response arrived."""
    if not progress.reused or progress.responded:
        return False
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return isinstance(error.message, str)  # not a partly received response head
    return isinstance(error, aiohttp.ClientOSError)


class HttpTransport:
    """Sends SOAP requests over a shared :class:`aiohttp.ClientSession`.

    ``tls`` gives the SSL context of a URL (its upstream's CA bundle, verification and
    client certificate; see :class:`~mediator.upstream.credentials.TlsContexts`); without
    it, aiohttp's verified defaults apply.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tls: Callable[[str], ssl.SSLContext | bool] | None = None,
    ) -> None:
        self._session = session
        self._tls = tls

    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,
        connect_timeout: float,
        max_bytes: int,
    ) -> TransportResponse:
        """POST ``body`` to ``url``; read at most ``max_bytes`` (after decompression).

        Past the deadline, or past the size cap, the connection is closed, never drained
        nor returned to the pool.

        Raises:
            UpstreamTimeout: the whole exchange took longer than ``timeout`` seconds, or the
                connection took longer than ``connect_timeout``.
            UpstreamUnavailable: the connection could not be made or was lost.
            UpstreamProtocolError: the response was too large, truncated or not valid HTTP.
        """
        client_timeout = _connect_timeout(connect_timeout)
        progress = _Progress()
        token = _PROGRESS.set(progress)
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(
                    url,
                    data=body,
                    headers=dict(headers),
                    timeout=client_timeout,
                    allow_redirects=False,
                    ssl=self._tls(url) if self._tls is not None else True,
                ) as response:
                    progress.responded = True
                    return await _read(response, url, max_bytes)
        except aiohttp.ConnectionTimeoutError:
            raise UpstreamTimeout(
                f"could not connect within {connect_timeout:g}s", upstream=url, sent=False
            ) from None
        except TimeoutError:
            sent = progress.may_have_arrived
            reason = (
                f"no complete answer within {timeout:g}s"
                if sent
                else f"could not send the request within {timeout:g}s"
            )
            raise UpstreamTimeout(reason, upstream=url, sent=sent) from None
        except aiohttp.ClientConnectorError as exc:  # refused, DNS, TLS handshake
            raise UpstreamUnavailable(
                f"cannot connect: {exc.os_error.strerror or type(exc.os_error).__name__}",
                upstream=url,
                sent=False,
            ) from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            if _is_stale_connection(exc, progress):
                raise UpstreamUnavailable(
                    "a pooled keep-alive connection was closed by the upstream",
                    upstream=url,
                    sent=False,
                ) from None
            reason = (
                "the upstream closed the connection"
                if isinstance(exc, aiohttp.ServerDisconnectedError)
                else f"connection error: {exc.strerror or type(exc).__name__}"
            )
            raise UpstreamUnavailable(
                reason, upstream=url, sent=progress.may_have_arrived
            ) from None
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamProtocolError(
                f"invalid or truncated response body: {type(exc).__name__}", upstream=url
            ) from None
        except aiohttp.ClientResponseError as exc:
            raise UpstreamProtocolError(
                f"invalid HTTP response ({exc.status})", upstream=url
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(
                f"HTTP client error: {type(exc).__name__}",
                upstream=url,
                sent=progress.may_have_arrived,
            ) from None
        finally:
            _PROGRESS.reset(token)


async def _read(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> TransportResponse:
    """The whole (decompressed) body, or an error once it exceeds ``max_bytes``.

    aiohttp inflates gzip and deflate in bounded steps as the body is read, so a
    compression bomb is cut off after ``max_bytes`` of output, not after inflating it all.
    """
    declared = response.content_length
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if declared is not None and declared > max_bytes and not encoded:
        response.close()
        raise UpstreamProtocolError(
            f"response larger than {max_bytes} bytes (Content-Length {declared})",
            upstream=url,
            status=response.status,
        )
    if declared is not None and not encoded:  # at most Content-Length bytes, checked above
        body = await response.read()
    else:
        body = await _read_capped(response, url, max_bytes)
    return TransportResponse(
        status=response.status,
        headers={k.lower(): v for k, v in response.headers.items()},
        body=body,
    )


async def _read_capped(response: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    """A body of unknown length (chunked or compressed), cut off past ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            response.close()  # discard the connection, do not drain it
            raise UpstreamProtocolError(
                f"response larger than {max_bytes} bytes", upstream=url, status=response.status
            )
        chunks.append(chunk)
    return b"".join(chunks)
