"""The aiohttp application: mapped routes behind a swappable table, middlewares, lifecycle."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from mediator.gateway.auth import FrontDoor
from mediator.gateway.exchange import OBSERVERS_KEY, Observer
from mediator.gateway.jobs_api import JOBS_KEY, JobsApi
from mediator.gateway.limits import LIMITS_KEY
from mediator.gateway.middlewares import problem_middleware, request_context_middleware
from mediator.gateway.observe import setup_observability
from mediator.gateway.openapi import build_openapi
from mediator.gateway.process import settle_heap
from mediator.gateway.reload import Reloader, reload_context
from mediator.gateway.router import RoutingTable
from mediator.gateway.settings import GatewaySettings
from mediator.gateway.state import request_state
from mediator.log import get_logger
from mediator.mapping.model import MappingSet
from mediator.translate.jsonio import dumps
from mediator.types import Transport
from mediator.upstream.client import SoapClient
from mediator.upstream.credentials import TlsContexts
from mediator.upstream.policies import UpstreamPolicies
from mediator.upstream.transport import HttpTransport, create_session
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["RUNTIME_KEY", "GatewayRuntime", "create_app"]

_log = get_logger("mediator.gateway")


class GatewayRuntime:
    """What the running gateway serves: the current routing table and the upstream transport.

    ``install`` swaps the whole table at once (start-up and every reload).
    """

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.transport: Transport | None = None
        self.table: RoutingTable | None = None
        self.generation = 0
        self.reload_lock = asyncio.Lock()
        self.reloader: Reloader | None = None
        self._openapi: tuple[int, bytes] | None = None
        self.tls = TlsContexts()
        """Each upstream's SSL context (``service.tls``), swapped on reload."""
        self.front_door = FrontDoor(settings.security, max_body=settings.max_body_bytes)
        """Limits, authentication and rate limits, checked before a route's handler."""
        self.policies = UpstreamPolicies()
        """Breaker, bulkhead and retry state per upstream, kept across reloads; its
        ``snapshot()`` is what health and metrics endpoints read."""

    def install(self, mappings: MappingSet, registry: WsdlRegistry) -> RoutingTable:
        """Build a routing table for ``mappings`` and make it current."""
        if self.transport is None:
            raise RuntimeError("the upstream transport is not started")
        self.policies.retain(mappings.upstreams.values())
        self.tls.update(mappings.upstreams.values())
        table = RoutingTable(
            mappings,
            SoapClient(registry, self.transport, self.policies),
            body_timeout=self.settings.body_timeout,
        )
        self.table = table
        self.generation += 1
        if self.settings.settle_heap:
            settle_heap()  # the previous table, if any, is no longer referenced
        if self.settings.warm_upstreams:
            self._warm(table)
        _log.info(
            "gateway.routes_loaded",
            routes=len(mappings.routes),
            files=len(mappings.files),
            generation=self.generation,
        )
        return table

    def _warm(self, table: RoutingTable) -> None:
        """Load the table's zeep clients in a thread of their own (a WSDL parse takes tens
        of milliseconds: not on the event loop, not in a request), then settle the heap
        again. No thread is started when no route needs zeep."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # installed outside a running gateway: nothing to protect
            return
        routes = table.mappings.routes
        if not table.client.cold_upstreams(routes):
            return

        def report(log: Callable[..., Any], event: str, **fields: Any) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(functools.partial(log, event, **fields))

        def warm() -> None:
            try:
                loaded = table.client.warm(routes)
                if loaded and self.settings.settle_heap:
                    settle_heap()
            except Exception as exc:  # reported; the first request will say why again
                report(_log.error, "gateway.upstreams_warm_failed", error=type(exc).__name__)
            else:
                report(_log.info, "gateway.upstreams_warmed", zeep_clients=loaded)

        threading.Thread(target=warm, name="mediator-warm-upstreams", daemon=True).start()

    async def openapi(self, request: web.Request) -> web.Response:
        """The OpenAPI 3.1 document of the routes currently served."""
        table = self.table
        if table is None:
            raise web.HTTPServiceUnavailable()
        if self._openapi is None or self._openapi[0] != self.generation:
            self._openapi = (self.generation, dumps(build_openapi(table.mappings)))
        return web.Response(body=self._openapi[1], content_type="application/json")

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        """Resolve the request against the current table and run the route's handler."""
        table = self.table
        if table is None:
            raise web.HTTPServiceUnavailable()
        match = table.resolve(request.method, request.path)
        request_state(request).route = match.handler.route  # refusals count for the route too
        refused = await self.front_door.admit(request, match.handler.route, match.params)
        if refused is not None:  # 401/403/429 (docs/security.md)
            return refused
        return await match.handler.handle(request, match.params)


