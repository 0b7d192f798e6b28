"""Complete exchanges (JSON in, SOAP out and back, JSON out) handed to observers.

Observers are how recording (contract fixtures) and explain traces see traffic without the
handler knowing about them. They are called once per request, after the response is built,
only when at least one is registered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mediator.upstream.client import WireLog

__all__ = ["OBSERVERS_KEY", "Exchange", "Observer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """One request through the gateway, as far as it got."""

    request_id: str
    started_at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json_request: Any
    route: str | None
    operation: str | None
    mapping_file: str | None
    wire: WireLog | None
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def age(self) -> float:
        """Seconds since the request started."""
        return time.time() - self.started_at


Observer = Callable[[Exchange], None]
OBSERVERS_KEY = web.AppKey("exchange_observers", list[Observer])
