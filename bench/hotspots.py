"""py-spy profiles of a contender under load, and a plain-text summary of where time goes.

``record`` runs ``py-spy record --format speedscope`` against a PID; ``summarize`` reads the
speedscope file: self and inclusive shares per function, the share of each package at the
leaf, and the share of each Mediator function (inclusive: its callees count to it). Idle
samples are not recorded, so shares are shares of the CPU time the process used.
Standard library only.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

__all__ = ["ProfileSummary", "format_summary", "record", "summarize"]

_PACKAGES: Final = (
    "mediator",
    "zeep",
    "lxml",
    "aiohttp",
    "multidict",
    "yarl",
    "jinja2",
    "markupsafe",
    "structlog",
    "orjson",
    "asyncio",
    "json",
    "requests",
    "urllib3",
)


def record(py_spy: Path, pid: int, seconds: int, out: Path, *, rate: int = 200) -> None:
    """Sample ``pid`` for ``seconds`` into a speedscope JSON file.

    Raises:
        subprocess.CalledProcessError: py-spy failed (e.g. no ptrace permission).
    """
    subprocess.run(
        [
            str(py_spy),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            str(rate),
            "-f",
            "speedscope",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )


def _package(file: str) -> str:
    parts = Path(file).parts
    if "mediator" in parts and "site-packages" not in parts:
        return "mediator"
    if "site-packages" in parts:
        index = parts.index("site-packages")
        if index + 1 < len(parts):
            name = parts[index + 1].removesuffix(".py")
            return name if name in _PACKAGES else f"{name} (other)"
    for name in ("asyncio", "json"):
        if name in parts:
            return name
    return "stdlib/other"


def _label(frame: dict[str, Any]) -> str:
    file = str(frame.get("file") or "")
    parts = Path(file).parts
    if "site-packages" in parts:
        short = "/".join(parts[parts.index("site-packages") + 1 :])
    elif "mediator" in parts:
        short = "/".join(parts[parts.index("mediator") :])
    else:
        short = "/".join(parts[-2:])
    return f"{frame.get('name')} ({short})"


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """Shares (0 to 1) of the sampled CPU time."""

    samples: int
    self_top: list[tuple[str, float]]
    inclusive_mediator: list[tuple[str, float]]
    inclusive_libraries: list[tuple[str, float]]
    leaf_packages: list[tuple[str, float]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, shares rounded to 0.1 %."""

        def pct(rows: list[tuple[str, float]]) -> list[dict[str, Any]]:
            return [{"function": name, "percent": round(share * 100, 1)} for name, share in rows]

        return {
            "samples": self.samples,
            "self_top": pct(self.self_top),
            "inclusive_mediator": pct(self.inclusive_mediator),
            "inclusive_libraries": pct(self.inclusive_libraries),
            "leaf_packages": pct(self.leaf_packages),
        }


def summarize(path: Path, *, top: int = 15) -> ProfileSummary:
    """Read a py-spy speedscope file (every thread) into shares of the sampled time."""
    data = json.loads(path.read_text(encoding="utf-8"))
    frames: list[dict[str, Any]] = data["shared"]["frames"]
    labels = [_label(f) for f in frames]
    packages = [_package(str(f.get("file") or "")) for f in frames]
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    leaf_pkg: Counter[str] = Counter()
    total = 0.0
    # A thread's trunk (interpreter entry, event loop, CLI, thread bootstrap) is in nearly
    # every one of its samples: not news, so it is left out of the inclusive lists.
    trunk: set[str] = set()
    for profile in data["profiles"]:
        thread: Counter[str] = Counter()
        thread_total = 0.0
        for stack, weight in zip(profile["samples"], profile["weights"], strict=True):
            if not stack:
                continue
            thread_total += weight
            self_time[labels[stack[-1]]] += weight
            leaf_pkg[packages[stack[-1]]] += weight
            for label in {labels[i] for i in stack}:
                thread[label] += weight
        inclusive.update(thread)
        total += thread_total
        trunk.update(k for k, v in thread.items() if v > 0.99 * thread_total)
    if total == 0:
        return ProfileSummary(0, [], [], [], [])

    def shares(counter: Counter[str], keep: Any = None) -> list[tuple[str, float]]:
        rows = [(k, v / total) for k, v in counter.most_common() if keep is None or keep(k)]
        return rows[:top]

    is_mediator = {labels[i] for i, p in enumerate(packages) if p == "mediator"}
    return ProfileSummary(
        samples=int(sum(len(p["samples"]) for p in data["profiles"])),
        self_top=shares(self_time),
        inclusive_mediator=shares(inclusive, lambda k: k in is_mediator and k not in trunk),
        inclusive_libraries=shares(
            inclusive,
            lambda k: k not in is_mediator and k not in trunk and "/base_events.py" not in k,
        ),
        leaf_packages=shares(leaf_pkg),
    )


def format_summary(summary: ProfileSummary, title: str) -> list[str]:
    """Human-readable lines for the console and docs."""
    lines = [f"{title}: {summary.samples} samples (shares of CPU time while busy)"]
    sections = (
        ("by package at the leaf (self)", summary.leaf_packages),
        ("Mediator functions, inclusive", summary.inclusive_mediator),
        ("library functions, inclusive", summary.inclusive_libraries),
        ("hottest functions, self", summary.self_top),
    )
    for heading, rows in sections:
        lines.append(f"  {heading}:")
        lines.extend(f"    {share * 100:5.1f}%  {name}" for name, share in rows)
    return lines
