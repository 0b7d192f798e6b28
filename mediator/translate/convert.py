"""Scalar conversions: XML text of an XSD kind → a JSON-ready Python value.

Decimals stay :class:`~decimal.Decimal` (encoded as JSON numbers with their exact digits);
dates and times stay ISO strings, validated; booleans follow XSD (``true``/``false``/``1``/``0``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["CONVERTERS", "convert_text"]

_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_DOUBLE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE = re.compile(r"^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_DATETIME = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def _string(text: str) -> str:
    return text


def _integer(text: str) -> int:
    if text.isascii() and text.isdigit():  # the common case, checked in C
        return int(text)
    value = text.strip()
    if not _INTEGER.match(value):
        raise ValueError("not an integer")
    return int(value)


def _decimal(text: str) -> Decimal:
    value = text.strip()
    if not _DECIMAL.match(value):
        raise ValueError("not a decimal")
    return Decimal(value)


def _number(text: str) -> int | float | Decimal:
    value = text.strip()
    if not _DOUBLE.match(value):
        raise ValueError("not a finite number")
    if _INTEGER.match(value):
        return int(value)
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError("not a number") from None


def _boolean(text: str) -> bool:
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise ValueError("not a boolean")


def _date(text: str) -> str:
    value = text.strip()
    if not _DATE.match(value):
        raise ValueError("not a date")
    dt.date.fromisoformat(value[:10])
    return value


def _time(text: str) -> str:
    value = text.strip()
    if not _TIME.match(value):
        raise ValueError("not a time")
    dt.time.fromisoformat(value[:8])
    return value


def _datetime(text: str) -> str:
    value = text.strip()
    if not _DATETIME.match(value):
        raise ValueError("not a dateTime")
    dt.datetime.fromisoformat(value[:19])
    return value


def _base64(text: str) -> str:
    value = "".join(text.split())
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    return value


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "string": _string,
    "integer": _integer,
    "decimal": _decimal,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "time": _time,
    "datetime": _datetime,
    "base64": _base64,
}


def convert_text(kind: str, text: str) -> Any:
    """Convert XML text to the JSON value of ``kind``.

    Raises:
        ValueError: when the text is not a valid lexical value of that kind.
    """
    return CONVERTERS[kind](text)
