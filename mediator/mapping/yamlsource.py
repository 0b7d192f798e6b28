"""YAML loading that remembers where every key and value came from.

Mapping files are plain YAML (a safe subset: no Python tags; ``yes``/``no`` and dates stay
strings). Each value's position is kept under its key path so that every later error can
point at ``file:line:col``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["KeyPath", "SourceMap", "YamlSource", "load_yaml"]

KeyPath = tuple[str | int, ...]

_MAX_NODES = 200_000


class _MappingLoader(yaml.SafeLoader):
    """SafeLoader without the YAML 1.1 surprises: only true/false are booleans, no dates."""


_MappingLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MappingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Positions (1-based line, column) of keys and values, by key path."""

    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def key(self, path: KeyPath) -> tuple[int, int]:
        """Where the key of ``path`` stands (or its nearest ancestor's, or 1:1)."""
        return self._nearest(self.keys, path)

    def value(self, path: KeyPath) -> tuple[int, int]:
        """Where the value of ``path`` starts (for block scalars: its first content line)."""
        return self._nearest(self.values, path)

    @staticmethod
    def _nearest(table: dict[KeyPath, tuple[int, int]], path: KeyPath) -> tuple[int, int]:
        while path:
            if path in table:
                return table[path]
            path = path[:-1]
        return table.get((), (1, 1))


@dataclass(frozen=True, slots=True)
class YamlSource:
    """A parsed YAML document with its source map."""

    file: str
    data: Any
    positions: SourceMap


class YamlLoadError(ValueError):
    """The text is not valid YAML, or not a YAML this loader accepts."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def load_yaml(text: str, file: str) -> YamlSource:
    """Parse one YAML document, keeping positions.

    Raises:
        YamlLoadError: on a syntax error, a duplicate key, a non-string key or a document
            that expands beyond a sane size (alias bombs).
    """
    loader = _MappingLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise YamlLoadError(f"invalid YAML: {exc.problem or exc}", line, col) from exc
    except yaml.YAMLError as exc:
        raise YamlLoadError(f"invalid YAML: {exc}", 1, 1) from exc
    finally:
        loader.dispose()
    positions = SourceMap()
    if root is None:
        return YamlSource(file, None, positions)
    budget = [_MAX_NODES]
    data = _convert(loader, root, (), positions, budget)
    return YamlSource(file, data, positions)


def _mark(node: yaml.Node) -> tuple[int, int]:
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        return line + 1, 1
    return line, col


def _convert(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, pos: SourceMap, budget: list[int]
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        line, col = _mark(node)
        raise YamlLoadError("document too large (too many nodes, or an alias bomb)", line, col)
    pos.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlLoadError("keys must be plain strings", line, col)
            key = str(_construct(loader, key_node))
            if key in out:
                raise YamlLoadError(f"duplicate key {key!r}", line, col)
            pos.keys[(*path, key)] = (line, col)
            out[key] = _convert(loader, value_node, (*path, key), pos, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        items = []
        for i, item in enumerate(node.value):
            pos.keys[(*path, i)] = _mark(item)
            items.append(_convert(loader, item, (*path, i), pos, budget))
        return items
    return _construct(loader, node)


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """Construct a scalar; a tag the safe loader cannot build (``!custom``, ``<<``) is an error."""
    try:
        return loader.construct_object(node)
    except (yaml.YAMLError, ValueError) as exc:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        problem = getattr(exc, "problem", None) or exc
        raise YamlLoadError(f"invalid YAML: {problem}", line, col) from exc
