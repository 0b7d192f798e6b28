"""Drift: how a live WSDL differs from the local copy, and what in the mappings it affects.

Both WSDLs are described by the upstream layer (:class:`WsdlInfo`: services, ports,
operations, and the element trees of each operation's input, output and faults). The
comparison reports:

- services, ports and operations added or removed, SOAP actions and styles changed;
- for every operation's messages, element paths (``GetOrderResponse/Order/Customer/Email``)
  added or removed, and changes of namespace, scalar type, ``minOccurs``, ``maxOccurs``,
  ``nillable``, enumeration values and attributes; each change also names the XSD type
  that holds it;
- the routes affected: for input changes the route's request (``request.args.<path>`` when
  the args reach the changed element, else the whole request), for output changes each
  response field whose XPath walks through or under the changed element (e.g.
  ``customer.email``), and for fault changes the route's ``errors`` rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mediator.mapping.model import FieldSpec, MappingSet, Route
from mediator.mapping.service_info import ElementInfo, OperationInfo, TypeInfo, WsdlInfo

__all__ = ["Change", "Impact", "compare_wsdl", "find_impacts", "format_report"]

_STEP = re.compile(r"^(@)?(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)$")
_MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the local and the live WSDL.

    ``path`` is the element path inside the operation's message (empty for changes of
    services, ports and operations); ``message`` says what changed, local → live.
    """

    kind: str  # "added", "removed" or "changed"
    service: str
    port: str
    operation: str | None
    direction: str  # "input", "output", "fault" or "" (not about a message)
    path: tuple[str, ...]
    message: str
    type_name: str = ""

    def describe(self) -> str:
        """A one-line description, e.g. ``GetOrder output GetOrderResponse/Order/Id: …``."""
        where = f"{self.operation} " if self.operation else f"{self.service}/{self.port} "
        if self.direction:
            where += f"{self.direction} "
        if self.path:
            where += "/".join(self.path) + " "
        return f"{where.rstrip()}: {self.message}"


@dataclass(frozen=True, slots=True)
class Impact:
    """A route (and the part of it) a change affects."""

    route: Route
    part: str
    change: Change


def compare_wsdl(local: WsdlInfo, live: WsdlInfo) -> list[Change]:
    """Every difference between two described WSDLs, local → live."""
    changes: list[Change] = []
    for name in sorted(set(local.services) | set(live.services)):
        old, new = local.services.get(name), live.services.get(name)
        if old is None or new is None:
            kind = _kind(old, new)
            changes.append(Change(kind, name, "", None, "", (), f"service {kind}"))
            continue
        for port_name in sorted(set(old.ports) | set(new.ports)):
            old_port, new_port = old.ports.get(port_name), new.ports.get(port_name)
            if old_port is None or new_port is None:
                kind = _kind(old_port, new_port)
                changes.append(Change(kind, name, port_name, None, "", (), f"port {kind}"))
                continue
            if old_port.soap_version != new_port.soap_version:
                message = f"SOAP version {old_port.soap_version} → {new_port.soap_version}"
                changes.append(Change("changed", name, port_name, None, "", (), message))
            for op_name in sorted(set(old_port.operations) | set(new_port.operations)):
                changes.extend(
                    _compare_operation(
                        name,
                        port_name,
                        op_name,
                        old_port.operations.get(op_name),
                        new_port.operations.get(op_name),
                    )
                )
    return changes


def _kind(old: object, new: object) -> str:
    return "added" if old is None else "removed" if new is None else "changed"


def _compare_operation(
    service: str, port: str, name: str, old: OperationInfo | None, new: OperationInfo | None
) -> list[Change]:
    if old is None or new is None:
        kind = _kind(old, new)
        return [Change(kind, service, port, name, "", (), f"operation {kind}")]
    changes: list[Change] = []

    def add(message: str, direction: str = "") -> None:
        changes.append(Change("changed", service, port, name, direction, (), message))

    if old.soap_action != new.soap_action:
        add(f"SOAP action {old.soap_action!r} → {new.soap_action!r}")
    if old.style != new.style:
        add(f"style {old.style} → {new.style}")
    for direction, before, after in (
        ("input", old.input, new.input),
        ("output", old.output, new.output),
    ):
        for kind, path, message, type_name in _compare_element(before, after, (), 0, set()):
            changes.append(Change(kind, service, port, name, direction, path, message, type_name))
    old_faults = {f.local: f for f in old.faults}
    new_faults = {f.local: f for f in new.faults}
    for fault in sorted(set(old_faults) | set(new_faults)):
        for kind, path, message, type_name in _compare_element(
            old_faults.get(fault), new_faults.get(fault), (), 0, set()
        ):
            changes.append(Change(kind, service, port, name, "fault", path, message, type_name))
    return changes


