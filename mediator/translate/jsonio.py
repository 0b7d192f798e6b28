"""JSON in and out: strict parsing of client bodies, fast encoding of answers.

Parsing rejects what JSON parsers usually let through (NaN, Infinity, duplicate keys, invalid
UTF-8) and keeps decimals exact. Encoding writes :class:`~decimal.Decimal` values as JSON
numbers with their exact digits.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from mediator.errors import ClientError

__all__ = ["dumps", "loads_strict"]

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


def _reject_constant(name: str) -> Any:
    raise ClientError(f"invalid JSON: {name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ClientError(f"invalid JSON: duplicate key {key[:60]!r}")
        result[key] = value
    return result


def _depth(value: Any, limit: int) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit and isinstance(item, dict | list):  # scalars are not a level
            raise ClientError(f"invalid JSON: nested deeper than {limit} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


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
    if text.count("[") + text.count("{") > max_depth and _nesting_bound(text) > max_depth:
        raise ClientError(f"invalid JSON: nested deeper than {max_depth} levels")
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=_unique_keys,
        )
    except json.JSONDecodeError as exc:
        raise ClientError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError:  # int() refuses literals of more than 4300 digits
        raise ClientError("invalid JSON: a number has too many digits") from None
    except RecursionError:
        raise ClientError("invalid JSON: nested too deeply") from None
    _depth(value, max_depth)
    return value


def _nesting_bound(text: str) -> int:
    """Upper bound of bracket nesting, ignoring strings: cheap guard before recursion."""
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
