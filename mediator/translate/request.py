"""Renders a route's request templates from a context: args for zeep, or body XML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Template, TemplateError, Undefined, UndefinedError

from mediator.errors import ClientError, RenderError
from mediator.mapping.model import ArgNode, Route
from mediator.mapping.templating import PathExpression, render_escaped
from mediator.mapping.wellformed import proves_well_formed
from mediator.translate.coerce import coerce_args, ensure_xml_safe
from mediator.translate.envelope import envelope_declarations
from mediator.translate.jsonio import json_xml_safe, plain_json

__all__ = ["RenderedRequest", "render_request"]


@dataclass(frozen=True, slots=True)
class RenderedRequest:
    """The request content: ``args`` (validated, XSD-typed) or ``body_xml``; optional header."""

    args: dict[str, Any] | None
    body_xml: str | None
    header_xml: str | None
    well_formed: bool = False
    """The rendered XML (``body_xml`` and ``header_xml``) is well-formed in the route's
    envelope without parsing it, provided its characters are all XML characters (which
    ``build_envelope`` checks): its templates are proved so (mediator.mapping.wellformed)
    and every value was written escaped."""


_CHECKED = ("path", "query", "body", "headers")
_MAX_NESTING = 64
"""ensure_xml_safe's bound: a value inside more than 64 containers is refused."""


def _ensure_xml_safe(context: dict[str, Any]) -> None:
    """ensure_xml_safe for each of the context's request parts, decided in C when it can be.

    Written as one JSON array by ``plain_json``, the parts are proved clean when the text
    shows no character XML cannot carry and has at most one bracket more than the nesting
    bound (the array's own); otherwise ``ensure_xml_safe`` walks them and names the culprit.
    """
    values = [context.get(name) for name in _CHECKED]
    text = plain_json(values)
    if (
        text is not None
        and text.count(b"[") + text.count(b"{") <= _MAX_NESTING + 1
        and json_xml_safe(text)
    ):
        return
    for name, value in zip(_CHECKED, values, strict=True):
        ensure_xml_safe(value, name)


def _render_node(node: ArgNode, context: dict[str, Any]) -> Any:
    if type(node) is PathExpression:
        value = node.evaluate(context)
        if isinstance(value, Undefined):
            str(value)  # StrictUndefined raises UndefinedError here, naming what is missing
            raise UndefinedError("a value is undefined")
        return value
    if isinstance(node, Template):
        return node.render(context)
    if callable(node):
        value = node(**context)
        if isinstance(value, Undefined):  # a native expression returns Undefined, not raises
            str(value)  # StrictUndefined raises UndefinedError here, naming what is missing
            raise UndefinedError("a value is undefined")
        return value
    if isinstance(node, dict):
        return {key: _render_node(value, context) for key, value in node.items()}
    if isinstance(node, list):
        return [_render_node(value, context) for value in node]
    return node


def _missing(exc: UndefinedError) -> ClientError:
    message = exc.message or "a value is undefined"
    return ClientError(f"the request lacks a value the mapping needs: {message}")


def _render_xml(template: Template, route: Route, context: dict[str, Any]) -> tuple[str, bool]:
    """An XML template's output, and whether it is proved well-formed without a parse."""
    text, escaped = render_escaped(template, context)
    if not escaped:
        return text, False
    version = route.upstream.soap_version
    return text, proves_well_formed(
        template,
        route.namespaces,
        version,
        lambda: envelope_declarations(version, route.namespaces),
    )


def render_request(route: Route, context: dict[str, Any]) -> RenderedRequest:
    """Render the route's request for one call.

    Raises:
        ClientError: the client's input lacks a value, or has one of the wrong type.
        RenderError: a template failed for another reason (a mapping bug).
    """
    spec = route.request
    if spec.body is not None or spec.soap_header is not None:
        _ensure_xml_safe(context)
    header: str | None = None
    header_proved = True
    try:
        if spec.soap_header is not None:
            header, header_proved = _render_xml(spec.soap_header, route, context)
        if spec.body is not None:
            body, body_proved = _render_xml(spec.body, route, context)
            return RenderedRequest(
                args=None,
                body_xml=body,
                header_xml=header,
                well_formed=body_proved and header_proved,
            )
        rendered = _render_node(spec.args, context) if spec.args is not None else {}
    except UndefinedError as exc:
        raise _missing(exc) from None
    except ClientError:
        raise
    except (TemplateError, TypeError, ValueError, ArithmeticError, AttributeError, KeyError) as exc:
        raise RenderError(f"{route.file}:{route.line}: request template failed: {exc}") from exc
    return RenderedRequest(
        args=coerce_args(route.input, rendered),
        body_xml=None,
        header_xml=header,
        well_formed=header_proved,
    )
