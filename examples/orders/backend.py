"""Demo SOAP backend for the Orders example.

This module is *not* part of the Mediator gateway.  It stands in for the
legacy SOAP system that Mediator fronts, so that somebody with nothing but
Python can run the gateway against a live SOAP service.  It implements the
contract in ``wsdl/orders.wsdl`` (document/literal wrapped) on top of the
in-memory data set in ``examples/orders/data.json``:

* ``POST /orders``     -- SOAP 1.1 endpoint (port ``OrderPortSoap11``)
* ``POST /orders12``   -- SOAP 1.2 endpoint (port ``OrderPortSoap12``)
* ``GET  /orders?wsdl`` -- the WSDL, with the service addresses pointing at
  this server

Run it with::

    python examples/orders/backend.py [--host 127.0.0.1] [--port 8081]

Tests can start it in-process with ``create_app()`` and aiohttp's
``TestServer``.  Orders created through ``CreateOrder`` live in memory and are
lost when the process stops.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from aiohttp import web
from lxml import etree

__all__ = ["create_app", "main"]

log = logging.getLogger("orders.backend")

HERE: Final = Path(__file__).resolve().parent
DEFAULT_DATA_PATH: Final = HERE / "data.json"
WSDL_PATH: Final = HERE.parent.parent / "wsdl" / "orders.wsdl"

TNS: Final = "urn:example:orders"
SOAP11_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
XSI: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
WSDL_SOAP11: Final = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12: Final = "http://schemas.xmlsoap.org/wsdl/soap12/"

ORDER_STATUSES: Final = frozenset({"open", "shipped", "cancelled"})
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1
# xs:decimal lexical space: optional sign, digits, optional fraction; no exponent.
DECIMAL_RE: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# xs:int lexical space (Python's int() would also take "1_000" and non-ASCII digits).
INT_RE: Final = re.compile(r"[+-]?[0-9]+")
CENT: Final = Decimal("0.01")
XML_DECLARATION: Final = b'<?xml version="1.0" encoding="utf-8"?>\n'
# lxml spells the default namespace with a None prefix; typed loosely for lxml-stubs.
DEFAULT_NS: Final[dict[Any, str]] = {None: TNS}
DEFAULT_NS_XSI: Final[dict[Any, str]] = {None: TNS, "xsi": XSI}

FaultCode = Literal["Client", "Server"]


@dataclass(frozen=True)
class SoapVersion:
    """What differs between the two SOAP endpoints."""

    name: str
    envelope_ns: str
    content_type: str
    client_code: str
    server_code: str


SOAP11: Final = SoapVersion("1.1", SOAP11_ENV, "text/xml", "Client", "Server")
SOAP12: Final = SoapVersion("1.2", SOAP12_ENV, "application/soap+xml", "Sender", "Receiver")


# --------------------------------------------------------------------------
# Data set
# --------------------------------------------------------------------------


@dataclass
class Customer:
    id: int
    name: str
    email: str | None
    vip: bool


@dataclass
class Line:
    sku: str
    description: str
    quantity: int
    unit_price: str  # decimal, kept exactly as written


@dataclass
class Order:
    id: int
    customer_id: int
    status: str
    order_date: str
    created_at: str
    shipped_at: str | None
    total: str  # decimal, kept exactly as written
    paid: bool
    note: str | None
    lines: list[Line] = field(default_factory=list)


@dataclass
class OrderStore:
    """The in-memory state of one application instance."""

    customers: dict[int, Customer]
    orders: dict[int, Order]  # insertion order == data-set order
    next_order_id: int

    @classmethod
    def load(cls, path: Path) -> OrderStore:
        raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        customers = {
            int(c["Id"]): Customer(
                id=int(c["Id"]),
                name=str(c["Name"]),
                email=None if c.get("Email") is None else str(c["Email"]),
                vip=bool(c["Vip"]),
            )
            for c in raw["customers"]
        }
        orders: dict[int, Order] = {}
        for o in raw["orders"]:
            order = Order(
                id=int(o["Id"]),
                customer_id=int(o["CustomerId"]),
                status=str(o["Status"]),
                order_date=str(o["OrderDate"]),
                created_at=str(o["CreatedAt"]),
                shipped_at=None if o.get("ShippedAt") is None else str(o["ShippedAt"]),
                total=str(o["Total"]),
                paid=bool(o["Paid"]),
                note=None if o.get("Note") is None else str(o["Note"]),
                lines=[
                    Line(
                        sku=str(ln["Sku"]),
                        description=str(ln["Description"]),
                        quantity=int(ln["Quantity"]),
                        unit_price=str(ln["UnitPrice"]),
                    )
                    for ln in o.get("Lines", [])
                ],
            )
            if order.customer_id not in customers:
                raise ValueError(
                    f"{path}: order {order.id} refers to unknown customer {order.customer_id}"
                )
            if order.status not in ORDER_STATUSES:
                raise ValueError(f"{path}: order {order.id} has invalid status {order.status!r}")
            orders[order.id] = order
        next_id = int(raw["next_order_id"])
        if orders and next_id <= max(orders):
            raise ValueError(f"{path}: next_order_id {next_id} collides with existing orders")
        return cls(customers=customers, orders=orders, next_order_id=next_id)


# --------------------------------------------------------------------------
# Faults and request parsing
# --------------------------------------------------------------------------


class SoapFault(Exception):
    """Raised by a handler; turned into a SOAP Fault with HTTP status 500."""

    def __init__(self, code: FaultCode, message: str, detail: etree._Element | None = None) -> None:
        super().__init__(message)
        self.code: FaultCode = code
        self.message = message
        self.detail = detail


def not_found(entity: str, key: int) -> SoapFault:
    detail = etree.Element(f"{{{TNS}}}NotFound", nsmap=DEFAULT_NS)
    etree.SubElement(detail, f"{{{TNS}}}Entity").text = entity
    etree.SubElement(detail, f"{{{TNS}}}Key").text = str(key)
    return SoapFault("Client", f"{entity} {key} not found", detail)


def hardened_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        dtd_validation=False,
        remove_pis=True,
    )


def parse_xml(body: bytes) -> etree._Element:
    """Parse untrusted XML; refuse anything with a document type declaration."""
    if not body.strip():
        raise SoapFault("Client", "Empty request body")
    try:
        root: etree._Element = etree.fromstring(body, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise SoapFault("Client", f"Malformed XML: {exc.msg}") from None
    docinfo = root.getroottree().docinfo
    # libxml2 records every <!DOCTYPE ...> (even an empty one) as an internal subset.
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise SoapFault("Client", "DTDs are not allowed")
    return root


def is_element(node: etree._Element) -> bool:
    # Comments and processing instructions have a non-string tag.
    return isinstance(node.tag, str)


def body_payload(root: etree._Element, version: SoapVersion) -> etree._Element:
    """Return the first element child of the envelope's Body."""
    qname = etree.QName(root)
    if qname.localname == "Envelope" and qname.namespace in (SOAP11_ENV, SOAP12_ENV):
        if qname.namespace != version.envelope_ns:
            other = "1.2" if version is SOAP11 else "1.1"
            raise SoapFault(
                "Client",
                f"SOAP {other} envelope sent to the SOAP {version.name} endpoint "
                f"(expected namespace {version.envelope_ns})",
            )
    else:
        raise SoapFault(
            "Client", f"Not a SOAP {version.name} envelope: root element is {qname.text}"
        )
    body = root.find(f"{{{version.envelope_ns}}}Body")
    if body is None:
        raise SoapFault("Client", "SOAP envelope has no Body")
    for child in body:
        if is_element(child):
            return child
    raise SoapFault("Client", "SOAP Body is empty")


