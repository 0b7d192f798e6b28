"""Strict JSON parsing and exact JSON encoding (mediator.translate.jsonio)."""

from __future__ import annotations

import json
import random
import time
from decimal import Decimal

import pytest

from mediator.errors import ClientError
from mediator.translate import jsonio
from mediator.translate.jsonio import dumps, json_xml_safe, loads_strict, plain_json


def _rejected(data: bytes, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        loads_strict(data, **kwargs)
    assert info.value.status == 400
    return info.value.detail


def test_parses_objects_arrays_and_scalars():
    """A JSON document parses to dicts, lists, str, int, bool and None."""
    assert loads_strict(b'{"a": [1, "x", true, false, null], "b": {}}') == {
        "a": [1, "x", True, False, None],
        "b": {},
    }


def test_decimals_are_parsed_as_decimal_with_exact_digits():
    """Numbers with a fraction or exponent become Decimal, keeping their digits."""
    value = loads_strict(b'{"total": 1234.50, "tiny": 0.1, "big": 1e2, "neg": -0.000}')
    assert all(isinstance(v, Decimal) for v in value.values())
    assert {k: str(v) for k, v in value.items()} == {
        "total": "1234.50",
        "tiny": "0.1",
        "big": "1E+2",
        "neg": "-0.000",
    }


def test_integers_stay_int():
    """Numbers without fraction or exponent stay int, arbitrarily large."""
    value = loads_strict(b"[7, -3, 123456789012345678901234567890]")
    assert value == [7, -3, 123456789012345678901234567890]
    assert all(type(v) is int for v in value)


def test_unicode_escapes_are_decoded():
    """\\u escapes and raw UTF-8 both decode to the same text."""
    assert loads_strict('["\\u00e9", "é", "\\ud83d\\ude00"]'.encode()) == ["é", "é", "😀"]


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_rejected(constant):
    """NaN, Infinity and -Infinity are not JSON numbers."""
    name = constant.decode().lstrip("-")
    detail = _rejected(b'{"x": ' + constant + b"}")
    assert (
        detail
        == f"invalid JSON: {'-' if constant.startswith(b'-') else ''}{name} is not a JSON number"
    )


def test_duplicate_keys_are_rejected():
    """A key repeated in one object is rejected, naming the key."""
    assert _rejected(b'{"a": 1, "b": 2, "a": 3}') == "invalid JSON: duplicate key 'a'"


def test_nested_duplicate_keys_are_rejected():
    """Duplicate keys are found in nested objects too."""
    assert _rejected(b'{"o": [{"k": 1, "k": 1}]}') == "invalid JSON: duplicate key 'k'"


def test_same_key_in_sibling_objects_is_fine():
    """The same key in different objects is not a duplicate."""
    assert loads_strict(b'[{"k": 1}, {"k": 2}]') == [{"k": 1}, {"k": 2}]


def test_invalid_utf8_is_rejected_with_its_offset():
    """Bytes that are not UTF-8 are rejected, naming the byte offset."""
    assert _rejected(b'{"a":"\xff"}') == "invalid UTF-8 at byte 6"


def test_byte_order_mark_is_rejected():
    """A UTF-8 byte order mark is not allowed."""
    assert _rejected(b'\xef\xbb\xbf{"a": 1}') == "invalid JSON: a byte order mark is not allowed"


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "invalid JSON at line 1, column 1: Expecting value"),
        (
            b'{"a": 1,}',
            "invalid JSON at line 1, column 9: Expecting property name enclosed in double quotes",
        ),
        (
            b"{'a': 1}",
            "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        ),
        (b'{"a": 1}\n{"b": 2}', "invalid JSON at line 2, column 1: Extra data"),
        (b"[01]", "invalid JSON at line 1, column 3: Expecting ',' delimiter"),
    ],
)
def test_syntax_errors_name_line_and_column(data, detail):
    """Syntax errors are client errors naming the line and column."""
    assert _rejected(data) == detail


def test_huge_integer_literal_is_a_client_error():
    """An integer literal longer than Python will convert is a client error, not a crash."""
    detail = _rejected(b'{"n": ' + b"9" * 5000 + b"}")
    assert detail.startswith("invalid JSON: ")


