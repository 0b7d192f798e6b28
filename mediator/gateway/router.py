"""The routing table: mapped routes matched by method and path, swappable as a whole.

aiohttp's own router is frozen once the app starts; hot reload needs to replace every route
at once, so the gateway registers one catch-all resource and resolves routes here. A table is
immutable: a reload builds a new one and swaps the reference, so in-flight requests finish on
the table they started with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web

from mediator.gateway.composer import ComposedRouteHandler
from mediator.gateway.handler import RouteHandler
from mediator.mapping.model import MappingSet
from mediator.upstream.client import SoapClient

__all__ = ["RouteMatch", "RoutingTable", "path_pattern"]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def path_pattern(template: str) -> re.Pattern[str]:
    """A regex matching a path template; ``{name}`` matches one non-empty segment."""
    parts = _PARAM.split(template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A resolved request: the route's handler and its path parameters."""

    handler: RouteHandler
    params: dict[str, str]


class RoutingTable:
    """Every route of one mapping set, with the SOAP client that serves them."""

    def __init__(self, mappings: MappingSet, client: SoapClient, *, body_timeout: float) -> None:
        self.mappings = mappings
        self.client = client
        self._static: dict[str, dict[str, RouteHandler]] = {}
        self._dynamic: list[tuple[re.Pattern[str], dict[str, RouteHandler]]] = []
        dynamic: dict[str, dict[str, RouteHandler]] = {}
        for route in mappings.routes:
            kind = ComposedRouteHandler if route.steps else RouteHandler
            handler = kind(route, client, body_timeout=body_timeout)
            if _PARAM.search(route.path):
                dynamic.setdefault(route.path, {})[route.method] = handler
            else:
                self._static.setdefault(route.path, {})[route.method] = handler
        self._dynamic = [(path_pattern(path), methods) for path, methods in dynamic.items()]

    def resolve(self, method: str, path: str) -> RouteMatch:
        """The route for ``method`` and ``path``.

        Raises:
            web.HTTPNotFound: no route has this path.
            web.HTTPMethodNotAllowed: routes have this path, for other methods.
        """
        methods = self._static.get(path)
        params: dict[str, str] = {}
        if methods is None:
            for pattern, candidates in self._dynamic:
                match = pattern.match(path)
                if match:
                    methods, params = candidates, match.groupdict()
                    break
        if methods is None:
            raise web.HTTPNotFound()
        handler = methods.get(method)
        if handler is None:
            raise web.HTTPMethodNotAllowed(method, sorted(methods))
        return RouteMatch(handler, params)
