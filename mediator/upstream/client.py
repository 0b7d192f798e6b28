"""Calls a route's SOAP operation: builds the envelope (zeep or template), sends it, reads it.

Every call goes through the upstream's :class:`~mediator.upstream.policies.UpstreamGuard`
(deadline, bulkhead, circuit breaker, retries). A try is the send *and* the reading of the
answer, so an unusable answer counts against the upstream like a lost connection does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from mediator.errors import ClientError, RenderError, UpstreamProtocolError
from mediator.mapping.model import Route, Upstream
from mediator.translate.envelope import (
    SOAP_ENV_BY_VERSION,
    Envelope,
    build_envelope,
    plain_envelope,
    read_envelope,
)
from mediator.translate.request import RenderedRequest
from mediator.translate.serialize import plain_input, serialize_args
from mediator.translate.xmlsafe import XMLRejected, parse_xml
from mediator.types import Transport, TransportResponse
from mediator.upstream.credentials import secure_request
from mediator.upstream.policies import UpstreamPolicies
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["SoapCall", "SoapClient", "WireLog", "soap_headers"]

_XML_TYPES = ("text/xml", "application/soap+xml", "application/xml")


@dataclass(frozen=True, slots=True)
class SoapCall:
    """The outcome of one successful call: the envelope and what crossed the wire."""

    envelope: Envelope
    status: int
    request_body: bytes
    response_body: bytes
    upstream_seconds: float


@dataclass(slots=True)
class WireLog:
    """What crossed the wire in one call, filled in as far as the call got (for recording,
    tracing and explain). Bodies are the exact bytes sent and received."""

    url: str = ""
    request_headers: dict[str, str] | None = None
    request_body: bytes | None = None
    response_status: int | None = None
    response_headers: dict[str, str] | None = None
    response_body: bytes | None = None
    attempts: int = 0
    """Tries made (more than one when the call was retried); the fields above are the last."""


def soap_headers(
    upstream: Upstream,
    action: str,
    request_id: str | None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """HTTP headers for a SOAP request: the content type and action of the port's version.

    ``extra`` headers (e.g. a W3C ``traceparent``) are added first; the SOAP ones win.
    """
    headers: dict[str, str] = dict(extra) if extra else {}
    if upstream.soap_version == "1.2":
        ctype = "application/soap+xml; charset=utf-8"
        if action:
            ctype += f'; action="{action}"'
        headers["Content-Type"] = ctype
    else:
        headers["Content-Type"] = "text/xml; charset=utf-8"
        headers["SOAPAction"] = f'"{action}"'
    headers["Accept"] = "application/soap+xml, text/xml, */*;q=0.1"
    if request_id:
        headers["X-Request-ID"] = request_id
    return headers


class SoapClient:
    """Builds and sends the SOAP request of a route through a :class:`Transport`.

    ``policies`` holds the per-upstream resilience state; pass the gateway's long-lived
    one so that state survives reloads (a private one is made when omitted).
    """

    def __init__(
        self,
        registry: WsdlRegistry,
        transport: Transport,
        policies: UpstreamPolicies | None = None,
    ) -> None:
        self._registry = registry
        self._transport = transport
        self._proxies: dict[str, Any] = {}
        self._plain: dict[int, bool] = {}  # route id → args written without zeep
        self.policies = policies if policies is not None else UpstreamPolicies()

    def _bound(self, upstream: Upstream) -> tuple[Any, Any]:
        """The zeep client and service proxy of an upstream, looked up once per upstream."""
        bound = self._proxies.get(upstream.key)
        if bound is None:
            client = self._registry.client(upstream.wsdl)
            bound = (client, client.bind(upstream.service, upstream.port.name))
            self._proxies[upstream.key] = bound
        return bound

    def _writes_plain(self, route: Route) -> bool:
        """Whether ``args`` of ``route`` are written without zeep (cached per route)."""
        plain = self._plain.get(id(route))
        if plain is None:
            plain = self._plain[id(route)] = plain_input(route.operation)
        return plain and route.input is not None

    def needs_zeep(self, route: Route) -> bool:
        """Whether building ``route``'s envelopes takes zeep (its WSDL parsed by zeep)."""
        return route.request.body is None and not self._writes_plain(route)

    def cold_upstreams(self, routes: Iterable[Route]) -> list[Upstream]:
        """The upstreams of ``routes`` (and of their steps) whose requests zeep builds and
        whose zeep client is not loaded yet."""
        cold: dict[str, Upstream] = {}
        for route in routes:
            for call in [step.call for step in route.steps] if route.steps else [route]:
                key = call.upstream.key
                if key not in self._proxies and key not in cold and self.needs_zeep(call):
                    cold[key] = call.upstream
        return list(cold.values())

    def warm(self, routes: Iterable[Route]) -> int:
        """Load the zeep client of every upstream whose routes need one, so that no request
        waits for a WSDL parse (run it off the event loop). Returns how many were loaded;
        one that fails to load is left for its first request to report."""
        loaded = 0
        for upstream in self.cold_upstreams(routes):
            try:
                self._bound(upstream)
            except ValueError:
                continue
            loaded += 1
        return loaded

    def build(self, route: Route, rendered: RenderedRequest) -> bytes:
        """The request envelope as bytes.

        Raises:
            ClientError: the arguments do not validate against the operation's schema.
            RenderError: a template rendered XML that is not well-formed.
        """
        upstream = route.upstream
        if rendered.body_xml is not None:
            return _wrapped(route, rendered.body_xml, rendered, "body")
        if self._writes_plain(route):
            assert route.input is not None
            body = serialize_args(route.input, rendered.args or {})
            if not rendered.header_xml:
                return plain_envelope(upstream.soap_version, body)
            # The serializer's body is well-formed: only the header can be at fault.
            return _wrapped(route, body, rendered, "soap_header")
        client, proxy = self._bound(upstream)
        import zeep.exceptions  # loaded with the client; warm start-ups need no zeep

        try:
            envelope = client.create_message(proxy, route.operation.name, **(rendered.args or {}))
        except zeep.exceptions.ValidationError as exc:
            raise ClientError(
                f"the request does not fit {route.operation.name}: {exc.message}"
            ) from None
        except (TypeError, ValueError) as exc:
            raise ClientError(f"the request does not fit {route.operation.name}: {exc}") from None
        if rendered.header_xml:
            self._add_header(route, envelope, rendered.header_xml)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")

    @staticmethod
    def _add_header(route: Route, envelope: etree._Element, header_xml: str) -> None:
        env_ns = SOAP_ENV_BY_VERSION[route.upstream.soap_version]
        declarations = "".join(f' xmlns:{p}="{u}"' for p, u in route.namespaces.items())
        try:
            wrapper = parse_xml(f"<h{declarations}>{header_xml}</h>".encode())
        except XMLRejected as exc:
            raise RenderError(
                f"{route.file}:{route.line}: rendered soap_header is not well-formed XML: {exc}"
            ) from None
        header = envelope.find(f"{{{env_ns}}}Header")
        if header is None:
            header = etree.Element(f"{{{env_ns}}}Header")
            envelope.insert(0, header)
        for child in list(wrapper):
            header.append(child)

    async def call(
        self,
        route: Route,
        envelope: bytes,
        *,
        request_id: str | None = None,
        wire: WireLog | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> SoapCall:
        """Send a built envelope and read the answer; ``wire`` (if given) records the exchange.

        ``extra_headers`` are sent too (the tracing ``traceparent``).

        Raises:
            Fault: the upstream answered with a SOAP Fault.
            UpstreamTimeout, UpstreamUnavailable, UpstreamProtocolError: see :mod:`mediator.errors`.
            CircuitOpenError, BulkheadFullError: the upstream was not called (503).
        """
        upstream = route.upstream
        headers = soap_headers(upstream, route.operation.soap_action, request_id, extra_headers)
        if wire is not None:
            wire.url, wire.request_headers, wire.request_body = upstream.address, headers, envelope
        started = time.perf_counter()

        async def attempt(
            timeout: float, connect_timeout: float
        ) -> tuple[TransportResponse, Envelope]:
            if wire is not None:
                wire.attempts += 1
            # Credentials per try: a fresh WS-Security nonce and timestamp (docs/security.md).
            body, sent_headers = secure_request(upstream, envelope, headers)
            if wire is not None:
                wire.request_headers, wire.request_body = sent_headers, body
            response = await self._transport.send(
                upstream.address,
                body,
                sent_headers,
                timeout=timeout,
                connect_timeout=connect_timeout,
                max_bytes=upstream.max_response_bytes,
            )
            if wire is not None:
                wire.response_status = response.status
                wire.response_headers = dict(response.headers)
                wire.response_body = response.body
            return response, _read_response(upstream, response)

        guard = self.policies.guard(upstream)
        response, parsed = await guard.call(
            attempt,
            timeout=route.call_timeout,
            connect_timeout=route.call_connect_timeout,
            idempotent=route.idempotent,
        )
        elapsed = time.perf_counter() - started
        return SoapCall(parsed, response.status, envelope, response.body, elapsed)


def _wrapped(route: Route, body_xml: str, rendered: RenderedRequest, part: str) -> bytes:
    """``body_xml`` and the rendered header in the route's envelope.

    Raises:
        RenderError: the rendered ``part`` (body or soap_header) is not well-formed XML.
    """
    try:
        return build_envelope(
            route.upstream.soap_version,
            body_xml,
            header_xml=rendered.header_xml,
            namespaces=route.namespaces,
            well_formed=rendered.well_formed,
        )
    except XMLRejected as exc:
        raise RenderError(
            f"{route.file}:{route.line}: rendered {part} is not well-formed XML: {exc}"
        ) from None


def _read_response(upstream: Upstream, response: TransportResponse) -> Envelope:
    """The envelope of a usable answer.

    Raises:
        Fault: the answer is a SOAP Fault.
        UpstreamProtocolError: not SOAP (content type, XML, envelope, version, HTTP status).
    """
    ctype = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    is_xml = ctype in _XML_TYPES or ctype.endswith("+xml")
    if not is_xml:
        raise UpstreamProtocolError(
            f"HTTP {response.status} with content type {ctype or 'none'!r}, not SOAP",
            upstream=upstream.address,
            status=response.status,
        )
    parsed = read_envelope(
        response.body,
        expected_version=upstream.soap_version,
        http_status=response.status,
        upstream=upstream.address,
    )
    if response.status != 200:
        raise UpstreamProtocolError(
            f"HTTP {response.status} without a SOAP fault",
            upstream=upstream.address,
            status=response.status,
        )
    return parsed
