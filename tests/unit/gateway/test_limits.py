"""Inbound limits: each one holds at its boundary and refuses one past it, with a 400-class
error naming the offending value, never a crash."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from mediator.errors import ClientError
from mediator.gateway.limits import (
    _walk,
    check_json,
    check_request_head,
    check_text,
    sanitize_header_value,
)
from mediator.mapping.security_file import JsonLimits
from mediator.translate.jsonio import loads_strict

LIMITS = JsonLimits(
    max_depth=3, max_items=3, max_string_length=5, max_number_length=4, max_params=2
)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("ok", "too_much", "pointer", "message"),
    [
        (_nested(3), _nested(4), "/0/0/0", "nested deeper than 3"),
        ({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": {}}}}, "/a/b/c", "nested deeper than 3"),
        ([1, 2, 3], [1, 2, 3, 4], "/", "an array with more than 3"),
        ({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3, "d": 4}, "/", "an object with more"),
        ({"s": "12345"}, {"s": "123456"}, "/s", "longer than 5 characters"),
        ({"12345": 1}, {"123456": 1}, "/123456", "a member name is longer than 5"),
        ({"n": 1234}, {"n": 12345}, "/n", "a number longer than 4"),
        ({"n": -123}, {"n": -1234}, "/n", "a number longer than 4"),
        ({"n": Decimal("1.25")}, {"n": Decimal("1.255")}, "/n", "a number longer than 4"),
        ({"a/b": [0]}, {"a/b": [0, 1, 2, 3]}, "/a~1b", "an array with more than 3"),
    ],
)
def test_json_limits_at_the_boundary_and_one_past(
    ok: Any, too_much: Any, pointer: str, message: str
) -> None:
    """The value at the limit passes; one more level, entry, character or digit is a 400
    pointing at the value."""
    check_json(ok, LIMITS)
    with pytest.raises(ClientError) as caught:
        check_json(too_much, LIMITS)
    assert caught.value.status == 400
    assert message in caught.value.detail
    assert caught.value.pointer == pointer


@pytest.mark.parametrize(
    "char", ["\x00", "\x08", "\x0b", "\x0c", "\x1f", "\ufffe", "\uffff", "\ud800"]
)
def test_characters_xml_cannot_carry_are_400(char: str) -> None:
    """Control characters, U+FFFE/U+FFFF and lone surrogates cannot reach a SOAP body."""
    with pytest.raises(ClientError, match="which XML cannot carry") as caught:
        check_json({"note": f"a{char}"}, JsonLimits())
    assert caught.value.pointer == "/note"


def test_lone_surrogate_from_json_escape_is_400() -> None:
    """A JSON ``\\ud800`` escape parses (JSON allows it) and is then refused."""
    value = loads_strict(b'{"x": "\\ud800"}')
    with pytest.raises(ClientError, match="U\\+D800"):
        check_json(value, JsonLimits())


def test_whitespace_controls_xml_allows_pass() -> None:
    """Tab, LF and CR are XML characters and pass."""
    check_json({"text": "a\tb\nc\rd"}, JsonLimits())
    check_text("x\ty", "v", JsonLimits())


def _request(
    method: str = "GET",
    path: str = "/orders",
    headers: dict[str, str] | None = None,
) -> web.Request:
    payload = mock.Mock() if method == "POST" else None  # any payload: a body exists
    return make_mocked_request(method, path, headers=CIMultiDict(headers or {}), payload=payload)


def test_declared_body_size_at_the_limit_and_one_past() -> None:
    """Content-Length equal to the maximum passes; one byte more is 413 before reading."""
    ok = _request("POST", headers={"Content-Length": "100", "Content-Type": "application/json"})
    check_request_head(ok, {}, max_body=100, limits=LIMITS)
    past = _request("POST", headers={"Content-Length": "101", "Content-Type": "application/json"})
    with pytest.raises(web.HTTPRequestEntityTooLarge):
        check_request_head(past, {}, max_body=100, limits=LIMITS)


@pytest.mark.parametrize(
    ("ctype", "status"),
    [
        ("application/json", None),
        ("application/merge-patch+json", None),
        ("application/json; charset=utf-8", None),
        ("application/json; charset=UTF8", None),
        ("text/plain", 415),
        ("application/xml", 415),
        ("application/json; charset=latin-1", 400),
    ],
)
def test_media_type_and_charset(ctype: str, status: int | None) -> None:
    """A body must be JSON (415 otherwise) in UTF-8 (400 otherwise)."""
    request = _request("POST", headers={"Content-Type": ctype, "Content-Length": "2"})
    if status is None:
        check_request_head(request, {}, max_body=100, limits=LIMITS)
        return
    with pytest.raises(ClientError) as caught:
        check_request_head(request, {}, max_body=100, limits=LIMITS)
    assert caught.value.status == status


def test_query_parameter_count_boundary() -> None:
    """``max_params`` query parameters pass; one more is a 400."""
    check_request_head(_request(path="/o?a=1&b=2"), {}, max_body=10, limits=LIMITS)
    with pytest.raises(ClientError, match="more than 2 query parameters"):
        check_request_head(_request(path="/o?a=1&b=2&c=3"), {}, max_body=10, limits=LIMITS)


def test_parameter_values_are_checked_like_strings() -> None:
    """Query and path values over the string limit, or holding NUL, are 400s."""
    check_request_head(_request(path="/o?a=12345"), {"id": "12345"}, max_body=10, limits=LIMITS)
    with pytest.raises(ClientError, match="query parameter 'a' is longer"):
        check_request_head(_request(path="/o?a=123456"), {}, max_body=10, limits=LIMITS)
    with pytest.raises(ClientError, match="path parameter 'id' holds the character U\\+0000"):
        check_request_head(_request(), {"id": "a\x00"}, max_body=10, limits=LIMITS)
    with pytest.raises(ClientError, match="U\\+0001"):
        check_request_head(_request(path="/o?a=%01"), {}, max_body=10, limits=LIMITS)


def test_header_values_lose_line_breaks() -> None:
    """A copied header value cannot inject a header: CR, LF and other controls are removed."""
    assert sanitize_header_value("a\r\nX-Evil: 1\x00\x7f") == "aX-Evil: 1"
    assert sanitize_header_value("tab\tkept") == "tab\tkept"


# -- bounds proved in C: check_json decides exactly as the walk ------------------------------


def _walk_outcome(value: Any, limits: JsonLimits) -> tuple[Any, ...] | None:
    try:
        _walk(value, limits)
    except ClientError as exc:
        return (exc.status, exc.detail, exc.pointer)
    return None


def _check_outcome(value: Any, limits: JsonLimits) -> tuple[Any, ...] | None:
    try:
        check_json(value, limits)
    except ClientError as exc:
        return (exc.status, exc.detail, exc.pointer)
    return None


_EDGE_LIMITS = JsonLimits(
    max_depth=4, max_items=4, max_string_length=64, max_number_length=6, max_params=2
)


@pytest.mark.parametrize(
    "value",
    [
        _nested(4),
        _nested(5),
        [[["[[[[[[", "{{{{"]]],
        [1, 2, 3, 4],
        [1, 2, 3, 4, 5],
        [[1, 2], [3, 4], [5]],
        {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5},
        ["x" * 64],
        ["x" * 65],
        "x" * 64,
        "x" * 65,
        1234567,
        ["é" * 30],
        {"k" * 65: 1},
        [123456, -12345, Decimal("1.2345"), Decimal("-1.234")],
        [1234567],
        [-123456],
        [Decimal("1.23456")],
        [Decimal("1E+5")],
        [Decimal("12E+5")],
        [Decimal("1E-7")],
        [Decimal("NaN")],
        [Decimal("Infinity")],
        [True, False, None, 1.5],
        [12345678901234567890123],
        [2**64],
        ["1234567", "a,b,c,d,e"],
        ["\b", "\f", "\x01", "\x0b", "\x1f", "\ufffe", "\uffff", "\ud800"],
        ["a\tb\nc\rd", "\x7f", "\u2028", "back\\slash \\b \\u0001"],
        {"\x01": "member name"},
        ("tuple", ["\x01"]),
        {"a": ("tuple \x01",)},
        {"sub": type("S", (str,), {})("subclass")},
        {"obj": object()},
        {1: "int key"},
    ],
)
def test_check_json_decides_as_the_walk_on_edge_values(value: Any) -> None:
    """Whatever the bounds counted in C conclude, check_json raises the walk's error (same
    message and pointer) or nothing, as the walk does."""
    try:
        expected = _walk_outcome(value, _EDGE_LIMITS)
    except (TypeError, AttributeError) as exc:  # values no JSON parser yields
        with pytest.raises(type(exc)):
            check_json(value, _EDGE_LIMITS)
        return
    assert _check_outcome(value, _EDGE_LIMITS) == expected


def _random_json(rng: random.Random, depth: int) -> Any:
    kind = rng.random()
    if depth < 6 and kind < 0.25:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(7))]
    if depth < 6 and kind < 0.5:
        return {_random_text(rng): _random_json(rng, depth + 1) for _ in range(rng.randrange(7))}
    if kind < 0.65:
        return rng.choice([0, 1, -1, 10**5, -(10**5), 10**6, 10**20, 2**64, 12345])
    if kind < 0.8:
        text = rng.choice(["1.5", "1E+5", "12E+4", "-1.2345", "0.0000001", "123.456", "1e-6"])
        return Decimal(text)
    if kind < 0.85:
        return rng.choice([True, False, None])
    return _random_text(rng)


_ALPHABET = 'ab,[{}]"\\ 1.e-é\t\n\x01\x08\x0c\x1f\ufffe\ud800\U0001f600'


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.choice([0, 1, 3, 8, 70])))


@pytest.mark.parametrize("seed", range(20))
def test_check_json_decides_as_the_walk_on_random_values(seed: int) -> None:
    """On random JSON values under tight limits, check_json and the walk agree exactly."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    limits = JsonLimits(
        max_depth=rng.choice([2, 4, 8, 32]),
        max_items=rng.choice([3, 6, 10000]),
        max_string_length=rng.choice([8, 80, 65536]),
        max_number_length=rng.choice([3, 6, 64]),
        max_params=2,
    )
    for _ in range(200):
        value = _random_json(rng, 0)
        assert _check_outcome(value, limits) == _walk_outcome(value, limits), value


def test_a_typical_body_is_cleared_without_the_walk() -> None:
    """A body well within the limits is decided by the bounds alone (the fast path)."""
    body = loads_strict(
        b'{"reference": "PO-1", "customer": {"id": 42, "name": "Ada <x> & co"},'
        b' "lines": [{"sku": "S", "quantity": 2, "unitPrice": 9.5}], "note": "a\\tb"}'
    )
    with mock.patch("mediator.gateway.limits._walk", side_effect=AssertionError("walked")):
        check_json(body, JsonLimits())