RUNTIME_KEY = web.AppKey("runtime", GatewayRuntime)


def create_app(
    mappings: MappingSet,
    *,
    registry: WsdlRegistry,
    settings: GatewaySettings | None = None,
    transport: Transport | None = None,
    observers: list[Observer] | None = None,
    reloader: Reloader | None = None,
    tracer_provider: Any | None = None,
) -> web.Application:
    """Build the gateway application for a loaded mapping set.

    Args:
        mappings: the compiled routes.
        registry: the WSDL registry the mappings were loaded with (zeep clients are reused).
        settings: limits; defaults when omitted.
        transport: replaces the pooled HTTP transport (replay, tests).
        observers: called with every complete :class:`Exchange` (recording, traces).
        reloader: loads a fresh mapping set; when given, the gateway reloads on SIGHUP and,
            if ``settings.watch`` is set, when a mapping or WSDL file changes.
        tracer_provider: an OpenTelemetry tracer provider; switches tracing on with it
            (``settings.otel`` traces with the global provider).
    """
    settings = settings or GatewaySettings()
    app = web.Application(
        middlewares=[request_context_middleware, problem_middleware],
        client_max_size=settings.max_body_bytes,
    )
    runtime = GatewayRuntime(settings)
    app[LIMITS_KEY] = runtime.front_door.limits
    app.cleanup_ctx.append(runtime.front_door.lifecycle)
    app.on_response_prepare.append(FrontDoor.on_response_prepare)
    app[RUNTIME_KEY] = runtime
    app[OBSERVERS_KEY] = list(observers or ())
    if transport is None:
        app.cleanup_ctx.append(_upstream(runtime, mappings, registry))
    else:
        runtime.transport = transport
        runtime.install(mappings, registry)
    if reloader is not None:
        runtime.reloader = reloader
        app.cleanup_ctx.append(reload_context(runtime, reloader))
    # Jobs last: they stop first, while the upstream session is still open (docs/jobs.md).
    jobs = app[JOBS_KEY] = JobsApi(settings.jobs, runtime)
    app.cleanup_ctx.append(jobs.context)
    app.router.add_get("/jobs/{job_id}", jobs.get)
    app.router.add_delete("/jobs/{job_id}", jobs.delete)
    app.router.add_get("/openapi.json", runtime.openapi)
    app.router.add_get("/docs", _docs_page)
    # /healthz, /readyz, /metrics, /_mediator/traces: before the catch-all.
    setup_observability(app, runtime, tracer_provider=tracer_provider)
    app.router.add_route("*", "/{path:.*}", runtime.dispatch)
    return app


_DOCS_PAGE = Path(__file__).parent / "static" / "docs.html"


async def _docs_page(request: web.Request) -> web.StreamResponse:
    """The human API documentation page (local assets only, rendering /openapi.json)."""
    return web.FileResponse(_DOCS_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})


def _upstream(
    runtime: GatewayRuntime, mappings: MappingSet, registry: WsdlRegistry
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context owning the app's one pooled upstream session."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        # No pool-wide or per-host connection limit: each upstream's bulkhead bounds its
        # connections, so a hung upstream cannot starve another one on the same host.
        session = create_session(limit=0, limit_per_host=0)
        runtime.transport = HttpTransport(session, runtime.tls.for_url)
        runtime.install(mappings, registry)
        try:
            yield
        finally:
            runtime.table = None
            await session.close()

    return ctx
