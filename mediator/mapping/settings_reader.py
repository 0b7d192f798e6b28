"""Typed values read from a raw settings block (the security keys of mapping files and the
gateway's security file), each issue reported at its key path.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from mediator.mapping.issues import IssueSink
from mediator.mapping.secrets import Secret, clear_secret_key_message, read_secret
from mediator.mapping.values import interpolate, parse_duration
from mediator.mapping.yamlsource import KeyPath

__all__ = ["SettingsReader"]


class SettingsReader:
    """Typed values with their issues reported at their key paths.

    Args:
        sink: where issues go.
        environ: variables for ``${NAME}`` interpolation and ``*_env`` secrets.
        base: the directory relative file names are resolved against.
    """

    def __init__(self, sink: IssueSink, environ: Mapping[str, str], base: Path) -> None:
        self.sink = sink
        self.environ = environ
        self.base = base

    def block(self, raw: Any, allowed: Collection[str], path: KeyPath, what: str) -> dict[str, Any]:
        """``raw`` as a mapping (``{}`` if it is not one); unknown keys and secrets written in
        clear are reported."""
        if not isinstance(raw, dict):
            self.sink.at_value(path, f"expected a mapping ({what})")
            return {}
        for key in raw:
            message = clear_secret_key_message(key, allowed)
            if message is not None:
                self.sink.at_key((*path, key), message)
            elif key not in allowed:
                self.sink.at_key(
                    (*path, key), f"unknown key; expected one of: {', '.join(sorted(allowed))}"
                )
        return raw

    def text(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> str | None:
        """A non-empty string with ``${NAME}`` interpolated; ``None`` when absent or bad."""
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.sink.at_value((*path, key), f"expected a non-empty string, got {value!r}")
            return None
        try:
            return interpolate(value, self.environ)
        except KeyError as exc:
            self.sink.at_value((*path, key), f"environment variable {exc.args[0]} is not set")
            return None

    def boolean(self, raw: Mapping[str, Any], key: str, default: bool, path: KeyPath) -> bool:
        """``true`` or ``false``; ``default`` when absent or bad."""
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.sink.at_value((*path, key), f"expected true or false, got {value!r}")
            return default
        return value

    def duration(self, raw: Mapping[str, Any], key: str, default: float, path: KeyPath) -> float:
        """A duration in seconds; ``default`` when absent or bad."""
        if key not in raw:
            return default
        try:
            return parse_duration(raw[key])
        except ValueError as exc:
            self.sink.at_value((*path, key), str(exc))
            return default

    def integer(self, raw: Mapping[str, Any], key: str, default: int, path: KeyPath) -> int:
        """A positive integer; ``default`` when absent or bad."""
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.sink.at_value((*path, key), f"expected a positive integer, got {value!r}")
            return default
        return value

    def names(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> tuple[str, ...]:
        """A name or a list of names; ``()`` when absent or bad."""
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.sink.at_value((*path, key), "expected a list of names")
            return ()
        return tuple(value)

    def path(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> Path | None:
        """An existing file, relative to ``base``; ``None`` when absent or not found."""
        name = self.text(raw, key, path)
        if name is None:
            return None
        resolved = Path(name) if Path(name).is_absolute() else self.base / name
        if not resolved.is_file():
            self.sink.at_value((*path, key), f"file {name!r} not found")
            return None
        return resolved

    def secret(
        self, raw: Mapping[str, Any], name: str, path: KeyPath, *, required: bool
    ) -> Secret | None:
        """The secret named by ``{name}_env`` or ``{name}_file`` (see
        :func:`~mediator.mapping.secrets.read_secret`)."""
        return read_secret(
            raw,
            name,
            path,
            sink=self.sink,
            environ=self.environ,
            base=self.base,
            required=required,
        )

    def scopes_and_claims(
        self, raw: Mapping[str, Any], path: KeyPath
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The ``scopes`` names and the ``claims`` mapping of a client or route."""
        scopes = self.names(raw, "scopes", path)
        claims = raw.get("claims", {})
        if not isinstance(claims, dict):
            self.sink.at_value((*path, "claims"), "expected a mapping of claim name to value")
            claims = {}
        return scopes, claims