_Found = tuple[str, tuple[str, ...], str, str]


def _compare_element(
    old: ElementInfo | None,
    new: ElementInfo | None,
    parent: tuple[str, ...],
    depth: int,
    seen: set[tuple[int, int]],
    holder: str = "",
) -> Iterator[_Found]:
    """Differences of two element declarations and, recursively, their content."""
    if old is None and new is None:
        return
    if old is None or new is None:
        element = new or old
        assert element is not None
        if new is None:
            message = "element removed"
        else:
            message = f"element added ({'optional' if new.optional else 'required'})"
        yield _kind(old, new), (*parent, element.local), message, holder
        return
    path = (*parent, new.local)
    if old.local != new.local:
        yield "changed", path, f"element name {old.local} → {new.local}", holder
    if old.namespace != new.namespace:
        yield "changed", path, f"namespace {old.namespace} → {new.namespace}", holder
    if old.min_occurs != new.min_occurs:
        yield "changed", path, f"minOccurs {old.min_occurs} → {new.min_occurs}", holder
    if old.max_occurs != new.max_occurs:
        message = f"maxOccurs {_occurs(old.max_occurs)} → {_occurs(new.max_occurs)}"
        yield "changed", path, message, holder
    if old.nillable != new.nillable:
        yield "changed", path, f"nillable {_flag(old.nillable)} → {_flag(new.nillable)}", holder
    yield from _compare_type(old.type, new.type, path, depth, seen, holder)


def _compare_type(
    old: TypeInfo,
    new: TypeInfo,
    path: tuple[str, ...],
    depth: int,
    seen: set[tuple[int, int]],
    parent_holder: str,
) -> Iterator[_Found]:
    key = (id(old), id(new))
    if key in seen or depth > _MAX_DEPTH:
        return
    seen.add(key)
    holder = _local_name(new.name or old.name) or path[-1]
    if old.scalar != new.scalar:
        message = f"type {old.scalar or 'complex'} → {new.scalar or 'complex'}"
        yield "changed", path, message, parent_holder  # the element declaration changed
    if old.enumeration != new.enumeration:
        added = [v for v in new.enumeration if v not in old.enumeration]
        removed = [v for v in old.enumeration if v not in new.enumeration]
        parts = [f"values added: {', '.join(added)}"] if added else []
        parts += [f"values removed: {', '.join(removed)}"] if removed else []
        yield "changed", path, "; ".join(parts) or "enumeration order changed", holder
    if old.open != new.open:
        yield (
            "changed",
            path,
            f"open content (xsd:any) {_flag(old.open)} → {_flag(new.open)}",
            holder,
        )
    old_attrs = {a.local: a for a in old.attributes}
    new_attrs = {a.local: a for a in new.attributes}
    for name in sorted(set(old_attrs) | set(new_attrs)):
        before, after = old_attrs.get(name), new_attrs.get(name)
        attr_path = (*path, f"@{name}")
        if before is None or after is None:
            message = "attribute removed" if after is None else "attribute added"
            yield _kind(before, after), attr_path, message, holder
        elif (before.scalar, before.required) != (after.scalar, after.required):
            message = (
                f"attribute {before.scalar}{' required' if before.required else ''} → "
                f"{after.scalar}{' required' if after.required else ''}"
            )
            yield "changed", attr_path, message, holder
    old_children = {c.local: c for c in old.children}
    new_children = {c.local: c for c in new.children}
    for name in [*old_children, *(n for n in new_children if n not in old_children)]:
        yield from _compare_element(
            old_children.get(name), new_children.get(name), path, depth + 1, seen, holder
        )


def _local_name(name: str) -> str:
    """``{urn:x}Customer`` → ``Customer``."""
    return name.rpartition("}")[2]


