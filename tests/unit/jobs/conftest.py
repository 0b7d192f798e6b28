"""Helpers for the jobs unit tests: an asynchronous Orders mapping and a scripted transport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mediator.mapping.loader import load_mappings
from mediator.mapping.model import MappingSet, Route
from mediator.types import TransportResponse
from mediator.upstream.client import SoapClient
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import WSDL_DIR

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

MAPPING = """\
version: 1
service:
  wsdl: orders.wsdl
  address: http://127.0.0.1:9/orders
  namespaces: {o: urn:example:orders}
  retries: 0
  circuit_breaker: false
routes:
  - post: /orders
    name: create-order
    operation: CreateOrder
    mode: async
    job_ttl: 2m
    request:
      body: |
        <o:CreateOrder><o:CustomerId>{{ body.customerId | int }}</o:CustomerId>
        <o:Line><o:Sku>A</o:Sku><o:Quantity>1</o:Quantity><o:UnitPrice>1.5</o:UnitPrice></o:Line>
        </o:CreateOrder>
    response:
      status: 201
      root: o:CreateOrderResponse
      fields: {id: o:OrderId, total: o:Total}
    errors:
      - when: fault.code == "Client"
        status: 422
        title: Order rejected
  - put: /orders/{id}
    name: replace-order
    operation: GetOrder
    mode: both
    idempotent: true
    params:
      path: {id: integer}
    request:
      args: {OrderId: "{{ path.id }}"}
    response:
      root: o:GetOrderResponse/o:Order
      fields: {id: o:Id}
"""

CREATED = (
    '<CreateOrderResponse xmlns="urn:example:orders"><OrderId>5</OrderId>'
    "<Status>open</Status><Total>10.50</Total></CreateOrderResponse>"
)
FAULT = (
    f'<s:Fault xmlns:s="{SOAP11}"><faultcode>s:Client</faultcode>'
    "<faultstring>Unknown customer</faultstring></s:Fault>"
)


def envelope(body_xml: str) -> bytes:
    """A SOAP 1.1 envelope around ``body_xml``."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP11}">'
        f"<s:Body>{body_xml}</s:Body></s:Envelope>"
    ).encode()


def ok(body_xml: str = CREATED, status: int = 200) -> TransportResponse:
    """A SOAP answer."""
    return TransportResponse(
        status=status, headers={"content-type": "text/xml; charset=utf-8"}, body=envelope(body_xml)
    )


Step = TransportResponse | BaseException | Callable[[], TransportResponse]


@dataclass
class FakeTransport:
    """Answers each call with the next scripted step (the last one repeats); counts calls
    and how many run at once. ``gate``, when set, holds every call until it is opened."""

    steps: list[Step] = field(default_factory=lambda: [ok()])
    calls: int = 0
    in_flight: int = 0
    peak: int = 0
    gate: asyncio.Event | None = None
    delay: float = 0.0
    bodies: list[bytes] = field(default_factory=list)

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
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        self.bodies.append(body)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.gate is not None:
                await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if isinstance(step, BaseException):
            raise step
        return step() if callable(step) else step


@pytest.fixture
def async_mappings(tmp_path: Path, registry: WsdlRegistry) -> MappingSet:
    """The Orders service with an async create route and an idempotent ``both`` route."""
    file = tmp_path / "orders.yaml"
    file.write_text(MAPPING)
    return load_mappings([file], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})


def route_lookup(
    mappings: MappingSet, client: SoapClient
) -> Callable[[str], tuple[Route, SoapClient] | None]:
    """A RouteLookup over ``mappings`` served by ``client``."""
    routes = {f"{r.method} {r.path}": (r, client) for r in mappings.routes}
    return routes.get
