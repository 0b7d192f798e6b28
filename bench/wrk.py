"""Runs wrk and reads its report: requests/s, latency percentiles, errors.

wrk's ``--latency`` text report is parsed (``Requests/sec``, the latency distribution, socket
errors, non-2xx responses); ``bench/request.lua`` adds one ``BENCH_JSON`` line with exact
microsecond figures, preferred where present. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

__all__ = [
    "WrkError",
    "WrkRequest",
    "WrkResult",
    "parse_duration_ms",
    "parse_wrk_output",
    "run_wrk",
]

LUA_SCRIPT: Final = Path(__file__).resolve().parent / "request.lua"
_UNITS_MS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION: Final = re.compile(r"^([0-9.]+)(us|ms|s|m|h)$")
_PERCENTILE: Final = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+(\S+)\s*$", re.MULTILINE)
_RPS: Final = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_TOTAL: Final = re.compile(r"^\s*(\d+) requests in ([0-9.]+\w+),", re.MULTILINE)
_SOCKET: Final = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX: Final = re.compile(r"Non-2xx or 3xx responses: (\d+)")


class WrkError(RuntimeError):
    """wrk failed to run or printed no report."""


@dataclass(frozen=True, slots=True)
class WrkRequest:
    """What wrk sends: a URL, and for POST a body file and headers (through request.lua)."""

    url: str
    method: str = "GET"
    body_file: Path | None = None
    content_type: str = ""
    soap_action: str = ""

    def environment(self) -> dict[str, str]:
        """The variables request.lua reads."""
        return {
            "BENCH_METHOD": self.method,
            "BENCH_BODY_FILE": str(self.body_file or ""),
            "BENCH_CONTENT_TYPE": self.content_type,
            "BENCH_SOAPACTION": self.soap_action,
        }


@dataclass(slots=True)
class WrkResult:
    """One wrk run's figures (latencies in milliseconds)."""

    rps: float
    requests: int
    duration_s: float
    p50_ms: float
    p75_ms: float | None
    p90_ms: float
    p99_ms: float
    p999_ms: float | None
    max_ms: float | None
    socket_errors: dict[str, int] = field(default_factory=dict)
    non_2xx: int = 0

    @property
    def errors(self) -> int:
        """Socket errors of every kind plus non-2xx/3xx responses."""
        return sum(self.socket_errors.values()) + self.non_2xx

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready figures, with the error total."""
        data = asdict(self)
        data["errors"] = self.errors
        return data


def parse_duration_ms(text: str) -> float:
    """wrk's ``1.23ms`` / ``812.00us`` / ``1.02s`` as milliseconds.

    Raises:
        ValueError: not a wrk duration.
    """
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk_output(text: str) -> WrkResult:
    """Read wrk's ``--latency`` report (and the BENCH_JSON line when present).

    Raises:
        WrkError: the report lacks requests/s or the latency distribution.
    """
    rps_match = _RPS.search(text)
    percentiles = {int(p): parse_duration_ms(v) for p, v in _PERCENTILE.findall(text)}
    if rps_match is None or not {50, 90, 99} <= percentiles.keys():
        raise WrkError(f"unexpected wrk output:\n{text}")
    total = _TOTAL.search(text)
    socket = _SOCKET.search(text)
    non_2xx = _NON_2XX.search(text)
    result = WrkResult(
        rps=float(rps_match.group(1)),
        requests=int(total.group(1)) if total else 0,
        duration_s=parse_duration_ms(total.group(2)) / 1000 if total else 0.0,
        p50_ms=percentiles[50],
        p75_ms=percentiles.get(75),
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        p999_ms=None,
        max_ms=None,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, socket.groups()), strict=True)
        )
        if socket
        else {},
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            _apply_exact(result, json.loads(line.removeprefix("BENCH_JSON ")))
    return result


def _apply_exact(result: WrkResult, data: Mapping[str, Any]) -> None:
    latency = data["latency_us"]
    result.p50_ms = latency["p50"] / 1000
    result.p90_ms = latency["p90"] / 1000
    result.p99_ms = latency["p99"] / 1000
    result.p999_ms = latency["p999"] / 1000
    result.max_ms = latency["max"] / 1000
    result.requests = int(data["requests"])
    result.duration_s = data["duration_us"] / 1_000_000
    if result.duration_s > 0:
        result.rps = result.requests / result.duration_s
    errors = data["errors"]
    result.socket_errors = {k: int(errors[k]) for k in ("connect", "read", "write", "timeout")}
    result.non_2xx = int(errors["status"])


def run_wrk(
    request: WrkRequest,
    *,
    duration: float,
    connections: int,
    threads: int,
    timeout_s: float = 10.0,
    preexec: Callable[[], None] | None = None,
) -> WrkResult:
    """Run wrk once against ``request`` and parse its report.

    Raises:
        WrkError: wrk exited non-zero or printed no report.
    """
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        str(LUA_SCRIPT),
        request.url,
    ]
    env = {**os.environ, **request.environment()}
    try:
        done = subprocess.run(
            argv,
            env=env,
            capture_output=True,
            text=True,
            timeout=duration + timeout_s + 30,
            check=False,
            preexec_fn=preexec,
        )
    except subprocess.TimeoutExpired as exc:
        raise WrkError(f"wrk did not finish: {' '.join(argv)}") from exc
    if done.returncode != 0:
        raise WrkError(
            f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout.strip()}"
        )
    return parse_wrk_output(done.stdout)