def _nested_arrays(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def test_nesting_at_the_bound_is_accepted():
    """Exactly max_depth nested containers are accepted, with or without a scalar inside."""
    assert loads_strict(_nested_arrays(5), max_depth=5) == [[[[[1]]]]]
    assert loads_strict(_nested_arrays(5, b""), max_depth=5) == [[[[[]]]]]
    assert loads_strict(b'{"a": {"b": [1, {"c": "x"}]}}', max_depth=4) == {
        "a": {"b": [1, {"c": "x"}]}
    }


def test_nesting_beyond_the_bound_is_rejected():
    """One container more than max_depth is rejected."""
    assert _rejected(_nested_arrays(6), max_depth=5) == "invalid JSON: nested deeper than 5 levels"
    assert (
        _rejected(_nested_arrays(6, b""), max_depth=5)
        == "invalid JSON: nested deeper than 5 levels"
    )


def test_default_depth_bound_is_64():
    """By default 64 levels are accepted and 65 rejected."""
    assert loads_strict(_nested_arrays(64)) is not None
    assert _rejected(_nested_arrays(65)) == "invalid JSON: nested deeper than 64 levels"


def test_deep_nesting_is_rejected_before_parsing():
    """Very deep documents are rejected quickly, without recursing in the parser."""
    started = time.perf_counter()
    assert _rejected(_nested_arrays(200_000)) == "invalid JSON: nested deeper than 64 levels"
    assert time.perf_counter() - started < 1.0


def test_brackets_inside_strings_do_not_count_as_nesting():
    """Brackets inside strings (even with escaped quotes) do not count towards depth."""
    text = b'{"a": "[[[[[[[[[[\\"{{{{{{{{{{"}'
    assert loads_strict(text, max_depth=2) == {"a": '[[[[[[[[[["{{{{{{{{{{'}


def test_dumps_decimal_exact_digits():
    """Decimals are written as JSON numbers with exactly their digits."""
    assert dumps({"total": Decimal("1234.50")}) == b'{"total":1234.50}'
    assert dumps([Decimal("0.10"), Decimal("1E+2"), Decimal("-0")]) == b"[0.10,1E+2,-0]"


def test_dumps_plain_values():
    """Other JSON values are written compactly as UTF-8."""
    assert dumps({"a": [1, True, None, "é"]}) == '{"a":[1,true,null,"é"]}'.encode()


def test_dumps_indent():
    """indent=True writes two-space indented JSON."""
    assert dumps({"a": [Decimal("1.0")]}, indent=True) == b'{\n  "a": [\n    1.0\n  ]\n}'


def test_dumps_rejects_unknown_types():
    """Values JSON cannot express raise TypeError."""
    with pytest.raises(TypeError):
        dumps({"a": object()})


@pytest.mark.parametrize(
    "value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")]
)
def test_dumps_rejects_non_finite_decimals(value):
    """A non-finite Decimal is not written as invalid JSON (NaN/Infinity) but rejected."""
    with pytest.raises(TypeError):
        dumps({"x": value})


def test_round_trip_keeps_digits():
    """Parsing then encoding keeps decimal digits exactly."""
    data = b'{"price":1234.50,"qty":3,"rate":0.000100}'
    assert dumps(loads_strict(data)) == data


def test_the_first_repeated_key_is_named():
    """With several keys repeated, the error names the first one repeated in the text."""
    assert _rejected(b'{"a": 1, "b": 2, "b": 3, "a": 4}') == "invalid JSON: duplicate key 'b'"


@pytest.mark.parametrize(
    "value",
    [
        {"a": [1, "x", None, True, 1.5, Decimal("1.50"), Decimal("-1E+7")]},
        ("tuple", {"k": "é\t"}),
        "plain",
        2**64 - 1,
    ],
)
def test_plain_json_writes_json_values(value):
    """plain_json writes JSON's types (decimals with their digits) as dumps does."""
    assert plain_json(value) == dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"),
        [Decimal("Infinity")],
        [2**64],
        {1: "int key"},
        [type("S", (str,), {})("subclass")],
        [type("I", (int,), {})(1)],
        {"d": type("D", (dict,), {})()},
        [object()],
        ["\ud800"],
    ],
)
def test_plain_json_refuses_anything_else(value):
    """Subclasses, non-finite decimals, big integers, other keys and lone surrogates: None."""
    assert plain_json(value) is None


@pytest.mark.parametrize("char", [chr(c) for c in range(0x20)] + ["\x7f", "\ufffe", "\uffff"])
def test_json_xml_safe_flags_exactly_what_xml_cannot_carry(char):
    """Every character XML 1.0 cannot carry is flagged, in a value or a member name; tab,
    LF, CR and DEL are not."""
    flagged = char not in "\t\n\r\x7f"
    assert json_xml_safe(plain_json([f"a{char}b"])) is not flagged
    assert json_xml_safe(plain_json({f"a{char}b": 1})) is not flagged


def _nesting_by_scan(text: str) -> int:
    """The reference: one character at a time, tracking strings and escapes."""
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


_PIECES = ['"', "\\", '\\"', "[", "]", "{", "}", "a", " ", "\n", ":", ",", '""', "\\\\"]


@pytest.mark.parametrize("seed", range(20))
def test_nesting_bound_agrees_with_a_character_scan(seed: int) -> None:
    """The regex-based bound equals a character-by-character scan on any text, valid JSON
    or not (unterminated strings, stray escapes and brackets included)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    for _ in range(300):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randrange(60)))
        assert jsonio._nesting_bound(text) == _nesting_by_scan(text), text


@pytest.mark.parametrize(
    "text",
    [
        "[" * 40 + '"' + '\\"' * 5000,  # unterminated, escaped quotes to the end
        "[" * 40 + '"' + "\\\\" * 5000 + "\\",  # escaped backslashes, a lone one last
        "[" * 40 + '"ab' * 5000,  # quotes that each close the previous string
    ],
    ids=["escaped-quotes", "escaped-backslashes", "many-strings"],
)
def test_nesting_bound_of_adversarial_strings(text: str) -> None:
    """Texts built to make a backtracking string pattern retry from every quote get the
    scan's answer (the pattern is possessive: one pass)."""
    assert jsonio._nesting_bound(text) == _nesting_by_scan(text)


def test_nesting_bound_of_a_large_body() -> None:
    """A megabyte of objects, with brackets inside strings, gets the scan's answer."""
    body = json.dumps({"items": [{"s": "x" * 50, "t": ["[", "{"]} for _ in range(15000)]})
    assert jsonio._nesting_bound(body) == _nesting_by_scan(body) == 4
