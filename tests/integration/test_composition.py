"""Composed routes end to end: one REST call, several SOAP calls, one JSON answer.

Most tests run against a SOAP backend written here that answers the Orders (and Inventory)
operations with per-operation delays and faults, and records when each call started and
ended and how many were in flight at once, so that concurrency is measured, not assumed.
The bundled example's composed route also runs against node-soap.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from lxml import etree

from mediator.cli import main
from mediator.gateway.settings import GatewaySettings
from tests.backends.scripted import envelope
from tests.conftest import MAPPINGS_DIR, REPO, WSDL_DIR
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

NS = "urn:example:orders"
FAULT = (
    '<s:Fault xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>s:{code}</faultcode>'
    "<faultstring>{text}</faultstring>{detail}</s:Fault>"
)
NOT_FOUND = (
    '<detail><NotFound xmlns="urn:example:orders"><Entity>Customer</Entity></NotFound></detail>'
)


@dataclass
class Call:
    """One call the backend served: operation, argument, start and end (monotonic clock)."""

    operation: str
    argument: str
    path: str
    started: float
    ended: float | None = None


@dataclass
class StepBackend:
    """The Orders operations (and Inventory's GetStock) with scripted delays and faults."""

    delays: dict[str, float | Callable[[str], float]] = field(default_factory=dict)
    """operation → seconds before answering (or a function of the argument giving them)."""
    faults: dict[str, tuple[str, Callable[[str], bool]]] = field(default_factory=dict)
    """operation → (fault code, which arguments fail)."""
    orders_per_customer: int = 2
    calls: list[Call] = field(default_factory=list)
    in_flight: dict[str, int] = field(default_factory=dict)
    max_in_flight: dict[str, int] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        return app

    def of(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]

    async def _handle(self, request: web.Request) -> web.Response:
        action = request.headers.get("SOAPAction", "").strip('"')
        operation = action.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        body = etree.fromstring(await request.read())
        argument = next(e.text for e in body.iter() if len(e) == 0 and e.text) or ""
        call = Call(operation, argument, request.path, time.monotonic())
        self.calls.append(call)
        self.in_flight[operation] = self.in_flight.get(operation, 0) + 1
        self.max_in_flight[operation] = max(
            self.max_in_flight.get(operation, 0), self.in_flight[operation]
        )
        try:
            delay = self.delays.get(operation, 0.0)
            await asyncio.sleep(delay(argument) if callable(delay) else delay)
            code, fails = self.faults.get(operation, ("", lambda _: False))
            if fails(argument):
                detail = NOT_FOUND if code == "Client" else ""
                xml = FAULT.format(code=code, text=f"{operation} {argument} failed", detail=detail)
                return web.Response(body=envelope(xml), status=500, content_type="text/xml")
            return web.Response(
                body=envelope(self._answer(operation, int(argument) if argument.isdigit() else 0)),
                content_type="text/xml",
            )
        finally:
            self.in_flight[operation] -= 1
            call.ended = time.monotonic()

    def _answer(self, operation: str, key: int) -> str:
        customer = f"<Id>{key}</Id><Name>Customer {key}</Name><Vip>false</Vip>"
        if operation == "GetCustomer":
            return f'<GetCustomerResponse xmlns="{NS}"><Customer>{customer}</Customer></GetCustomerResponse>'
        if operation == "SearchOrders":
            orders = "".join(
                f"<Order><Id>{key * 100 + n}</Id><CustomerName>C</CustomerName><Status>open</Status>"
                f"<OrderDate>2026-01-0{1 + n % 9}</OrderDate><Total>{n}.50</Total></Order>"
                for n in range(self.orders_per_customer)
            )
            return f'<SearchOrdersResponse xmlns="{NS}">{orders}</SearchOrdersResponse>'
        if operation == "GetOrder":
            return (
                f'<GetOrderResponse xmlns="{NS}"><Order><Id>{key}</Id><Customer>{customer}</Customer>'
                "<Status>open</Status><OrderDate>2026-01-01</OrderDate>"
                "<CreatedAt>2026-01-01T00:00:00Z</CreatedAt>"
                "<ShippedAt xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xsi:nil='true'/>"
                "<Total>1.00</Total><Paid>false</Paid>"
                f"<Line><Sku>SKU-{key}</Sku><Description>D</Description><Quantity>1</Quantity>"
                "<UnitPrice>1.00</UnitPrice></Line></Order></GetOrderResponse>"
            )
        if operation == "GetStock":
            return (
                '<i:GetStockResponse xmlns:i="urn:example:inventory"><quantity>7</quantity>'
                "<price>2.50</price><bin><code>B</code><count>1</count></bin></i:GetStockResponse>"
            )
        raise AssertionError(f"unexpected operation {operation}")


MAPPING = """\
version: 1
service:
  wsdl: orders.wsdl
  address: ${URL}/orders
  namespaces: {o: "urn:example:orders"}
routes:
  - get: /overview/{id}
    params: {path: {id: integer}}
    steps:
      customer:
        operation: GetCustomer
        request: {args: {CustomerId: "{{ path.id }}"}}
        response: {root: o:GetCustomerResponse/o:Customer, fields: {id: o:Id, name: o:Name}}
        errors:
          - {when: 'fault.detail and "NotFound" in fault.detail', status: 404, title: No customer}
      orders:
        operation: SearchOrders
        request: {args: {CustomerId: "{{ path.id }}"}}
        response:
          root: o:SearchOrdersResponse
          fields: {orders: {xpath: o:Order, fields: {id: o:Id, total: o:Total}}}
      lines:
        operation: GetOrder
        for_each: steps.orders.orders
        as: order
        concurrency: 3
        request: {args: {OrderId: "{{ order.id }}"}}
        response:
          root: o:GetOrderResponse/o:Order
          fields: {id: o:Id, skus: {xpath: o:Line/o:Sku, list: true}}
    response:
      template: |
        {"customer": steps.customer,
         "orders": steps.orders.orders
                   | join_by(steps.lines, "id", into="detail")
                   | rename({"id": "orderId"})}

  - get: /fragile/{id}
    params: {path: {id: integer}}
    steps:
      customer:
        operation: GetCustomer
        optional: true
        request: {args: {CustomerId: "{{ path.id }}"}}
        response: {root: o:GetCustomerResponse/o:Customer, fields: {name: o:Name}}
      again:
        operation: GetCustomer
        optional: true
        request: {args: {CustomerId: "{{ steps.customer.name | length }}"}}
      orders:
        operation: SearchOrders
        request: {args: {CustomerId: "{{ path.id }}"}}
        response: {root: o:SearchOrdersResponse, fields: {ids: {xpath: o:Order/o:Id, list: true}}}

  - get: /timed/{id}
    params: {path: {id: integer}}
    steps:
      customer:
        operation: GetCustomer
        optional: {optional}
        timeout: 200ms
        request: {args: {CustomerId: "{{ path.id }}"}}
      orders:
        operation: SearchOrders
        request: {args: {CustomerId: "{{ path.id }}"}}

  - get: /chain/{id}
    params: {path: {id: integer}}
    timeout: 600ms
    steps:
      orders:
        operation: SearchOrders
        request: {args: {CustomerId: "{{ path.id }}"}}
        response: {root: o:SearchOrdersResponse, fields: {ids: {xpath: o:Order/o:Id, list: true}}}
      lines:
        operation: GetOrder
        for_each: steps.orders.ids
        request: {args: {OrderId: "{{ item }}"}}

  - get: /stock-of/{id}
    params: {path: {id: integer}}
    steps:
      orders:
        operation: SearchOrders
        request: {args: {CustomerId: "{{ path.id }}"}}
        response: {root: o:SearchOrdersResponse, fields: {ids: {xpath: o:Order/o:Id, list: true}}}
      stock:
        service: stock
        operation: GetStock
        for_each: steps.orders.ids
        as: order_id
        request: {args: {sku: "SKU-{{ order_id }}", warehouse: 1}}
        response: {root: i:GetStockResponse, fields: {quantity: quantity, price: price}}
    response:
      template: '{"stock": steps.stock}'
"""

INVENTORY = f"""\
version: 1
service:
  name: stock
  wsdl: {REPO / "tests" / "wsdl" / "inventory_rpc.wsdl"}
  address: ${{URL}}/inventory
  namespaces: {{i: "urn:example:inventory"}}
routes: []
"""


@pytest.fixture
async def backend(aiohttp_server: Callable[..., Any]) -> tuple[StepBackend, str]:
    """The step backend on loopback and its base URL."""
    steps = StepBackend()
    server = await aiohttp_server(steps.app())
    return steps, str(server.make_url("")).rstrip("/")


@pytest.fixture
def mapping_files(tmp_path: Path) -> Callable[[bool], list[Path]]:
    """The test mapping (with /timed's customer optional or required) and the inventory."""

    def write(optional: bool = True) -> list[Path]:
        orders = tmp_path / "orders.yaml"
        text = MAPPING.replace("optional: {optional}", f"optional: {str(optional).lower()}")
        orders.write_text(text, encoding="utf-8")
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(INVENTORY, encoding="utf-8")
        return [orders, inventory]

    return write


async def _get(client: Any, path: str) -> tuple[int, Any, float]:
    started = time.perf_counter()
    response = await client.get(path)
    text = await response.text()
    return response.status, json.loads(text, parse_float=Decimal), time.perf_counter() - started


async def _client(gateway: GatewayFactory, files: list[Path], url: str, **kwargs: Any) -> Any:
    return await gateway(paths=files, environ={"URL": url}, **kwargs)


# -- concurrency, dependencies, fan-out --------------------------------------------------------


async def test_independent_steps_overlap_in_time(gateway, backend, mapping_files) -> None:
    """customer and orders need nothing, so they run at the same time: each started before
    the other ended, and the whole took about one delay, not two."""
    steps, url = backend
    steps.delays = {"GetCustomer": 1.0, "SearchOrders": 1.0}
    steps.orders_per_customer = 0
    client = await _client(gateway, mapping_files(), url)
    status, body, elapsed = await _get(client, "/overview/5")
    assert status == 200, body
    assert body == {"customer": {"id": 5, "name": "Customer 5"}, "orders": []}
    (customer,), (orders,) = steps.of("GetCustomer"), steps.of("SearchOrders")
    assert customer.ended is not None and orders.ended is not None
    assert customer.started < orders.ended and orders.started < customer.ended
    assert elapsed < 1.8, f"sequential would take 2 s or more; took {elapsed:.2f} s"


async def test_dependent_step_runs_after_what_it_needs(gateway, backend, mapping_files) -> None:
    """lines reads steps.orders, so every GetOrder starts after SearchOrders has answered,
    with the ids it returned."""
    steps, url = backend
    steps.delays = {"SearchOrders": 0.2}
    client = await _client(gateway, mapping_files(), url)
    status, body, _ = await _get(client, "/overview/3")
    assert status == 200, body
    (search,) = steps.of("SearchOrders")
    lines = steps.of("GetOrder")
    assert sorted(call.argument for call in lines) == ["300", "301"]
    assert search.ended is not None
    assert all(call.started >= search.ended for call in lines)


async def test_fan_out_is_limited_and_joined_in_order(gateway, backend, mapping_files) -> None:
    """Eight orders, concurrency 3: eight GetOrder calls, never more than three in flight
    (and three at once, so they did overlap); each detail is nested under its order."""
    steps, url = backend
    steps.orders_per_customer = 8
    steps.delays = {"GetOrder": 0.1}
    client = await _client(gateway, mapping_files(), url)
    status, body, _ = await _get(client, "/overview/2")
    assert status == 200, body
    assert len(steps.of("GetOrder")) == 8
    assert steps.max_in_flight["GetOrder"] == 3
    assert [order["orderId"] for order in body["orders"]] == list(range(200, 208))
    assert body["orders"][1] == {
        "orderId": 201,
        "total": Decimal("1.50"),
        "detail": {"id": 201, "skus": ["SKU-201"]},
    }


async def test_step_calls_a_service_of_another_mapping_file(
    gateway, backend, mapping_files
) -> None:
    """service: stock (the inventory file's service.name) sends GetStock, an rpc/literal
    operation of another WSDL, to that file's address, once per order."""
    steps, url = backend
    client = await _client(gateway, mapping_files(), url)
    status, body, _ = await _get(client, "/stock-of/4")
    assert status == 200, body
    assert body == {"stock": [{"quantity": 7, "price": Decimal("2.50")}] * 2}
    stock = steps.of("GetStock")
    assert sorted(call.argument for call in stock) == ["SKU-400", "SKU-401"]
    assert {call.path for call in stock} == {"/inventory"}


# -- failures ---------------------------------------------------------------------------------


async def test_required_step_failure_cancels_the_others(gateway, backend, mapping_files) -> None:
    """customer faults at once: the client gets its problem (the step's rule: 404) naming the
    step, without waiting for the slow orders step, and lines never runs."""
    steps, url = backend
    steps.faults = {"GetCustomer": ("Client", lambda _: True)}
    steps.delays = {"SearchOrders": 3.0}
    client = await _client(gateway, mapping_files(), url)
    status, body, elapsed = await _get(client, "/overview/9")
    assert status == 404
    assert body["type"] == "urn:mediator:problem:upstream-fault"
    assert body["title"] == "No customer"
    assert body["step"] == "customer"
    assert body["detail"] == "step 'customer' failed: GetCustomer 9 failed"
    assert body["fault"]["code"] == "Client"
    assert elapsed < 2.0, f"waited for the cancelled step: {elapsed:.2f} s"
    assert steps.of("GetOrder") == []


async def test_failed_fan_out_call_fails_its_step(gateway, backend, mapping_files) -> None:
    """One GetOrder of a required fan-out step faults: the route fails at once with that
    step named (a Server fault: 502), the other calls are not waited for."""
    steps, url = backend
    steps.orders_per_customer = 6
    steps.faults = {"GetOrder": ("Server", lambda argument: argument == "101")}
    steps.delays = {"GetOrder": lambda argument: 0.0 if argument == "101" else 3.0}
    client = await _client(gateway, mapping_files(), url)
    status, body, elapsed = await _get(client, "/overview/1")
    assert status == 502, body
    assert body["step"] == "lines"
    assert body["type"] == "urn:mediator:problem:upstream-fault"
    assert body["detail"] == "step 'lines' failed: GetOrder 101 failed"
    assert elapsed < 2.0, f"waited for the cancelled calls: {elapsed:.2f} s"
    assert len(steps.of("GetOrder")) <= 3 + 1  # the fault stopped the fan-out early


async def test_optional_step_failure_is_null_with_an_error_entry(
    gateway, backend, mapping_files
) -> None:
    """The optional customer step faults: its field is null, the step that needs it is
    skipped (null too), and the answer's errors say which steps failed and why."""
    steps, url = backend
    steps.faults = {"GetCustomer": ("Server", lambda _: True)}
    client = await _client(gateway, mapping_files(), url)
    status, body, _ = await _get(client, "/fragile/6")
    assert status == 200, body
    assert body["customer"] is None and body["again"] is None
    assert body["orders"] == {"ids": [600, 601]}
    assert body["errors"] == [
        {
            "step": "customer",
            "type": "urn:mediator:problem:upstream-fault",
            "title": "Upstream Fault",
            "status": 502,
            "detail": "GetCustomer 6 failed",
            "fault": {"code": "Server", "reason": "GetCustomer 6 failed"},
        },
        {
            "step": "again",
            "title": "Step Skipped",
            "detail": "not run: it needs step 'customer', which failed",
        },
    ]
    assert len(steps.of("GetCustomer")) == 1


@pytest.mark.parametrize("optional", [True, False])
async def test_step_timeout(gateway, backend, mapping_files, optional: bool) -> None:
    """A step slower than its timeout (200 ms) fails with upstream-timeout: optional, the
    answer comes without it; required, the route fails with a 504 naming it. Either way
    well before the backend would have answered."""
    steps, url = backend
    steps.delays = {"GetCustomer": 3.0}
    client = await _client(gateway, mapping_files(optional), url)
    status, body, elapsed = await _get(client, "/timed/1")
    assert elapsed < 2.0
    if optional:
        assert status == 200, body
        assert body["customer"] is None
        (error,) = body["errors"]
        assert (error["step"], error["status"]) == ("customer", 504)
        assert error["type"] == "urn:mediator:problem:upstream-timeout"
    else:
        assert status == 504
        assert body["step"] == "customer"
        assert body["type"] == "urn:mediator:problem:upstream-timeout"


async def test_route_deadline_bounds_later_steps(gateway, backend, mapping_files) -> None:
    """The route's 600 ms cover all its steps: after a 400 ms orders step, the lines calls
    get what is left and time out (504 naming lines) instead of taking their own 30 s."""
    steps, url = backend
    steps.delays = {"SearchOrders": 0.4, "GetOrder": 3.0}
    client = await _client(gateway, mapping_files(), url)
    status, body, elapsed = await _get(client, "/chain/1")
    assert status == 504, body
    assert body["step"] == "lines"
    assert 0.5 < elapsed < 2.0


# -- explain ------------------------------------------------------------------------------------


async def test_explain_trace_shows_every_step(gateway, backend, mapping_files) -> None:
    """With explain traces on, a composed request's trace lists each step with its status,
    timing, and each call's envelope and answer."""
    _, url = backend
    client = await _client(gateway, mapping_files(), url, settings=GatewaySettings(explain=5))
    response = await client.get("/overview/1", headers={"X-Request-ID": "composed-1"})
    assert response.status == 200
    trace = await (await client.get("/_mediator/traces/composed-1")).json()
    assert [step["step"] for step in trace["steps"]] == ["customer", "orders", "lines"]
    customer, _, lines = trace["steps"]
    assert customer["status"] == "ok" and customer["operation"] == "GetCustomer"
    assert customer["started_ms"] is not None and customer["finished_ms"] is not None
    assert "<ns0:CustomerId>1</ns0:CustomerId>" in customer["calls"][0]["envelope"]
    assert "Customer 1" in customer["calls"][0]["response"]
    assert sorted(call["item"] for call in lines["calls"]) == [0, 1]
    assert lines["needs"] == ["orders"] and lines["for_each"] == "steps.orders.orders"


# -- the bundled example, against node-soap -------------------------------------------------------


@pytest.fixture(params=["1.1", "1.2"])
def soap_env(request: pytest.FixtureRequest, node_backend: str) -> dict[str, str]:
    """The example mapping pointed at node-soap's SOAP 1.1 or SOAP 1.2 endpoint."""
    if request.param == "1.1":
        return {"ORDERS_SOAP_URL": f"{node_backend}/orders"}
    return {"ORDERS_SOAP_URL": f"{node_backend}/orders12", "ORDERS_PORT": "OrderPortSoap12"}


async def test_bundled_overview_against_node_soap(
    gateway: GatewayFactory, soap_env: dict[str, str]
) -> None:
    """GET /customers/1/overview: the customer, their orders, each with its lines."""
    client = await gateway(environ=soap_env)
    status, body, _ = await _get(client, "/customers/1/overview")
    assert status == 200, body
    assert body["customer"] == {
        "id": 1,
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "vip": True,
    }
    assert [order["id"] for order in body["orders"]] == [1001, 1002]
    first = body["orders"][0]
    assert (first["status"], first["total"]) == ("shipped", Decimal("1234.50"))
    assert [line["sku"] for line in first["lines"]] == ["ANL-ENG-01", "PNC-CRD-10", "BRS-CRK-02"]
    assert body["orders"][1]["lines"] == [
        {
            "sku": "NTB-A5",
            "description": "Notebook, A5, squared",
            "quantity": 1,
            "unitPrice": Decimal("19.99"),
        }
    ]
    assert "errors" not in body


async def test_bundled_overview_unknown_customer(
    gateway: GatewayFactory, soap_env: dict[str, str]
) -> None:
    """An unknown customer is the customer step's 404, naming the step."""
    client = await gateway(environ=soap_env)
    status, body, _ = await _get(client, "/customers/4242/overview")
    assert status == 404
    assert (body["step"], body["title"]) == ("customer", "Customer not found")


def test_try_explain_shows_every_step(
    node_backend: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mediator try --call --explain` on a composed route prints each step's timing,
    envelope, answer and XPath matches, then the joined JSON."""
    monkeypatch.setenv("ORDERS_SOAP_URL", f"{node_backend}/orders")
    argv = ["try", "GET", "/customers/2/overview", "--call", "--explain"]
    argv += ["-m", str(MAPPINGS_DIR), "--wsdl-dir", str(WSDL_DIR)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["orders"][0]["id"] == 1003
    assert "== steps (ms since the route started)" in err
    for step in ("customer", "orders", "lines"):
        assert f"== step {step}" in err
    assert "<ns0:CustomerId>2</ns0:CustomerId>" in err
    assert "== extraction" in err and "o:GetCustomerResponse/o:Customer" in err


def test_try_dry_run_renders_the_independent_steps(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --call, `mediator try` prints the envelopes of the steps that need no other
    and says when the others would run."""
    argv = ["try", "GET", "/customers/7/overview", "-m", str(MAPPINGS_DIR)]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--wsdl-dir", str(WSDL_DIR)])
    assert exit_info.value.code == 0
    out, err = capsys.readouterr()
    assert out.count("<ns0:CustomerId>7</ns0:CustomerId>") == 2  # GetCustomer, SearchOrders
    assert "runs after orders, once per item of steps.orders.orders" in err
