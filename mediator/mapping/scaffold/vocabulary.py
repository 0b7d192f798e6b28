"""The vocabulary of one SOAP port's mapping file: namespace prefixes, the JSON names of each
type's members, and the type labels and comments describing elements."""

from __future__ import annotations

import re

from mediator.mapping.response_plan import Naming
from mediator.mapping.scaffold.names import json_name, unique_name
from mediator.mapping.service_info import ElementInfo, TypeInfo

__all__ = ["MAX_ENUM_SHOWN", "XSD", "Vocabulary"]

XSD = "http://www.w3.org/2001/XMLSchema"
"""The XML Schema namespace (its built-in types are labelled ``xsd:``)."""
MAX_ENUM_SHOWN = 8
"""How many enumerated values a comment lists."""
_URI_NOISE = {
    "http",
    "https",
    "www",
    "com",
    "org",
    "net",
    "urn",
    "example",
    "schemas",
    "xml",
    "xsd",
    "wsdl",
    "soap",
    "services",
    "service",
    "ws",
    "api",
    "tempuri",
    "invalid",
}


class Vocabulary:
    """Namespace prefixes, JSON names of each type's members, and type labels for comments.

    Args:
        naming: how JSON names derive from XSD names.
        roots: the port's input, output and fault elements; every namespace reachable from
            them gets a prefix, in the order met.
    """

    def __init__(self, naming: Naming, roots: list[ElementInfo]) -> None:
        self.naming = naming
        self.prefixes: dict[str, str] = {}  # namespace → prefix
        self._members: dict[int, dict[tuple[str, str], str]] = {}
        seen: set[int] = set()
        for root in roots:
            self._collect(root, seen)

    def _collect(self, element: ElementInfo, seen: set[int]) -> None:
        self._prefix(element.namespace)
        for attribute in element.type.attributes:
            self._prefix(attribute.namespace)
        if id(element.type) in seen:
            return
        seen.add(id(element.type))
        for child in element.type.children:
            self._collect(child, seen)
        if element.type.array_item is not None:
            for child in element.type.array_item.children:
                self._collect(child, seen)

    def _prefix(self, namespace: str | None) -> None:
        if not namespace or namespace in self.prefixes:
            return
        words = [w for w in re.split(r"[^A-Za-z0-9]+", namespace) if w]
        useful = [w for w in words if w.isalpha() and w.lower() not in _URI_NOISE and len(w) > 1]
        word = (useful[-1] if useful else "ns").lower()
        base = word if len(word) <= 10 else word[:3]
        if base.startswith("xml"):
            base = "ns"
        self.prefixes[namespace] = unique_name(base, self.prefixes.values())

    def qualified(self, namespace: str | None, local: str) -> str:
        """``prefix:local``, or ``local`` for an unqualified name."""
        return f"{self.prefixes[namespace]}:{local}" if namespace else local

    def json_name(self, local: str, *, plural: bool = False) -> str:
        """The JSON name of an element or attribute (camelCase, lists plural, by default)."""
        return json_name(local, self.naming, plural=plural)

    def members(self, type_info: TypeInfo) -> dict[tuple[str, str], str]:
        """JSON names of a type's attributes (``("@", local)``), text (``("#", "value")``) and
        children (``("", local)``), made unique among themselves."""
        cached = self._members.get(id(type_info))
        if cached is not None:
            return cached
        names: dict[tuple[str, str], str] = {}
        taken: set[str] = set()

        def add(key: tuple[str, str], name: str) -> None:
            candidate = unique_name(name, taken)
            taken.add(candidate)
            names[key] = candidate

        for child in type_info.children:
            add(("", child.local), self.json_name(child.local, plural=child.repeated))
        if type_info.scalar and type_info.attributes:
            add(("#", "value"), "value")
        for attribute in type_info.attributes:
            name = self.json_name(attribute.local)
            add(("@", attribute.local), name if name not in taken else f"{name}Attribute")
        self._members[id(type_info)] = names
        return names

    def type_label(self, type_info: TypeInfo) -> str:
        """``xsd:int``, ``lib:Genre``, or the kind for an anonymous type."""
        namespace, _, local = type_info.name[1:].partition("}")
        if type_info.name.startswith("{") and namespace == XSD:
            return f"xsd:{local}"
        if type_info.name.startswith("{") and namespace in self.prefixes:
            return f"{self.prefixes[namespace]}:{local}"
        return type_info.name or type_info.scalar or "anonymous type"

    def comment(self, element: ElementInfo, *, extra: str = "") -> str:
        """The comment describing an element: type, kind, occurrence, enumeration."""
        kind = element.type
        parts = [self.type_label(kind)]
        if kind.scalar and kind.scalar != "string" and not kind.name.endswith(f"}}{kind.scalar}"):
            parts[0] += f" ({kind.scalar})"
        if element.repeated:
            bound = "" if element.max_occurs is None else f", at most {element.max_occurs}"
            parts.append(f"list{bound}")
        if element.optional:
            parts.append("optional")
        if element.nillable:
            parts.append("nillable (null)")
        if extra:
            parts.append(extra)
        text = ", ".join(parts)
        if kind.enumeration:
            shown = " | ".join(kind.enumeration[:MAX_ENUM_SHOWN])
            more = " | …" if len(kind.enumeration) > MAX_ENUM_SHOWN else ""
            text += f": {shown}{more}"
        return text

    def choice_notes(self, type_info: TypeInfo) -> dict[str, str]:
        """For each child in a choice, a note naming the alternatives."""
        notes: dict[str, str] = {}
        for choice in type_info.choices:
            text = "one of: " + " | ".join("+".join(alt) for alt in choice.alternatives if alt)
            for alternative in choice.alternatives:
                for local in alternative:
                    notes.setdefault(local, text)
        return notes
