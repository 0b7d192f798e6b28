"""Run a throw-away ``redis-server`` for the Redis job store tests.

Typical use in a fixture::

    with run_redis_server() as url:      # redis://127.0.0.1:PORT/0
        ...

The server binds 127.0.0.1 on a free port, runs in a temporary directory with no
persistence (no RDB snapshots, no append-only file, so nothing is written and no stale
data is loaded), no configuration file, and is ready when ``PING`` answers ``PONG``. On exit
it gets SIGTERM, then SIGKILL after :data:`STOP_TIMEOUT` seconds.

redis-server is installed on demand: when it is missing and the process runs as root on a
Debian-like system, :func:`ensure_redis_server` runs ``apt-get update`` (once per process)
and ``apt-get install -y redis-server``. Otherwise it raises a RuntimeError saying what to
install. Only the standard library is used here.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.backends.debian import apt_install
from tests.backends.processes import free_port, stop_process

__all__ = ["ensure_redis_server", "ping", "run_redis_server"]

APT_PACKAGES = ("redis-server",)
STARTUP_TIMEOUT = 15.0
"""Seconds to wait for ``PING`` to answer."""
STOP_TIMEOUT = 5.0
"""Seconds to wait after SIGTERM before killing the server."""
START_ATTEMPTS = 3
"""Ports tried: a free port found by binding may be taken before Redis binds it."""


def ensure_redis_server() -> str:
    """Return the path of ``redis-server``, installing it when missing.

    Installs with ``apt-get update`` (at most once per process) and ``apt-get install -y
    redis-server`` when running as root with apt-get available.

    Raises:
        RuntimeError: redis-server is missing and cannot be installed here (not root, no
            apt-get, or apt-get failed); the message says what to install.
    """
    found = shutil.which("redis-server")
    if found is not None:
        return found
    apt_install(APT_PACKAGES, missing="the Redis job store tests need redis-server")
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("apt-get install redis-server succeeded but redis-server is missing")
    return found


def ping(port: int, timeout: float = 1.0) -> bool:
    """Whether a Redis server on 127.0.0.1:``port`` answers ``PING`` with ``PONG``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> bool:
    """Poll PING until it answers; False when the process ended or time ran out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ping(port):
            return True
        time.sleep(0.05)
    return False


def _log_tail(log: Path, limit: int = 2000) -> str:
    try:
        return log.read_text(encoding="utf-8", errors="replace")[-limit:]
    except OSError:
        return ""


@contextmanager
def run_redis_server() -> Iterator[str]:
    """Start ``redis-server`` on 127.0.0.1 and yield its URL (``redis://127.0.0.1:PORT/0``).

    Calls :func:`ensure_redis_server` first.

    Raises:
        RuntimeError: redis-server cannot be installed, or does not come up.
    """
    server = ensure_redis_server()
    with tempfile.TemporaryDirectory(prefix="mediator-redis-") as tmp:
        log = Path(tmp) / "redis.log"
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port()
            argv = [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                tmp,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
                "--logfile",
                str(log),
                "--databases",
                "1",
            ]
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
            )
            try:
                if _wait_ready(proc, port):
                    yield f"redis://127.0.0.1:{port}/0"
                    return
                if attempt == START_ATTEMPTS or proc.poll() is None:
                    raise RuntimeError(
                        f"redis-server did not answer PING on port {port} within"
                        f" {STARTUP_TIMEOUT:.0f} s (exit status {proc.poll()});"
                        f" its log ends with:\n{_log_tail(log)}"
                    )
            finally:
                stop_process(proc, timeout=STOP_TIMEOUT)
