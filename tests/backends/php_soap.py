"""Run the PHP ext-soap interop backend (``tests/backends/php``) for integration tests.

The backend is PHP's own ``SoapServer`` (the ``soap`` extension, in C) behind PHP's
built-in web server, serving the WSDLs in ``tests/backends/php/wsdl``; ``router.php``
maps each URL path to one service (see its docstring). Typical use in a fixture::

    with run_php_backend() as base_url:
        ...  # point the gateway at base_url + "/rpc-encoded", base_url + "/doclit12", …

PHP is installed on demand: when ``php`` or its ``soap`` extension is missing and the
process runs as root on a Debian-like system, :func:`ensure_php` runs ``apt-get update``
(once per process) and ``apt-get install -y php-cli php-soap``. Otherwise it raises a
RuntimeError saying what to install.

The server's request log (PHP's built-in server writes one line per request and
connection to stderr) goes to a temporary file, never to the terminal; its tail is shown
when the server fails to start. Only the standard library is used here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.backends.debian import apt_install
from tests.backends.processes import free_port, stop_process

__all__ = ["PHP_DIR", "ensure_php", "run_php_backend"]

PHP_DIR = Path(__file__).resolve().parent / "php"
"""The PHP backend: ``router.php``, the service scripts and ``wsdl/``."""

ROUTER = "router.php"
APT_PACKAGES = ("php-cli", "php-soap")
STARTUP_TIMEOUT = 20.0
"""Seconds to wait for ``GET /health`` to answer."""
STOP_TIMEOUT = 5.0
"""Seconds to wait after SIGTERM before killing the server."""
START_ATTEMPTS = 3
"""Ports tried: a free port found by binding may be taken before PHP binds it."""

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Loopback requests never go through an HTTP proxy from the environment."""


def _php_ready() -> str | None:
    """The path of a ``php`` that has the soap extension, or None."""
    php = shutil.which("php")
    if php is None:
        return None
    try:
        result = subprocess.run(
            [php, "-r", "echo extension_loaded('soap') ? 'yes' : 'no';"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return php if result.stdout.strip() == "yes" else None


def ensure_php() -> str:
    """Return the path of a ``php`` with the soap extension, installing it when missing.

    Installs with ``apt-get update`` (at most once per process) and ``apt-get install -y
    php-cli php-soap`` when running as root with apt-get available.

    Raises:
        RuntimeError: PHP or its soap extension is missing and cannot be installed here
            (not root, no apt-get, or apt-get failed); the message says what to install.
    """
    php = _php_ready()
    if php is not None:
        return php
    wanted = " ".join(APT_PACKAGES)
    apt_install(
        APT_PACKAGES,
        missing="the PHP SOAP test backend needs the php command with the soap extension",
    )
    php = _php_ready()
    if php is None:
        raise RuntimeError(
            f"apt-get install {wanted} succeeded but php still lacks the soap extension"
        )
    return php


def _log_tail(log: Path, limit: int = 2000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


def _wait_ready(proc: subprocess.Popen[bytes], base_url: str) -> bool:
    """Poll ``GET /health`` until it answers 200; False when the process ended or time ran out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with _DIRECT.open(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.05)
    return False


@contextmanager
def run_php_backend() -> Iterator[str]:
    """Start ``php -S 127.0.0.1:PORT router.php`` and yield its base URL.

    The server binds 127.0.0.1 on a free port and is ready when ``GET /health`` answers.
    PHP's request log goes to a temporary file (deleted afterwards). It is a single process
    (no ``PHP_CLI_SERVER_WORKERS``); on exit it gets SIGTERM, then SIGKILL after
    :data:`STOP_TIMEOUT` seconds. Calls :func:`ensure_php` first.

    Raises:
        RuntimeError: PHP cannot be installed, or the server does not come up.
    """
    php = ensure_php()
    env = dict(os.environ)
    env.pop("PHP_CLI_SERVER_WORKERS", None)  # one process: nothing forked to leave behind
    with tempfile.TemporaryDirectory(prefix="mediator-php-") as tmp:
        log = Path(tmp) / "php-server.log"
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            argv = [
                php,
                "-d",
                "display_errors=stderr",
                "-d",
                "log_errors=0",
                "-d",
                "soap.wsdl_cache_enabled=0",
                "-S",
                f"127.0.0.1:{port}",
                ROUTER,
            ]
            with log.open("ab") as log_file:
                proc = subprocess.Popen(
                    argv,
                    cwd=PHP_DIR,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            try:
                if _wait_ready(proc, base_url):
                    yield base_url
                    return
                if attempt == START_ATTEMPTS or proc.poll() is None:
                    raise RuntimeError(
                        f"the PHP SOAP backend did not answer {base_url}/health within"
                        f" {STARTUP_TIMEOUT:.0f} s (exit status {proc.poll()});"
                        f" its log ends with:\n{_log_tail(log)}"
                    )
            finally:
                stop_process(proc, timeout=STOP_TIMEOUT)
