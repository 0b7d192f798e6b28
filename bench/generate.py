"""Deterministic fixtures of the benchmark: canned SOAP responses, the POST body, start-up WSDLs.

Nothing here is random: every value is derived arithmetically from an index, so two runs (and
two machines) benchmark byte-identical payloads. Standard library only, so ``bench/run.py`` can
call it before the project's virtual environment exists.

Run alone to (re)write the fixtures and print their sizes::

    python3 bench/generate.py [--out bench/generated]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = [
    "ACTIONS",
    "BENCH_NS",
    "Fixtures",
    "account_response",
    "order_body",
    "order_response",
    "request_envelope",
    "startup_mapping",
    "startup_wsdl",
    "transactions_response",
    "write_fixtures",
    "write_startup_fixtures",
]

BENCH_NS: Final = "urn:bench:accounts"
SOAP11_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
HERE: Final = Path(__file__).resolve().parent

# SOAPAction → canned response file name (the backend answers by action).
ACTIONS: Final = {
    f"{BENCH_NS}/GetAccount": "account.xml",
    f"{BENCH_NS}/ListTransactions": "transactions.xml",
    f"{BENCH_NS}/CreateOrder": "order.xml",
}

_CATEGORIES: Final = ("groceries", "transport", "salary", "utilities", "rent", "dining", "travel")
_MERCHANTS: Final = (
    "Corner Market",
    "City Transit",
    "ACME Payroll",
    "Northwind Energy",
    "Smith &amp; Sons",
)


def _envelope(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body>{body}</soap:Body></soap:Envelope>'
    ).encode()


def _money(index: int, scale: int) -> str:
    cents = (index * 7919 + 1234) % (scale * 100)
    sign = "-" if index % 3 else ""
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _transaction(index: int, tag: str) -> str:
    day = 1 + index % 28
    hour = index % 24
    merchant = _MERCHANTS[index % len(_MERCHANTS)]
    return (
        f"<{tag}>"
        f"<Id>{7_000_000 + index}</Id>"
        f"<PostedAt>2026-03-{day:02d}T{hour:02d}:{index % 60:02d}:{index * 7 % 60:02d}Z</PostedAt>"
        f"<Amount>{_money(index, 900)}</Amount>"
        "<Currency>EUR</Currency>"
        f"<Description>{merchant} #{index:04d}</Description>"
        f"<Reference>R{index * 31337 % 1_000_000:06d}</Reference>"
        f"<Category>{_CATEGORIES[index % len(_CATEGORIES)]}</Category>"
        f"<Cleared>{'true' if index % 4 else 'false'}</Cleared>"
        f"</{tag}>"
    )


def account_response() -> bytes:
    """GetAccount: ~2 KB, 20 scalar fields, a nested address and 5 recent transactions."""
    transactions = "".join(_transaction(i, "RecentTransaction") for i in range(5))
    body = (
        f'<GetAccountResponse xmlns="{BENCH_NS}"><Account>'
        "<Id>42</Id>"
        "<Number>0042-7781-3310</Number>"
        "<Iban>DE44500105175407324931</Iban>"
        "<Holder>Ada Lovelace-Byron</Holder>"
        "<Email>ada@example.org</Email>"
        "<Phone>+44 20 7946 0958</Phone>"
        "<Type>checking</Type>"
        "<Status>active</Status>"
        "<Currency>EUR</Currency>"
        "<Balance>15234.56</Balance>"
        "<AvailableBalance>14734.56</AvailableBalance>"
        "<CreditLimit>2500.00</CreditLimit>"
        "<InterestRate>0.0125</InterestRate>"
        "<OpenedOn>2014-06-01</OpenedOn>"
        "<UpdatedAt>2026-03-14T09:26:53.589+01:00</UpdatedAt>"
        '<ClosedAt xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>'
        "<Overdraft>false</Overdraft>"
        "<Statements>141</Statements>"
        "<Branch>Berlin Mitte</Branch>"
        "<Note>Prefers paper statements &lt;quarterly&gt;</Note>"
        "<Address><Street>12 St James's Square</Street><City>London</City>"
        "<Postcode>SW1Y 4JH</Postcode><Country>GB</Country></Address>"
        f"{transactions}"
        "</Account></GetAccountResponse>"
    )
    return _envelope(body)


def transactions_response(count: int = 200) -> bytes:
    """ListTransactions: ~50 KB, ``count`` transactions of 8 typed fields each."""
    items = "".join(_transaction(i, "Transaction") for i in range(count))
    body = (
        f'<ListTransactionsResponse xmlns="{BENCH_NS}">'
        f"<AccountId>42</AccountId><Count>{count}</Count>{items}"
        "</ListTransactionsResponse>"
    )
    return _envelope(body)


def order_response() -> bytes:
    """CreateOrder: a small acknowledgement."""
    body = (
        f'<CreateOrderResponse xmlns="{BENCH_NS}">'
        "<OrderId>100234</OrderId><Status>accepted</Status><Total>1234.50</Total>"
        "<LineCount>5</LineCount><CreatedAt>2026-03-14T09:26:53Z</CreatedAt>"
        "</CreateOrderResponse>"
    )
    return _envelope(body)


def request_envelope() -> bytes:
    """A GetAccount request: the body wrk sends when it loads the backend directly."""
    return _envelope(f'<GetAccount xmlns="{BENCH_NS}"><AccountId>42</AccountId></GetAccount>')


def order_body() -> dict[str, Any]:
    """The nested JSON body of the POST scenario (5 lines, options, two addresses)."""
    lines: list[dict[str, Any]] = []
    for index in range(5):
        line: dict[str, Any] = {
            "sku": f"SKU-{1000 + index * 17}",
            "quantity": 1 + index,
            "unitPrice": float(f"{9 + index * 3}.{(index * 37) % 100:02d}"),
        }
        if index % 2 == 0:
            line["options"] = {"giftWrap": index == 0, "engraving": f"For <Ada> & co #{index}"}
        lines.append(line)
    return {
        "reference": "PO-2026-0001",
        "customer": {
            "id": 42,
            "name": "Ada Lovelace-Byron",
            "email": "ada@example.org",
            "billingAddress": {
                "street": "12 St James's Square",
                "city": "London",
                "postcode": "SW1Y 4JH",
                "country": "GB",
            },
        },
        "shipTo": {
            "street": "Unter den Linden 77",
            "city": "Berlin",
            "postcode": "10117",
            "region": "Berlin",
            "country": "DE",
        },
        "lines": lines,
        "delivery": {"method": "express", "requestedDate": "2026-03-20"},
        "note": "Leave at reception; ring twice",
    }


@dataclass(frozen=True, slots=True)
class Fixtures:
    """Where :func:`write_fixtures` put things."""

    canned_dir: Path
    order_json: Path
    request_xml: Path
    sizes: dict[str, int]


def write_fixtures(out: Path) -> Fixtures:
    """Write the canned responses (``canned/*.xml``) and the POST body (``order.json``)."""
    canned = out / "canned"
    canned.mkdir(parents=True, exist_ok=True)
    payloads = {
        "account.xml": account_response(),
        "transactions.xml": transactions_response(),
        "order.xml": order_response(),
    }
    for name, data in payloads.items():
        (canned / name).write_bytes(data)
    (canned / "actions.json").write_text(json.dumps(ACTIONS, indent=2) + "\n", encoding="utf-8")
    request_xml = out / "request.xml"
    request_xml.write_bytes(request_envelope())
    order_json = out / "order.json"
    order_json.write_bytes(json.dumps(order_body(), separators=(",", ":")).encode())
    sizes = {name: len(data) for name, data in payloads.items()}
    sizes["order.json"] = order_json.stat().st_size
    return Fixtures(canned, order_json, request_xml, sizes)


# -- start-up fixtures: a realistic legacy WSDL, copied under different names --------------

_FIELD_TYPES: Final = (
    ("Code", "xs:string"),
    ("Name", "xs:string"),
    ("Description", "xs:string"),
    ("Quantity", "xs:int"),
    ("Amount", "xs:decimal"),
    ("Rate", "xs:double"),
    ("ValidFrom", "xs:date"),
    ("ModifiedAt", "xs:dateTime"),
    ("Active", "xs:boolean"),
    ("Owner", "xs:string"),
    ("Region", "xs:string"),
    ("Priority", "xs:short"),
)
_ENTITIES: Final = (
    "Customer",
    "Contract",
    "Invoice",
    "Payment",
    "Shipment",
    "Product",
    "Warehouse",
    "Supplier",
    "Employee",
    "Department",
    "Project",
    "Task",
    "Ticket",
    "Asset",
    "Vehicle",
    "Route",
    "Tariff",
    "Meter",
    "Reading",
    "Claim",
    "Policy",
    "Quote",
    "Campaign",
    "Lead",
    "Opportunity",
    "Store",
    "Terminal",
    "Voucher",
    "Coupon",
    "Ledger",
)
_OPS: Final = ("Get", "Search", "Create", "Update")


def _el(name: str, xsd: str, extra: str = "") -> str:
    return f'<xs:element name="{name}" type="{xsd}"{extra}/>'


def _complex(name: str, *elements: str) -> str:
    inner = "".join(elements)
    return f'<xs:complexType name="{name}"><xs:sequence>{inner}</xs:sequence></xs:complexType>'


def _wrapper(name: str, *elements: str) -> str:
    inner = "".join(elements)
    content = f"<xs:complexType><xs:sequence>{inner}</xs:sequence></xs:complexType>"
    return f'<xs:element name="{name}">{content}</xs:element>'


_OPTIONAL: Final = ' minOccurs="0"'
_MANY: Final = ' minOccurs="0" maxOccurs="unbounded"'


def _entity_types(entity: str) -> str:
    fields = "".join(
        _el(name, xsd, _OPTIONAL if i % 4 == 3 else "")
        for i, (name, xsd) in enumerate(_FIELD_TYPES)
    )
    return "".join(
        (
            _complex(
                entity,
                _el("Id", "xs:long"),
                fields,
                _el("Address", "tns:Address", _OPTIONAL),
                _el("Item", f"tns:{entity}Item", _MANY),
            ),
            _complex(
                f"{entity}Item",
                _el("Line", "xs:int"),
                _el("Code", "xs:string"),
                _el("Amount", "xs:decimal"),
                _el("Note", "xs:string", _OPTIONAL),
            ),
            _complex(
                f"{entity}Summary",
                _el("Id", "xs:long"),
                _el("Name", "xs:string"),
                _el("ModifiedAt", "xs:dateTime"),
            ),
            _wrapper(f"Get{entity}", _el("Id", "xs:long")),
            _wrapper(f"Get{entity}Response", _el(entity, f"tns:{entity}")),
            _wrapper(
                f"Search{entity}",
                _el("Name", "xs:string", _OPTIONAL),
                _el("Page", "xs:int", _OPTIONAL),
            ),
            _wrapper(f"Search{entity}Response", _el("Result", f"tns:{entity}Summary", _MANY)),
            _wrapper(f"Create{entity}", _el(entity, f"tns:{entity}")),
            _wrapper(f"Create{entity}Response", _el("Id", "xs:long")),
            _wrapper(f"Update{entity}", _el(entity, f"tns:{entity}")),
            _wrapper(f"Update{entity}Response", _el("Updated", "xs:boolean")),
        )
    )


def _message(name: str, element: str, part: str = "parameters") -> str:
    part_xml = f'<wsdl:part name="{part}" element="tns:{element}"/>'
    return f'<wsdl:message name="{name}">{part_xml}</wsdl:message>'


def _port_operation(op: str) -> str:
    return (
        f'<wsdl:operation name="{op}"><wsdl:input message="tns:{op}Request"/>'
        f'<wsdl:output message="tns:{op}Response"/>'
        '<wsdl:fault name="ServiceFault" message="tns:ServiceFault"/></wsdl:operation>'
    )


def _binding(name: str, soap: str, tns: str, ops: list[str]) -> str:
    fault = f'<{soap}:fault name="ServiceFault" use="literal"/>'
    body = "\n".join(
        f'<wsdl:operation name="{op}"><{soap}:operation soapAction="{tns}/{op}"/>'
        f'<wsdl:input><{soap}:body use="literal"/></wsdl:input>'
        f'<wsdl:output><{soap}:body use="literal"/></wsdl:output>'
        f'<wsdl:fault name="ServiceFault">{fault}</wsdl:fault></wsdl:operation>'
        for op in ops
    )
    return (
        f'<wsdl:binding name="{name}" type="tns:LegacyPortType">'
        f'<{soap}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f"{body}</wsdl:binding>"
    )


def startup_wsdl(index: int) -> str:
    """A realistic legacy WSDL (~30 entities, 120 operations, SOAP 1.1 and 1.2 bindings).

    Copy ``index`` has its own target namespace, service name and port names.
    """
    tns = f"urn:bench:legacy{index}"
    types = "\n".join(_entity_types(e) for e in _ENTITIES)
    address = _complex(
        "Address",
        *(_el(name, "xs:string") for name in ("Street", "City", "Postcode", "Country")),
    )
    fault = _wrapper("ServiceFault", _el("Code", "xs:string"), _el("Message", "xs:string"))
    ops = [f"{op}{entity}" for entity in _ENTITIES for op in _OPS]
    messages = "\n".join(
        _message(f"{op}Request", op) + _message(f"{op}Response", f"{op}Response") for op in ops
    )
    port_ops = "\n".join(_port_operation(op) for op in ops)
    url = f"http://127.0.0.1:18099/legacy{index}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"'
        ' xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
        ' xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"'
        ' xmlns:xs="http://www.w3.org/2001/XMLSchema"'
        f' xmlns:tns="{tns}" targetNamespace="{tns}" name="Legacy{index}Service">\n'
        f'<wsdl:types><xs:schema targetNamespace="{tns}" elementFormDefault="qualified">\n'
        f"{address}\n{fault}\n{types}\n</xs:schema></wsdl:types>\n"
        f"{_message('ServiceFault', 'ServiceFault', 'fault')}\n{messages}\n"
        f'<wsdl:portType name="LegacyPortType">{port_ops}</wsdl:portType>\n'
        f"{_binding('LegacySoap11', 'soap', tns, ops)}\n"
        f"{_binding('LegacySoap12', 'soap12', tns, ops)}\n"
        f'<wsdl:service name="Legacy{index}Service">'
        f'<wsdl:port name="Legacy{index}Soap11" binding="tns:LegacySoap11">'
        f'<soap:address location="{url}"/></wsdl:port>'
        f'<wsdl:port name="Legacy{index}Soap12" binding="tns:LegacySoap12">'
        f'<soap12:address location="{url}/12"/></wsdl:port>'
        "</wsdl:service>\n</wsdl:definitions>\n"
    )


def startup_mapping(index: int) -> str:
    """A mapping file over copy ``index``: a typed read, a derived search, a nested create."""
    prefix = f"/legacy{index}"
    return f"""\
version: 1
service:
  wsdl: legacy{index}.wsdl
  service: Legacy{index}Service
  port: Legacy{index}Soap11
  address: http://127.0.0.1:18099/legacy{index}
  namespaces:
    l: urn:bench:legacy{index}
routes:
  - get: {prefix}/customers/{{id}}
    operation: GetCustomer
    params:
      path: {{id: integer}}
    request:
      args:
        Id: "{{{{ path.id }}}}"
    response:
      root: l:GetCustomerResponse/l:Customer
      fields:
        id: l:Id
        name: l:Name
        amount: l:Amount
        modifiedAt: l:ModifiedAt
        active: l:Active
        items:
          xpath: l:Item
          fields:
            line: l:Line
            code: l:Code
            amount: l:Amount
  - get: {prefix}/invoices
    operation: SearchInvoice
    params:
      query:
        name: {{type: string, required: false}}
    request:
      args:
        Name: "{{{{ query.name }}}}"
  - get: {prefix}/contracts/{{id}}
    operation: GetContract
    params:
      path: {{id: integer}}
    request:
      args:
        Id: "{{{{ path.id }}}}"
  - post: {prefix}/payments
    operation: CreatePayment
    request:
      body: |
        <l:CreatePayment><l:Payment>
          <l:Id>{{{{ body.id | int }}}}</l:Id>
          <l:Code>{{{{ body.code }}}}</l:Code>
          <l:Name>{{{{ body.name }}}}</l:Name>
          <l:Description>{{{{ body.description }}}}</l:Description>
          <l:Amount>{{{{ body.amount | decimal }}}}</l:Amount>
          <l:Rate>{{{{ body.rate | decimal }}}}</l:Rate>
          <l:ValidFrom>{{{{ body.validFrom }}}}</l:ValidFrom>
          <l:Active>{{{{ "true" if body.active else "false" }}}}</l:Active>
          <l:Owner>{{{{ body.owner }}}}</l:Owner>
          <l:Region>{{{{ body.region }}}}</l:Region>
        </l:Payment></l:CreatePayment>
    response:
      status: 201
      root: l:CreatePaymentResponse
      fields:
        id: l:Id
"""


def write_startup_fixtures(out: Path, copies: int = 10) -> tuple[Path, Path, int]:
    """Write ``copies`` WSDLs and mapping files; return (mappings dir, wsdl dir, WSDL bytes)."""
    mappings = out / "mappings"
    wsdls = out / "wsdl"
    mappings.mkdir(parents=True, exist_ok=True)
    wsdls.mkdir(parents=True, exist_ok=True)
    size = 0
    for index in range(copies):
        text = startup_wsdl(index)
        size = len(text.encode())
        (wsdls / f"legacy{index}.wsdl").write_text(text, encoding="utf-8")
        (mappings / f"legacy{index}.yaml").write_text(startup_mapping(index), encoding="utf-8")
    return mappings, wsdls, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=HERE / "generated")
    args = parser.parse_args()
    fixtures = write_fixtures(args.out)
    _, _, wsdl_size = write_startup_fixtures(args.out / "startup")
    for name, size in fixtures.sizes.items():
        print(f"{name:20} {size:>8} bytes")
    print(f"{'startup WSDL (x10)':20} {wsdl_size:>8} bytes each")


if __name__ == "__main__":
    main()
