"""Small value parsers for mapping files: durations, sizes, ``${VAR}`` interpolation, names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

__all__ = ["camel_case", "interpolate", "parse_duration", "parse_size", "to_integer"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$")
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*$")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
}
_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def parse_duration(value: object) -> float:
    """Seconds from ``"250ms"``, ``"5s"``, ``"2m"`` or a bare number of seconds.

    Raises:
        ValueError: for anything else, or a non-positive duration.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 500ms, 5s or 2m, got {value!r}")
        number, unit = float(match.group(1)), match.group(2) or "s"
        seconds = number / 1000 if unit == "ms" else number * 60 if unit == "m" else number
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


def parse_size(value: object) -> int:
    """Bytes from ``"10MiB"``, ``"512KB"`` or a bare number of bytes.

    Raises:
        ValueError: for anything else, or a size of zero.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    else:
        match = _SIZE.match(str(value))
        if not match:
            raise ValueError(f"expected a size such as 512KiB or 10MiB, got {value!r}")
        size = int(match.group(1)) * _SIZE_UNITS[match.group(2)]
    if size <= 0:
        raise ValueError(f"expected a positive size, got {value!r}")
    return size


def interpolate(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}`` and ``${VAR:-default}`` with values from ``environ``.

    Raises:
        KeyError: naming the variable, when it is unset and has no default.
    """

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        value = environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                raise KeyError(name)
            return default
        return value

    return _VAR.sub(substitute, text)


_ACRONYM_HEAD = re.compile(r"^([A-Z]+)(?=[A-Z][a-z]|$|[^A-Za-z])")


def camel_case(name: str) -> str:
    """``CustomerName`` → ``customerName``, ``ID`` → ``id``, ``URLPath`` → ``urlPath``."""
    name = name.replace("-", "_").replace(".", "_")
    parts = [p for p in name.split("_") if p]
    if not parts:
        return name
    head, *rest = parts
    acronym = _ACRONYM_HEAD.match(head)
    if acronym:
        head = acronym.group(1).lower() + head[acronym.end() :]
    else:
        head = head[:1].lower() + head[1:]
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


_MAX_INTEGER_DIGITS = 4300  # Python's own limit for int(str)


def to_integer(value: object) -> int:
    """An integer from a JSON or template value: an int, an integral number, or digits.

    Raises:
        ValueError: for booleans, fractions, non-finite or huge numbers, and other text.
    """
    if isinstance(value, bool):
        raise ValueError("a boolean is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float):
        number = Decimal(value)  # bounded before int(): int(Decimal("1E+999999")) takes ages
        if (
            number.is_finite()
            and number.adjusted() < _MAX_INTEGER_DIGITS
            and number == number.to_integral_value()
        ):
            return int(number)
        raise ValueError("not an integral number")
    if isinstance(value, str):
        return int(value.strip())
    raise ValueError(f"{type(value).__name__} is not an integer")
