"""The aiohttp application: routes built from mappings, middlewares, upstream session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from mediator.gateway.exchange import OBSERVERS_KEY, Observer
from mediator.gateway.handler import SOAP_CLIENT_KEY, RouteHandler
from mediator.gateway.middlewares import problem_middleware, request_context_middleware
from mediator.gateway.settings import GatewaySettings
from mediator.log import get_logger
from mediator.mapping.model import MappingSet
from mediator.types import Transport
from mediator.upstream.client import SoapClient
from mediator.upstream.transport import HttpTransport, create_session
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["MAPPINGS_KEY", "create_app"]

MAPPINGS_KEY = web.AppKey("mappings", MappingSet)

_log = get_logger("mediator.gateway")


def create_app(
    mappings: MappingSet,
    *,
    registry: WsdlRegistry,
    settings: GatewaySettings | None = None,
    transport: Transport | None = None,
    observers: list[Observer] | None = None,
) -> web.Application:
    """Build the gateway application for a loaded mapping set.

    Args:
        mappings: the compiled routes.
        registry: the WSDL registry the mappings were loaded with (zeep clients are reused).
        settings: limits; defaults when omitted.
        transport: replaces the pooled HTTP transport (replay, tests).
        observers: called with every complete :class:`Exchange` (recording, traces).
    """
    settings = settings or GatewaySettings()
    app = web.Application(
        middlewares=[request_context_middleware, problem_middleware],
        client_max_size=settings.max_body_bytes,
    )
    app[MAPPINGS_KEY] = mappings
    app[OBSERVERS_KEY] = list(observers or ())
    if transport is None:
        app.cleanup_ctx.append(_upstream_client(settings, registry))
    else:
        app[SOAP_CLIENT_KEY] = SoapClient(registry, transport)
    for route in mappings.routes:
        app.router.add_route(
            route.method, route.path, RouteHandler(route, body_timeout=settings.body_timeout).handle
        )
    _log.info("gateway.routes_loaded", routes=len(mappings.routes), files=len(mappings.files))
    return app


def _upstream_client(
    settings: GatewaySettings, registry: WsdlRegistry
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup context owning the one pooled upstream session of the app."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        session = create_session(
            limit=settings.upstream_connections,
            limit_per_host=settings.upstream_connections_per_host,
        )
        app[SOAP_CLIENT_KEY] = SoapClient(registry, HttpTransport(session))
        try:
            yield
        finally:
            await session.close()

    return ctx
