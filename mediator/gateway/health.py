"""Health probes in the shapes Kubernetes expects: ``/healthz`` (liveness), ``/readyz``
(readiness). Both answer small JSON with 200 or 503 and are never cached.

* ``/healthz`` is 200 whenever the event loop answers: restart the process only when it
  does not.
* ``/readyz`` is 200 when a routing table is installed and the gateway is not draining
  (shutting down), else 503 with the reasons. It also reports each upstream's circuit
  state; with ``readyz_upstreams`` set, an open circuit makes it 503 too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from mediator.gateway.metrics import upstream_label
from mediator.log import get_logger
from mediator.translate.jsonio import dumps

if TYPE_CHECKING:
    from mediator.gateway.app import GatewayRuntime

__all__ = ["HEALTH_KEY", "Health"]

_log = get_logger("mediator.gateway")
_HEADERS = {"Cache-Control": "no-store"}


class Health:
    """Liveness and readiness of one gateway.

    Args:
        runtime: the gateway runtime (routing table, upstream resilience state).
        check_upstreams: make ``/readyz`` 503 while any upstream's circuit is open.
    """

    def __init__(self, runtime: GatewayRuntime, *, check_upstreams: bool = False) -> None:
        self.runtime = runtime
        self.check_upstreams = check_upstreams
        self.draining = False
        """Set when the gateway begins shutting down; ``/readyz`` is 503 from then on."""

    async def drain(self, app: web.Application) -> None:
        """``on_shutdown`` hook: report not ready from now on."""
        self.draining = True
        _log.info("gateway.draining")

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether the gateway is ready, and the body ``/readyz`` answers."""
        runtime = self.runtime
        reasons: list[str] = []
        table = runtime.table
        if table is None:
            reasons.append("mappings_not_loaded")
        if self.draining:
            reasons.append("draining")
        circuits = {
            upstream_label(key): h.breaker.state for key, h in runtime.policies.snapshot().items()
        }
        if self.check_upstreams and any(state == "open" for state in circuits.values()):
            reasons.append("circuit_open")
        body: dict[str, Any] = {"status": "not_ready" if reasons else "ready"}
        if reasons:
            body["reasons"] = reasons
        body["routes"] = len(table.mappings.routes) if table is not None else 0
        body["generation"] = runtime.generation
        body["upstreams"] = circuits
        return not reasons, body

    async def healthz(self, request: web.Request) -> web.Response:
        """``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves at all."""
        return web.Response(
            body=b'{"status":"ok"}', content_type="application/json", headers=_HEADERS
        )

    async def readyz(self, request: web.Request) -> web.Response:
        """``GET /readyz``: 200 when ready, else 503; the body says why."""
        ready, body = self.readiness()
        return web.Response(
            body=dumps(body),
            status=200 if ready else 503,
            content_type="application/json",
            headers=_HEADERS,
        )


HEALTH_KEY = web.AppKey("health", Health)
