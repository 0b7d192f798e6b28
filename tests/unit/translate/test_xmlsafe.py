"""Hardened XML parsing (mediator.translate.xmlsafe)."""

from __future__ import annotations

import pytest

from mediator.translate import xmlsafe
from mediator.translate.xmlsafe import XMLLimits, XMLRejected, parse_xml, xml_safe_text

DTD_MESSAGE = "XML with a DTD (DOCTYPE) is not accepted"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""


def test_parses_well_formed_xml():
    """Well-formed XML parses into its root element with text and attributes."""
    root = parse_xml(b'<a x="1"><b>text</b></a>')
    assert root.tag == "a"
    assert root.get("x") == "1"
    assert root.findtext("b") == "text"


def test_keeps_namespaces():
    """Namespaced elements keep their namespace URIs."""
    root = parse_xml(b'<p:a xmlns:p="urn:p"><b xmlns="urn:d"/></p:a>')
    assert root.tag == "{urn:p}a"
    assert root[0].tag == "{urn:d}b"


def test_honours_declared_encoding():
    """The XML declaration's encoding is used to decode the bytes."""
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode("latin-1")
    assert parse_xml(data).text == "é"


def test_accepts_utf8_byte_order_mark():
    """A UTF-8 byte order mark before the document is accepted."""
    assert parse_xml(b"\xef\xbb\xbf<a>x</a>").text == "x"


def test_comments_and_processing_instructions_are_allowed():
    """Comments and processing instructions do not make a document unacceptable."""
    root = parse_xml(b"<!-- c --><a><!-- x --><?pi y?><b/></a>")
    assert root.find("b") is not None


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE a><a/>",
        b'<!DOCTYPE a SYSTEM "a.dtd"><a/>',
        b"<!DOCTYPE a [<!ELEMENT a ANY>]><a/>",
        b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
        b'<!DOCTYPE a [<!ATTLIST a x CDATA "injected">]><a/>',
    ],
    ids=["doctype", "external-dtd", "internal-subset", "internal-entity", "default-attribute"],
)
def test_dtds_are_rejected(data):
    """Any DOCTYPE, with or without an internal subset, is rejected."""
    with pytest.raises(XMLRejected) as info:
        parse_xml(data)
    assert str(info.value) == DTD_MESSAGE


def test_external_entity_is_rejected_and_not_read(tmp_path):
    """An external entity (XXE) is rejected and the file it names is not read."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f'<!DOCTYPE a [<!ENTITY e SYSTEM "file://{secret}">]><a>&e;</a>'.encode()
    with pytest.raises(XMLRejected) as info:
        parse_xml(data)
    assert str(info.value) == DTD_MESSAGE
    assert "TOP-SECRET" not in str(info.value)


def test_external_parameter_entity_is_rejected():
    """A parameter entity pointing at the network is rejected (never fetched)."""
    data = b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]><a/>'
    with pytest.raises(XMLRejected):
        parse_xml(data)


def test_billion_laughs_is_rejected():
    """Nested entity expansion (billion laughs) is rejected."""
    with pytest.raises(XMLRejected) as info:
        parse_xml(BILLION_LAUGHS)
    assert str(info.value) == DTD_MESSAGE


def test_undeclared_entity_reference_is_ill_formed():
    """An entity reference without a declaration is ill-formed XML."""
    with pytest.raises(XMLRejected, match=r"^ill-formed XML \(line 1\): "):
        parse_xml(b"<a>&e;</a>")


def test_predefined_entities_and_character_references_are_decoded():
    """The five predefined entities and character references are ordinary text."""
    assert parse_xml(b"<a>&lt;&gt;&amp;&quot;&apos;&#233;&#x41;</a>").text == "<>&\"'éA"


@pytest.mark.parametrize(
    "data",
    [
        b"<a><b></a>",
        b"<a>",
        b"",
        b"   ",
        b"hello",
        b'<?xml version="1.0"?>',
        b"<a/><b/>",
        b"<a>&#0;</a>",
    ],
    ids=[
        "mismatch",
        "unclosed",
        "empty",
        "blank",
        "text",
        "declaration-only",
        "two-roots",
        "nul-ref",
    ],
)
def test_ill_formed_xml_is_rejected(data):
    """Ill-formed documents are rejected with the line of the problem."""
    with pytest.raises(XMLRejected, match=r"^ill-formed XML \(line \d+\): "):
        parse_xml(data)


def test_ill_formed_reports_the_line():
    """The rejection names the line where the document breaks."""
    with pytest.raises(XMLRejected, match=r"^ill-formed XML \(line 3\): "):
        parse_xml(b"<a>\n<b>\n</c>\n</a>")


def _nested(depth: int) -> bytes:
    return b"<a>" * depth + b"</a>" * depth


def test_depth_at_the_bound_is_accepted():
    """A document exactly as deep as max_depth is accepted."""
    assert parse_xml(_nested(10), XMLLimits(max_depth=10)).tag == "a"


def test_depth_beyond_the_bound_is_rejected():
    """A document one level deeper than max_depth is rejected."""
    with pytest.raises(XMLRejected) as info:
        parse_xml(_nested(11), XMLLimits(max_depth=10))
    assert str(info.value) == "XML nested deeper than 10 levels"


def test_default_depth_bound():
    """By default, documents deeper than 128 levels are rejected."""
    assert parse_xml(_nested(128)).tag == "a"
    with pytest.raises(XMLRejected, match="XML nested deeper than 128 levels"):
        parse_xml(_nested(129))


def test_very_deep_documents_are_rejected():
    """Documents deeper than the parser's own limit are rejected as well."""
    with pytest.raises(XMLRejected):
        parse_xml(_nested(5000))


