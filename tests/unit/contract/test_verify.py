"""verify: each kind of mapping change fails with a precise diff naming file and route."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mediator.contract.fixture import load_fixture
from mediator.contract.verify import FixtureResult, Verifier, summarize
from mediator.mapping.model import MappingSet

Changed = Callable[..., MappingSet]
Make = Callable[[MappingSet, Path], Verifier]


def _one(verifier: Verifier, root: Path, name: str, *, update: bool = False) -> FixtureResult:
    return verifier.verify_path(root / name, update=update)


def _diff_lines(result: FixtureResult) -> list[str]:
    return [line for d in result.differences for line in d.diff.splitlines()]


def _route(mappings: MappingSet, name: str) -> str:
    route = next(r for r in mappings.routes if r.name == name)
    return f"{route.file}:{route.line} route {name}"


def test_unchanged_mappings_verify_every_bundled_fixture(
    orders_mappings: MappingSet, fixtures_copy: Path, verifier_for: Make
) -> None:
    """The bundled fixtures match the bundled mapping."""
    results = verifier_for(orders_mappings, fixtures_copy).verify_all()
    assert len(results) >= 15
    assert [r.name for r in results if not r.passed] == []
    assert summarize(results) == f"{len(results)} fixture(s): {len(results)} passed, 0 failed"


def test_a_renamed_field_fails_with_a_json_diff(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """Renaming customerName to customer shows the old member removed and the new one added."""
    mappings = changed_mappings(("customerName: o:CustomerName", "customer: o:CustomerName"))
    result = _one(
        verifier_for(mappings, fixtures_copy),
        fixtures_copy,
        "search-orders/get-orders-customerId-2",
    )
    assert not result.passed
    assert [d.what for d in result.differences] == ["json-response"]
    lines = _diff_lines(result)
    assert (
        lines[0]
        == f"--- {fixtures_copy}/search-orders/get-orders-customerId-2/response.json (recorded)"
    )
    assert lines[1] == f"+++ {_route(mappings, 'search-orders')} (extracted now)"
    assert [line for line in lines[2:] if line[0] in "+-"] == [
        '-      "customerName": "Józef Wybicki",',
        '+      "customer": "Józef Wybicki",',
    ]
    report = result.report()
    assert report.startswith(
        "FAIL search-orders/get-orders-customerId-2\n  route search-orders: GET /orders ("
    )
    assert "JSON response differs from the recording:" in report


def test_a_wrong_xpath_fails_with_the_wrong_value(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """An XPath pointing at the wrong element shows the recorded and the extracted value."""
    mappings = changed_mappings(("\n            email: o:Email\n", "\n            email: o:Name\n"))
    result = _one(verifier_for(mappings, fixtures_copy), fixtures_copy, "get-order/get-orders-1001")
    assert [d.what for d in result.differences] == ["json-response"]
    assert [line for line in _diff_lines(result)[2:] if line[0] in "+-"] == [
        '-    "email": "ada@example.org",',
        '+    "email": "Ada Lovelace",',
    ]


def test_a_changed_body_template_fails_with_an_xml_diff(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """Renaming an element in a body template shows the SOAP request lines that changed."""
    mappings = changed_mappings(
        (
            "<o:Quantity>{{ line.quantity | int }}</o:Quantity>",
            "<o:Qty>{{ line.quantity | int }}</o:Qty>",
        )
    )
    verifier = verifier_for(mappings, fixtures_copy)
    name = next(
        path.parent.relative_to(fixtures_copy).as_posix()
        for path in sorted(fixtures_copy.glob("create-order/*/request.json"))
        if json.loads(path.read_text())["lines"]
        == [{"sku": "NTB-A5", "quantity": 2, "unitPrice": 19.99}]
    )
    result = _one(verifier, fixtures_copy, name)
    assert [d.what for d in result.differences] == ["soap-request"]
    lines = _diff_lines(result)
    assert lines[0] == f"--- {fixtures_copy}/{name}/soap-request.xml (recorded)"
    assert lines[1] == f"+++ {_route(mappings, 'create-order')} (rendered now)"
    assert [line for line in lines[2:] if line[0] in "+-"] == [
        "-        <o:Quantity>2</o:Quantity>",
        "+        <o:Qty>2</o:Qty>",
    ]


def test_a_changed_args_template_fails_with_an_xml_diff(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """An args template computing another value shows the element's old and new text."""
    mappings = changed_mappings(('OrderId: "{{ path.id }}"', 'OrderId: "{{ path.id + 1 }}"'))
    result = _one(verifier_for(mappings, fixtures_copy), fixtures_copy, "get-order/get-orders-1001")
    assert [d.what for d in result.differences] == ["soap-request"]
    assert [line for line in _diff_lines(result)[2:] if line[0] in "+-"] == [
        "-      <o:OrderId>1001</o:OrderId>",
        "+      <o:OrderId>1002</o:OrderId>",
    ]


