"""Compiles ``response`` blocks into extraction plans, typed from the XSD where not stated."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, Literal, cast

from jinja2 import TemplateSyntaxError
from lxml import etree

from mediator.mapping.issues import IssueSink
from mediator.mapping.model import FIELD_KINDS, Absent, FieldKind, FieldSpec, ResponseSpec
from mediator.mapping.service_info import ElementInfo, TypeInfo
from mediator.mapping.templating import compile_expression
from mediator.mapping.values import camel_case
from mediator.mapping.xpathtypes import PathResolution, UnknownStep, resolve_path
from mediator.mapping.yamlsource import KeyPath

__all__ = ["Naming", "absent_value", "compile_response", "compile_xpath", "namespaces_for"]

Naming = Literal["camel", "keep"]

_RESPONSE_KEYS = {"root", "fields", "template", "status", "absent"}
_FIELD_KEYS = {"xpath", "type", "list", "fields", "absent"}
# A prefix is a name not preceded by a name character, a quote or a single colon (``a:b:c``);
# it may follow ``@`` (attributes), ``$`` (variables) and ``::`` (axes such as ``child::x:a``).
_PREFIX_USE = re.compile(
    r"(?<![\w.\-'\"])(?:(?<=::)|(?<!:))([A-Za-z_][\w.\-]*):(?!:)(?=[A-Za-z_*])"
)
_STRING_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")
_MAX_AUTO_DEPTH = 8
_PROBE = etree.Element("probe")


_CHILD_STEP = re.compile(r"^(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)$")


def with_child_tags(
    fields: tuple[FieldSpec, ...], namespaces: Mapping[str, str]
) -> tuple[FieldSpec, ...]:
    """The fields, each whose XPath is one plain child step marked with that child's tag."""
    marked = []
    for field in fields:
        match = _CHILD_STEP.match(field.source)
        tag = None
        if match:
            prefix, local = match.groups()
            if prefix is None:
                tag = local
            elif prefix in namespaces:
                tag = f"{{{namespaces[prefix]}}}{local}"
        marked.append(
            dataclasses.replace(
                field, child_tag=tag, fields=with_child_tags(field.fields, namespaces)
            )
        )
    return tuple(marked)


def absent_value(raw: Mapping[str, Any], default: Absent) -> Any:
    """The ``absent`` setting of a block; an unquoted YAML ``null`` means ``"null"``."""
    if "absent" not in raw:
        return default
    value = raw["absent"]
    return "null" if value is None else value


def namespaces_for(declared: Mapping[str, str], *elements: ElementInfo | None) -> dict[str, str]:
    """The declared prefixes plus generated ones (``ns0``, ``ns1``…) for any other namespace
    the given elements (and their descendants) use, so derived XPaths can name them."""
    result = dict(declared)
    known = set(result.values())
    seen: set[int] = set()

    def visit(element: ElementInfo, depth: int) -> None:
        if element.namespace and element.namespace not in known:
            index = 0
            while f"ns{index}" in result:
                index += 1
            result[f"ns{index}"] = element.namespace
            known.add(element.namespace)
        if depth >= _MAX_AUTO_DEPTH or id(element.type) in seen:
            return
        seen.add(id(element.type))
        for child in element.type.children:
            visit(child, depth + 1)

    for element in elements:
        if element is not None:
            visit(element, 0)
    return result


def compile_xpath(
    source: str, namespaces: Mapping[str, str], sink: IssueSink, path: KeyPath
) -> etree.XPath | None:
    """Compile an XPath, checking its prefixes are declared; report and return None on error."""
    bare = _STRING_LITERAL.sub("''", source)
    undeclared = sorted({p for p in _PREFIX_USE.findall(bare) if p not in namespaces})
    if undeclared:
        declared = ", ".join(sorted(namespaces)) or "none"
        sink.at_value(
            path,
            f"XPath {source!r} uses undeclared prefix {', '.join(undeclared)}; "
            f"declared prefixes: {declared} (add it under service.namespaces)",
        )
        return None
    try:
        xpath = etree.XPath(source, namespaces=dict(namespaces), smart_strings=False)
        xpath(_PROBE)
    except etree.XPathError as exc:
        sink.at_value(path, f"XPath {source!r} does not compile: {exc}")
        return None
    return xpath


def _qualified(element: ElementInfo | TypeInfo, namespaces: Mapping[str, str]) -> str:
    assert isinstance(element, ElementInfo)
    if not element.namespace:
        return element.local
    prefix = next(p for p, uri in namespaces.items() if uri == element.namespace)
    return f"{prefix}:{element.local}"


def _json_name(local: str, naming: Naming) -> str:
    return camel_case(local) if naming == "camel" else local


