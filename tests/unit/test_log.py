"""Logging: secrets are redacted from every event, at any depth."""

from __future__ import annotations

from mediator.log import REDACTED, redact_secrets


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
