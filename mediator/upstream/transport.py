"""The HTTP transport to SOAP services: one pooled aiohttp session, deadlines, size caps."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp

from mediator.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from mediator.types import TransportResponse

__all__ = ["HttpTransport", "create_session"]

_CHUNK = 64 * 1024


def create_session(*, limit: int = 100, limit_per_host: int = 32) -> aiohttp.ClientSession:
    """A keep-alive client session for upstream calls (call inside a running loop).

    No cookies are kept, no proxy variables from the environment are used, and no default
    timeout applies: every call passes its own deadline.
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
    )


class HttpTransport:
    """Sends SOAP requests over a shared :class:`aiohttp.ClientSession`."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

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

        Raises:
            UpstreamTimeout: the whole exchange took longer than ``timeout`` seconds.
            UpstreamUnavailable: the connection could not be made or was lost.
            UpstreamProtocolError: the response was too large or not valid HTTP.
        """
        client_timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_connect=connect_timeout
        )
        try:
            async with asyncio.timeout(timeout):
                async with self._session.post(
                    url,
                    data=body,
                    headers=dict(headers),
                    timeout=client_timeout,
                    allow_redirects=False,
                ) as response:
                    if response.content_length is not None and response.content_length > max_bytes:
                        response.close()
                        raise UpstreamProtocolError(
                            f"response larger than {max_bytes} bytes",
                            upstream=url,
                            status=response.status,
                        )
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            response.close()  # discard the connection, do not drain it
                            raise UpstreamProtocolError(
                                f"response larger than {max_bytes} bytes",
                                upstream=url,
                                status=response.status,
                            )
                        chunks.append(chunk)
                    return TransportResponse(
                        status=response.status,
                        headers={k.lower(): v for k, v in response.headers.items()},
                        body=b"".join(chunks),
                    )
        except TimeoutError:
            raise UpstreamTimeout(f"no complete answer within {timeout:g}s", upstream=url) from None
        except aiohttp.ServerTimeoutError:
            raise UpstreamTimeout(
                f"could not connect within {connect_timeout:g}s", upstream=url
            ) from None
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamUnavailable(
                f"cannot connect: {exc.os_error.strerror or 'refused'}", upstream=url
            ) from None
        except aiohttp.ServerDisconnectedError:
            raise UpstreamUnavailable("the upstream closed the connection", upstream=url) from None
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamProtocolError(
                f"invalid response body: {type(exc).__name__}", upstream=url
            ) from None
        except aiohttp.ClientResponseError as exc:
            raise UpstreamProtocolError(
                f"invalid HTTP response ({exc.status})", upstream=url
            ) from None
        except aiohttp.ClientOSError as exc:
            raise UpstreamUnavailable(
                f"connection error: {exc.strerror or type(exc).__name__}", upstream=url
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(
                f"HTTP client error: {type(exc).__name__}", upstream=url
            ) from None