def derive_fields(
    type_info: TypeInfo,
    namespaces: Mapping[str, str],
    naming: Naming,
    absent: Absent,
    depth: int = 0,
) -> tuple[FieldSpec, ...]:
    """Fields for every attribute and child element of a type, typed from the XSD."""
    fields: list[FieldSpec] = []
    for attribute in type_info.attributes:
        name = f"@{attribute.local}"
        fields.append(
            FieldSpec(
                name=_json_name(attribute.local, naming),
                source=name,
                xpath=etree.XPath(name, smart_strings=False),
                kind=cast(FieldKind, attribute.scalar),
                is_list=False,
                absent=absent,
            )
        )
    if type_info.scalar and type_info.attributes:
        fields.append(
            FieldSpec(
                name="value",
                source="text()",
                xpath=etree.XPath("text()", smart_strings=False),
                kind=type_info.scalar,
                is_list=False,
                absent=absent,
            )
        )
    for child in type_info.children:
        # Unqualified children (rpc parts, elementFormDefault="unqualified") are matched by
        # local name: some engines qualify them anyway (node-soap writes <tns:part>).
        source = (
            _qualified(child, namespaces) if child.namespace else f"*[local-name()='{child.local}']"
        )
        xpath = etree.XPath(source, namespaces=dict(namespaces), smart_strings=False)
        fields.append(_field_from_element(child, source, xpath, namespaces, naming, absent, depth))
    return tuple(fields)


def _field_from_element(
    child: ElementInfo,
    source: str,
    xpath: etree.XPath,
    namespaces: Mapping[str, str],
    naming: Naming,
    absent: Absent,
    depth: int,
) -> FieldSpec:
    name = _json_name(child.local, naming)
    item = child.type.array_item
    if item is not None:  # a SOAP-encoded array: its items, whatever their element names
        items_source = f"{source}/*"
        items_xpath = etree.XPath(items_source, namespaces=dict(namespaces), smart_strings=False)
        if item.children and depth < _MAX_AUTO_DEPTH:
            item_kind: FieldKind = "object"
            item_fields = derive_fields(item, namespaces, naming, absent, depth + 1)
        else:
            item_kind, item_fields = cast(FieldKind, item.scalar or "string"), ()
        return FieldSpec(
            name=name,
            source=items_source,
            xpath=items_xpath,
            kind=item_kind,
            is_list=True,
            absent=absent,
            fields=item_fields,
        )
    if child.type.children or (child.type.attributes and depth < _MAX_AUTO_DEPTH):
        if depth >= _MAX_AUTO_DEPTH:
            kind: FieldKind = "xml"
            sub: tuple[FieldSpec, ...] = ()
        else:
            kind = "object"
            sub = derive_fields(child.type, namespaces, naming, absent, depth + 1)
    elif child.type.open:
        kind, sub = "xml", ()
    else:
        kind, sub = cast(FieldKind, child.type.scalar or "string"), ()
    return FieldSpec(
        name=name,
        source=source,
        xpath=xpath,
        kind=kind,
        is_list=child.repeated,
        absent=absent,
        fields=sub,
    )


def _resolve(
    source: str,
    start: TypeInfo | None,
    namespaces: Mapping[str, str],
    sink: IssueSink,
    path: KeyPath,
) -> PathResolution | None:
    if start is None:
        return None
    try:
        return resolve_path(source, start, namespaces)
    except UnknownStep as exc:
        sink.at_value(path, str(exc))
        return None


def _compile_field(
    name: str,
    raw: Any,
    parent: TypeInfo | None,
    ctx: _Context,
    path: KeyPath,
) -> FieldSpec | None:
    sink = ctx.sink
    if isinstance(raw, str):
        raw = {"xpath": raw}
    if not isinstance(raw, dict):
        sink.at_value(
            path,
            "expected an XPath string or a mapping with xpath/type/list/fields, "
            f"got {type(raw).__name__}",
        )
        return None
    for key in raw:
        if key not in _FIELD_KEYS:
            sink.at_key(
                (*path, key), f"unknown key; expected one of: {', '.join(sorted(_FIELD_KEYS))}"
            )
    source = raw.get("xpath")
    if not isinstance(source, str) or not source.strip():
        sink.at_value(path, "missing xpath; expected an XPath relative to the parent element")
        return None
    xpath = compile_xpath(
        source, ctx.namespaces, sink, (*path, "xpath") if "xpath" in raw else path
    )
    if xpath is None:
        return None
    resolution = _resolve(
        source, parent, ctx.namespaces, sink, (*path, "xpath") if "xpath" in raw else path
    )
    absent = absent_value(raw, ctx.absent)
    if absent not in ("omit", "null"):
        sink.at_value((*path, "absent"), f"expected omit or null, got {absent!r}")
        absent = ctx.absent
    is_list = raw.get("list")
    if is_list is not None and not isinstance(is_list, bool):
        sink.at_value((*path, "list"), f"expected true or false, got {is_list!r}")
        is_list = None
    if is_list is None:
        is_list = resolution.repeated if resolution else False
    kind = raw.get("type")
    sub_raw = raw.get("fields")
    sub: tuple[FieldSpec, ...] = ()
    if sub_raw is not None:
        if kind is not None and kind != "object":
            sink.at_value((*path, "type"), "a field with fields is an object; drop type or fields")
        sub = _compile_fields(
            sub_raw, resolution.type if resolution else None, ctx, (*path, "fields")
        )
        return FieldSpec(
            name=name,
            source=source,
            xpath=xpath,
            kind="object",
            is_list=is_list,
            absent=absent,
            fields=sub,
        )
    if kind is not None:
        if kind not in FIELD_KINDS:
            sink.at_value(
                (*path, "type"), f"unknown type {kind!r}; expected one of: {', '.join(FIELD_KINDS)}"
            )
            kind = "string"
        return FieldSpec(
            name=name,
            source=source,
            xpath=xpath,
            kind=cast(FieldKind, kind),
            is_list=is_list,
            absent=absent,
        )
    if (
        resolution
        and resolution.type
        and (resolution.type.children or resolution.type.attributes)
        and resolution.element is not None
    ):
        derived = _field_from_element(
            resolution.element, source, xpath, ctx.namespaces, ctx.naming, absent, 1
        )
        return FieldSpec(
            name=name,
            source=source,
            xpath=xpath,
            kind=derived.kind,
            is_list=is_list,
            absent=absent,
            fields=derived.fields,
        )
    scalar = resolution.scalar if resolution and resolution.scalar else "string"
    return FieldSpec(
        name=name,
        source=source,
        xpath=xpath,
        kind=cast(FieldKind, scalar),
        is_list=is_list,
        absent=absent,
    )


