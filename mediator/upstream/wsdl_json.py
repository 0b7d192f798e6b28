"""The JSON form of :class:`~mediator.mapping.service_info.WsdlInfo`, as the WSDL cache
stores it.

Types form a graph (shared and recursive nodes): they are listed once, in the order first
reached, and elements refer to them by index. Elements are ``[local, namespace, type, min,
max, nillable]``; attributes ``[local, namespace, scalar, required, enumeration]``. Reading
checks every value's type, so a damaged or foreign document raises ``ValueError`` instead of
yielding a description the mapping compiler would trip over.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from mediator.mapping.service_info import (
    SCALAR_KINDS,
    AttributeInfo,
    ChoiceInfo,
    ElementInfo,
    OperationInfo,
    PortInfo,
    ScalarKind,
    ServiceInfo,
    TypeInfo,
    WsdlInfo,
)

__all__ = ["decode_info", "encode_info"]


class _ShapeError(ValueError):
    """A document that does not have the shape :func:`encode_info` writes."""


def encode_info(info: WsdlInfo) -> dict[str, Any]:
    """A JSON-serializable form of ``info`` (its path is not included)."""
    types: list[dict[str, Any]] = []
    index: dict[int, int] = {}
    pending: list[TypeInfo] = []

    def ref(type_info: TypeInfo) -> int:
        position = index.get(id(type_info))
        if position is None:
            position = index[id(type_info)] = len(index)
            pending.append(type_info)
        return position

    def element(e: ElementInfo | None) -> list[Any] | None:
        if e is None:
            return None
        return [e.local, e.namespace, ref(e.type), e.min_occurs, e.max_occurs, e.nillable]

    services = [
        {
            "name": service.name,
            "ports": [
                {
                    "name": port.name,
                    "soap_version": port.soap_version,
                    "address": port.address,
                    "operations": [
                        {
                            "name": op.name,
                            "soap_action": op.soap_action,
                            "style": op.style,
                            "input": element(op.input),
                            "output": element(op.output),
                            "faults": [element(f) for f in op.faults],
                        }
                        for op in port.operations.values()
                    ],
                }
                for port in service.ports.values()
            ],
        }
        for service in info.services.values()
    ]
    while len(types) < len(index):
        t = pending[len(types)]
        types.append(
            {
                "name": t.name,
                "scalar": t.scalar,
                "children": [element(c) for c in t.children],
                "attributes": [
                    [a.local, a.namespace, a.scalar, a.required, list(a.enumeration)]
                    for a in t.attributes
                ],
                "enumeration": list(t.enumeration),
                "open": t.open,
                "choices": [
                    [[list(alt) for alt in c.alternatives], c.optional, c.repeated]
                    for c in t.choices
                ],
                "array_item": None if t.array_item is None else ref(t.array_item),
            }
        )
    return {"services": services, "namespaces": dict(info.namespaces), "types": types}


def decode_info(data: Any, path: Path) -> WsdlInfo:
    """The :class:`WsdlInfo` of :func:`encode_info`'s output, for the WSDL at ``path``.

    Raises:
        ValueError: ``data`` does not have the shape :func:`encode_info` writes.
    """
    raw_types = _list(_dict(data)["types"])
    types = [TypeInfo(name=_str(_dict(t)["name"])) for t in raw_types]

    count = len(types)

    def element(raw: Any) -> ElementInfo:
        # The most frequent node: checked inline (exact types; bool is not an int here).
        local, namespace, type_index, min_occurs, max_occurs, nillable = _list(raw)
        if (
            type(local) is not str
            or (namespace is not None and type(namespace) is not str)
            or type(type_index) is not int
            or not 0 <= type_index < count
            or type(min_occurs) is not int
            or (max_occurs is not None and type(max_occurs) is not int)
            or type(nillable) is not bool
        ):
            raise _ShapeError("malformed element")
        return ElementInfo(local, namespace, types[type_index], min_occurs, max_occurs, nillable)

    def optional_element(raw: Any) -> ElementInfo | None:
        return None if raw is None else element(raw)

    for type_info, raw in zip(types, raw_types, strict=True):
        scalar = raw["scalar"]
        type_info.scalar = None if scalar is None else _scalar(scalar)
        type_info.children = tuple(element(c) for c in _list(raw["children"]))
        type_info.attributes = tuple(
            AttributeInfo(
                local=_str(local),
                namespace=_opt_str(namespace),
                scalar=_scalar(kind),
                required=_bool(required),
                enumeration=_strs(enumeration),
            )
            for local, namespace, kind, required, enumeration in map(_list, raw["attributes"])
        )
        type_info.enumeration = _strs(raw["enumeration"])
        type_info.open = _bool(raw["open"])
        type_info.choices = tuple(
            ChoiceInfo(
                alternatives=tuple(_strs(alt) for alt in _list(alternatives)),
                optional=_bool(optional),
                repeated=_bool(repeated),
            )
            for alternatives, optional, repeated in map(_list, raw["choices"])
        )
        item = raw["array_item"]
        if item is not None:
            if not 0 <= _int(item) < len(types):
                raise _ShapeError("type index out of range")
            type_info.array_item = types[item]

    services: dict[str, ServiceInfo] = {}
    for raw_service in _list(data["services"]):
        ports: dict[str, PortInfo] = {}
        for raw_port in _list(_dict(raw_service)["ports"]):
            operations: dict[str, OperationInfo] = {}
            for raw_op in _list(_dict(raw_port)["operations"]):
                name = _str(_dict(raw_op)["name"])
                operations[name] = OperationInfo(
                    name=name,
                    soap_action=_str(raw_op["soap_action"]),
                    style=_choice(raw_op["style"], ("document", "rpc")),
                    input=optional_element(raw_op["input"]),
                    output=optional_element(raw_op["output"]),
                    faults=tuple(element(f) for f in _list(raw_op["faults"])),
                )
            port_name = _str(raw_port["name"])
            ports[port_name] = PortInfo(
                name=port_name,
                soap_version=_choice(raw_port["soap_version"], ("1.1", "1.2")),
                address=_str(raw_port["address"]),
                operations=operations,
            )
        service_name = _str(raw_service["name"])
        services[service_name] = ServiceInfo(name=service_name, ports=ports)
    namespaces = {_str(k): _str(v) for k, v in _dict(data["namespaces"]).items()}
    return WsdlInfo(path=path, services=services, namespaces=namespaces)


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _ShapeError("expected an object")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _ShapeError("expected an array")
    return value


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise _ShapeError("expected a string")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _ShapeError("expected an integer")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _ShapeError("expected a boolean")
    return value


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(_str(v) for v in _list(value))


def _scalar(value: Any) -> ScalarKind:
    if value not in SCALAR_KINDS:
        raise _ShapeError("unknown scalar kind")
    return cast(ScalarKind, value)


def _choice(value: Any, choices: tuple[str, ...]) -> Any:
    if value not in choices:
        raise _ShapeError(f"expected one of {choices}")
    return value
