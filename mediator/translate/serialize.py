"""Serializes XSD-coerced ``args`` into the SOAP Body for plain document/literal operations.

zeep's ``create_message`` is general but costs tens of microseconds per request. For
document-style operations whose input is plain elements (no attributes, open content,
choices or SOAP-encoded arrays) the Body is written here directly, in schema order, with
every namespace declared on the Body's element; anything else stays with zeep. A test keeps
the two byte-for-byte equal after canonicalisation.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mediator.errors import ClientError
from mediator.mapping.service_info import ElementInfo, OperationInfo, TypeInfo

__all__ = ["plain_input", "serialize_args"]

_XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _plain(type_info: TypeInfo, seen: set[int]) -> bool:
    if id(type_info) in seen:
        return False  # recursive types stay with zeep
    if type_info.open or type_info.attributes or type_info.choices or type_info.array_item:
        return False
    seen = seen | {id(type_info)}
    return all(_plain(child.type, seen) for child in type_info.children)


def plain_input(operation: OperationInfo) -> bool:
    """Whether the operation's input can be written by :func:`serialize_args`."""
    element = operation.input
    return (
        operation.style == "document"
        and element is not None
        and bool(element.namespace)
        and bool(element.type.children)
        and _plain(element.type, set())
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | Decimal | str):
        text = str(value)
    else:
        raise ClientError(f"cannot write {type(value).__name__} as XML text")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Writer:
    __slots__ = ("out", "prefixes")

    def __init__(self) -> None:
        self.out: list[str] = []
        self.prefixes: dict[str, str] = {}

    def name(self, element: ElementInfo) -> str:
        if not element.namespace:
            return element.local
        prefix = self.prefixes.get(element.namespace)
        if prefix is None:
            prefix = self.prefixes[element.namespace] = f"ns{len(self.prefixes)}"
        return f"{prefix}:{element.local}"

    def element(self, element: ElementInfo, value: Any, where: str) -> None:
        if element.repeated:
            items = value if isinstance(value, list) else [] if value is None else [value]
            if len(items) < element.min_occurs:
                raise ClientError(
                    f"{where}: expected at least {element.min_occurs} item(s), got {len(items)}"
                )
            for item in items:
                self.one(element, item, where)
        elif value is None:
            if element.min_occurs and element.nillable:
                self.out.append(f'<{self.name(element)} xsi:nil="true"/>')
        else:
            self.one(element, value, where)

    def one(self, element: ElementInfo, value: Any, where: str) -> None:
        name = self.name(element)
        if element.type.children:
            self.out.append(f"<{name}>")
            for child in element.type.children:
                self.element(child, value.get(child.local), f"{where}/{child.local}")
            self.out.append(f"</{name}>")
        elif value is None:
            self.out.append(f'<{name} xsi:nil="true"/>')
        else:
            self.out.append(f"<{name}>{_text(value)}</{name}>")


def serialize_args(element: ElementInfo, args: dict[str, Any]) -> str:
    """The Body content for ``args`` already checked and typed by ``coerce_args``.

    Raises:
        ClientError: a repeated element has fewer items than its ``minOccurs``.
    """
    writer = _Writer()
    root = writer.name(element)
    writer.out.append("")  # the root's start tag, written once every namespace is known
    for child in element.type.children:
        writer.element(child, args.get(child.local), f"{element.local}/{child.local}")
    declarations = "".join(
        f' xmlns:{p}="{uri.replace("&", "&amp;").replace(chr(34), "&quot;")}"'
        for uri, p in writer.prefixes.items()
    )
    nil = f' xmlns:xsi="{_XSI}"' if 'xsi:nil="true"' in "".join(writer.out) else ""
    writer.out[0] = f"<{root}{declarations}{nil}>"
    writer.out.append(f"</{root}>")
    return "".join(writer.out)
