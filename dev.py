#!/usr/bin/env python3
"""Set-up and run in one command, on a machine with nothing but Python.

    python3 dev.py serve   # install, start the demo SOAP backend and the gateway on :8080
    python3 dev.py test    # install, then lint, type-check and run the whole test suite

Everything is installed into ./.venv; test backends (node-soap, PHP, Redis) are installed by
the test set-up itself when missing. Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".mediator-install"


def _run(*argv: str | Path, check: bool = True, **kwargs: object) -> int:
    print("+", " ".join(str(a) for a in argv), flush=True)
    return subprocess.run([str(a) for a in argv], check=check, **kwargs).returncode  # type: ignore[call-overload, no-any-return]


def ensure_venv(extras: str) -> None:
    """Create .venv and install the project (with extras) when missing or out of date."""
    if not PYTHON.exists():
        _run(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    installed = STAMP.read_text().split() if STAMP.exists() else []
    if wanted in installed:
        return
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    _run(PYTHON, "-m", "pip", "install", "--quiet", "-e", target, cwd=ROOT)
    STAMP.write_text("\n".join([*installed, wanted]))


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - loopback URL built here
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def serve(args: list[str]) -> int:
    """Run the demo backend and the gateway with the bundled example until Ctrl-C."""
    ensure_venv("")
    backend = subprocess.Popen(
        [str(PYTHON), str(ROOT / "examples/orders/backend.py"), "--port", "8081"]
    )
    try:
        _wait_http("http://127.0.0.1:8081/orders?wsdl", time.monotonic() + 20)
        print(
            "demo SOAP backend (legacy Orders service) on http://127.0.0.1:8081/orders", flush=True
        )
        print(
            "gateway on http://127.0.0.1:8080 — try: curl http://127.0.0.1:8080/orders/1001",
            flush=True,
        )
        gateway = subprocess.Popen(
            [
                str(BIN / "mediator"),
                "serve",
                "mappings",
                "--wsdl-dir",
                "wsdl",
                "--port",
                "8080",
                *args,
            ],
            cwd=ROOT,
        )
        try:
            return gateway.wait()
        except KeyboardInterrupt:
            gateway.send_signal(signal.SIGINT)
            return gateway.wait()
    finally:
        backend.terminate()
        backend.wait(timeout=10)


def test(args: list[str]) -> int:
    """Install, lint, type-check and run every test (integration backends included)."""
    ensure_venv("dev")
    steps = [
        [BIN / "ruff", "check", "mediator", "tests", "examples", "dev.py"],
        [BIN / "ruff", "format", "--check", "mediator", "tests", "examples", "dev.py"],
        [BIN / "mypy"],
    ]
    failed = [
        step[1] if len(step) > 1 else str(step[0])
        for step in steps
        if _run(*step, check=False, cwd=ROOT)
    ]
    code = _run(PYTHON, "-m", "pytest", *args, check=False, cwd=ROOT)
    if failed:
        print(f"static checks failed: {', '.join(map(str, failed))}", flush=True)
        return 1
    return code


def main() -> int:
    commands = {"serve": serve, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
