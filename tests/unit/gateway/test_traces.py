"""Explain traces: redaction, the XPath walk and the bounded buffer."""

from __future__ import annotations

import pytest
from lxml import etree

from mediator.gateway.traces import (
    MAX_ITEMS,
    MAX_VALUE,
    REDACTED,
    TraceBuffer,
    explain_extraction,
    redact_headers,
    redact_json,
    redact_xml,
)
from mediator.mapping.model import FieldSpec, MappingSet, ResponseSpec

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"o": "urn:example:orders"}


def test_ws_security_and_secret_named_xml_is_redacted() -> None:
    """WS-Security passwords, nonces and SAML assertions go by XPath; leaf elements and
    attributes naming a secret go by name; structure and other values stay."""
    document = (
        f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:w="{WSSE}">'
        "<s:Header><w:Security><w:UsernameToken><w:Username>svc</w:Username>"
        "<w:Password Type='PasswordText'>pw-1</w:Password><w:Nonce>n-2</w:Nonce>"
        f"</w:UsernameToken><a:Assertion xmlns:a='{SAML2}'><a:Subject>s-3</a:Subject>"
        "</a:Assertion></w:Security></s:Header>"
        "<s:Body><Login apiKey='k-4'><User>ada</User><ClientSecret>s-5</ClientSecret>"
        "</Login></s:Body></s:Envelope>"
    ).encode()
    text = redact_xml(document)
    assert text is not None
    for secret in ("pw-1", "n-2", "s-3", "k-4", "s-5"):
        assert secret not in text
    assert "<w:Username>svc</w:Username>" in text and "<User>ada</User>" in text
    assert f'<w:Password Type="PasswordText">{REDACTED}</w:Password>' in text
    assert "<w:UsernameToken>" in text  # a parent whose name says token keeps its children


def test_xml_without_secrets_is_kept_verbatim_and_non_xml_as_text() -> None:
    """A document with nothing to redact is returned byte for byte; anything that is not
    XML is returned as (truncated) text."""
    raw = b'<?xml version="1.0"?>\n<a   x="1"><b>2</b></a>'
    assert redact_xml(raw) == raw.decode()
    assert redact_xml(b"<html>oops") == "<html>oops"
    assert redact_xml(None) is None
    long = redact_xml(b"x" * 70_000)
    assert long is not None and long.endswith("more characters]") and len(long) < 70_000


def test_json_and_headers_are_redacted_by_name() -> None:
    """JSON members naming a secret are replaced at any depth; headers naming credentials
    too; repeated headers are joined."""
    value = {"user": "ada", "password": "p", "nested": [{"apiKey": "k", "x": {"token": 1}}]}
    assert redact_json(value) == {
        "user": "ada",
        "password": REDACTED,
        "nested": [{"apiKey": REDACTED, "x": {"token": REDACTED}}],
    }
    from multidict import CIMultiDict

    headers = CIMultiDict([("Authorization", "Bearer x"), ("Accept", "a"), ("Accept", "b")])
    headers.add("X-Api-Key", "k")
    assert redact_headers(headers) == {
        "Authorization": REDACTED,
        "Accept": "a, b",
        "X-Api-Key": REDACTED,
    }


ORDER = (
    '<Body><GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id>'
    "<Customer><Id>1</Id><Name>Ada</Name><Vip>true</Vip></Customer>"
    + "".join(f"<Line><Sku>S{i}</Sku><Quantity>{i}</Quantity></Line>" for i in range(8))
    + "</Order></GetOrderResponse></Body>"
)


def test_extraction_is_explained_field_by_field(orders_mappings: MappingSet) -> None:
    """Every field gets its JSON path, XPath, match count, type and matched values; nested
    fields are explained per item, for the first few items of a list."""
    route = next(r for r in orders_mappings.routes if r.name == "get-order")
    entries = explain_extraction(route.response, etree.fromstring(ORDER))
    by_path = {entry["path"]: entry for entry in entries}
    assert entries[0] == {"path": "", "xpath": "o:GetOrderResponse/o:Order", "matched": 1}
    assert by_path["id"] == {
        "path": "id",
        "xpath": "o:Id",
        "type": "integer",
        "list": False,
        "matched": 1,
        "values": ["7"],
    }
    assert by_path["note"]["matched"] == 0 and by_path["note"]["values"] == []
    assert by_path["customer"]["matched"] == 1 and "values" not in by_path["customer"]
    assert by_path["customer.vip"]["values"] == ["true"]
    assert by_path["lines"]["matched"] == 8
    assert f"lines[{MAX_ITEMS - 1}].sku" in by_path and f"lines[{MAX_ITEMS}].sku" not in by_path


def test_secret_fields_long_values_and_failing_xpaths() -> None:
    """Values of fields naming a secret are redacted, long values truncated, and an XPath
    that fails is reported instead of raising."""
    body = etree.fromstring(
        '<Body><R xmlns="urn:example:orders"><Secret>s</Secret><Long>'
        + "y" * 500
        + "</Long></R></Body>"
    )

    def field(name: str, source: str) -> FieldSpec:
        return FieldSpec(
            name=name,
            source=source,
            xpath=etree.XPath(source, namespaces={**NS, "f": "urn:no-functions"}),
            kind="string",
            is_list=False,
            absent="omit",
        )

    spec = ResponseSpec(
        root_source="o:R",
        root=etree.XPath("o:R", namespaces=NS),
        fields=(
            field("password", "o:Secret"),
            field("long", "o:Long"),
            field("broken", "f:nothing()"),
        ),
    )
    entries = {e["path"]: e for e in explain_extraction(spec, body)}
    assert entries["password"]["values"] == [REDACTED]
    (long,) = entries["long"]["values"]
    assert long.startswith("y" * MAX_VALUE) and long.endswith("more characters]")
    assert entries["broken"]["error"].startswith("XPath failed")


def test_buffer_keeps_the_last_n() -> None:
    """The buffer drops the oldest trace when full; a repeated id replaces the older one."""
    buffer = TraceBuffer(2)
    for name in ("a", "b", "a", "c"):
        buffer.add({"request_id": name, "n": name})
    assert len(buffer) == 2
    assert buffer.get("b") is None
    assert buffer.get("a") == {"request_id": "a", "n": "a"}
    assert buffer.get("c") is not None
    with pytest.raises(ValueError, match="at least one"):
        TraceBuffer(0)