def opt_text(parent: etree._Element, name: str) -> str | None:
    """Text of an optional child element; ``None`` when absent or nil."""
    el = parent.find(f"{{{TNS}}}{name}")
    if el is None or el.get(f"{{{XSI}}}nil") in ("true", "1"):
        return None
    return (el.text or "").strip()


def req_text(parent: etree._Element, name: str) -> str:
    text = opt_text(parent, name)
    if text is None:
        raise SoapFault("Client", f"Missing element {name}")
    return text


def to_int(name: str, text: str) -> int:
    if not INT_RE.fullmatch(text):
        raise SoapFault("Client", f"Invalid integer in {name}: {text!r}")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise SoapFault("Client", f"Integer out of range in {name}: {text!r}")
    return value


def req_int(parent: etree._Element, name: str) -> int:
    return to_int(name, req_text(parent, name))


def opt_int(parent: etree._Element, name: str) -> int | None:
    text = opt_text(parent, name)
    return None if text is None else to_int(name, text)


def req_decimal(parent: etree._Element, name: str) -> Decimal:
    text = req_text(parent, name)
    if not DECIMAL_RE.fullmatch(text):
        raise SoapFault("Client", f"Invalid decimal in {name}: {text!r}")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already rules this out
        raise SoapFault("Client", f"Invalid decimal in {name}: {text!r}") from None


