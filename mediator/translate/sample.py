"""Renders each route's request with sample data and checks it against the input schema.

This is how ``mediator check`` (and start-up, and reload) finds a template that renders
ill-formed XML, crashes, names elements the operation does not have, or leaves out required
ones — before any client does. Sample values come from the route's declared parameters, the
XSD types of the ``args`` elements a ``body.x`` value fills, and a permissive placeholder for
everything else in the JSON body.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from lxml import etree

from mediator.errors import ClientError, MediatorError
from mediator.mapping.model import ParamSpec, Route
from mediator.mapping.service_info import ElementInfo, TypeInfo
from mediator.mapping.templating import single_expression
from mediator.translate.context import build_context
from mediator.translate.envelope import SOAP_ENV_BY_VERSION, build_envelope
from mediator.translate.request import render_request
from mediator.translate.xmlsafe import XMLRejected, parse_xml

__all__ = ["Placeholder", "sample_request_issues"]

_SAMPLES: dict[str, Any] = {
    "string": "sample",
    "integer": 1,
    "number": Decimal("1.5"),
    "decimal": Decimal("1.5"),
    "boolean": True,
    "date": "2024-01-31",
    "datetime": "2024-01-31T12:00:00Z",
    "time": "12:00:00",
    "base64": "c2FtcGxl",
}


class Placeholder(str):
    """Any value of a JSON body the check cannot type: text ``1``, any attribute or item is
    another placeholder, and iterating yields one placeholder."""

    def __new__(cls) -> Placeholder:
        return super().__new__(cls, "1")

    def __getattr__(self, name: str) -> Placeholder:
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder()

    def __getitem__(self, key: Any) -> Placeholder:
        return Placeholder()

    def __iter__(self) -> Iterator[Placeholder]:
        return iter([Placeholder()])

    def get(self, key: Any, default: Any = None) -> Placeholder:
        """Like ``dict.get``: always a placeholder."""
        return Placeholder()


class _SampleBody(dict[str, Any]):
    """A JSON body with typed samples where known and placeholders elsewhere."""

    def __missing__(self, key: str) -> Any:
        return Placeholder()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self[name]


def _param_sample(spec: ParamSpec) -> str:
    if spec.enum:
        return str(spec.enum[0]).lower() if isinstance(spec.enum[0], bool) else str(spec.enum[0])
    value = _SAMPLES.get(spec.kind, "sample")
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _element_sample(element: ElementInfo, depth: int = 0) -> Any:
    value = _type_sample(element.type, depth)
    return [value] if element.repeated else value


def _type_sample(type_info: TypeInfo, depth: int) -> Any:
    if type_info.enumeration:
        return type_info.enumeration[0]
    if not type_info.children or depth > 8:
        return _SAMPLES.get(type_info.scalar or "string", "sample")
    return {c.local: _element_sample(c, depth + 1) for c in type_info.children if c.min_occurs > 0}


def _sample_body(route: Route) -> _SampleBody:
    body = _SampleBody()
    source = route.request.source or {}
    args = source.get("args")
    element = route.input
    if isinstance(args, dict) and element is not None:
        for key, leaf in args.items():
            child = next((c for c in element.type.children if c.local == key), None)
            expr = single_expression(leaf) if isinstance(leaf, str) else None
            if (
                child is not None
                and expr is not None
                and expr.startswith("body.")
                and expr[5:].isidentifier()
            ):
                body[expr[5:]] = _element_sample(child)
    return body


def _structure_issues(node: etree._Element, element: ElementInfo, where: str) -> list[str]:
    qname = etree.QName(node)
    if qname.localname != element.local or (qname.namespace or None) != (element.namespace or None):
        expected = f"{{{element.namespace}}}{element.local}" if element.namespace else element.local
        return [f"{where}: rendered element {qname.text} where the schema expects {expected}"]
    type_info = element.type
    if type_info.open or not type_info.children:
        return []
    issues: list[str] = []
    counts: dict[str, int] = {}
    for child in node:
        if not isinstance(child.tag, str):
            continue
        child_name = etree.QName(child)
        match = type_info.child(child_name.namespace, child_name.localname)
        if match is None:
            names = ", ".join(c.local for c in type_info.children)
            issues.append(
                f"{where}/{child_name.localname}: not an element of {element.local}; "
                f"expected one of: {names}"
            )
            continue
        counts[match.local] = counts.get(match.local, 0) + 1
        issues.extend(_structure_issues(child, match, f"{where}/{match.local}"))
    for child_info in type_info.children:
        if child_info.min_occurs > counts.get(child_info.local, 0):
            issues.append(f"{where}: required element {child_info.local} is missing")
    return issues


def sample_request_issues(route: Route) -> list[str]:
    """Render the route's request from sample data; describe every way it fails the schema."""
    path = {p.name: _param_sample(p) for p in route.params if p.location == "path"}
    query = {p.name: _param_sample(p) for p in route.params if p.location == "query"}
    headers = dict.fromkeys(route.headers, "sample")
    try:
        context = build_context(
            route, path=path, query=query, body=_sample_body(route), headers=headers
        )
        rendered = render_request(route, context)
    except ClientError:
        return []  # sample values cannot satisfy every constraint; not the mapping's fault
    except MediatorError as exc:
        return [f"request does not render: {exc}"]
    if rendered.body_xml is None:
        return []
    try:
        data = build_envelope(
            route.upstream.soap_version,
            rendered.body_xml,
            header_xml=rendered.header_xml,
            namespaces=route.namespaces,
        )
    except XMLRejected as exc:
        return [f"request body renders ill-formed XML: {exc}"]
    envelope = parse_xml(data[data.index(b"\n") + 1 :])
    ns = SOAP_ENV_BY_VERSION[route.upstream.soap_version]
    body = envelope.find(f"{{{ns}}}Body")
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if route.input is None:
        return (
            []
            if not children
            else ["request body renders elements but the operation takes no input"]
        )
    if len(children) != 1:
        return [f"request body renders {len(children)} elements; expected one {route.input.local}"]
    return _structure_issues(children[0], route.input, route.input.local)
