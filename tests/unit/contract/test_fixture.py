"""The fixture format: written files read back identically; broken fixtures are named."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from mediator.contract.fixture import (
    Fixture,
    FixtureError,
    discover_fixtures,
    fixture_slug,
    load_fixture,
    pretty_xml,
    route_slug,
    write_fixture,
)


def _fixture(path: Path, **changes: object) -> Fixture:
    fixture = Fixture(
        path=path,
        name="r/x",
        route="r",
        operation="Get",
        mapping_file="mappings/x.yaml",
        recorded_at="2026-01-01T00:00:00Z",
        method="POST",
        http_path="/x",
        query={"q": "1"},
        headers={"x-tenant": "t"},
        json_request={"price": Decimal("1.50")},
        has_json_request=True,
        soap_request=b"<a/>\n",
        soap_response=b"<b/>\n",
        json_response={"total": Decimal("3.00")},
        response_status=201,
    )
    return fixture.replace(**changes)


def test_written_fixture_reads_back_with_exact_decimals(tmp_path: Path) -> None:
    """Every field survives a write and a load; decimals keep their digits."""
    written = _fixture(tmp_path / "r" / "x", mask_sources={"json": ["/id"]})
    write_fixture(written)
    loaded = load_fixture(tmp_path / "r" / "x", tmp_path)
    assert loaded == written
    assert (tmp_path / "r/x/response.json").read_text() == '{\n  "total": 3.00\n}\n'
    assert sorted(p.name for p in (tmp_path / "r/x").iterdir()) == [
        "fixture.json",
        "request.json",
        "response.json",
        "soap-request.xml",
        "soap-response.xml",
    ]


def test_a_fixture_without_body_has_no_request_json(tmp_path: Path) -> None:
    """A request without a JSON body writes no request.json (and removes a stale one)."""
    write_fixture(_fixture(tmp_path))
    write_fixture(_fixture(tmp_path, json_request=None, has_json_request=False))
    assert not (tmp_path / "request.json").exists()
    assert load_fixture(tmp_path).has_json_request is False


def test_broken_fixtures_raise_errors_naming_the_file(tmp_path: Path) -> None:
    """A missing file, invalid JSON or an unknown format is a FixtureError with the path."""
    write_fixture(_fixture(tmp_path))
    (tmp_path / "soap-request.xml").unlink()
    with pytest.raises(FixtureError, match=r"soap-request\.xml"):
        load_fixture(tmp_path)
    (tmp_path / "fixture.json").write_text('{"format": 9}')
    with pytest.raises(FixtureError, match=r"fixture.json: unknown format 9"):
        load_fixture(tmp_path)
    (tmp_path / "fixture.json").write_text("{")
    with pytest.raises(FixtureError, match="not valid JSON"):
        load_fixture(tmp_path)


def test_discovery_finds_nested_fixtures_in_order(tmp_path: Path) -> None:
    """Fixture directories are found at any depth, sorted; a fixture directory finds itself."""
    for name in ("b/one", "a/two", "a/one"):
        write_fixture(_fixture(tmp_path / name))
    assert [p.relative_to(tmp_path).as_posix() for p in discover_fixtures(tmp_path)] == [
        "a/one",
        "a/two",
        "b/one",
    ]
    assert discover_fixtures(tmp_path / "a/one") == [tmp_path / "a/one"]


def test_pretty_xml_indents_and_is_stable() -> None:
    """Pretty printing indents element content, keeps leaf text, and is idempotent."""
    once = pretty_xml(etree.fromstring(b'<a xmlns="urn:a"><b> x </b><c><d/></c></a>'))
    assert once == (
        b"<?xml version='1.0' encoding='utf-8'?>\n"
        b'<a xmlns="urn:a">\n  <b> x </b>\n  <c>\n    <d/>\n  </c>\n</a>\n'
    )
    assert pretty_xml(etree.fromstring(once)) == once


def test_names_are_readable_and_bodies_hashed() -> None:
    """Names come from method, path and query; a body adds a short stable hash."""
    assert fixture_slug("GET", "/orders/1001", {}, None) == "get-orders-1001"
    assert (
        fixture_slug("GET", "/orders", {"status": "open", "a": "1"}, None)
        == "get-orders-a-1-status-open"
    )
    body = fixture_slug("POST", "/orders", {}, {"x": 1})
    assert body.startswith("post-orders-") and len(body) == len("post-orders-") + 8
    assert (
        body
        == fixture_slug("POST", "/orders", {}, {"x": 1})
        != fixture_slug("POST", "/orders", {}, {"x": 2})
    )
    assert route_slug("GET /orders/{id}") == "GET-orders-id"
