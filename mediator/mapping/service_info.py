"""Plain descriptions of what a WSDL offers, as the mapping compiler needs them.

The upstream layer builds these from zeep; the mapping and translation layers read them and
never see zeep objects. Complex types are shared nodes so recursive schemas stay finite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

__all__ = [
    "SCALAR_KINDS",
    "AttributeInfo",
    "ChoiceInfo",
    "DescribeWsdl",
    "ElementInfo",
    "OperationInfo",
    "PortInfo",
    "ScalarKind",
    "ServiceInfo",
    "TypeInfo",
    "WsdlInfo",
]

ScalarKind: TypeAlias = Literal[
    "string", "integer", "number", "decimal", "boolean", "date", "datetime", "time", "base64"
]
SCALAR_KINDS: tuple[str, ...] = (
    "string",
    "integer",
    "number",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "time",
    "base64",
)


@dataclass(slots=True, eq=False, repr=False)
class TypeInfo:
    """An XSD type: a scalar kind, or a complex type with child elements and attributes.

    ``scalar`` is the kind of the text content (``None`` for element-only complex types; set
    with ``attributes`` for simpleContent). ``children`` flattens sequences, choices, ``all``
    and groups; ``choices`` says which of them are alternatives. ``array_item`` is the item
    type of a SOAP-encoded array (``soapenc:Array`` restricted by ``wsdl:arrayType``), whose
    items are open content named freely by the sender.
    """

    name: str
    scalar: ScalarKind | None = None
    children: tuple[ElementInfo, ...] = ()
    attributes: tuple[AttributeInfo, ...] = ()
    enumeration: tuple[str, ...] = ()
    open: bool = False  # xsd:any or anyType content: children are not known in advance
    choices: tuple[ChoiceInfo, ...] = ()
    array_item: TypeInfo | None = None

    def __repr__(self) -> str:
        return f"TypeInfo({self.name!r}, scalar={self.scalar!r}, children={len(self.children)})"

    def child(self, namespace: str | None, local: str) -> ElementInfo | None:
        """Return the child element with this namespace and local name, if the type has one."""
        for c in self.children:
            if c.local == local and (c.namespace or None) == (namespace or None):
                return c
        return None

    def attribute(self, namespace: str | None, local: str) -> AttributeInfo | None:
        """Return the attribute with this namespace and local name, if the type has one."""
        for a in self.attributes:
            if a.local == local and (a.namespace or None) == (namespace or None):
                return a
        return None


@dataclass(frozen=True, slots=True)
class ElementInfo:
    """An element declaration: its qualified name, type and occurrence constraints."""

    local: str
    namespace: str | None
    type: TypeInfo
    min_occurs: int = 1
    max_occurs: int | None = 1  # None: unbounded
    nillable: bool = False

    @property
    def repeated(self) -> bool:
        """True when the element may occur more than once (always a JSON array)."""
        return self.max_occurs is None or self.max_occurs > 1

    @property
    def optional(self) -> bool:
        """True when the element may be absent."""
        return self.min_occurs == 0


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """An attribute declaration."""

    local: str
    namespace: str | None
    scalar: ScalarKind
    required: bool = False
    enumeration: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChoiceInfo:
    """An ``xsd:choice`` among a type's children.

    ``alternatives`` holds, for each branch, the local names of the child elements it
    contains (one name for an element branch, several for a sequence branch). The members
    are listed in :attr:`TypeInfo.children` too, each optional.
    """

    alternatives: tuple[tuple[str, ...], ...]
    optional: bool = False  # minOccurs="0" on the choice or an enclosing particle
    repeated: bool = False  # maxOccurs > 1: several branches may follow each other


@dataclass(frozen=True, slots=True)
class OperationInfo:
    """One operation of a port: its SOAP action and the elements found in the SOAP Body.

    ``input`` and ``output`` describe the Body's child element (the wrapper for
    document/literal wrapped and rpc styles); ``None`` when the message has no body part.
    """

    name: str
    soap_action: str
    style: Literal["document", "rpc"]
    input: ElementInfo | None
    output: ElementInfo | None
    faults: tuple[ElementInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A port: a binding at an address, speaking one SOAP version."""

    name: str
    soap_version: Literal["1.1", "1.2"]
    address: str
    operations: dict[str, OperationInfo] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """A WSDL service and its SOAP ports, in document order."""

    name: str
    ports: dict[str, PortInfo] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WsdlInfo:
    """Everything the mapping compiler needs from one WSDL file."""

    path: Path
    services: dict[str, ServiceInfo] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)


DescribeWsdl: TypeAlias = Callable[[Path], WsdlInfo]
"""Loads a WSDL and describes it; raises ``ValueError`` with a readable reason on failure."""
