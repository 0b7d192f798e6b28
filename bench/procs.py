"""Processes of the benchmark: start, pin to CPUs, wait until they answer, read peak RSS, stop.

Standard library only. Every process is started by the runner itself and stopped by its own
PID (SIGTERM, then SIGKILL after a grace period).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CpuPlan",
    "Service",
    "cpu_busy_seconds",
    "cpu_plan",
    "free_port",
    "pin_preexec",
    "wait_for_answer",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class CpuPlan:
    """Which CPUs each party may use; ``None`` means unpinned."""

    contender: frozenset[int] | None
    backend: frozenset[int] | None
    load: frozenset[int] | None

    def describe(self) -> str:
        """One line for the report."""

        def show(cpus: frozenset[int] | None) -> str:
            return "any" if cpus is None else ",".join(map(str, sorted(cpus)))

        return f"contender: CPU {show(self.contender)}; backend + wrk: CPU {show(self.backend)}"


def cpu_plan(*, pin: bool) -> CpuPlan:
    """The contender gets the first allowed CPU; the backend and wrk share the last one.

    With one CPU, or ``pin`` false, or no affinity support, nothing is pinned.
    """
    if not pin or not hasattr(os, "sched_getaffinity"):
        return CpuPlan(None, None, None)
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return CpuPlan(None, None, None)
    first, last = frozenset({allowed[0]}), frozenset({allowed[-1]})
    return CpuPlan(contender=first, backend=last, load=last)


def pin_preexec(cpus: frozenset[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` pinning the child (and the threads it will start) to ``cpus``."""
    if cpus is None:
        return None
    chosen = set(cpus)

    def pin() -> None:
        os.sched_setaffinity(0, chosen)

    return pin


def wait_for_answer(
    port: int, path: str, *, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> float:
    """Poll ``GET path`` on 127.0.0.1:``port`` every 10 ms until any HTTP answer; return seconds.

    Raises:
        TimeoutError: no answer within ``timeout`` seconds.
        RuntimeError: ``proc`` exited first.
    """
    started = time.perf_counter()
    deadline = started + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before answering")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            conn.getresponse().read()
            return time.perf_counter() - started
        except OSError:
            pass
        finally:
            conn.close()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"nothing answered on port {port} within {timeout:g}s")
        time.sleep(0.01)


def cpu_busy_seconds(cpu: int) -> float:
    """Seconds CPU ``cpu`` has been busy since boot (user, nice, system, irq, softirq, steal)."""
    clock = os.sysconf("SC_CLK_TCK")
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{cpu} "):
            values = [int(v) for v in line.split()[1:9]]
            user, nice, system, _idle, _iowait, irq, softirq, steal = values
            return (user + nice + system + irq + softirq + steal) / clock
    raise OSError(f"no cpu{cpu} in /proc/stat")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            text = (task / "children").read_text()
        except OSError:
            continue
        for child in text.split():
            found.append(int(child))
            found.extend(_children(int(child)))
    return found


def _status_kb(pid: int, key: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


class Service:
    """A long-running process of the benchmark (backend or contender)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        port: int,
        ready_path: str,
        cpus: frozenset[int] | None,
        log_dir: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.ready_path = ready_path
        self.cpus = cpus
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        """Launch the process, its output going to ``<log_dir>/<name>.log``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=self.cwd,
            preexec_fn=pin_preexec(self.cpus),
        )
        log.close()

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from launch until the first HTTP answer.

        Raises:
            RuntimeError: the process exited, or did not answer in time (its log is quoted).
        """
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        try:
            wait_for_answer(self.port, self.ready_path, timeout=timeout, proc=self.proc)
        except (TimeoutError, RuntimeError) as exc:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name}: {exc}\n--- {self.log_path} ---\n{tail}") from None
        return time.perf_counter() - self.started_at

    @property
    def pid(self) -> int:
        """The PID of the launched process."""
        if self.proc is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.proc.pid

    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM of the process (``main``), its largest child and the sum over all, in MiB."""
        pids = [self.pid, *_children(self.pid)]
        peaks = {pid: _status_kb(pid, "VmHWM") or 0 for pid in pids}
        children = [peaks[p] for p in pids[1:]]
        return {
            "main": round(peaks[self.pid] / 1024, 1),
            "max_child": round(max(children, default=0) / 1024, 1),
            "processes": len(pids),
            "total": round(sum(peaks.values()) / 1024, 1),
        }

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the process and its live children."""
        total = 0
        for pid in (self.pid, *_children(self.pid)):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        return total / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, *, timeout: float = 10.0, interval: float = 0.2) -> float:
        """Wait until the process uses under 5 % of a CPU over ``interval``; return seconds waited.

        After a load run a slow contender may still be working off queued requests; the next
        run (of another contender on the same CPU) must not pay for them.
        """
        started = time.perf_counter()
        before = self.cpu_seconds()
        while time.perf_counter() - started < timeout:
            time.sleep(interval)
            now = self.cpu_seconds()
            if now - before < 0.05 * interval:
                break
            before = now
        return time.perf_counter() - started

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s; this process, then any children it left behind."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = _children(self.proc.pid)
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
