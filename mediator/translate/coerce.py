"""Checks and converts rendered ``args`` against the operation's input schema.

zeep serializes whatever it is given; this step makes sure it is given the right types, so
that ``"abc"`` for an ``xsd:int`` is a 400 for the client rather than invalid XML upstream.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from mediator.errors import ClientError
from mediator.mapping.service_info import ElementInfo, TypeInfo
from mediator.mapping.values import to_integer
from mediator.translate.convert import convert_text
from mediator.translate.xmlsafe import xml_safe_text

__all__ = ["coerce_args", "ensure_xml_safe"]

_MAX_DEPTH = 64


def _fail(where: str, expected: str, value: Any) -> ClientError:
    shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
    return ClientError(f"{where}: expected {expected}, got {shown[:60]}")


def _scalar(kind: str, value: Any, where: str) -> Any:
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | Decimal | float):
            text = str(value)
            if not xml_safe_text(text):
                raise ClientError(f"{where}: contains characters XML cannot carry")
            return text
        raise _fail(where, "a string", value)
    if kind == "integer":
        try:
            return to_integer(value)
        except ValueError:
            raise _fail(where, "an integer", value) from None
    if kind in ("decimal", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise _fail(where, "a number", value)
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise _fail(where, "a number", value) from None
        if not result.is_finite():
            raise _fail(where, "a finite number", value)
        return result
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "1", 1):
            return True
        if value in ("false", "0", 0):
            return False
        raise _fail(where, "a boolean", value)
    if kind in ("date", "datetime", "time"):
        if not isinstance(value, str):
            raise _fail(where, f"an ISO 8601 {kind} string", value)
        try:
            return convert_text(kind, value)  # XSD's lexical form, narrower than fromisoformat
        except ValueError:
            raise _fail(where, f"an ISO 8601 {kind}", value) from None
    if kind == "base64":
        if not isinstance(value, str):
            raise _fail(where, "a base64 string", value)
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _fail(where, "a base64 string", value) from None
        return value
    return value


def ensure_xml_safe(value: Any, where: str, depth: int = 0) -> Any:
    """Return ``value`` unchanged, or raise ClientError if any string in it cannot be XML text."""
    if depth > _MAX_DEPTH:
        raise ClientError(f"{where}: nested too deeply")
    if isinstance(value, str):
        if not xml_safe_text(value):
            raise ClientError(f"{where}: contains characters XML cannot carry")
    elif isinstance(value, Mapping):
        for k, v in value.items():
            ensure_xml_safe(v, f"{where}/{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            ensure_xml_safe(v, f"{where}[{i}]", depth + 1)
    return value


def _value(element: ElementInfo, value: Any, where: str, depth: int) -> Any:
    if value is None:
        return None
    if element.repeated:
        items = value if isinstance(value, list) else [value]
        if element.max_occurs is not None and len(items) > element.max_occurs:
            raise ClientError(
                f"{where}: at most {element.max_occurs} items allowed, got {len(items)}"
            )
        return [_single(element.type, item, f"{where}[{i}]", depth) for i, item in enumerate(items)]
    if isinstance(value, list):
        raise _fail(where, "a single value", value)
    return _single(element.type, value, where, depth)


def _single(type_info: TypeInfo, value: Any, where: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise ClientError(f"{where}: nested too deeply")
    if value is None:
        return None
    if type_info.open:
        return ensure_xml_safe(value, where, depth)
    if type_info.children:
        if not isinstance(value, Mapping):
            raise _fail(where, "an object", value)
        return _complex(type_info, value, where, depth)
    if type_info.attributes and isinstance(value, Mapping):
        return ensure_xml_safe(value, where, depth)
    kind = type_info.scalar or "string"
    result = _scalar(kind, value, where)
    if type_info.enumeration and str(result) not in type_info.enumeration:
        raise ClientError(
            f"{where}: expected one of {', '.join(type_info.enumeration)}, got {str(value)[:60]!r}"
        )
    return result


def _complex(
    type_info: TypeInfo, value: Mapping[str, Any], where: str, depth: int
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        child = next((c for c in type_info.children if c.local == key), None)
        if child is None:
            if type_info.attribute(None, key) is not None or key.startswith("_"):
                result[key] = ensure_xml_safe(item, f"{where}/{key}", depth + 1)
                continue
            names = ", ".join(c.local for c in type_info.children)
            raise ClientError(f"{where}: unexpected element {key!r}; expected one of: {names}")
        result[key] = _value(child, item, f"{where}/{key}", depth + 1)
    for child in type_info.children:
        if child.min_occurs > 0 and result.get(child.local) is None and not child.nillable:
            raise ClientError(f"{where}: missing required element {child.local!r}")
    return result


def coerce_args(element: ElementInfo | None, args: Any) -> dict[str, Any]:
    """Validate rendered args against the input element and convert them to its XSD types.

    Raises:
        ClientError: naming the element path, what was expected and what was given.
    """
    if element is None:
        if args:
            raise ClientError("this operation takes no input")
        return {}
    if not isinstance(args, Mapping):
        raise _fail(element.local, "an object", args)
    if not element.type.children and not element.type.open:
        return dict(args)
    return _complex(element.type, args, element.local, 0)
