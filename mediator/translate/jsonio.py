"""JSON in and out: strict parsing of client bodies, fast encoding of answers.

Parsing rejects what JSON parsers usually let through (NaN, Infinity, duplicate keys, invalid
UTF-8) and keeps decimals exact. Encoding writes :class:`~decimal.Decimal` values as JSON
numbers with their exact digits.

:func:`plain_json` writes a value in C so that checks of every string or number in it
(:func:`json_xml_safe`, the gateway's JSON limits) can look at one ``bytes`` instead of
walking the value in Python.
"""

from __future__ import annotations

import itertools
import json
import re
from decimal import Decimal
from typing import Any

import orjson

from mediator.errors import ClientError

__all__ = ["dumps", "json_xml_safe", "loads_strict", "plain_json"]

_MAX_DEPTH = 64


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} is not a JSON number")
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any, *, indent: bool = False) -> bytes:
    """Encode ``value`` as UTF-8 JSON bytes (decimals exact)."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(value, default=_default, option=option)


def _exact_decimal(value: Any) -> Any:
    if type(value) is Decimal and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError  # anything else: not a plain JSON value


_PLAIN = (
    orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
)


def plain_json(value: Any) -> bytes | None:
    """``value`` as compact JSON, when it is made of JSON's own types, else ``None``.

    Accepted: ``dict`` (``str`` keys), ``list``, ``tuple``, ``str``, ``int`` within 64 bits,
    ``float``, ``bool``, ``None`` and finite ``Decimal``, exactly these types (no subclasses),
    nested less than 255 levels. Every string and member name then appears in the text as
    JSON escapes it (characters other than ``"``, ``\\`` and controls raw, in UTF-8), every
    ``int`` and ``Decimal`` as ``str()`` writes it, and every container adds a bracket.
    """
    try:
        return orjson.dumps(value, default=_exact_decimal, option=_PLAIN)
    except orjson.JSONEncodeError:
        return None


# In JSON text written by orjson, a string holds a character XML 1.0 cannot carry exactly
# when it shows one of these: a control character other than tab, LF and CR is escaped as
# \u00XX, \b or \f; U+FFFE and U+FFFF are raw UTF-8; lone surrogates cannot be written at
# all. (An escaped backslash before ``b``, ``f`` or ``u00`` matches too: a false alarm.)
_XML_UNSAFE_JSON = re.compile(rb"\\u00[01]|\\[bf]|\xef\xbf[\xbe\xbf]")


def json_xml_safe(text: bytes) -> bool:
    """True when no string or member name of ``text`` (written by :func:`plain_json`) can
    hold a character XML 1.0 cannot carry; ``False`` when one may."""
    if b"\\" not in text and (text.isascii() or b"\xef\xbf" not in text):
        return True  # no escape, and nothing from U+FFC0 up
    return _XML_UNSAFE_JSON.search(text) is None


def _reject_constant(name: str) -> Any:
    raise ClientError(f"invalid JSON: {name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _ in pairs:  # name the first repeated key
        if key in seen:
            raise ClientError(f"invalid JSON: duplicate key {key[:60]!r}")
        seen.add(key)
    raise AssertionError("unreachable")  # pragma: no cover


# What json.loads(text, **these options) builds per call, built once (json's own default
# decoder is shared the same way).
_DECODER = json.JSONDecoder(
    parse_float=Decimal,
    parse_constant=_reject_constant,
    object_pairs_hook=_unique_keys,
)


def loads_strict(data: bytes, *, max_depth: int = _MAX_DEPTH) -> Any:
    """Parse a client's JSON body.

    Raises:
        ClientError: with a message safe to show, for invalid UTF-8, invalid JSON, NaN or
            Infinity, duplicate keys, or nesting deeper than ``max_depth``.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClientError(f"invalid UTF-8 at byte {exc.start}") from None
    if text.startswith("\ufeff"):
        raise ClientError("invalid JSON: a byte order mark is not allowed")
    # The depth is decided before parsing: the number of brackets bounds it, and
    # _nesting_bound (brackets outside strings) is exact for any text that parses.
    if text.count("[") + text.count("{") > max_depth and _nesting_bound(text) > max_depth:
        raise ClientError(f"invalid JSON: nested deeper than {max_depth} levels")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ClientError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError:  # int() refuses literals of more than 4300 digits
        raise ClientError("invalid JSON: a number has too many digits") from None
    except RecursionError:
        raise ClientError("invalid JSON: nested too deeply") from None
    return value


# A string, or an unterminated one up to the end. Possessive: no backtracking, so a megabyte
# of escaped quotes without a closing one costs one linear pass, not one per quote.
_JSON_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _nesting_bound(text: str) -> int:
    """Upper bound of bracket nesting, ignoring strings: cheap guard before recursion.

    Strings are removed and everything but brackets dropped by two regexes, and the running
    depth is summed and maximised by ``itertools`` (all in C). An unterminated string runs to
    the end, so nothing after it counts, as a scan that tracked strings would see it.
    """
    outside = _JSON_STRING.sub("", text)
    steps = map(_BRACKET_STEP.__getitem__, _NOT_BRACKET.sub("", outside))
    return max(0, max(itertools.accumulate(steps), default=0))
