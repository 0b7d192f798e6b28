"""Helpers of the extraction-plan tests: a response plan from a ``fields`` block, and a
SOAP Body whose root ``R`` holds given content."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediator.mapping.issues import IssueSink
from mediator.mapping.model import ResponseSpec
from mediator.mapping.response_plan import compile_response
from mediator.translate.envelope import SOAP11_ENV, read_envelope

__all__ = ["XSI", "body_of", "spec_of"]

XSI = "http://www.w3.org/2001/XMLSchema-instance"


def spec_of(fields: Mapping[str, Any], namespaces: Mapping[str, str]) -> ResponseSpec:
    """The plan of ``response: {root: t:R, fields: …}`` without a schema (types as given)."""
    sink = IssueSink("fields.yaml")
    spec = compile_response(
        {"root": "t:R", "fields": dict(fields)},
        None,
        dict(namespaces),
        sink,
        ("response",),
        naming="camel",
        absent="omit",
    )
    assert sink.issues == [] and spec is not None
    return spec


def body_of(content: str, namespace: str) -> Any:
    """The Body of a SOAP 1.1 answer ``<R xmlns="namespace">content</R>`` (``xsi`` declared)."""
    data = (
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}" xmlns:xsi="{XSI}"><soap:Body>'
        f'<R xmlns="{namespace}">{content}</R></soap:Body></soap:Envelope>'
    )
    return read_envelope(data.encode(), expected_version="1.1").body
