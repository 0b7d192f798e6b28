"""Builds the template context of a request from its raw parts, with typed parameters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from mediator.errors import ClientError
from mediator.mapping.model import ParamSpec, Route
from mediator.translate.convert import convert_text

__all__ = ["build_context", "convert_param"]

_INTEGER = re.compile(r"[+-]?[0-9]{1,30}")  # ASCII digits only, matched in full


def _where(spec: ParamSpec) -> str:
    return f"{spec.location} parameter {spec.name!r}"


def convert_param(spec: ParamSpec, raw: str) -> Any:
    """Convert one path or query parameter to its declared type.

    Raises:
        ClientError: when the value does not fit the type or the enumeration.
    """
    value: Any
    if spec.kind == "integer":
        if not _INTEGER.fullmatch(raw):
            raise ClientError(f"{_where(spec)}: expected an integer, got {raw[:60]!r}")
        value = int(raw)
    elif spec.kind == "number":
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ClientError(f"{_where(spec)}: expected a number, got {raw[:60]!r}") from None
        if not value.is_finite():
            raise ClientError(f"{_where(spec)}: expected a finite number, got {raw[:60]!r}")
    elif spec.kind == "boolean":
        if raw not in ("true", "false", "1", "0"):
            raise ClientError(f"{_where(spec)}: expected true or false, got {raw[:60]!r}")
        value = raw in ("true", "1")
    elif spec.kind in ("date", "datetime"):
        try:
            convert_text(spec.kind, raw)  # XSD's lexical form, narrower than fromisoformat
        except ValueError:
            raise ClientError(
                f"{_where(spec)}: expected an ISO 8601 {spec.kind}, got {raw[:60]!r}"
            ) from None
        value = raw
    else:
        value = raw
    if spec.enum is not None and value not in spec.enum:
        allowed = ", ".join(str(v) for v in spec.enum)
        raise ClientError(f"{_where(spec)}: expected one of {allowed}, got {raw[:60]!r}")
    return value


def build_context(
    route: Route,
    *,
    path: Mapping[str, str],
    query: Mapping[str, str],
    body: Any,
    headers: Mapping[str, str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables templates see: ``path``, ``query``, ``body``, ``headers``, ``env``.

    Raises:
        ClientError: for a missing required parameter or a value of the wrong type.
    """
    path_values: dict[str, Any] = {}
    query_values: dict[str, Any] = {}
    for spec in route.params:
        source, target = (path, path_values) if spec.location == "path" else (query, query_values)
        raw = source.get(spec.name)
        if raw is None:
            if spec.required:
                raise ClientError(f"{spec.location} parameter {spec.name!r} is required")
            target[spec.name] = spec.default
            continue
        target[spec.name] = convert_param(spec, raw)
    allowed = {name: headers[name] for name in route.headers if name in headers}
    context = {
        "path": path_values,
        "query": query_values,
        "body": body,
        "headers": allowed,
        "env": route.env,
    }
    if extra:
        context.update(extra)
    return context
