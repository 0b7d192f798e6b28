"""Replay matching: operation + canonical body with masks; closest fixtures on a miss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from mediator.contract.replay import ReplayBackend, convert_envelope
from mediator.errors import Fault
from mediator.translate.envelope import read_envelope

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"


def _get_order(order_id: int, version: str = "1.1", extra: str = "") -> bytes:
    ns = S11 if version == "1.1" else S12
    return (
        f'<e:Envelope xmlns:e="{ns}"><e:Header>{extra}</e:Header><e:Body>'
        f'<GetOrder xmlns="urn:example:orders"><OrderId>{order_id}</OrderId></GetOrder>'
        "</e:Body></e:Envelope>"
    ).encode()


H11 = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '"urn:example:orders/GetOrder"'}
H12 = {"Content-Type": 'application/soap+xml; charset=utf-8; action="urn:example:orders/GetOrder"'}


@pytest.fixture
def backend(fixtures_copy: Path) -> ReplayBackend:
    """A replay backend over a copy of the bundled fixtures."""
    return ReplayBackend.from_directory(fixtures_copy)


def test_a_request_written_differently_gets_the_recorded_answer(
    backend: ReplayBackend, fixtures_copy: Path
) -> None:
    """Prefixes, header content and whitespace do not matter; the recorded bytes come back."""
    answer = backend.answer(H11, _get_order(1001, extra="<x xmlns='urn:x'>ignored</x>"))
    assert answer.fixture is not None and answer.fixture.name == "get-order/get-orders-1001"
    assert answer.status == 200 and answer.content_type.startswith("text/xml")
    assert (
        answer.body == (fixtures_copy / "get-order/get-orders-1001/soap-response.xml").read_bytes()
    )
    assert backend.served == ["get-order/get-orders-1001"]


def test_recorded_faults_replay_with_their_status(backend: ReplayBackend) -> None:
    """A recorded fault answers with HTTP 500 and the fault."""
    answer = backend.answer(H11, _get_order(4242))
    assert answer.status == 500
    with pytest.raises(Fault) as caught:
        read_envelope(answer.body, expected_version="1.1", http_status=500)
    assert caught.value.detail == {"NotFound": {"Entity": "Order", "Key": "4242"}}


def test_a_soap12_request_gets_a_converted_answer(backend: ReplayBackend) -> None:
    """Fixtures recorded in SOAP 1.1 answer SOAP 1.2 requests in SOAP 1.2, faults included."""
    answer = backend.answer(H12, _get_order(1001, "1.2"))
    assert answer.content_type.startswith("application/soap+xml")
    envelope = read_envelope(answer.body, expected_version="1.2")
    assert envelope.body[0].findtext("{urn:example:orders}Order/{urn:example:orders}Id") == "1001"
    fault_answer = backend.answer(H12, _get_order(4242, "1.2"))
    with pytest.raises(Fault) as caught:
        read_envelope(fault_answer.body, expected_version="1.2", http_status=500)
    fault = caught.value
    assert (fault.code, fault.string, fault.soap_version) == (
        "Sender",
        "Order 4242 not found",
        "1.2",
    )
    assert fault.detail == {"NotFound": {"Entity": "Order", "Key": "4242"}}


def test_an_unmatched_request_names_the_closest_fixtures_and_the_difference(
    backend: ReplayBackend,
) -> None:
    """A miss is a Server fault listing the closest recordings of the operation, with diffs."""
    answer = backend.answer(H11, _get_order(555))
    assert answer.fixture is None and answer.status == 500
    with pytest.raises(Fault) as caught:
        read_envelope(answer.body, expected_version="1.1", http_status=500)
    fault = caught.value
    assert fault.code == "Server"
    assert fault.string.startswith(
        "replay: no recorded GetOrder exchange matches this request; closest: get-order/get-orders-"
    )
    closest = fault.detail["NoMatch"]["Closest"]  # type: ignore[index]
    assert len(closest) == 3 and all(c["Fixture"].startswith("get-order/") for c in closest)
    assert (
        "-    <o:OrderId>" in closest[0]["Diff"]
        and "+    <o:OrderId>555</o:OrderId>" in closest[0]["Diff"]
    )


def test_masks_from_contract_yaml_apply_to_matching(fixtures_copy: Path) -> None:
    """A route mask lets a request with another value of the masked element match."""
    config = fixtures_copy / "contract.yaml"
    config.write_text(
        config.read_text().replace(
            "routes: {}", "routes: {get-order: {mask: {xml: ['//o:OrderId']}}}"
        )
    )
    backend = ReplayBackend.from_directory(fixtures_copy)
    answer = backend.answer(H11, _get_order(555))
    assert answer.fixture is not None and answer.fixture.route == "get-order"


def test_a_request_that_is_not_soap_gets_a_client_fault(backend: ReplayBackend) -> None:
    """Non-XML or non-envelope bodies get HTTP 400 with a fault of the content type's version."""
    answer = backend.answer(H12, b"not xml")
    assert answer.status == 400
    with pytest.raises(Fault, match="not a SOAP envelope"):
        read_envelope(answer.body, expected_version="1.2", http_status=400)


def test_convert_envelope_keeps_header_and_translates_codes() -> None:
    """1.2 → 1.1 turns Receiver into Server, Reason into faultstring, Role into faultactor."""
    fault12 = (
        f'<e:Envelope xmlns:e="{S12}"><e:Body><e:Fault><e:Code><e:Value>e:Receiver</e:Value>'
        "<e:Subcode><e:Value>Busy</e:Value></e:Subcode></e:Code>"
        '<e:Reason><e:Text xml:lang="en">later</e:Text></e:Reason><e:Role>urn:r</e:Role>'
        "<e:Detail><d xmlns='urn:d'>1</d></e:Detail></e:Fault></e:Body></e:Envelope>"
    ).encode()
    with pytest.raises(Fault) as caught:
        read_envelope(convert_envelope(fault12, "1.1"), expected_version="1.1")
    fault = caught.value
    assert (fault.code, fault.subcodes, fault.string, fault.actor, fault.detail) == (
        "Server",
        ("Busy",),
        "later",
        "urn:r",
        {"d": "1"},
    )
    ok = _get_order(1, extra="<h xmlns='urn:h'>1</h>")
    converted = etree.fromstring(convert_envelope(ok, "1.2"))
    assert etree.QName(converted).namespace == S12
    assert (
        converted.findtext("{urn:h}h") is None
        and converted.find(f"{{{S12}}}Header/{{urn:h}}h") is not None
    )
    assert convert_envelope(ok, "1.1") == ok  # same version: unchanged


def test_every_bundled_fixture_declares_what_replay_matches_on(fixtures_copy: Path) -> None:
    """Every bundled fixture declares the SOAP version and body element replay matches on."""
    for meta in fixtures_copy.rglob("fixture.json"):
        data = json.loads(meta.read_text())
        assert data["soap_request"]["soap_version"] in ("1.1", "1.2")
        assert data["soap_request"]["body_element"].startswith("{urn:example:orders}")
