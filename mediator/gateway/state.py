"""Per-request state shared by the handler and the middlewares."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from mediator.mapping.model import Route

__all__ = ["RequestState", "request_state"]

_KEY = "mediator.state"


@dataclass(slots=True)
class RequestState:
    """What the access log line and the error middleware need to know about a request."""

    request_id: str
    route: Route | None = None
    upstream_status: int | None = None
    timings: dict[str, float] = field(default_factory=dict)


def request_state(request: web.Request) -> RequestState:
    """The state bound to ``request`` by the request-context middleware."""
    state: RequestState = request[_KEY]
    return state


def bind_state(request: web.Request, state: RequestState) -> None:
    """Attach ``state`` to ``request``."""
    request[_KEY] = state