def test_a_changed_fault_rule_fails_with_the_problem_diff(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """A fault rule's new title or status is a contract change too."""
    mappings = changed_mappings(
        (
            "        status: 404\n        title: Order not found",
            "        status: 410\n        title: Order gone",
        )
    )
    result = _one(verifier_for(mappings, fixtures_copy), fixtures_copy, "get-order/get-orders-4242")
    lines = [line for line in _diff_lines(result)[2:] if line[0] in "+-"]
    assert lines == [
        "-HTTP 404",
        "+HTTP 410",
        '-  "status": 404,',
        '-  "title": "Order not found",',
        '+  "status": 410,',
        '+  "title": "Order gone",',
    ]


def test_a_moved_route_and_a_rejected_request_are_reported(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """A path no route serves, and a recorded request the mapping now refuses, are failures."""
    mappings = changed_mappings(
        ("- get: /orders/{id}", "- get: /order/{id}"),
        ("enum: [open, shipped, cancelled]", "enum: [shipped, cancelled]"),
    )
    verifier = verifier_for(mappings, fixtures_copy)
    moved = _one(verifier, fixtures_copy, "get-order/get-orders-1001")
    assert moved.differences[0].message == (
        "no route matches GET /orders/1001 any more (recorded through route get-order of mappings/orders.yaml)"
    )
    rejected = _one(verifier, fixtures_copy, "search-orders/get-orders-status-open")
    assert rejected.differences[0].message == (
        "the recorded JSON request is now rejected (HTTP 400): query parameter 'status': expected one of shipped, cancelled, got 'open'"
    )


def test_decimal_digits_count(
    orders_mappings: MappingSet, fixtures_copy: Path, verifier_for: Make
) -> None:
    """A recorded 1234.50 is not matched by 1234.5: JSON is compared exactly."""
    path = fixtures_copy / "get-order/get-orders-1001/response.json"
    path.write_text(path.read_text().replace('"total": 1234.50', '"total": 1234.5'))
    result = _one(
        verifier_for(orders_mappings, fixtures_copy), fixtures_copy, "get-order/get-orders-1001"
    )
    assert [line for line in _diff_lines(result)[2:] if line[0] in "+-"] == [
        '-  "total": 1234.5',
        '+  "total": 1234.50',
    ]


def test_masks_make_volatile_values_irrelevant(
    orders_mappings: MappingSet, fixtures_copy: Path, verifier_for: Make
) -> None:
    """A value masked by a fixture's own rule may differ; without the rule it fails."""
    directory = fixtures_copy / "get-order/get-orders-1001"
    request = directory / "soap-request.xml"
    request.write_text(request.read_text().replace(">1001<", ">999<"))
    verifier = verifier_for(orders_mappings, fixtures_copy)
    assert not _one(verifier, fixtures_copy, "get-order/get-orders-1001").passed
    meta = json.loads((directory / "fixture.json").read_text())
    meta["masks"] = {"xml": ["//o:OrderId"]}
    (directory / "fixture.json").write_text(json.dumps(meta))
    assert _one(verifier, fixtures_copy, "get-order/get-orders-1001").passed


def test_update_rewrites_expectations_and_then_passes(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """--update rewrites the JSON response (not the upstream's SOAP response), shows the diff, and the next run passes."""
    mappings = changed_mappings(("customerName: o:CustomerName", "customer: o:CustomerName"))
    verifier = verifier_for(mappings, fixtures_copy)
    name = "search-orders/get-orders-customerId-2"
    soap_response = (fixtures_copy / name / "soap-response.xml").read_bytes()
    result = _one(verifier, fixtures_copy, name, update=True)
    assert result.updated and result.passed
    assert result.report().startswith(f"UPDATED {name}")
    assert '+      "customer": "Józef Wybicki",' in _diff_lines(result)
    assert (fixtures_copy / name / "soap-response.xml").read_bytes() == soap_response
    assert (
        load_fixture(fixtures_copy / name).json_response["orders"][0]["customer"] == "Józef Wybicki"
    )
    again = _one(verifier, fixtures_copy, name)
    assert again.passed and not again.differences


def test_update_of_a_template_rewrites_the_soap_request(
    changed_mappings: Changed, fixtures_copy: Path, verifier_for: Make
) -> None:
    """After a template change, --update stores the new SOAP request, pretty-printed."""
    mappings = changed_mappings(('OrderId: "{{ path.id }}"', 'OrderId: "{{ path.id + 1 }}"'))
    verifier = verifier_for(mappings, fixtures_copy)
    assert _one(verifier, fixtures_copy, "get-order/get-orders-1001", update=True).updated
    assert (
        "<ns0:OrderId>1002</ns0:OrderId>"
        in (fixtures_copy / "get-order/get-orders-1001/soap-request.xml").read_text()
    )
    assert _one(verifier, fixtures_copy, "get-order/get-orders-1001").passed


def test_a_broken_fixture_fails_alone(
    orders_mappings: MappingSet, fixtures_copy: Path, verifier_for: Make
) -> None:
    """An unreadable fixture is one failure naming its file; the others are still verified."""
    (fixtures_copy / "get-order/get-orders-1002/response.json").write_text("{")
    results = verifier_for(orders_mappings, fixtures_copy).verify_all()
    failed = [r for r in results if not r.passed]
    assert [r.name for r in failed] == ["get-order/get-orders-1002"]
    assert "response.json: not valid JSON" in failed[0].differences[0].message
