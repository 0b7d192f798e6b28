"""Installing Debian packages the test backends need (standard library only)."""

from __future__ import annotations

import os
import shutil
import subprocess

__all__ = ["APT_TIMEOUT", "apt_install"]

APT_TIMEOUT = 900.0
"""Seconds one apt-get call may take."""

_updated = False  # apt-get update runs at most once per process, for every backend


def _apt_get(*args: str) -> None:
    """Run ``apt-get ARGS`` non-interactively; raise RuntimeError with its output on failure."""
    apt = shutil.which("apt-get")
    if apt is None:
        raise RuntimeError("apt-get was not found")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        result = subprocess.run(
            [apt, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=APT_TIMEOUT,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(
            f"apt-get {' '.join(args)} took longer than {APT_TIMEOUT:.0f} s"
        ) from exc
    if result.returncode != 0:
        raise RuntimeError(
            f"apt-get {' '.join(args)} failed with exit status {result.returncode}:\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )


def apt_install(packages: tuple[str, ...], *, missing: str) -> None:
    """Install ``packages`` with apt-get (after one ``apt-get update`` per process).

    Raises:
        RuntimeError: not root or no apt-get (the message is ``missing`` plus the command to
            run by hand), or apt-get failed.
    """
    global _updated
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if not is_root or shutil.which("apt-get") is None:
        raise RuntimeError(
            f"{missing}; install it (Debian/Ubuntu: sudo apt-get install -y"
            f" {' '.join(packages)}) and run again"
        )
    if not _updated:
        _apt_get("update")
        _updated = True
    _apt_get("install", "-y", "--no-install-recommends", *packages)
