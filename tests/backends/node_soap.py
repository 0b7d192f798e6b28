"""Run the node-soap Orders backend (``tests/backends/node``) for integration tests.

The backend is the project's example WSDL (``wsdl/orders.wsdl``) served by the real
npm ``soap`` package: SOAP 1.1 at ``/orders`` and SOAP 1.2 at ``/orders12``, with the
data set ``examples/orders/data.json``. Typical use in a fixture::

    ensure_node_modules()
    with run_node_orders_backend() as base_url:
        ...  # point the gateway at base_url + "/orders" or base_url + "/orders12"

Only the standard library is used here.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.backends.processes import stop_process

NODE_DIR = Path(__file__).resolve().parent / "node"
"""The npm project holding ``orders-server.js``, ``package.json`` and ``package-lock.json``."""

SERVER_SCRIPT = "orders-server.js"
STARTUP_TIMEOUT = 20.0
"""Seconds to wait for the ``LISTENING <port>`` line."""
STOP_TIMEOUT = 5.0
"""Seconds to wait after SIGTERM before killing the process."""
NPM_CI_TIMEOUT = 600.0
"""Seconds ``npm ci`` may take."""


def _require_tool(name: str) -> str:
    """Return the full path of ``name`` on PATH, or raise a RuntimeError saying it is missing."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(
            f"{name!r} was not found on PATH: the node-soap test backend needs Node.js (>= 20.19)"
            " and npm installed"
        )
    return path


def _installed_marker() -> Path:
    """The file whose mtime tells when node_modules was last installed.

    npm writes ``node_modules/.package-lock.json`` on every install; fall back to the
    directory itself when that file is absent.
    """
    hidden_lock = NODE_DIR / "node_modules" / ".package-lock.json"
    return hidden_lock if hidden_lock.exists() else NODE_DIR / "node_modules"


def ensure_node_modules() -> None:
    """Install the backend's npm dependencies when they are missing or stale.

    Runs ``npm ci --no-audit --no-fund`` in :data:`NODE_DIR` when ``node_modules`` does
    not exist or is older than ``package-lock.json``; otherwise does nothing.

    Raises:
        RuntimeError: if node or npm is not installed, or ``npm ci`` fails or times out.
    """
    _require_tool("node")
    npm = _require_tool("npm")
    lock = NODE_DIR / "package-lock.json"
    marker = _installed_marker()
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"npm ci in {NODE_DIR} took longer than {NPM_CI_TIMEOUT:.0f} s") from exc
    if result.returncode != 0:
        raise RuntimeError(
            f"npm ci in {NODE_DIR} failed with exit status {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )


def _read_first_line(stream: IO[bytes], lines: queue.Queue[bytes]) -> None:
    """Thread body: put the first line of ``stream`` (``b""`` at EOF) on ``lines``."""
    lines.put(stream.readline())


@contextmanager
def run_node_orders_backend() -> Iterator[str]:
    """Start ``node orders-server.js --port 0`` and yield its base URL.

    The server binds 127.0.0.1 on an ephemeral port and announces it with a single
    ``LISTENING <port>`` line on stdout, which is awaited for at most
    :data:`STARTUP_TIMEOUT` seconds. The yielded URL is ``http://127.0.0.1:<port>``
    (append ``/orders`` for SOAP 1.1, ``/orders12`` for SOAP 1.2). Each call starts a
    fresh process, so orders created through CreateOrder do not outlive it.

    On exit the process gets SIGTERM, and is killed if it has not ended within
    :data:`STOP_TIMEOUT` seconds. Its stderr is inherited, so pytest captures it.
    Calls :func:`ensure_node_modules` first, which is a no-op when installed.

    Raises:
        RuntimeError: if node/npm are missing, or the server exits or stays silent
            instead of announcing its port.
    """
    ensure_node_modules()
    node = _require_tool("node")
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)  # keep debugger/loader flags of the host out of the child
    with subprocess.Popen(
        [node, SERVER_SCRIPT, "--port", "0"],
        cwd=NODE_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=env,
    ) as proc:
        try:
            port = _await_port(proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop_process(proc, timeout=STOP_TIMEOUT)


def _await_port(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the server's ``LISTENING <port>`` line and return the port.

    The line is read in a helper thread so that the wait has a deadline on every
    platform. On failure the process is stopped before the RuntimeError is raised.
    """
    assert proc.stdout is not None
    lines: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(
        target=_read_first_line, args=(proc.stdout, lines), name="node-soap-stdout", daemon=True
    )
    reader.start()
    try:
        line = lines.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        stop_process(proc, timeout=STOP_TIMEOUT)
        reader.join(timeout=STOP_TIMEOUT)
        raise RuntimeError(
            f"node-soap backend did not print 'LISTENING <port>' within {STARTUP_TIMEOUT:.0f} s"
        ) from None
    text = line.decode("utf-8", "replace").strip()
    parts = text.split()
    if len(parts) != 2 or parts[0] != "LISTENING" or not parts[1].isdigit():
        stop_process(proc, timeout=STOP_TIMEOUT)
        raise RuntimeError(
            f"node-soap backend did not start (exit status {proc.returncode},"
            f" first stdout line {text!r}); see its stderr"
        )
    return int(parts[1])
