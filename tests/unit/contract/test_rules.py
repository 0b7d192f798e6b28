"""contract.yaml: validation with positions, WS-Security defaults, applying rules."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from mediator.contract.rules import (
    MASKED,
    REDACTED,
    WSSE,
    ContractConfig,
    apply_json_rules,
    apply_xml_rules,
    compile_rules,
    load_config,
)
from mediator.errors import MappingError

SECURED = f"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:wsse="{WSSE}"
    xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">
  <s:Header><wsse:Security><wsse:UsernameToken wsu:Id="UT-1">
    <wsse:Username>alice</wsse:Username>
    <wsse:Password Type="PasswordText">s3cret</wsse:Password>
    <wsse:Nonce>bm9uY2U=</wsse:Nonce>
    <wsu:Created>2026-01-01T00:00:00Z</wsu:Created>
  </wsse:UsernameToken></wsse:Security></s:Header>
  <s:Body><o:Ping xmlns:o="urn:o">1</o:Ping></s:Body>
</s:Envelope>""".encode()


def test_without_a_file_the_ws_security_defaults_apply(tmp_path: Path) -> None:
    """No contract.yaml: WS-Security passwords and nonces are redacted, timestamps and ids masked."""
    config = load_config(tmp_path)
    root = etree.fromstring(SECURED)
    assert apply_xml_rules(root, config.redact.xml, REDACTED) == 2
    text = etree.tostring(root).decode()
    assert "s3cret" not in text and "bm9uY2U=" not in text
    assert 'Type="PasswordText"' in text  # the element keeps its attributes
    assert "<wsse:Username>alice</wsse:Username>" in text
    apply_xml_rules(root, config.mask.xml, MASKED)
    text = etree.tostring(root).decode()
    assert "2026-01-01" not in text and 'wsu:Id="[masked]"' in text


def test_defaults_can_be_switched_off_and_rules_added(tmp_path: Path) -> None:
    """`redact.defaults: false` drops the built-in rules; listed rules and route masks load."""
    (tmp_path / "contract.yaml").write_text(
        "version: 1\n"
        "namespaces: {o: 'urn:o'}\n"
        "redact: {defaults: false, xml: ['//o:Card'], json: ['/card'], headers: [X-Tenant]}\n"
        "mask: {json: ['/createdAt']}\n"
        "routes: {create: {mask: {xml: ['//o:Ref/@id']}}}\n"
        "record: {pretty: false}\n"
    )
    config = load_config(tmp_path)
    assert [r.source for r in config.redact.xml] == ["//o:Card"]
    assert config.redacts_name("x-tenant") and config.redacts_name("Authorization")
    assert not config.redacts_name("Accept")
    assert config.masks_for("create").sources == ["//o:Card", "//o:Ref/@id", "/createdAt", "/card"]
    assert config.masks_for("other").sources == ["//o:Card", "/createdAt", "/card"]
    assert config.pretty is False


def test_every_issue_is_reported_with_its_position(tmp_path: Path) -> None:
    """Unknown keys, bad versions, undeclared prefixes and non-pointers are all listed, at file:line:col."""
    (tmp_path / "contract.yaml").write_text(
        "version: 2\nredact:\n  xml: ['//x:Secret']\n  jsn: []\nmask:\n  json: ['createdAt']\n"
    )
    with pytest.raises(MappingError) as caught:
        load_config(tmp_path)
    lines = [str(issue) for issue in caught.value.issues]
    file = tmp_path / "contract.yaml"
    assert (
        f"{file}:4:3: redact.jsn: unknown key; expected one of defaults, headers, json, xml"
        in lines
    )
    assert f"{file}:1:10: version: expected version 1, got 2" in lines
    assert any(
        line.startswith(
            f"{file}:3:9: redact.xml[0]: invalid XPath '//x:Secret': Undefined namespace prefix (declared prefixes: ds, saml1,"
        )
        for line in lines
    )
    assert any(
        line.startswith(f"{file}:6:10: mask.json[0]: invalid JSON Pointer 'createdAt'")
        for line in lines
    )


def test_json_pointers_replace_members_items_and_wildcards() -> None:
    """A pointer replaces one value; `*` every member or item; a missing target changes nothing."""
    value = {"a": {"b": 1}, "lines": [{"sku": "x", "p": Decimal("1.5")}, {"sku": "y"}], "k~/": 2}
    rules = compile_rules(
        json=["/a/b", "/lines/*/sku", "/lines/0/p", "/missing/x", "/k~0~1"], namespaces={}
    )
    out = apply_json_rules(value, rules.json, "R")
    assert out == {"a": {"b": "R"}, "lines": [{"sku": "R", "p": "R"}, {"sku": "R"}], "k~/": "R"}
    assert value["a"] == {"b": 1}  # the input is not modified
    assert apply_json_rules(value, compile_rules(json=[""], namespaces={}).json, "R") == "R"


def test_xml_rules_replace_attributes_and_text_nodes() -> None:
    """XPath rules may select attributes and text nodes as well as elements."""
    root = etree.fromstring(b'<r xmlns:o="urn:o"><o:a id="7">x</o:a><o:b>y<c/>tail</o:b></r>')
    rules = compile_rules(xml=["//o:a/@id", "//o:b/text()"], namespaces={"o": "urn:o"})
    assert apply_xml_rules(root, rules.xml, "M") == 3
    assert etree.tostring(root) == b'<r xmlns:o="urn:o"><o:a id="M">x</o:a><o:b>M<c/>M</o:b></r>'


def test_default_config_masks_include_redactions() -> None:
    """Every redaction rule is also a mask: a redacted recording must still compare equal."""
    config = ContractConfig.default()
    sources = config.masks_for(None).sources
    assert "//wsse:Password" in sources and "//wsu:Created" in sources
