"""CLI tests never touch the real cache: ``$MEDIATOR_CACHE_DIR`` points into the test's tmp."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default WSDL cache directory of every command run by a CLI test."""
    directory = tmp_path / "default-cache"
    monkeypatch.setenv("MEDIATOR_CACHE_DIR", str(directory))
    return directory