# --------------------------------------------------------------------------
# Response building (always through lxml, so text is escaped)
# --------------------------------------------------------------------------


def sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el: etree._Element = etree.SubElement(parent, f"{{{TNS}}}{name}")
    if text is not None:
        el.text = text
    return el


def xs_bool(value: bool) -> str:
    return "true" if value else "false"


def add_customer(parent: etree._Element, name: str, customer: Customer) -> None:
    el = sub(parent, name)
    sub(el, "Id", str(customer.id))
    sub(el, "Name", customer.name)
    if customer.email is not None:
        sub(el, "Email", customer.email)
    sub(el, "Vip", xs_bool(customer.vip))


def add_order(parent: etree._Element, order: Order, customer: Customer) -> None:
    el = sub(parent, "Order")
    sub(el, "Id", str(order.id))
    add_customer(el, "Customer", customer)
    sub(el, "Status", order.status)
    sub(el, "OrderDate", order.order_date)
    sub(el, "CreatedAt", order.created_at)
    if order.shipped_at is None:
        sub(el, "ShippedAt").set(f"{{{XSI}}}nil", "true")
    else:
        sub(el, "ShippedAt", order.shipped_at)
    sub(el, "Total", order.total)
    sub(el, "Paid", xs_bool(order.paid))
    if order.note is not None:
        sub(el, "Note", order.note)
    for line in order.lines:
        line_el = sub(el, "Line")
        sub(line_el, "Sku", line.sku)
        sub(line_el, "Description", line.description)
        sub(line_el, "Quantity", str(line.quantity))
        sub(line_el, "UnitPrice", line.unit_price)


def add_summary(parent: etree._Element, order: Order, customer: Customer) -> None:
    el = sub(parent, "Order")
    sub(el, "Id", str(order.id))
    sub(el, "CustomerName", customer.name)
    sub(el, "Status", order.status)
    sub(el, "OrderDate", order.order_date)
    sub(el, "Total", order.total)


def response_root(operation: str, *, nillable: bool = False) -> etree._Element:
    nsmap = DEFAULT_NS_XSI if nillable else DEFAULT_NS
    root: etree._Element = etree.Element(f"{{{TNS}}}{operation}Response", nsmap=nsmap)
    return root


def new_envelope(version: SoapVersion) -> tuple[etree._Element, etree._Element]:
    """An empty envelope and its Body."""
    ns = version.envelope_ns
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    return env, etree.SubElement(env, f"{{{ns}}}Body")


def serialize(env: etree._Element) -> bytes:
    data: bytes = etree.tostring(env, encoding="utf-8", pretty_print=True)
    return XML_DECLARATION + data


