"""What the scaffold asks of a type: whether it is complex, whether recursion may expand it
once more along a path, and which choice branches an example leaves out.

A *stack* is the tuple of ``id()``\\ s of the types expanded along the path to an element.
"""

from __future__ import annotations

from mediator.mapping.service_info import TypeInfo

__all__ = [
    "RECURSION_LIMIT",
    "is_complex",
    "other_branches",
    "recursion_allows",
    "recursion_stops",
]

RECURSION_LIMIT = 2
"""How many times one type may be expanded along a path before scaffolding stops there."""


def is_complex(type_info: TypeInfo) -> bool:
    """Whether the type has children, attributes or array items (else it is simple)."""
    return bool(type_info.children or type_info.attributes or type_info.array_item)


def recursion_allows(stack: tuple[int, ...], type_info: TypeInfo) -> bool:
    """Whether ``type_info`` has been expanded fewer than :data:`RECURSION_LIMIT` times along
    ``stack``."""
    return stack.count(id(type_info)) < RECURSION_LIMIT


def recursion_stops(stack: tuple[int, ...], type_info: TypeInfo) -> bool:
    """Whether ``type_info`` is complex and recursion may not expand it again along ``stack``."""
    return is_complex(type_info) and not recursion_allows(stack, type_info)


def other_branches(type_info: TypeInfo) -> set[str]:
    """Children an example leaves out: members of every choice branch but the first."""
    skipped: set[str] = set()
    for choice in type_info.choices:
        for alternative in choice.alternatives[1:]:
            skipped.update(alternative)
        if choice.alternatives:
            skipped.difference_update(choice.alternatives[0])
    return skipped
