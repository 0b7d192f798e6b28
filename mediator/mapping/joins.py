"""The join filters of composed routes, and the Jinja environment they compile in.

A composed route's ``response.template`` (and a step's ``for_each``) may use, besides Jinja's
own filters:

* ``left | join_by(right, key, right_key=None, into=None, many=false)``: join two lists of
  objects on a key;
* ``items | index_by(key)``: a list of objects as an object keyed by ``key``;
* ``value | rename({old: new})``, ``value | pick(key, …)``, ``value | omit(key, …)``: reshape
  an object, or each object of a list.

They are pure functions over JSON-like data. They live in the mapping layer, next to the
other custom filters (:mod:`mediator.mapping.templating`), because Jinja resolves filters when
it compiles a template, and templates compile at load: a misspelt filter is a ``check`` error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment

from mediator.mapping.templating import DATA_ENV

__all__ = ["COMPOSE_ENV", "COMPOSE_FILTERS", "index_by", "join_by", "omit", "pick", "rename"]


def _join_key(value: Any) -> str | None:
    """Keys are compared as text, so ``7`` matches ``"7"``; ``None`` never matches."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _records(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"{where}: expected a list of objects, got {type(value).__name__}")
    return list(value)


def join_by(
    left: Any,
    right: Any,
    key: str,
    right_key: str | None = None,
    into: str | None = None,
    many: bool = False,
) -> list[dict[str, Any]] | None:
    """Join two lists of objects on a key: each ``left`` item with the ``right`` items whose
    ``right_key`` (default ``key``) equals its ``key``, compared as text.

    Without ``into`` the first match's fields are merged into the item (the match's win);
    with ``into`` the match (``many``: the list of matches) is nested under that name, ``null``
    (``[]``) when nothing matches. ``left`` ``null`` gives ``null``; ``right`` ``null`` (an
    optional step that failed) matches nothing.
    """
    if left is None:
        return None
    if many and into is None:
        raise TypeError("join_by: many=true needs into= (the name to nest the matches under)")
    index: dict[str, list[dict[str, Any]]] = {}
    for item in _records([] if right is None else right, "join_by right"):
        match_key = _join_key(item.get(right_key or key))
        if match_key is not None:
            index.setdefault(match_key, []).append(item)
    joined = []
    for item in _records(left, "join_by left"):
        match_key = _join_key(item.get(key))
        matches = index.get(match_key, []) if match_key is not None else []
        if into is not None:
            joined.append({**item, into: matches if many else (matches[0] if matches else None)})
        else:
            joined.append({**item, **matches[0]} if matches else dict(item))
    return joined


def index_by(items: Any, key: str) -> dict[Any, Any] | None:
    """A list of objects as an object keyed by each item's ``key`` (the first item wins)."""
    if items is None:
        return None
    result: dict[Any, Any] = {}
    for item in _records(items, "index_by"):
        if item.get(key) is not None:
            result.setdefault(item[key], item)
    return result


def _each(value: Any, change: Callable[[dict[str, Any]], dict[str, Any]], where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        return change(value)
    return [change(item) for item in _records(value, where)]


def rename(value: Any, names: Mapping[str, str]) -> Any:
    """An object (or each object of a list) with keys renamed by ``names`` (old → new)."""
    if not isinstance(names, Mapping):
        raise TypeError("rename: expected a mapping of old name to new name")
    return _each(value, lambda item: {names.get(k, k): v for k, v in item.items()}, "rename")


def pick(value: Any, *keys: str) -> Any:
    """An object (or each object of a list) with only the given keys (those present)."""
    return _each(value, lambda item: {k: item[k] for k in keys if k in item}, "pick")


def omit(value: Any, *keys: str) -> Any:
    """An object (or each object of a list) without the given keys."""
    return _each(value, lambda item: {k: v for k, v in item.items() if k not in keys}, "omit")


COMPOSE_FILTERS: dict[str, Callable[..., Any]] = {
    "join_by": join_by,
    "index_by": index_by,
    "rename": rename,
    "pick": pick,
    "omit": omit,
}
COMPOSE_ENV: Environment = DATA_ENV.overlay()
"""The data environment plus the join filters: composed ``response.template`` and
``for_each`` expressions are compiled here."""
COMPOSE_ENV.filters = {**DATA_ENV.filters, **COMPOSE_FILTERS}  # an overlay shares the dict
