"""Value parsers for mapping files (mediator.mapping.values)."""

from __future__ import annotations

import pytest

from mediator.mapping.values import camel_case, interpolate, parse_duration, parse_size


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("2m", 120.0),
        ("1.5s", 1.5),
        (" 10 ", 10.0),
        ("7", 7.0),
        (3, 3.0),
        (0.5, 0.5),
    ],
)
def test_parse_duration_accepts_units_and_bare_seconds(raw, seconds):
    """Durations with ms/s/m units or bare numbers become seconds."""
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["5h", "abc", "5 parsecs", "-1s", "", True, None, "1e3s"])
def test_parse_duration_rejects_other_text(raw):
    """Anything but a number with ms/s/m is rejected, naming the example formats."""
    with pytest.raises(ValueError, match=r"expected a duration such as 500ms, 5s or 2m, got "):
        parse_duration(raw)


@pytest.mark.parametrize("raw", ["0s", "0ms", 0, -2])
def test_parse_duration_rejects_non_positive(raw):
    """A zero or negative duration is rejected."""
    with pytest.raises(ValueError, match=r"^expected a positive duration, got "):
        parse_duration(raw)


@pytest.mark.parametrize(
    ("raw", "size"),
    [
        ("10MiB", 10 * 1024 * 1024),
        ("512KB", 512_000),
        ("512KiB", 524_288),
        ("1GB", 1_000_000_000),
        ("1GiB", 1024**3),
        ("3 MB", 3_000_000),
        ("100B", 100),
        ("100", 100),
        (2048, 2048),
    ],
)
def test_parse_size_accepts_units_and_bare_bytes(raw, size):
    """Sizes with decimal or binary units, or bare numbers, become bytes."""
    assert parse_size(raw) == size


@pytest.mark.parametrize("raw", ["10mb", "1.5MiB", "lots", "10 TiB", True, 1.5])
def test_parse_size_rejects_other_text(raw):
    """Units are case-sensitive, fractions and unknown units are rejected."""
    with pytest.raises(ValueError, match=r"^expected a size such as 512KiB or 10MiB, got "):
        parse_size(raw)


@pytest.mark.parametrize("raw", ["0", "0MiB", 0, -5])
def test_parse_size_rejects_zero(raw):
    """A size of zero (or less) is rejected."""
    with pytest.raises(ValueError, match=r"^expected a positive size, got "):
        parse_size(raw)


def test_interpolate_replaces_set_variables():
    """${VAR} is replaced by the variable's value, several times in one string."""
    assert interpolate("http://${HOST}:${PORT}/x", {"HOST": "h", "PORT": "81"}) == "http://h:81/x"


def test_interpolate_uses_default_when_unset():
    """${VAR:-default} uses the default when the variable is unset."""
    assert interpolate("${URL:-http://127.0.0.1:8081/o}", {}) == "http://127.0.0.1:8081/o"


def test_interpolate_uses_default_when_empty():
    """${VAR:-default} also uses the default when the variable is set but empty."""
    assert interpolate("${URL:-fallback}", {"URL": ""}) == "fallback"


def test_interpolate_prefers_the_set_value_over_the_default():
    """A set, non-empty variable wins over its default."""
    assert interpolate("${URL:-fallback}", {"URL": "http://real"}) == "http://real"


def test_interpolate_keeps_an_empty_value_without_default():
    """${VAR} set to the empty string becomes the empty string."""
    assert interpolate("a${X}b", {"X": ""}) == "ab"


def test_interpolate_empty_default():
    """${VAR:-} with VAR unset becomes the empty string."""
    assert interpolate("a${X:-}b", {}) == "ab"


def test_interpolate_unset_without_default_raises_key_error_naming_it():
    """An unset variable without a default raises KeyError naming the variable."""
    with pytest.raises(KeyError) as info:
        interpolate("x ${FIRST:-ok} ${MISSING} y", {})
    assert info.value.args == ("MISSING",)


def test_interpolate_leaves_other_dollar_text_alone():
    """$VAR without braces and invalid names are not interpolated."""
    assert interpolate("$HOME ${1X} {{ a }}", {"HOME": "/h"}) == "$HOME ${1X} {{ a }}"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CustomerName", "customerName"),
        ("ID", "id"),
        ("Id", "id"),
        ("URLPath", "urlPath"),
        ("HTTPServer2", "httpServer2"),
        ("ID2", "id2"),
        ("order_id", "orderId"),
        ("unit-price", "unitPrice"),
        ("a.b.c", "aBC"),
        ("Vip", "vip"),
        ("A", "a"),
        ("alreadyCamel", "alreadyCamel"),
        ("__x__", "x"),
        ("_", "_"),
    ],
)
def test_camel_case(name, expected):
    """XML names become lowerCamelCase JSON names; leading acronyms are lower-cased whole."""
    assert camel_case(name) == expected
