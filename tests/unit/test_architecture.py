"""The package's layering, checked in fresh interpreters."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys

import pytest

import mediator

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(mediator.__path__, "mediator.")
    if m.name != "mediator.__main__"
)
CORE = [m for m in MODULES if m.startswith(("mediator.mapping", "mediator.translate"))]


def _imported_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports_alone(module: str) -> None:
    """Each module imports on its own in a fresh interpreter (no import cycles)."""
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, timeout=60)


@pytest.mark.parametrize("module", CORE)
def test_translation_core_imports_neither_aiohttp_nor_zeep(module: str) -> None:
    """The pure core (mapping, translate) never pulls in the HTTP server, client or zeep."""
    loaded = _imported_after(module)
    assert not {name for name in loaded if name.split(".")[0] in ("aiohttp", "zeep")}


def test_only_upstream_imports_zeep() -> None:
    """zeep is confined to mediator.upstream: no other layer's source imports it."""
    from pathlib import Path

    root = Path(mediator.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if re.search(r"^\s*(import|from) zeep\b", path.read_text(), re.MULTILINE)
        if path.parent.name != "upstream"
    ]
    assert offenders == []


def test_every_module_declares_all() -> None:
    """Every module declares __all__ (its public names)."""
    import importlib

    missing = [name for name in MODULES if not hasattr(importlib.import_module(name), "__all__")]
    assert missing == []
