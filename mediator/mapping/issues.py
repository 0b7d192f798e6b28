"""Collects mapping-file issues with their positions, so every mistake is reported at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from mediator.errors import MappingIssue
from mediator.mapping.yamlsource import KeyPath, SourceMap

__all__ = ["IssueSink", "dotted"]


def dotted(path: KeyPath) -> str:
    """``("routes", 0, "request")`` → ``routes[0].request``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(slots=True)
class IssueSink:
    """Issues of one file, positioned through its source map."""

    file: str
    positions: SourceMap = field(default_factory=SourceMap)
    issues: list[MappingIssue] = field(default_factory=list)

    def at_key(self, path: KeyPath, message: str) -> None:
        """Report an issue located at the key of ``path``."""
        line, col = self.positions.key(path)
        self.issues.append(MappingIssue(self.file, line, col, dotted(path), message))

    def at_value(self, path: KeyPath, message: str, *, line_offset: int = 0) -> None:
        """Report an issue located at the value of ``path`` (plus ``line_offset`` lines)."""
        line, col = self.positions.value(path)
        if line_offset:
            line, col = line + line_offset, 1
        self.issues.append(MappingIssue(self.file, line, col, dotted(path), message))

    def at(self, line: int, column: int, message: str) -> None:
        """Report an issue at an explicit position."""
        self.issues.append(MappingIssue(self.file, line, column, "", message))
