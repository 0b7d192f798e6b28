"""Secrets in configuration: where they may come from, and where they must not appear.

Mapping files and the security file name secrets only indirectly, by environment variable
(``*_env``) or file (``*_file``); a secret written in clear is an error. Secrets are read once,
at load, into :class:`Secret` objects whose ``repr`` never shows them. See ``docs/security.md``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediator.mapping.issues import IssueSink
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "Secret",
    "clear_secret_issues",
    "clear_secret_key_message",
    "read_secret",
]

_CLEAR_SECRET_KEYS = ("password", "secret", "key_password", "api_key", "token")
_CLEAR_PASSWORD = re.compile(
    r"<(?:[\w.-]+:)?(Password|Nonce)\b[^>]*>(?P<text>[^<]*)</", re.IGNORECASE
)


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """A secret read from an environment variable or a file; it never prints itself."""

    value: str
    source: str
    """Where it came from (``env:NAME`` or ``file:PATH``), safe to show."""

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    __str__ = __repr__


def clear_secret_key_message(key: str, allowed: Collection[str]) -> str | None:
    """The issue for a secret written in clear under ``key`` in a block whose ``allowed``
    keys offer ``{key}_env`` instead; ``None`` when ``key`` is not such a secret."""
    if key in _CLEAR_SECRET_KEYS and f"{key}_env" in allowed:
        return (
            f"a secret in clear is not allowed here; use {key}_env (an environment "
            f"variable) or {key}_file (a file)"
        )
    return None


def read_secret(
    raw: Mapping[str, Any],
    name: str,
    path: KeyPath,
    *,
    sink: IssueSink,
    environ: Mapping[str, str],
    base: Path,
    required: bool,
) -> Secret | None:
    """Read the secret ``name`` of the block ``raw`` at ``path``: from the environment
    variable named by ``{name}_env`` or the file named by ``{name}_file`` (relative to
    ``base``; one trailing line break is dropped).

    Exactly one of the two keys must be given (or neither, unless ``required``). Issues go to
    ``sink``; ``None`` when there is no usable secret.
    """
    env_key, file_key = f"{name}_env", f"{name}_file"
    given = [k for k in (env_key, file_key) if k in raw]
    if len(given) != 1:
        if given or required:
            sink.at_key(
                path, f"expected exactly one of {env_key} (a variable) or {file_key} (a file)"
            )
        return None
    key = given[0]
    value = raw[key]
    if not isinstance(value, str) or not value:
        sink.at_value((*path, key), "expected a name")
        return None
    if key == env_key:
        secret = environ.get(value)
        if not secret:
            sink.at_value((*path, key), f"environment variable {value} is not set")
            return None
        return Secret(secret, f"env:{value}")
    file = Path(value) if Path(value).is_absolute() else base / value
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        sink.at_value((*path, key), f"cannot read {value!r}: {type(exc).__name__}")
        return None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        sink.at_value((*path, key), f"file {value!r} is empty")
        return None
    return Secret(text, f"file:{file}")


def clear_secret_issues(source: str) -> list[str]:
    """Messages for WS-Security passwords or nonces written in clear in a request template
    (a literal value, not a ``{{ expression }}``)."""
    issues = []
    for match in _CLEAR_PASSWORD.finditer(source):
        text = match.group("text").strip()
        if text and "{{" not in text and "{%" not in text:
            issues.append(
                f"a {match.group(1)} is written in clear in the template; use "
                "service.credentials.ws_security, or read it from env"
            )
    return issues
