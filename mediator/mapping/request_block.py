"""A route's (or step's) ``request:`` block → :class:`~mediator.mapping.model.RequestSpec`.

``args`` compile leaf by leaf against the operation's input element; ``body`` and
``soap_header`` compile as XML templates. :func:`check_references` holds every template to
the variables the route provides. Issues go to the file's sink.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from jinja2 import Environment, Template, TemplateSyntaxError

from mediator.mapping.issues import IssueSink
from mediator.mapping.keys import REQUEST_KEYS, unknown_keys
from mediator.mapping.model import ArgNode, ParamSpec, RequestSpec
from mediator.mapping.references import RouteVariables, template_reference_issues
from mediator.mapping.service_info import ElementInfo, OperationInfo
from mediator.mapping.templating import DATA_ENV, XML_ENV, compile_leaf
from mediator.mapping.yamlsource import KeyPath

__all__ = ["check_references", "compile_request"]


def compile_request(
    raw: Any, operation: OperationInfo, path: KeyPath, sink: IssueSink
) -> RequestSpec | None:
    """Compile the ``request:`` block at ``path`` for ``operation``; ``None`` when it cannot
    be used (issues reported)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        sink.at_value(path, "expected a mapping with args or body, and optionally soap_header")
        return None
    unknown_keys(sink, raw, REQUEST_KEYS, path)
    if "args" in raw and "body" in raw:
        sink.at_key(
            (*path, "body"),
            "give either args (serialized against the WSDL) or body (raw XML), not both",
        )
        return None
    header = (
        _template(raw["soap_header"], (*path, "soap_header"), sink)
        if "soap_header" in raw
        else None
    )
    if "body" in raw:
        body = _template(raw["body"], (*path, "body"), sink)
        if body is None:
            return None
        return RequestSpec(body=body, soap_header=header, source=raw)
    args = _compile_args(raw.get("args", {}), operation.input, (*path, "args"), sink)
    return RequestSpec(args=args, soap_header=header, source=raw)


def check_references(
    raw: Any,
    params: tuple[ParamSpec, ...],
    headers: tuple[str, ...],
    path: KeyPath,
    sink: IssueSink,
    env: Collection[str],
    extra: Collection[str] = (),
) -> None:
    """Every template of the request may read only what the route provides: its
    ``params``, its allow-listed ``headers``, the file's ``env`` names (and ``extra``:
    ``steps`` and the fan-out item, for a step)."""
    if not isinstance(raw, dict):
        return
    variables = RouteVariables(
        path=[p.name for p in params if p.location == "path"],
        query=[p.name for p in params if p.location == "query"],
        headers=headers,
        env=list(env),
        extra=extra,
    )
    templates: list[tuple[KeyPath, str, Environment]] = []

    def collect(value: Any, key_path: KeyPath) -> None:
        if isinstance(value, str):
            templates.append((key_path, value, DATA_ENV))
        elif isinstance(value, dict):
            for key, item in value.items():
                collect(item, (*key_path, key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                collect(item, (*key_path, index))

    collect(raw.get("args"), (*path, "args"))
    for key in ("body", "soap_header"):
        if isinstance(raw.get(key), str):
            templates.append(((*path, key), raw[key], XML_ENV))
    for key_path, source, template_env in templates:
        for message in template_reference_issues(source, template_env, variables):
            sink.at_value(key_path, message)


def _template(source: Any, path: KeyPath, sink: IssueSink) -> Template | None:
    if not isinstance(source, str):
        sink.at_value(path, "expected an XML template (a string)")
        return None
    try:
        return XML_ENV.from_string(source)
    except TemplateSyntaxError as exc:
        sink.at_value(
            path,
            f"template does not compile: {exc.message}",
            line_offset=max(exc.lineno - 1, 0) or 0,
        )
        return None


def _compile_args(raw: Any, element: ElementInfo | None, path: KeyPath, sink: IssueSink) -> ArgNode:
    if isinstance(raw, str):
        try:
            return compile_leaf(raw)
        except TemplateSyntaxError as exc:
            sink.at_value(path, f"template does not compile: {exc.message}")
            return None
    if isinstance(raw, list):
        return [_compile_args(item, element, (*path, i), sink) for i, item in enumerate(raw)]
    if isinstance(raw, dict):
        children = element.type.children if element is not None else ()
        names = [c.local for c in children]
        compiled: dict[str, ArgNode] = {}
        for key, value in raw.items():
            child = next((c for c in children if c.local == key), None)
            if element is not None and child is None and not element.type.open:
                expected = ", ".join(names) or "nothing (the element has no children)"
                sink.at_key(
                    (*path, key),
                    f"no element {key!r} in {element.local}; expected one of: {expected}",
                )
                continue
            compiled[key] = _compile_args(value, child, (*path, key), sink)
        if element is not None and not element.type.open:
            for child in children:
                if child.min_occurs > 0 and child.local not in raw:
                    sink.at_key(
                        path, f"missing required element {child.local!r} of {element.local}"
                    )
        return compiled
    return raw