def result_envelope(version: SoapVersion, payload: etree._Element) -> bytes:
    env, body = new_envelope(version)
    body.append(payload)
    return serialize(env)


def fault_envelope(version: SoapVersion, fault: SoapFault) -> bytes:
    ns = version.envelope_ns
    code = version.client_code if fault.code == "Client" else version.server_code
    env, body = new_envelope(version)
    el = etree.SubElement(body, f"{{{ns}}}Fault")
    if version is SOAP11:
        # SOAP 1.1 fault children are unqualified.
        etree.SubElement(el, "faultcode").text = f"soap:{code}"
        etree.SubElement(el, "faultstring").text = fault.message
        if fault.detail is not None:
            etree.SubElement(el, "detail").append(fault.detail)
    else:
        value = etree.SubElement(etree.SubElement(el, f"{{{ns}}}Code"), f"{{{ns}}}Value")
        value.text = f"soap:{code}"
        text = etree.SubElement(etree.SubElement(el, f"{{{ns}}}Reason"), f"{{{ns}}}Text")
        text.set(f"{{{XML_NS}}}lang", "en")
        text.text = fault.message
        if fault.detail is not None:
            etree.SubElement(el, f"{{{ns}}}Detail").append(fault.detail)
    return serialize(env)


# --------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------


def op_get_order(store: OrderStore, request: etree._Element) -> etree._Element:
    order_id = req_int(request, "OrderId")
    order = store.orders.get(order_id)
    if order is None:
        raise not_found("Order", order_id)
    resp = response_root("GetOrder", nillable=True)
    add_order(resp, order, store.customers[order.customer_id])
    return resp


def op_search_orders(store: OrderStore, request: etree._Element) -> etree._Element:
    customer_id = opt_int(request, "CustomerId")
    status = opt_text(request, "Status")
    if status is not None and status not in ORDER_STATUSES:
        expected = ", ".join(sorted(ORDER_STATUSES))
        raise SoapFault("Client", f"Invalid Status {status!r}; expected one of {expected}")
    resp = response_root("SearchOrders")
    for order in store.orders.values():
        if customer_id is not None and order.customer_id != customer_id:
            continue
        if status is not None and order.status != status:
            continue
        add_summary(resp, order, store.customers[order.customer_id])
    return resp


def op_create_order(store: OrderStore, request: etree._Element) -> etree._Element:
    customer_id = req_int(request, "CustomerId")
    new_lines = [
        (req_text(line, "Sku"), req_int(line, "Quantity"), req_decimal(line, "UnitPrice"))
        for line in request.iterfind(f"{{{TNS}}}Line")
    ]
    note = opt_text(request, "Note")
    if not new_lines:
        raise SoapFault("Client", "CreateOrder needs at least one Line")
    if customer_id not in store.customers:
        raise not_found("Customer", customer_id)
    if any(quantity < 1 for _, quantity, _ in new_lines):
        raise SoapFault("Client", "Quantity must be at least 1")

    total = sum((quantity * price for _, quantity, price in new_lines), Decimal(0))
    total = total.quantize(CENT, rounding=ROUND_HALF_UP)
    now = datetime.now(UTC)
    order = Order(
        id=store.next_order_id,
        customer_id=customer_id,
        status="open",
        order_date=now.date().isoformat(),
        created_at=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        shipped_at=None,
        total=str(total),
        paid=False,
        note=note,
        lines=[
            Line(sku=sku, description=sku, quantity=quantity, unit_price=str(price))
            for sku, quantity, price in new_lines
        ],
    )
    store.next_order_id += 1
    store.orders[order.id] = order
    log.info("created order %d for customer %d, total %s", order.id, customer_id, order.total)

    resp = response_root("CreateOrder")
    sub(resp, "OrderId", str(order.id))
    sub(resp, "Status", order.status)
    sub(resp, "Total", order.total)
    return resp


