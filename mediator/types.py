"""Type aliases and protocols shared by every layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

__all__ = ["JSONValue", "Transport", "TransportResponse"]

JSONValue: TypeAlias = Any
"""A value that can be encoded as JSON (dict, list, str, int, Decimal, bool, None)."""


@dataclass(frozen=True, slots=True)
class TransportResponse:
    """What a transport returns: the status, the headers (lower-cased names) and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Transport(Protocol):
    """Sends one SOAP request and returns the complete response.

    Implementations enforce the deadline and the size cap, and convert their own exceptions
    into :class:`mediator.errors.UpstreamError` subclasses.
    """

    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,
        connect_timeout: float,
        max_bytes: int,
    ) -> TransportResponse: ...
