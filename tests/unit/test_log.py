"""Logging: secrets are redacted from every event, at any depth; one write per line."""

from __future__ import annotations

import json
import sys

import pytest
import structlog

from mediator.log import REDACTED, configure_logging, redact_secrets


def test_secret_keys_are_redacted_at_any_depth() -> None:
    """Keys naming secrets are replaced, in nested dicts and lists too; other values stay."""
    event = {
        "event": "x",
        "password": "hunter2",
        "headers": {"Authorization": "Bearer abc", "Accept": "*/*"},
        "items": [{"api_key": "k1", "name": "n"}],
        "client_secret": "s",
        "X-Api-Key": "k2",
        "user": "ada",
    }
    out = redact_secrets(None, "info", dict(event))
    assert out == {
        "event": "x",
        "password": REDACTED,
        "headers": {"Authorization": REDACTED, "Accept": "*/*"},
        "items": [{"api_key": REDACTED, "name": "n"}],
        "client_secret": REDACTED,
        "X-Api-Key": REDACTED,
        "user": "ada",
    }


class _Writes:
    """A stand-in for stdout that keeps every write() call apart."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def write(self, text: str) -> int:
        self.calls.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def test_each_line_is_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """A log line and its newline go out in one write: several worker processes share one
    stdout, and with PYTHONUNBUFFERED each write is a system call of its own, so a line
    written in two parts can be split by another worker's line."""
    out = _Writes()
    monkeypatch.setattr(sys, "stdout", out)
    try:
        configure_logging(level="info", json=True)
        structlog.get_logger("test").info("gateway.started", pid=1)
    finally:
        structlog.reset_defaults()
    assert len(out.calls) == 1
    line = out.calls[0]
    assert line.endswith("\n") and json.loads(line)["event"] == "gateway.started"