def _attributes(count: int) -> bytes:
    return b"<a " + b" ".join(b'a%d="1"' % i for i in range(count)) + b"/>"


def test_attributes_at_the_bound_are_accepted():
    """An element with exactly max_attributes attributes is accepted."""
    assert len(parse_xml(_attributes(5), XMLLimits(max_attributes=5)).attrib) == 5


def test_attributes_beyond_the_bound_are_rejected():
    """An element with more than max_attributes attributes is rejected."""
    with pytest.raises(XMLRejected) as info:
        parse_xml(_attributes(6), XMLLimits(max_attributes=5))
    assert str(info.value) == "an XML element has more than 5 attributes"


def test_attribute_bound_applies_to_nested_elements():
    """The attribute bound applies to every element, not only the root."""
    data = b"<r><x>" + _attributes(3) + b"</x></r>"
    with pytest.raises(XMLRejected, match="more than 2 attributes"):
        parse_xml(data, XMLLimits(max_attributes=2))


def test_children_bound():
    """An element with more than max_children children is rejected."""
    assert len(parse_xml(b"<a>" + b"<b/>" * 4 + b"</a>", XMLLimits(max_children=4))) == 4
    with pytest.raises(XMLRejected) as info:
        parse_xml(b"<a>" + b"<b/>" * 5 + b"</a>", XMLLimits(max_children=4))
    assert str(info.value) == "an XML element has more than 4 children"


def test_children_are_counted_per_parent():
    """Children are counted per element: many elements spread over parents are fine."""
    data = b"<a>" + b"<b><c/><c/></b>" * 2 + b"</a>"
    assert parse_xml(data, XMLLimits(max_children=2)).tag == "a"


def test_text_bound():
    """A text node longer than max_text is rejected; one of exactly max_text is accepted."""
    assert parse_xml(b"<a>" + b"x" * 100 + b"</a>", XMLLimits(max_text=100)).text == "x" * 100
    with pytest.raises(XMLRejected) as info:
        parse_xml(b"<a>" + b"x" * 101 + b"</a>", XMLLimits(max_text=100))
    assert str(info.value) == "an XML text node is too large"


def test_name_bound():
    """An element name longer than max_name is rejected."""
    with pytest.raises(XMLRejected) as info:
        parse_xml(b"<abcde/>", XMLLimits(max_name=4))
    assert str(info.value) == "an XML name is too long"


def _longest_run(data: bytes) -> int:
    """The reference for the cheap name bound: the longest run of name-like bytes."""
    runs = data.translate(bytes.maketrans(b"<>=\"'/", b"      ")).split()
    return max(map(len, runs), default=0)


