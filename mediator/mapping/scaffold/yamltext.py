"""YAML text as the scaffold writes it: scalars and keys quoted only when they must be, and
lines with comments aligned at a column."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["YamlLines", "yaml_key", "yaml_str", "yaml_value"]

_PLAIN = re.compile(r"^[A-Za-z_/][\w./:\- ]*$")
_KEY = re.compile(r"^[A-Za-z_][\w\-]*$")
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}
_COMMENT_COLUMN = 48


def yaml_str(value: str) -> str:
    """A string as a plain YAML scalar when that reads back as the same string, else quoted."""
    plain = _PLAIN.match(value) and not value.endswith((":", " ")) and ": " not in value
    if plain and " #" not in value and value.lower() not in _RESERVED:
        return value
    return json.dumps(value, ensure_ascii=False)


def yaml_key(value: str) -> str:
    """A mapping key, quoted unless it is a plain word."""
    return value if _KEY.match(value) and value.lower() not in _RESERVED else json.dumps(value)


def yaml_value(value: Any) -> str:
    """A boolean, number, flow list or string as YAML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(yaml_value(v) for v in value) + "]"
    return yaml_str(str(value))


@dataclass
class YamlLines:
    """YAML lines with comments aligned at a column."""

    lines: list[str] = field(default_factory=list)

    def add(self, indent: int, text: str, comment: str = "") -> None:
        """Append ``text`` indented, followed by ``comment`` at the comment column if given."""
        line = " " * indent + text
        if comment:
            line = f"{line.ljust(_COMMENT_COLUMN - 1)} # {comment}"
        self.lines.append(line)

    def note(self, indent: int, comment: str) -> None:
        """Append a comment line."""
        self.lines.append(" " * indent + "# " + comment)

    def text(self) -> str:
        """The lines joined, trailing blanks stripped, ending in a newline."""
        return "\n".join(line.rstrip() for line in self.lines) + "\n"
