"""Extraction plans compiled per object: one pass over an element's children.

Most response fields are one plain child step (``p:Name``). For an object whose fields are
all of that kind, :func:`plan_for` compiles a table from Clark tag to slot (JSON name,
reader, list-ness); :meth:`ObjectPlan.extract` then walks the element's children once and
dispatches each by tag, with the converter of the field's kind chosen at compile time.

The result is the same as the generic per-field extraction in
:mod:`mediator.translate.response` (that module is the reference and still serves traces,
XPath fields and every error): a reader raises :class:`ValueError` for a value that does
not fit its type, and the caller then re-runs the object through the generic path, which
names the field in its error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from lxml import etree

from mediator.errors import ExtractError
from mediator.mapping.model import FieldSpec
from mediator.translate.column_plan import column_list
from mediator.translate.convert import CONVERTERS
from mediator.translate.xmljson import XSI_NS, text_content

__all__ = ["MAX_DEPTH", "ObjectPlan", "has_nil", "plan_for"]

MAX_DEPTH: Final = 64
"""Objects nested deeper than this in a response are refused."""

_NIL: Final = f"{{{XSI_NS}}}nil"
_NIL_VALUES: Final = frozenset({"true", "1"})

Reader = Callable[[etree._Element, int], Any]


def _string_reader(nils: bool) -> Reader:
    def read(element: etree._Element, depth: int) -> Any:
        if nils and element.get(_NIL) in _NIL_VALUES:
            return None
        return text_content(element) if len(element) else (element.text or "")

    return read


def _scalar_reader(convert: Callable[[str], Any], nils: bool) -> Reader:
    def read(element: etree._Element, depth: int) -> Any:
        if nils and element.get(_NIL) in _NIL_VALUES:
            return None
        text = text_content(element) if len(element) else element.text
        if not text or not text.strip():
            return None
        return convert(text)

    return read


def _xml_reader(nils: bool) -> Reader:
    def read(element: etree._Element, depth: int) -> Any:
        if nils and element.get(_NIL) in _NIL_VALUES:
            return None
        return etree.tostring(element, encoding="unicode", with_tail=False)

    return read


def _object_reader(plan: ObjectPlan, nils: bool) -> Reader:
    def read(element: etree._Element, depth: int) -> Any:
        if nils and element.get(_NIL) in _NIL_VALUES:
            return None
        return plan.extract(element, depth + 1, nils=nils)

    return read


class ObjectPlan:
    """The compiled extraction of one object whose fields are all plain child steps."""

    __slots__ = ("_columns", "_layout", "_names", "_nil_slots", "_rest_slots", "_slots")

    def __init__(self, fields: tuple[FieldSpec, ...]) -> None:
        slots: dict[str, tuple[str, bool, Reader]] = {}
        nil_slots: dict[str, tuple[str, bool, Reader]] = {}
        for field in fields:
            assert field.child_tag is not None  # plan_for compiles only such objects
            slots[field.child_tag] = (field.name, field.is_list, _reader(field, nils=False))
            nil_slots[field.child_tag] = (field.name, field.is_list, _reader(field, nils=True))
        self._slots = slots
        self._nil_slots = nil_slots
        # Lists of flat records read column by column (mediator.translate.column_plan),
        # and the table for the other children when they were.
        self._columns = tuple(c for c in map(column_list, fields) if c is not None)
        skipped = {column.tag for column in self._columns}
        self._rest_slots = {tag: slot for tag, slot in slots.items() if tag not in skipped}
        self._names = tuple(field.name for field in fields)
        self._layout = tuple((f.name, f.is_list, f.absent == "null") for f in fields)

    def extract(self, node: etree._Element, depth: int, *, nils: bool) -> dict[str, Any]:
        """The object read from ``node``'s children; ``nils`` is false when no element in
        the document carries ``xsi:nil`` (see :func:`has_nil`), which saves a lookup per
        value.

        Raises:
            ValueError: a value does not fit its field's type (the caller re-runs the
                generic extraction, which says which field).
            ExtractError: the response is nested too deeply.
        """
        if depth > MAX_DEPTH:
            raise ExtractError("response nested too deeply")
        slots = self._nil_slots if nils else self._slots
        found: dict[str, Any] = {}
        if self._columns and not nils:
            for column in self._columns:
                records = column.read(node)
                if records is None:  # not aligned: read every record element by element
                    found.clear()
                    break
                found[column.name] = records
            else:
                slots = self._rest_slots
        for child in node:
            slot = slots.get(child.tag)  # comments and PIs: a function, in no table
            if slot is None:
                continue
            name, is_list, read = slot
            if is_list:
                items = found.get(name)
                if items is None:
                    found[name] = items = []
                items.append(read(child, depth))
            elif name not in found:  # the first match counts, as with XPath
                found[name] = read(child, depth)
        if len(found) == len(self._names) and tuple(found) == self._names:
            return found  # every field present, in the document in field order
        result: dict[str, Any] = {}
        for name, is_list, absent_null in self._layout:
            if name in found:
                result[name] = found[name]
            elif is_list:
                result[name] = []
            elif absent_null:
                result[name] = None
        return result


def _reader(field: FieldSpec, *, nils: bool) -> Reader:
    kind = field.kind
    if kind == "object":
        plan = plan_for(field.fields)
        if plan is None:
            raise _NotCompilable
        return _object_reader(plan, nils)
    if kind == "xml":
        return _xml_reader(nils)
    if kind == "string":
        return _string_reader(nils)
    return _scalar_reader(CONVERTERS[kind], nils)


_ANY_NIL: Final = etree.XPath("boolean(descendant-or-self::*/@xsi:nil)", namespaces={"xsi": XSI_NS})


def has_nil(element: etree._Element) -> bool:
    """Whether ``element`` or a descendant carries an ``xsi:nil`` attribute (one C-level
    search instead of one attribute lookup per extracted value)."""
    return bool(_ANY_NIL(element))


class _NotCompilable(Exception):
    """A nested object has a field that is not a plain child step."""


_PLANS: dict[int, tuple[tuple[FieldSpec, ...], ObjectPlan | None]] = {}
_MAX_PLANS: Final = 4096


def plan_for(fields: tuple[FieldSpec, ...]) -> ObjectPlan | None:
    """The compiled plan of an object, or ``None`` when a field (at any depth) needs XPath
    or two fields read the same child tag. Compiled once per ``fields`` tuple."""
    cached = _PLANS.get(id(fields))
    if cached is not None and cached[0] is fields:
        return cached[1]
    plan: ObjectPlan | None = None
    tags = [field.child_tag for field in fields]
    if fields and None not in tags and len(set(tags)) == len(tags):
        try:
            plan = ObjectPlan(fields)
        except _NotCompilable:
            plan = None
    if len(_PLANS) >= _MAX_PLANS:  # mapping reloads leave old plans behind
        _PLANS.clear()
    _PLANS[id(fields)] = (fields, plan)  # holding ``fields`` keeps its id from being reused
    return plan
