"""Infers a field's JSON type and list-ness by walking a simple XPath through the XSD.

Only location paths made of name steps (``o:Order/o:Line``, ``@currency``, ``text()``,
``.``, with optional predicates) are walked; anything else (functions, ``//``, wildcards) is
left to the mapping's explicit ``type`` and ``list``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from mediator.mapping.service_info import ElementInfo, TypeInfo

__all__ = ["PathResolution", "UnknownStep", "resolve_path"]

_NAME = r"[A-Za-z_][\w.\-]*"
_STEP = re.compile(
    rf"^(?P<attr>@)?(?:(?P<prefix>{_NAME}):)?(?P<local>{_NAME})(?P<pred>(?:\[[^\]]*\])*)$"
)
_NUMERIC_PREDICATE = re.compile(r"^\[\s*\d+\s*\]$")


@dataclass(frozen=True, slots=True)
class PathResolution:
    """What a path selects: an element (with its type), an attribute, or text."""

    type: TypeInfo | None
    scalar: str | None
    repeated: bool
    nillable: bool
    element: ElementInfo | None


class UnknownStep(ValueError):
    """A step names nothing the schema allows there; ``choices`` lists what it does allow."""

    def __init__(self, step: str, choices: list[str]) -> None:
        listed = ", ".join(choices) if choices else "nothing (no child elements)"
        super().__init__(
            f"step {step!r} matches nothing the schema allows here; expected one of: {listed}"
        )
        self.step = step
        self.choices = choices


def _qualified(namespace: str | None, local: str, prefixes: Mapping[str, str]) -> str:
    if not namespace:
        return local
    for prefix, uri in prefixes.items():
        if uri == namespace:
            return f"{prefix}:{local}"
    return f"{{{namespace}}}{local}"


def resolve_path(
    xpath: str, start: TypeInfo, namespaces: Mapping[str, str]
) -> PathResolution | None:
    """Walk ``xpath`` from ``start``; ``None`` when the path is not a simple name path.

    Raises:
        UnknownStep: when a step names an element or attribute the schema does not allow.
    """
    text = xpath.strip()
    if not text or text.startswith("/") or "//" in text or "|" in text:
        return None
    current: TypeInfo = start
    element: ElementInfo | None = None
    repeated = False
    steps = text.split("/")
    for index, step in enumerate(steps):
        step = step.strip()
        if step == ".":
            continue
        last = index == len(steps) - 1
        if step == "text()" and last:
            return PathResolution(None, current.scalar or "string", repeated, False, None)
        match = _STEP.match(step)
        if not match:
            return None
        prefix, local = match.group("prefix"), match.group("local")
        if prefix is not None and prefix not in namespaces:
            return None  # reported by the prefix check
        namespace = namespaces[prefix] if prefix is not None else None
        if match.group("attr"):
            if not last:
                return None
            attribute = current.attribute(namespace, local)
            if attribute is None:
                if current.open:
                    return None
                choices = [
                    f"@{_qualified(a.namespace, a.local, namespaces)}" for a in current.attributes
                ]
                raise UnknownStep(step, choices)
            return PathResolution(None, attribute.scalar, repeated, False, None)
        if current.open and not current.children:
            return None
        child = current.child(namespace, local)
        if child is None:
            if current.open:
                return None
            choices = [_qualified(c.namespace, c.local, namespaces) for c in current.children]
            raise UnknownStep(step, choices)
        predicate = match.group("pred")
        if child.repeated and not (predicate and _NUMERIC_PREDICATE.match(predicate)):
            repeated = True
        element, current = child, child.type
    if element is None:
        return PathResolution(current, current.scalar, repeated, False, None)
    return PathResolution(current, current.scalar, repeated, element.nillable, element)
