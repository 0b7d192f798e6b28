"""One route per operation: planning its method and REST path (unique across the files of a
run), its typed path parameter, and writing its entry under ``routes:``.

A read with one simple key (``GetOrder(OrderId)``) becomes ``GET /orders/{orderId}``; any
other operation ``POST /operation-name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mediator.mapping.scaffold.examples import example_body, example_json, example_value
from mediator.mapping.scaffold.model import ScaffoldRoute
from mediator.mapping.scaffold.names import is_identifier, kebab_case, pluralize
from mediator.mapping.scaffold.requests import emit_request
from mediator.mapping.scaffold.responses import emit_faults, emit_response
from mediator.mapping.scaffold.shapes import is_complex
from mediator.mapping.scaffold.vocabulary import Vocabulary
from mediator.mapping.scaffold.yamltext import YamlLines, yaml_str, yaml_value
from mediator.mapping.service_info import (
    ElementInfo,
    OperationInfo,
    PortInfo,
    ServiceInfo,
    TypeInfo,
)

__all__ = ["READ_VERBS", "RoutePlan", "emit_route", "plan_port"]

READ_VERBS = ("Get", "Find", "Fetch", "Read", "Lookup", "Retrieve", "Load", "Show", "View")
"""Operation-name prefixes that make a one-key operation a ``GET``."""
_PARAM_KINDS = {
    "integer": "integer",
    "decimal": "number",
    "number": "number",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}


@dataclass
class RoutePlan:
    """An operation's route: method, path, and for a one-key read the key element and the
    path parameter carrying it; ``name`` is the route's name, set when the file is written."""

    operation: OperationInfo
    method: str
    path: str
    key: ElementInfo | None = None
    param: str = ""
    name: str = ""


def _read_key(operation: OperationInfo) -> tuple[str, ElementInfo] | None:
    """The resource name and key element of a one-key read, if the operation is one."""
    verb = next((v for v in READ_VERBS if operation.name.startswith(v)), None)
    element = operation.input
    if verb is None or element is None or element.type.attributes or element.type.choices:
        return None
    rest = operation.name[len(verb) :]
    if rest and not rest[0].isupper():
        return None
    resource = re.sub(r"By[A-Z]\w*$", "", rest)
    if element.type.children:
        if len(element.type.children) != 1:
            return None
        element = element.type.children[0]
    elif element.type.open or element.type.scalar is None:
        return None
    if is_complex(element.type) or element.type.open or element.repeated or not resource:
        return None
    return resource, element


def _shape(method: str, path: str) -> tuple[str, str]:
    return method, re.sub(r"\{[^}]*\}", "{}", path)


def _take(method: str, candidates: list[str], taken: set[tuple[str, str]]) -> str:
    """The first candidate path not taken yet (numbering the last one if all are)."""
    for candidate in candidates:
        if _shape(method, candidate) not in taken:
            return candidate
    index = 2
    while _shape(method, f"{candidates[-1]}-{index}") in taken:
        index += 1
    return f"{candidates[-1]}-{index}"


def _plans_under(
    port: PortInfo, prefix: str, vocab: Vocabulary, used: set[tuple[str, str]], *, force: bool
) -> list[RoutePlan] | None:
    """Plans for every operation of ``port`` under ``prefix``; ``None`` when a route's first
    choice of path is already taken by another file (unless ``force``)."""
    taken = set(used)
    plans = []
    for operation in port.operations.values():
        read = _read_key(operation)
        key, param = None, ""
        if read is not None:
            resource, key = read
            param = re.sub(r"\W", "_", vocab.json_name(key.local))
            param = param if is_identifier(param) else f"p_{param}"
            method = "get"
            tails = [
                f"/{kebab_case(pluralize(resource))}/{{{param}}}",
                f"/{kebab_case(operation.name)}/{{{param}}}",
            ]
        else:
            method, tails = "post", [f"/{kebab_case(operation.name)}"]
        candidates = [prefix + tail for tail in tails]
        if not force and _shape(method, candidates[0]) in used:
            return None
        path = _take(method, candidates, taken)
        taken.add(_shape(method, path))
        plans.append(RoutePlan(operation, method, path, key, param))
    return plans


def plan_port(
    service: ServiceInfo, port: PortInfo, vocab: Vocabulary, used: set[tuple[str, str]]
) -> list[RoutePlan]:
    """Plans for a port's operations, with paths unique across the files of one run: when the
    port's paths clash with an earlier file's, all of them take the port's name as prefix.

    Args:
        service: the service holding the port.
        port: the port whose operations to plan.
        vocab: the port's vocabulary (for the path parameters' names).
        used: the ``(method, path shape)`` of every route planned so far; updated.
    """
    prefixes = [
        "",
        f"/{kebab_case(port.name)}",
        f"/{kebab_case(service.name)}/{kebab_case(port.name)}",
    ]
    plans = None
    for prefix in prefixes:
        plans = _plans_under(port, prefix, vocab, used, force=False)
        if plans is not None:
            break
    if plans is None:
        plans = _plans_under(port, prefixes[-1], vocab, used, force=True) or []
    used.update(_shape(plan.method, plan.path) for plan in plans)
    return plans


def _key_label(kind: TypeInfo) -> str:
    """The short label of a key's type in comments."""
    return kind.name.rpartition("}")[2] or kind.scalar or "string"


def _param_lines(out: YamlLines, plan: RoutePlan) -> Any:
    assert plan.key is not None
    kind = plan.key.type
    param_kind = _PARAM_KINDS.get(kind.scalar or "string", "string")
    example = example_value(kind)
    spec: str = param_kind
    if kind.enumeration and param_kind in ("string", "integer"):
        values = [int(v) if param_kind == "integer" else v for v in kind.enumeration]
        spec = f"{{type: {param_kind}, enum: {yaml_value(values)}}}"
    if not isinstance(example, str | int) or isinstance(example, bool):
        example = str(example).lower() if isinstance(example, bool) else str(example)
    out.add(4, "params:")
    out.add(6, f"path: {{{plan.param}: {spec}}}", f"{plan.key.local}: {_key_label(kind)}")
    return example


def emit_route(out: YamlLines, plan: RoutePlan, vocab: Vocabulary) -> ScaffoldRoute:
    """Write the planned route (name, summary, operation, params, request, response, faults)
    and return it with an example call its request template accepts."""
    operation = plan.operation
    out.lines.append("")
    out.note(
        2, f"{operation.name} ({operation.style}; SOAPAction {operation.soap_action or 'none'})"
    )
    out.add(2, f"- {plan.method}: {yaml_str(plan.path)}")
    out.add(4, f"name: {yaml_str(plan.name)}")
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", operation.name).replace("_", " ")
    out.add(4, f"summary: {yaml_str(words[:1].upper() + words[1:].lower())}")
    out.add(4, f"operation: {yaml_str(operation.name)}")
    example_path, body = plan.path, None
    if plan.key is not None:
        example = _param_lines(out, plan)
        example_path = plan.path.replace(f"{{{plan.param}}}", str(example))
    emit_request(out, operation, vocab, key=plan.key, param=plan.param)
    if plan.method == "post" and operation.input is not None and is_complex(operation.input.type):
        body = example_body(operation.input, vocab)
        shown = example_json(body)
        if len(shown) <= 160:
            out.note(4, f"example body: {shown}")
    elif plan.method == "post":
        body = {}
    emit_response(out, operation, vocab)
    emit_faults(out, operation)
    return ScaffoldRoute(plan.method.upper(), plan.path, operation.name, example_path, body)
