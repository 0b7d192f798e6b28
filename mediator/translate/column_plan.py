"""Column-wise extraction of lists of flat records.

A list of records whose fields are all plain child steps with scalar values (``p:Item`` with
``p:Id``, ``p:Amount``…) is the common large response. Walking it element by element costs a
Python object per element; here compiled XPath does the walking in C instead: one
expression per field returns the text of every record's child at that field's position, in
document order (``p:Item/*[2][self::p:Amount]/text()``), and the converters then run over
each column.

The positions are those of the first record's children. A column lines up with the records
when it holds exactly one text per record: then every record has that field at that
position, which is its first occurrence (the fields' tags are distinct), as the
element-by-element reading would take it. That count alone cannot see a field whose string
value is more than one text node, so one XPath also checks that the records' children
hold nothing but text (no element, comment or processing instruction). When a check fails,
for short lists, and when ``xsi:nil`` occurs in the document, :meth:`ColumnList.read`
returns ``None`` and the caller walks the records one by one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, cast

from lxml import etree

from mediator.mapping.model import FieldSpec
from mediator.translate.convert import CONVERTERS

__all__ = ["MIN_RECORDS", "ColumnList", "column_list"]

MIN_RECORDS: Final = 32
"""Shorter lists are read element by element: below this the XPath set-up costs more."""

_MAX_ORDERS: Final = 8
"""Field orders whose compiled columns are kept per list (one, normally)."""

_SCALAR_KINDS: Final = frozenset(CONVERTERS)

ColumnConverter = Callable[[list[str]], list[Any]]
Column = tuple[str, etree.XPath, ColumnConverter]
"""A field's name, the XPath of its texts in every record, and the column's converter."""


def _one_by_one(convert: Callable[[str], Any]) -> ColumnConverter:
    """The per-value rule of the element path: blank text is null, else the converter."""

    def column(texts: list[str]) -> list[Any]:
        return [convert(text) if text.strip() else None for text in texts]

    return column


def _strings(texts: list[str]) -> list[Any]:
    return texts


def _checked(texts: list[str], check: Callable[[str], Any]) -> list[Any]:
    for text in texts:
        check(text)  # raises ValueError for an impossible date or time
    return texts


# Whole columns matched by one regex (values joined by "\n"), then converted in bulk. Only
# plain values (ASCII digits, no surrounding whitespace) match; any other column goes value
# by value through the converters of mediator.translate.convert, which decide.
_D = "[0-9]"
_ZONE = rf"(?:Z|[+-]{_D}{{2}}:{_D}{{2}})?"
_DATE = rf"-?{_D}{{4,}}-{_D}{{2}}-{_D}{{2}}"
_TIME = rf"{_D}{{2}}:{_D}{{2}}:{_D}{{2}}(?:\.{_D}+)?"
_BULK: Final[dict[str, tuple[re.Pattern[str], ColumnConverter]]] = {
    "integer": (re.compile(rf"(?:[+-]?{_D}+\n)*"), lambda texts: list(map(int, texts))),
    "decimal": (
        re.compile(rf"(?:[+-]?(?:{_D}+(?:\.{_D}*)?|\.{_D}+)\n)*"),
        lambda texts: list(map(Decimal, texts)),
    ),
    "datetime": (
        re.compile(rf"(?:{_DATE}T{_TIME}{_ZONE}\n)*"),
        lambda texts: _checked(texts, lambda t: dt.datetime.fromisoformat(t[:19])),
    ),
    "date": (
        re.compile(rf"(?:{_DATE}{_ZONE}\n)*"),
        lambda texts: _checked(texts, lambda t: dt.date.fromisoformat(t[:10])),
    ),
    "time": (
        re.compile(rf"(?:{_TIME}{_ZONE}\n)*"),
        lambda texts: _checked(texts, lambda t: dt.time.fromisoformat(t[:8])),
    ),
}
_BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}


def _all_match(pattern: re.Pattern[str], texts: list[str]) -> bool:
    """Every text matches ``pattern`` whole (no text may hide a line break)."""
    joined = "\n".join(texts) + "\n"
    return joined.count("\n") == len(texts) and pattern.fullmatch(joined) is not None


def _bulk(pattern: re.Pattern[str], convert: ColumnConverter, kind: str) -> ColumnConverter:
    one_by_one = _one_by_one(CONVERTERS[kind])

    def column(texts: list[str]) -> list[Any]:
        return convert(texts) if _all_match(pattern, texts) else one_by_one(texts)

    return column


def _booleans(texts: list[str]) -> list[Any]:
    try:
        return [_BOOLEANS[text] for text in texts]
    except KeyError:
        return _BOOLEAN_VALUES(texts)


_BOOLEAN_VALUES: Final = _one_by_one(CONVERTERS["boolean"])


def _column_converter(kind: str) -> ColumnConverter:
    if kind == "string":
        return _strings
    if kind == "boolean":
        return _booleans
    if kind in _BULK:
        return _bulk(*_BULK[kind], kind)
    return _one_by_one(CONVERTERS[kind])


def _step(tag: str, prefixes: dict[str, str]) -> str:
    """An XPath step for a Clark tag (prefixes are assigned as namespaces appear)."""
    if not tag.startswith("{"):
        return tag
    namespace, local = tag[1:].split("}", 1)
    prefix = prefixes.setdefault(namespace, f"c{len(prefixes)}")
    return f"{prefix}:{local}"


class ColumnList:
    """The compiled column-wise reading of one list field of flat records."""

    __slots__ = ("_by_tag", "_count", "_items", "_namespaces", "_orders", "_shape", "name", "tag")

    def __init__(self, field: FieldSpec) -> None:
        assert field.child_tag is not None
        self.name = field.name
        self.tag = field.child_tag
        prefixes: dict[str, str] = {}
        items = self._items = _step(field.child_tag, prefixes)
        self._by_tag = {
            sub.child_tag: (
                sub.name,
                _step(sub.child_tag or "", prefixes),
                _column_converter(sub.kind),
            )
            for sub in field.fields
        }
        self._namespaces = {prefix: uri for uri, prefix in prefixes.items()}
        self._count = etree.XPath(f"count({items})", namespaces=self._namespaces)
        # Every child of every record holds text and nothing else (no element, comment or
        # processing instruction that would make its string value more than its text).
        self._shape = etree.XPath(
            f"count({items}/*/node()) = count({items}/*/text())", namespaces=self._namespaces
        )
        self._orders: dict[tuple[str, ...], tuple[Column, ...]] = {}

    def _columns(self, order: tuple[str, ...]) -> tuple[Column, ...]:
        """Per position in ``order`` (the first record's child tags): the field's name, the
        XPath of the texts of every record's child at that position if it has that tag,
        and the column's converter. Compiled once per order seen."""
        columns = self._orders.get(order)
        if columns is None:
            built = []
            for position, tag in enumerate(order, 1):
                name, step, convert = self._by_tag[tag]
                xpath = etree.XPath(
                    f"{self._items}/*[{position}][self::{step}]/text()",
                    namespaces=self._namespaces,
                    smart_strings=False,
                )
                built.append((name, xpath, convert))
            if len(self._orders) >= _MAX_ORDERS:  # an upstream that keeps changing its order
                self._orders.clear()
            columns = self._orders[order] = tuple(built)
        return columns

    def read(self, parent: etree._Element) -> list[dict[str, Any]] | None:
        """The records under ``parent``, or ``None`` when the columns would not line up.

        Call only when no element of the document carries ``xsi:nil``.

        Raises:
            ValueError: a value does not fit its field's type (the caller re-runs the
                generic extraction, which says which field).
        """
        count = cast(float, self._count(parent))
        if count < MIN_RECORDS:
            return None
        first = next(parent.iterchildren(self.tag))
        order = tuple(child.tag for child in first if isinstance(child.tag, str))
        if len(order) != len(self._by_tag) or set(order) != self._by_tag.keys():
            return None
        if not self._shape(parent):
            return None
        values: dict[str, list[Any]] = {}
        for name, xpath, convert in self._columns(order):
            texts = xpath(parent)
            assert isinstance(texts, list)
            if len(texts) != count:  # some record has another tag at this position
                return None
            values[name] = convert(texts)  # type: ignore[arg-type]  # text(): strings
        records: list[dict[str, Any]] = [{} for _ in range(int(count))]
        for name, _, _ in self._by_tag.values():  # field order: each record's key order
            # strict=False: the lengths were checked above, and strict doubles the cost
            for record, value in zip(records, values[name], strict=False):
                record[name] = value
        return records


def column_list(field: FieldSpec) -> ColumnList | None:
    """The column-wise reading of ``field``, when it is a list of flat records: every field
    a plain child step of a scalar kind, each on its own tag."""
    if not field.is_list or field.kind != "object" or field.child_tag is None:
        return None
    subs = field.fields
    tags = [sub.child_tag for sub in subs]
    if (
        not subs
        or None in tags
        or len(set(tags)) != len(tags)
        or any(sub.is_list or sub.kind not in _SCALAR_KINDS for sub in subs)
    ):
        return None
    return ColumnList(field)
