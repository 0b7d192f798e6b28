"""A generic, untyped view of XML as JSON data (for fault details and unknown content)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from lxml import etree

__all__ = ["XSI_NS", "element_to_data", "is_nil", "text_content"]

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI_NS}}}nil"
_MAX_DEPTH = 64


def text_content(element: etree._Element) -> str:
    """All text inside ``element`` (its descendants' too), without its tail."""
    return "".join(cast("Iterable[str]", element.itertext()))


def is_nil(element: etree._Element) -> bool:
    """True when the element carries ``xsi:nil="true"``."""
    return element.get(_NIL) in ("true", "1")


def element_to_data(element: etree._Element, depth: int = 0) -> Any:
    """Children by local name (repeated names become lists), attributes as ``@name``,
    text of leaves as strings, ``xsi:nil`` as ``None``. Namespaces are dropped."""
    if is_nil(element):
        return None
    children = [c for c in element if isinstance(c.tag, str)]
    attributes = {
        f"@{etree.QName(k).localname}": v
        for k, v in element.attrib.items()
        if not str(k).startswith(f"{{{XSI_NS}}}")
    }
    if not children or depth >= _MAX_DEPTH:
        text = text_content(element) if children else (element.text or "")
        if attributes:
            return {**attributes, "#text": text} if text.strip() else attributes
        return text
    result: dict[str, Any] = dict(attributes)
    for child in children:
        name = etree.QName(child).localname
        value = element_to_data(child, depth + 1)
        if name in result:
            existing = result[name]
            if isinstance(existing, list) and name in _lists(result):
                existing.append(value)
            else:
                result[name] = [existing, value]
                _mark_list(result, name)
        else:
            result[name] = value
    result.pop(_LIST_MARK, None)
    return result


_LIST_MARK = "\x00lists"


def _lists(result: dict[str, Any]) -> set[str]:
    marks: set[str] = result.get(_LIST_MARK, set())
    return marks


def _mark_list(result: dict[str, Any], name: str) -> None:
    result.setdefault(_LIST_MARK, set()).add(name)
