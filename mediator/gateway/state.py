"""Per-request state shared by the handler and the middlewares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mediator.mapping.model import Route
from mediator.upstream.client import WireLog

__all__ = ["STATE_KEY", "RequestState", "bind_state", "request_state"]


@dataclass(slots=True)
class RequestState:
    """What the access log line and the error middleware need to know about a request."""

    request_id: str
    route: Route | None = None
    upstream_status: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    json_request: Any = None
    wire: WireLog | None = None


STATE_KEY = web.RequestKey("mediator_state", RequestState)


def request_state(request: web.Request) -> RequestState:
    """The state bound to ``request`` by the request-context middleware."""
    return request[STATE_KEY]


def bind_state(request: web.Request, state: RequestState) -> None:
    """Attach ``state`` to ``request``."""
    request[STATE_KEY] = state
