"""Canonical XML and JSON: what counts as a difference and what does not."""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from mediator.contract.canonical import canonical_json, canonical_xml, similarity, text_diff
from mediator.contract.rules import compile_rules

A = b"""<?xml version='1.0' encoding='utf-8'?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:Get xmlns:ns0="urn:o" b="2" a="1"><ns0:Id>7</ns0:Id><!-- note --></ns0:Get></soap-env:Body></soap-env:Envelope>"""
B = b"""<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:o">
  <S:Body>
    <o:Get a="1" b="2">
      <o:Id>7</o:Id>
    </o:Get>
  </S:Body>
</S:Envelope>"""


def _c(data: bytes, **kwargs: object) -> str:
    return canonical_xml(etree.fromstring(data), **kwargs)  # type: ignore[arg-type]


def test_prefixes_attribute_order_whitespace_and_comments_do_not_count() -> None:
    """Two serializations of the same envelope have the same canonical text, with preferred prefixes."""
    assert _c(A, prefixes={"o": "urn:o"}) == _c(B, prefixes={"o": "urn:o"})
    assert _c(A, prefixes={"o": "urn:o"}) == (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:o">\n'
        "  <soap:Body>\n"
        '    <o:Get a="1" b="2">\n'
        "      <o:Id>7</o:Id>\n"
        "    </o:Get>\n"
        "  </soap:Body>\n"
        "</soap:Envelope>\n"
    )


def test_leaf_text_namespaces_and_order_count() -> None:
    """Leaf whitespace, a namespace URI and element order are significant."""
    base = _c(B)
    assert _c(B.replace(b">7<", b"> 7<")) != base
    assert _c(B.replace(b'xmlns:o="urn:o"', b'xmlns:o="urn:p"')) != base
    swapped = b'<e xmlns="urn:o"><a/><b/></e>', b'<e xmlns="urn:o"><b/><a/></e>'
    assert _c(swapped[0]) != _c(swapped[1])


def test_unknown_namespaces_get_stable_generated_prefixes() -> None:
    """Namespaces without a preferred prefix are numbered in order of first use."""
    text = _c(b'<x:a xmlns:x="urn:one"><y:b xmlns:y="urn:two" y:at="1"/></x:a>')
    assert (
        text == '<ns0:a xmlns:ns0="urn:one" xmlns:ns1="urn:two">\n  <ns1:b ns1:at="1"/>\n</ns0:a>\n'
    )


def test_masks_hide_values_but_not_presence() -> None:
    """A masked value may differ; a masked element must still be there."""
    rules = compile_rules(xml=["//o:Id"], namespaces={"o": "urn:o"}).xml
    other = B.replace(b">7<", b">8<")
    assert _c(B, masks=rules) == _c(other, masks=rules)
    assert "[masked]" in _c(B, masks=rules)
    missing = B.replace(b"<o:Id>7</o:Id>", b"")
    assert _c(B, masks=rules) != _c(missing, masks=rules)


def test_body_only_ignores_envelope_version_and_header() -> None:
    """Replay matching compares only the Body's content, whatever the SOAP version or header."""
    v12 = B.replace(
        b"http://schemas.xmlsoap.org/soap/envelope/", b"http://www.w3.org/2003/05/soap-envelope"
    )
    with_header = B.replace(b"<S:Body>", b"<S:Header><h xmlns='urn:h'>1</h></S:Header><S:Body>")
    assert _c(B, body_only=True) == _c(v12, body_only=True) == _c(with_header, body_only=True)
    assert _c(B, body_only=True).startswith("<Body")


def test_json_is_compared_with_exact_digits_and_types() -> None:
    """1.50 ≠ 1.5, 1 ≠ true ≠ "1", but member order does not count."""
    assert canonical_json({"a": 1, "b": 2}) == canonical_json({"b": 2, "a": 1})
    assert canonical_json({"t": Decimal("1.50")}) != canonical_json({"t": Decimal("1.5")})
    assert canonical_json([1]) != canonical_json([True]) != canonical_json(["1"])
    masked = compile_rules(json=["/id"], namespaces={}).json
    assert canonical_json({"id": 1}, masks=masked) == canonical_json({"id": 2}, masks=masked)


def test_diff_names_both_sides_and_similarity_ranks() -> None:
    """Diffs are unified diffs with the given names; similarity is 1.0 for equal texts."""
    diff = text_diff("a\nb\n", "a\nc\n", expected_name="rec", actual_name="now")
    assert diff.splitlines()[:2] == ["--- rec", "+++ now"]
    assert "-b" in diff and "+c" in diff
    assert text_diff("x\n", "x\n", expected_name="a", actual_name="b") == ""
    assert (
        similarity("a\nb\n", "a\nb\n")
        == 1.0
        > similarity("a\nb\n", "a\nc\n")
        > similarity("a\n", "z\n")
    )