@pytest.mark.parametrize(
    "data",
    [
        b"<abcd/>",
        b"<abcde/>",
        b"<a>abcde</a>",
        b'<a b="abcde"/>',
        b"<a:bcd xmlns:a='u'/>",
        b"<a>ab cd\tef\r\ngh</a>",
        b"<a>abcd/efgh</a>",
        b"<abc>abcd</abc><abcde",
        b"x" * 5,
        b"",
    ],
)
def test_cheap_name_bound_agrees_with_the_longest_run(data):
    """The C-level name proof says "within" exactly when no run of name bytes exceeds the
    bound, so a document it passes cannot hold a longer name."""
    assert xmlsafe._names_within(data, 4) == (_longest_run(data) <= 4)


def test_long_text_without_spaces_falls_back_to_the_exact_walk():
    """A long token that is text, not a name, fails the cheap proof but not the bound."""
    assert parse_xml(b"<a>" + b"y" * 50 + b"</a>", XMLLimits(max_name=4)).text == "y" * 50


def test_equals_signs_in_text_do_not_hide_attributes():
    """Counting ``=`` only proves the attribute bound; many of them in text still leave the
    real count to decide."""
    data = b'<a x="1"><b y="2">' + b"=" * 20 + b"</b></a>"
    assert parse_xml(data, XMLLimits(max_attributes=2)).tag == "a"
    with pytest.raises(XMLRejected, match="more than 1 attributes"):
        parse_xml(b'<a x="1" z="3">' + b"=" * 20 + b"</a>", XMLLimits(max_attributes=1))


def test_namespace_declarations_bound():
    """An element declaring more than max_namespaces namespaces is rejected."""
    data = b'<a xmlns:a="u1" xmlns:b="u2" xmlns:c="u3"/>'
    assert parse_xml(data, XMLLimits(max_namespaces=3)).tag == "a"
    with pytest.raises(XMLRejected) as info:
        parse_xml(data, XMLLimits(max_namespaces=2))
    assert str(info.value) == "an XML element declares too many namespaces"


def test_inherited_namespaces_are_not_counted_again():
    """Namespaces inherited from the parent do not count against a child."""
    data = b'<a xmlns:a="u1" xmlns:b="u2"><b:x><b:y/></b:x></a>'
    assert parse_xml(data, XMLLimits(max_namespaces=2)).tag == "a"


@pytest.mark.parametrize("text", ["", "plain", "tab\tnew\nline\rcr", "é€😀", "\ud7ff\ue000\ufffd"])
def test_xml_safe_text_accepts_xml_characters(text):
    """Text made of XML 1.0 characters (including tab, LF, CR and astral) is safe."""
    assert xml_safe_text(text) is True


@pytest.mark.parametrize(
    "text",
    ["\x00", "a\x01b", "\x08", "\x0b", "\x0c", "\x1f", "\ud800", "x\udfff", "\ufffe", "\uffff"],
)
def test_xml_safe_text_rejects_characters_xml_cannot_carry(text):
    """Control characters, lone surrogates, U+FFFE and U+FFFF are not safe."""
    assert xml_safe_text(text) is False


def test_ordinary_documents_skip_the_python_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap bounds counted in C prove an ordinary reply within every limit, so the exact
    per-element walk runs only for documents that could break one."""
    from mediator.translate import xmlsafe

    walked: list[int] = []
    original = xmlsafe._check_structure
    monkeypatch.setattr(
        xmlsafe, "_check_structure", lambda root, limits: walked.append(1) or original(root, limits)
    )
    ordinary = b"<r>" + b"".join(b'<i n="%d"><v>x</v></i>' % i for i in range(200)) + b"</r>"
    assert parse_xml(ordinary).tag == "r"
    assert walked == []
    with pytest.raises(XMLRejected, match="more than 3 children"):
        parse_xml(b"<r><a/><a/><a/><a/></r>", XMLLimits(max_children=3))
    assert walked == [1]
    deep = b"<a>" * 20 + b"</a>" * 20
    with pytest.raises(XMLRejected, match="deeper than 8 levels"):
        parse_xml(deep, XMLLimits(max_depth=8))
