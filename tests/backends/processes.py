"""Process and port helpers shared by the test backends and the CLI tests (standard library)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

__all__ = ["free_port", "stop_process", "wait_http"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, deadline: float = 30.0) -> None:
    """Poll ``url`` until it answers (any HTTP status counts).

    Raises:
        AssertionError: nothing answered within ``deadline`` seconds.
    """
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {deadline}s")


def stop_process(
    process: subprocess.Popen[bytes], *, signum: int = signal.SIGTERM, timeout: float = 10.0
) -> None:
    """Send ``signum`` to a running process, then kill it if it outlives ``timeout``."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
