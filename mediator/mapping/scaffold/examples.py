"""Example values the scaffold writes and returns: a valid value of each simple type, and an
example JSON body a route's request template accepts."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mediator.mapping.scaffold.shapes import is_complex, other_branches, recursion_stops
from mediator.mapping.scaffold.vocabulary import XSD, Vocabulary
from mediator.mapping.service_info import ElementInfo, TypeInfo

__all__ = ["example_body", "example_json", "example_value"]

_EXAMPLES: dict[str, Any] = {
    "integer": 1,
    "decimal": Decimal("9.99"),
    "number": Decimal("1.5"),
    "boolean": True,
    "date": "2024-01-31",
    "datetime": "2024-01-31T12:00:00Z",
    "time": "12:00:00",
    "base64": "aGVsbG8=",
}
_STRING_EXAMPLES = {
    "gYearMonth": "2024-01",
    "gYear": "2024",
    "gMonthDay": "--01-31",
    "gDay": "---31",
    "gMonth": "--01",
    "duration": "P1D",
    "language": "en",
    "anyURI": "http://example.com/",
    "hexBinary": "0A0B",
}


def example_value(type_info: TypeInfo) -> Any:
    """A valid example of a simple type: its first enumerated value, or a value of its kind."""
    if type_info.enumeration:
        value = type_info.enumeration[0]
        return (
            int(value) if type_info.scalar == "integer" and value.lstrip("-").isdigit() else value
        )
    if type_info.scalar in _EXAMPLES:
        return _EXAMPLES[type_info.scalar]
    local = type_info.name.rpartition("}")[2]
    return (
        _STRING_EXAMPLES.get(local, "text") if type_info.name.startswith(f"{{{XSD}}}") else "text"
    )


def example_body(element: ElementInfo, vocab: Vocabulary, stack: tuple[int, ...] = ()) -> Any:
    """The JSON value of an element: every attribute and child (the first branch of each
    choice, lists of one), recursion bounded; an example value for a simple type."""
    kind = element.type
    if kind.array_item is not None:
        item = ElementInfo("item", None, kind.array_item)
        return [example_body(item, vocab, (*stack, id(kind)))]
    if not is_complex(kind):
        return example_value(kind)
    names = vocab.members(kind)
    result: dict[str, Any] = {}
    skipped = other_branches(kind)
    for attribute in kind.attributes:
        attr_type = TypeInfo(name="", scalar=attribute.scalar, enumeration=attribute.enumeration)
        result[names[("@", attribute.local)]] = example_value(attr_type)
    if kind.scalar and kind.attributes:
        result["value"] = example_value(TypeInfo(name=kind.name, scalar=kind.scalar))
    for child in kind.children:
        if child.local in skipped:
            continue
        if recursion_stops((*stack, id(kind)), child.type):
            continue
        value = example_body(child, vocab, (*stack, id(kind)))
        result[names[("", child.local)]] = [value] if child.repeated else value
    return result


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def example_json(value: Any) -> str:
    """An example as one line of JSON (decimals written as numbers)."""
    return json.dumps(value, default=_json_default)