def _occurs(value: int | None) -> str:
    return "unbounded" if value is None else str(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _steps(source: str) -> tuple[str, ...] | None:
    """Local names of a plain XPath (``o:Customer/o:Name``, ``@id``); ``None`` otherwise."""
    steps: list[str] = []
    for step in source.strip().split("/"):
        if step in (".", "text()"):
            continue
        match = _STEP.match(step)
        if match is None:
            return None
        steps.append(("@" if match.group(1) else "") + match.group(2))
    return tuple(steps)


def _related(first: tuple[str, ...], second: tuple[str, ...]) -> bool:
    """True when one path is the other or lies under it."""
    size = min(len(first), len(second))
    return first[:size] == second[:size]


def _field_paths(
    fields: tuple[FieldSpec, ...], base: tuple[str, ...] | None, prefix: str
) -> Iterator[tuple[str, tuple[str, ...] | None, bool]]:
    """Each field's dotted JSON name, element path (``None`` if not plain) and whether it
    has nested fields."""
    for spec in fields:
        steps = _steps(spec.source)
        path = None if base is None or steps is None else (*base, *steps)
        name = f"{prefix}{spec.name}"
        yield name, path, bool(spec.fields)
        if spec.fields:
            yield from _field_paths(spec.fields, path, f"{name}.")


def _arg_paths(node: Any, base: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            path = (*base, str(key))
            yield path
            yield from _arg_paths(value, path)
    elif isinstance(node, list):
        for item in node:
            yield from _arg_paths(item, base)


def _request_part(route: Route, change: Change) -> str:
    if route.request.body is not None:
        return "request.body template"
    if route.request.args is None:
        return "request"
    args = list(_arg_paths(route.request.args, ()))
    inner = change.path[1:]  # without the operation's wrapper element
    matched = [path for path in args if inner and _related(path, inner)]
    if matched:
        deepest = max(matched, key=lambda path: len(path))
        return "request.args." + ".".join(deepest)
    return "request.args"


def find_impacts(changes: list[Change], mappings: MappingSet) -> list[Impact]:
    """Which routes, and which of their parts, each change affects."""
    impacts: list[Impact] = []
    for route in mappings.routes:
        upstream = route.upstream
        relevant = [
            c
            for c in changes
            if c.service == upstream.service
            and c.port in ("", upstream.port.name)
            and c.operation in (None, route.operation.name)
        ]
        for change in relevant:
            if change.direction == "input":
                impacts.append(Impact(route, _request_part(route, change), change))
            elif change.direction == "output":
                impacts.extend(
                    Impact(route, part, change) for part in _response_parts(route, change)
                )
            elif change.direction == "fault":
                impacts.append(Impact(route, "errors", change))
            else:
                impacts.append(Impact(route, "operation", change))
    return impacts


def _response_parts(route: Route, change: Change) -> list[str]:
    """The response fields a change inside the operation's output affects."""
    spec = route.response
    output = route.operation.output
    root: tuple[str, ...] | None
    if spec.root_source == "*[1]":
        root = (output.local,) if output is not None else None
    else:
        root = _steps(spec.root_source)
    if root is None:
        return ["response (its root XPath is not a plain path; check it)"]
    changed = change.path
    if not _related(root, changed):
        return []
    if len(changed) <= len(root):
        return ["response.root"]
    hits: list[str] = []
    unknown: list[str] = []
    for name, path, nested in _field_paths(spec.fields, root, ""):
        if path is None:
            unknown.append(name)
        elif path[: len(changed)] == changed:
            hits.append(name)  # the field reads the changed element or something inside it
        elif changed[: len(path)] == path and not nested:
            hits.append(name)  # a leaf field (string, xml) holding the changed element
    # Report the outermost field only: "customer" rather than also "customer.id".
    hits = [h for h in hits if not any(h.startswith(f"{o}.") for o in hits)]
    if hits:
        return [f"response.{name}" for name in hits]
    return [f"response.{name} (its XPath is not a plain path; check it)" for name in unknown]


def format_report(changes: list[Change], impacts: list[Impact], *, local: str, live: str) -> str:
    """A readable report: operations, types, then mapping files and fields affected.

    Changes repeated on several ports of a service (a SOAP 1.1 and a 1.2 binding) are shown
    once.
    """
    lines = [f"drift: {local} (local) vs {live} (live)"]
    if not changes:
        lines.append("  no differences")
        return "\n".join(lines)
    symbols = {"added": "+", "removed": "-", "changed": "~"}
    lines.append("  operations:")
    lines.extend(
        f"    {symbol} {text}"
        for symbol, text in dict.fromkeys((symbols[c.kind], c.describe()) for c in changes)
    )
    used_by: dict[tuple[str, str], list[str]] = {}
    for change in changes:
        if change.type_name and change.path:
            key = (f"{_local_name(change.type_name)}/{change.path[-1]}", change.message)
            where = f"{change.operation} {change.direction}"
            if where not in used_by.setdefault(key, []):
                used_by[key].append(where)
    if used_by:
        lines.append("  types:")
        lines.extend(
            f"    {name}: {message} (in {', '.join(sorted(where))})"
            for (name, message), where in sorted(used_by.items())
        )
    lines.append("  mappings affected:" if impacts else "  mappings affected: none")
    seen: set[tuple[str, int, str, str]] = set()
    for impact in impacts:
        route, text = impact.route, impact.change.describe()
        if (route.file, route.line, impact.part, text) in seen:
            continue
        seen.add((route.file, route.line, impact.part, text))
        lines.append(f"    {route.file}:{route.line}: route {route.name}: {impact.part} ← {text}")
    return "\n".join(lines)