def op_get_customer(store: OrderStore, request: etree._Element) -> etree._Element:
    customer_id = req_int(request, "CustomerId")
    customer = store.customers.get(customer_id)
    if customer is None:
        raise not_found("Customer", customer_id)
    resp = response_root("GetCustomer")
    add_customer(resp, "Customer", customer)
    return resp


OPERATIONS: Final = {
    f"{{{TNS}}}GetOrder": op_get_order,
    f"{{{TNS}}}SearchOrders": op_search_orders,
    f"{{{TNS}}}CreateOrder": op_create_order,
    f"{{{TNS}}}GetCustomer": op_get_customer,
}


# --------------------------------------------------------------------------
# HTTP layer
# --------------------------------------------------------------------------

STORE_KEY: Final = web.AppKey("store", OrderStore)
WSDL_KEY: Final = web.AppKey("wsdl", bytes)


def soap_response(version: SoapVersion, body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body, status=status, content_type=version.content_type, charset="utf-8"
    )


def soap_handler(version: SoapVersion) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        store = request.app[STORE_KEY]
        try:
            payload = body_payload(parse_xml(await request.read()), version)
            operation = OPERATIONS.get(payload.tag)
            if operation is None:
                raise SoapFault("Client", f"Unknown operation {etree.QName(payload).text}")
            return soap_response(version, result_envelope(version, operation(store, payload)))
        except SoapFault as fault:
            log.info("SOAP %s fault: %s", version.name, fault.message)
            return soap_response(version, fault_envelope(version, fault), status=500)
        except web.HTTPException:
            raise  # e.g. 413 for an oversized body
        except Exception:
            log.exception("unexpected error while handling a SOAP %s request", version.name)
            internal = SoapFault("Server", "Internal server error")
            return soap_response(version, fault_envelope(version, internal), status=500)

    return handle


def wsdl_for(request: web.Request) -> bytes:
    """The WSDL with its soap:address locations pointing at this server."""
    root = etree.fromstring(request.app[WSDL_KEY], parser=hardened_parser())
    origin = str(request.url.origin())
    for address in root.iter(f"{{{WSDL_SOAP11}}}address", f"{{{WSDL_SOAP12}}}address"):
        address.set("location", origin + urlsplit(address.get("location", "")).path)
    data: bytes = etree.tostring(root.getroottree(), encoding="utf-8")
    return XML_DECLARATION + data


async def handle_get(request: web.Request) -> web.Response:
    if not any(key.lower() == "wsdl" for key in request.query):
        return web.Response(
            status=400,
            text=(
                f"This is a SOAP endpoint: POST SOAP requests here, "
                f"or GET {request.path}?wsdl for the WSDL.\n"
            ),
        )
    return web.Response(body=wsdl_for(request), content_type="text/xml", charset="utf-8")


def create_app(data_path: Path | None = None) -> web.Application:
    """Build the demo backend; each application gets its own copy of the data set."""
    app = web.Application()
    app[STORE_KEY] = OrderStore.load(data_path or DEFAULT_DATA_PATH)
    app[WSDL_KEY] = WSDL_PATH.read_bytes()
    app.router.add_post("/orders", soap_handler(SOAP11))
    app.router.add_post("/orders12", soap_handler(SOAP12))
    app.router.add_get("/orders", handle_get)
    app.router.add_get("/orders12", handle_get)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=(
            "Demo SOAP backend for the Mediator Orders example "
            "(stands in for a legacy system; not part of the gateway)."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8081, help="TCP port (default: %(default)s)")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA_PATH, help="data set (default: %(default)s)"
    )
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_app(args.data)
    base = f"http://{args.host}:{args.port}"
    print(
        f"Orders demo backend (not the gateway): SOAP 1.1 at {base}/orders, "
        f"SOAP 1.2 at {base}/orders12, WSDL at {base}/orders?wsdl",
        flush=True,
    )
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main(sys.argv[1:])