def _compile_fields(
    raw: Any, parent: TypeInfo | None, ctx: _Context, path: KeyPath
) -> tuple[FieldSpec, ...]:
    if not isinstance(raw, dict) or not raw:
        ctx.sink.at_value(path, "expected a mapping of JSON field names to XPaths")
        return ()
    fields = []
    for name, spec in raw.items():
        compiled = _compile_field(name, spec, parent, ctx, (*path, name))
        if compiled is not None:
            fields.append(compiled)
    return tuple(fields)


class _Context:
    __slots__ = ("absent", "namespaces", "naming", "sink")

    def __init__(
        self, sink: IssueSink, namespaces: dict[str, str], naming: Naming, absent: Absent
    ) -> None:
        self.sink, self.namespaces, self.naming, self.absent = sink, namespaces, naming, absent


def compile_response(
    raw: Any,
    output: ElementInfo | None,
    declared_namespaces: Mapping[str, str],
    sink: IssueSink,
    path: KeyPath,
    *,
    naming: Naming,
    absent: Absent,
) -> ResponseSpec | None:
    """Compile a route's ``response`` block (``None`` or absent: derive it all from the XSD)."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        sink.at_value(path, "expected a mapping with root, fields, template, status or absent")
        return None
    for key in raw:
        if key not in _RESPONSE_KEYS:
            sink.at_key(
                (*path, key), f"unknown key; expected one of: {', '.join(sorted(_RESPONSE_KEYS))}"
            )
    local_absent = absent_value(raw, absent)
    if local_absent not in ("omit", "null"):
        sink.at_value((*path, "absent"), f"expected omit or null, got {local_absent!r}")
        local_absent = absent
    namespaces = namespaces_for(declared_namespaces, output)
    ctx = _Context(sink, namespaces, naming, local_absent)
    body_type = TypeInfo(name="Body", children=(output,) if output else (), open=output is None)
    status = raw.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 299:
        sink.at_value((*path, "status"), f"expected a 2xx status code, got {status!r}")
        status = 200
    root_source = raw.get("root", "*[1]")
    if not isinstance(root_source, str):
        sink.at_value((*path, "root"), "expected an XPath relative to the SOAP Body")
        return None
    root = compile_xpath(root_source, namespaces, sink, (*path, "root"))
    if root is None:
        return None
    if root_source == "*[1]":
        root_type = output.type if output else None
    else:
        resolution = _resolve(root_source, body_type, namespaces, sink, (*path, "root"))
        root_type = resolution.type if resolution else None
    template = None
    if "template" in raw:
        if not isinstance(raw["template"], str):
            sink.at_value((*path, "template"), "expected a Jinja expression over fields and xml")
        else:
            try:
                template = compile_expression(raw["template"])
            except TemplateSyntaxError as exc:
                sink.at_value((*path, "template"), f"template does not compile: {exc.message}")
    if "fields" in raw:
        fields = _compile_fields(raw["fields"], root_type, ctx, (*path, "fields"))
    elif root_type is not None:
        fields = derive_fields(root_type, namespaces, naming, local_absent)
    else:
        fields = ()
    return ResponseSpec(
        root_source=root_source,
        root=root,
        fields=with_child_tags(fields, namespaces),
        template=template,
        namespaces=namespaces,
        status=status,
    )
