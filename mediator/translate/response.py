"""Extracts typed JSON from a SOAP Body by a compiled plan (precompiled XPath, XSD types)."""

from __future__ import annotations

from typing import Any

import xmltodict
from jinja2 import TemplateError
from lxml import etree

from mediator.errors import ExtractError
from mediator.mapping.model import FieldSpec, ResponseSpec
from mediator.translate.child_plan import MAX_DEPTH, has_nil, plan_for
from mediator.translate.convert import CONVERTERS
from mediator.translate.xmljson import is_nil, text_content

__all__ = ["Trace", "extract_response"]

Trace = list[dict[str, Any]]
"""When given, :func:`extract_response` appends what each XPath matched (for explain)."""


def _text_of(item: Any) -> str:
    if isinstance(item, etree._Element):
        if len(item):
            return text_content(item)
        return item.text or ""
    return str(item)


def _convert(field: FieldSpec, item: Any, trace: Trace | None, depth: int, nils: bool) -> Any:
    if isinstance(item, etree._Element):
        if is_nil(item):
            return None
        kind = field.kind
        if kind == "object":
            return _object(field.fields, item, trace, depth + 1, nils)
        if kind == "xml":
            return etree.tostring(item, encoding="unicode", with_tail=False)
        text = text_content(item) if len(item) else (item.text or "")
        return text if kind == "string" else _scalar(field, text)
    if isinstance(item, bool):
        return item if field.kind == "boolean" else _scalar(field, "true" if item else "false")
    if isinstance(item, float):
        if item != item or item in (float("inf"), float("-inf")):
            return None
        text = str(int(item)) if item.is_integer() else repr(item)
        return _scalar(field, text)
    if field.kind in ("object", "xml"):
        return _scalar(field, _text_of(item), kind="string")
    return _scalar(field, _text_of(item))


def _scalar(field: FieldSpec, text: str, kind: str | None = None) -> Any:
    kind = kind or field.kind
    if kind != "string" and not text.strip():
        return None
    try:
        return CONVERTERS[kind](text)
    except ValueError as exc:
        raise ExtractError(f"field {field.name!r} ({field.source}): {exc}") from None


def _object(
    fields: tuple[FieldSpec, ...],
    node: etree._Element,
    trace: Trace | None,
    depth: int,
    nils: bool,
) -> dict[str, Any]:
    """``nils`` is false when no element of the extracted tree carries ``xsi:nil``."""
    if depth > MAX_DEPTH:
        raise ExtractError("response nested too deeply")
    if trace is None and (plan := plan_for(fields)) is not None:
        try:
            return plan.extract(node, depth, nils=nils)
        except ValueError:
            pass  # a value does not fit its type: the generic walk below names the field
    result: dict[str, Any] = {}
    children: dict[str, list[etree._Element]] | None = None
    for field in fields:
        if field.child_tag is not None and trace is None:
            if children is None:  # one pass over the children serves every child-step field
                children = {}
                for child in node:
                    tag = child.tag
                    if isinstance(tag, str):
                        children.setdefault(tag, []).append(child)
            items: list[Any] = children.get(field.child_tag, [])
        else:
            try:
                matched = field.xpath(node)
            except etree.XPathError as exc:
                raise ExtractError(f"field {field.name!r}: XPath failed: {exc}") from None
            items = matched if isinstance(matched, list) else [matched]
        if trace is not None:
            trace.append(
                {
                    "field": field.name,
                    "xpath": field.source,
                    "matched": len(items),
                    "kind": field.kind,
                }
            )
        if field.is_list:
            result[field.name] = [_convert(field, item, trace, depth, nils) for item in items]
        elif items:
            result[field.name] = _convert(field, items[0], trace, depth, nils)
        elif field.absent == "null":
            result[field.name] = None
    return result


def extract_response(spec: ResponseSpec, body: etree._Element, trace: Trace | None = None) -> Any:
    """Turn a SOAP Body into the route's JSON value.

    Raises:
        ExtractError: the root matched nothing, a value does not fit its type, or the
            response template failed.
    """
    roots = spec.root(body)
    if not isinstance(roots, list) or not roots or not isinstance(roots[0], etree._Element):
        raise ExtractError(f"response root {spec.root_source!r} matched no element")
    root = roots[0]
    if trace is not None:
        trace.append({"field": "(root)", "xpath": spec.root_source, "matched": len(roots)})
    data = _object(spec.fields, root, trace, 0, trace is not None or has_nil(root))
    if spec.template is None:
        return data
    view = xmltodict.parse(
        etree.tostring(root),
        process_namespaces=True,
        namespaces={uri: prefix for prefix, uri in spec.namespaces.items()},
        disable_entities=True,
    )
    try:
        return spec.template(fields=data, xml=view)
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ExtractError(f"response template failed: {exc}") from None
