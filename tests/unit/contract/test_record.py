"""Recording: what a fixture keeps from an exchange, and what it never keeps (secrets)."""

from __future__ import annotations

import json
from pathlib import Path

from mediator.contract.fixture import load_fixture
from mediator.contract.record import FixtureRecorder, fixture_from_exchange, soap_action_of
from mediator.contract.rules import WSSE, ContractConfig, load_config
from mediator.gateway.exchange import Exchange
from mediator.upstream.client import WireLog

REQUEST = f"""<?xml version="1.0" encoding="utf-8"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken><wsse:Username>svc</wsse:Username><wsse:Password>hunter2</wsse:Password><wsse:Nonce>n0nce</wsse:Nonce></wsse:UsernameToken></wsse:Security></soap-env:Header><soap-env:Body><ns0:CreateOrder xmlns:ns0="urn:example:orders"><ns0:Card>4111</ns0:Card></ns0:CreateOrder></soap-env:Body></soap-env:Envelope>""".encode()
RESPONSE = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><CreateOrderResponse xmlns="urn:example:orders"><OrderId>5</OrderId></CreateOrderResponse></s:Body></s:Envelope>'


def _exchange(**changes: object) -> Exchange:
    wire = WireLog(
        url="http://legacy/orders",
        request_headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '"urn:example:orders/CreateOrder"',
            "X-Request-ID": "r1",
        },
        request_body=REQUEST,
        response_status=200,
        response_headers={"content-type": "text/xml", "date": "today", "server": "legacy"},
        response_body=RESPONSE,
    )
    values: dict[str, object] = {
        "request_id": "r1",
        "started_at": 1767225600.5,
        "method": "POST",
        "path": "/orders",
        "query": {"token": "abc", "page": "2"},
        "headers": {"authorization": "Bearer xyz", "x-tenant": "acme"},
        "json_request": {"card": {"number": "4111"}, "qty": 1},
        "route": "create-order",
        "operation": "CreateOrder",
        "mapping_file": "mappings/orders.yaml",
        "wire": wire,
        "status": 201,
        "response_headers": {"Content-Type": "application/json"},
        "response_body": b'{"id":5,"token":"t-1"}',
    }
    values.update(changes)
    return Exchange(**values)  # type: ignore[arg-type]


def test_ws_security_secrets_and_credential_names_are_never_written(tmp_path: Path) -> None:
    """By default the WS-Security password and nonce, Authorization and a `token` query are redacted."""
    recorder = FixtureRecorder(tmp_path)
    recorder(_exchange())
    (directory,) = recorder.recorded
    written = "".join(p.read_text() for p in directory.iterdir())
    for secret in ("hunter2", "n0nce", "Bearer xyz", "abc"):
        assert secret not in written
    fixture = load_fixture(directory, tmp_path)
    assert fixture.headers == {"authorization": "REDACTED", "x-tenant": "acme"}
    assert fixture.query == {"token": "REDACTED", "page": "2"}
    assert b"<wsse:Username>svc</wsse:Username>" in fixture.soap_request  # not a secret


def test_configured_rules_redact_xml_json_and_headers(tmp_path: Path) -> None:
    """XPath and JSON Pointer rules from contract.yaml redact request and response bodies."""
    (tmp_path / "contract.yaml").write_text(
        "version: 1\nnamespaces: {o: 'urn:example:orders'}\n"
        "redact: {xml: ['//o:Card'], json: ['/card/number', '/token'], headers: [x-tenant]}\n"
    )
    fixture = fixture_from_exchange(_exchange(), tmp_path, load_config(tmp_path))
    assert fixture is not None
    assert b"<ns0:Card>REDACTED</ns0:Card>" in fixture.soap_request
    assert fixture.json_request == {"card": {"number": "REDACTED"}, "qty": 1}
    assert fixture.json_response == {"id": 5, "token": "REDACTED"}
    assert fixture.headers["x-tenant"] == "REDACTED"


def test_metadata_keeps_route_operation_soap_details_and_stable_headers(tmp_path: Path) -> None:
    """The fixture names route, operation, mapping file, SOAP version, action and body element;
    volatile headers (date, request id) are dropped."""
    fixture = fixture_from_exchange(_exchange(), tmp_path, ContractConfig.default())
    assert fixture is not None
    assert (fixture.route, fixture.operation, fixture.mapping_file) == (
        "create-order",
        "CreateOrder",
        "mappings/orders.yaml",
    )
    assert (fixture.soap_version, fixture.soap_action) == ("1.1", "urn:example:orders/CreateOrder")
    assert fixture.body_element == "{urn:example:orders}CreateOrder"
    assert fixture.soap_request_headers == {
        "content-type": "text/xml; charset=utf-8",
        "soapaction": '"urn:example:orders/CreateOrder"',
    }
    assert fixture.soap_response_headers == {"content-type": "text/xml"}
    assert fixture.recorded_at == "2026-01-01T00:00:00Z"
    assert fixture.name.startswith("create-order/post-orders-page-2-token-REDACTED-")
    assert fixture.soap_response.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<s:Envelope")
    assert b"\n    <CreateOrderResponse" in fixture.soap_response  # pretty-printed for review


def test_problem_responses_lose_their_request_id(tmp_path: Path) -> None:
    """A problem's request_id differs on every call, so it is not kept."""
    body = json.dumps(
        {"type": "urn:mediator:problem:upstream-fault", "status": 502, "request_id": "r1"}
    ).encode()
    exchange = _exchange(
        status=502,
        response_body=body,
        response_headers={"Content-Type": "application/problem+json"},
    )
    fixture = fixture_from_exchange(exchange, tmp_path, ContractConfig.default())
    assert fixture is not None
    assert fixture.json_response == {"type": "urn:mediator:problem:upstream-fault", "status": 502}
    assert fixture.response_content_type == "application/problem+json"


def test_exchanges_that_never_got_an_answer_are_not_recorded(tmp_path: Path) -> None:
    """No route, no upstream call, or no upstream answer: nothing is written."""
    config = ContractConfig.default()
    assert fixture_from_exchange(_exchange(route=None), tmp_path, config) is None
    assert fixture_from_exchange(_exchange(wire=None), tmp_path, config) is None
    assert (
        fixture_from_exchange(_exchange(wire=WireLog(request_body=REQUEST)), tmp_path, config)
        is None
    )
    recorder = FixtureRecorder(tmp_path)
    recorder(_exchange(wire=None))
    assert recorder.recorded == [] and list(tmp_path.iterdir()) == []


def test_non_xml_answers_are_stored_verbatim(tmp_path: Path) -> None:
    """An answer that is not XML (an HTML error page) is kept as soap-response.txt."""
    wire = WireLog(
        request_body=REQUEST,
        response_status=503,
        response_headers={"content-type": "text/html"},
        response_body=b"<html>down",
    )
    fixture = fixture_from_exchange(_exchange(wire=wire), tmp_path, ContractConfig.default())
    assert fixture is not None
    assert (fixture.soap_response_file, fixture.soap_response) == (
        "soap-response.txt",
        b"<html>down",
    )


def test_soap_action_is_read_from_either_version() -> None:
    """SOAP 1.1 puts the action in SOAPAction, 1.2 in the content type's action parameter."""
    assert soap_action_of({"SOAPAction": '"urn:a"'}) == "urn:a"
    assert (
        soap_action_of({"Content-Type": 'application/soap+xml; charset=utf-8; action="urn:b"'})
        == "urn:b"
    )
    assert soap_action_of({}) == ""
