"""The jobs layer never imports the gateway (DESIGN.md: gateway → jobs, not back)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import mediator.jobs

JOB_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(mediator.jobs.__path__, "mediator.jobs.")
)


@pytest.mark.parametrize("module", JOB_MODULES)
def test_jobs_modules_do_not_load_the_gateway(module: str) -> None:
    """Importing a jobs module alone loads nothing of mediator.gateway (nor aiohttp.web)."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert not [name for name in loaded if name.startswith(("mediator.gateway", "aiohttp.web"))]
