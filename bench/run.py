#!/usr/bin/env python3
"""Mediator's benchmark, in one command from the repository root:

    python3 bench/run.py            # full: 3 alternated rounds of 7 s per contender (< 6 min)
    python3 bench/run.py --quick    # 1 round of 3 s (< 90 s)
    python3 bench/run.py --profile  # also py-spy profiles of the gateway per scenario

It prepares what it needs (the project's .venv, wrk from Debian when running as root), writes
deterministic fixtures, starts a canned SOAP backend and three contenders on 127.0.0.1, loads
each with wrk in alternation (A B C A B C …), measures start-up and peak RSS, prints a table
and writes bench/results/latest.json. Figures are printed, never asserted. See bench/README.md.
Standard library only: the contenders run in the project's .venv, the runner in any Python 3.11+.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import generate
import hotspots
import report
from procs import CpuPlan, Service, cpu_busy_seconds, cpu_plan, free_port, pin_preexec
from wrk import WrkError, WrkRequest, run_wrk

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
VENV: Final = ROOT / ".venv"
VENV_PY: Final = VENV / "bin" / "python"
MEDIATOR: Final = VENV / "bin" / "mediator"
GENERATED: Final = BENCH / "generated"
RESULTS: Final = BENCH / "results"
LOGS: Final = RESULTS / "logs"
DISTURBED: Final = 0.10


@dataclass(frozen=True, slots=True)
class Scenario:
    """One load shape, sent identically to every contender."""

    name: str
    title: str
    path: str
    method: str
    status: int
    action: str

    def request(self, port: int, order_json: Path) -> WrkRequest:
        """wrk's request against a contender on ``port``."""
        url = f"http://127.0.0.1:{port}{self.path}"
        if self.method == "POST":
            return WrkRequest(url, "POST", order_json, "application/json")
        return WrkRequest(url)


SCENARIOS: Final = (
    Scenario("small", "mapped GET, ~2 KB SOAP response", "/accounts/42", "GET", 200, "GetAccount"),
    Scenario(
        "large",
        "mapped GET, ~50 KB SOAP response",
        "/accounts/42/transactions?limit=200",
        "GET",
        200,
        "ListTransactions",
    ),
    Scenario(
        "post", "POST, nested JSON body rendered to SOAP", "/orders", "POST", 201, "CreateOrder"
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """How long and how hard to run."""

    mode: str
    duration: int
    rounds: int
    warmup: int
    connections: int
    threads: int
    startup_launches: int
    example_seconds: int
    profile_seconds: int
    retries: int
    retry_window: float
    started: float
    passthrough_loop: str = "asyncio"
    mediator_loop: str | None = None  # None: the gateway's default (uvloop when installed)


def _settings(args: argparse.Namespace) -> Settings:
    quick = bool(args.quick)
    return Settings(
        mode="quick" if quick else "full",
        duration=args.duration or (3 if quick else 7),
        rounds=args.rounds or (1 if quick else 3),
        warmup=1,
        connections=args.connections,
        threads=args.threads,
        startup_launches=2 if quick else 3,
        example_seconds=2 if quick else 4,
        profile_seconds=3 if quick else 6,
        retries=2 if quick else 5,
        # Repeats only within this many seconds of the start: the extras need the rest.
        retry_window=55.0 if quick else 255.0,
        started=time.perf_counter(),
        passthrough_loop=args.passthrough_loop,
        mediator_loop=args.mediator_loop,
    )


def _log(message: str) -> None:
    print(message, flush=True)


# -- environment ------------------------------------------------------------------------


def ensure_venv() -> None:
    """The project's .venv with Mediator installed (created as the README says when missing)."""
    if VENV_PY.exists():
        probe = subprocess.run(
            [str(VENV_PY), "-c", "import mediator, zeep, aiohttp"], capture_output=True, check=False
        )
        if probe.returncode == 0 and MEDIATOR.exists():
            return
    _log("setting up .venv (python3 -m venv .venv && .venv/bin/pip install -e '.[dev]') …")
    if not VENV_PY.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, cwd=ROOT)
    subprocess.run(
        [str(VENV / "bin" / "pip"), "install", "-q", "-e", ".[dev]"], check=True, cwd=ROOT
    )


def ensure_wrk() -> str:
    """wrk's path; installs Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit("wrk is missing: install it (Debian: sudo apt-get install -y wrk) and run again")
    _log("installing wrk (apt-get update && apt-get install -y wrk) …")
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "wrk"],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed")
    return found


def ensure_py_spy() -> Path:
    """py-spy in the .venv (installed from PyPI when missing)."""
    path = VENV / "bin" / "py-spy"
    if not path.exists():
        _log("installing py-spy into .venv …")
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "py-spy"], check=True)
    return path


def export_commit(rev: str) -> tuple[str, Path]:
    """``git archive`` the gateway of ``rev`` (package, bundled example) into results/src/<sha>/."""
    sha = subprocess.run(
        ["git", "rev-parse", "--short", f"{rev}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    target = RESULTS / "src" / sha
    if not (target / ".exported").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", sha, "mediator", "mappings", "wsdl", "examples"],
            capture_output=True,
            check=True,
            cwd=ROOT,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
        (target / ".exported").write_text(sha + "\n", encoding="utf-8")
    return sha, target


def _loadavg() -> float | None:
    """The 1-minute load average: other work on the machine skews every figure."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _meta(settings: Settings, plan: CpuPlan, wrk_path: str) -> dict[str, Any]:
    def output(*argv: str) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
        except OSError:
            return ""
        return (done.stdout or done.stderr).strip()

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "mode": settings.mode,
        "loadavg_start": _loadavg(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": output("git", "rev-parse", "--short", "HEAD"),
        "dirty": bool(output("git", "status", "--porcelain", "--", "mediator")),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": output(str(VENV_PY), "--version"),
        "platform": platform.platform(),
        "wrk": output(wrk_path, "--version").splitlines()[0]
        if output(wrk_path, "--version")
        else "",
        "connections": settings.connections,
        "threads": settings.threads,
        "duration_s": settings.duration,
        "rounds": settings.rounds,
        "cpu_plan": plan.describe(),
    }


# -- services ---------------------------------------------------------------------------


def _mediator(
    name: str,
    port: int,
    backend_url: str,
    cpus: frozenset[int] | None,
    settings: Settings,
    *extra: str,
) -> Service:
    if settings.mediator_loop is not None:
        extra = (*extra, "--loop", settings.mediator_loop)
    return Service(
        name,
        [
            str(MEDIATOR),
            "serve",
            "bench/mappings",
            "--wsdl-dir",
            "bench/wsdl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        port=port,
        ready_path="/accounts/42",
        cpus=cpus,
        log_dir=LOGS,
        env={"BENCH_SOAP_URL": backend_url},
        cwd=ROOT,
    )


def _contenders(
    backend_url: str, cpus: frozenset[int] | None, settings: Settings
) -> dict[str, Service]:
    ports = {name: free_port() for name in (report.MEDIATOR, report.PASSTHROUGH, report.NAIVE)}
    return {
        report.MEDIATOR: _mediator(
            report.MEDIATOR, ports[report.MEDIATOR], backend_url, cpus, settings
        ),
        report.PASSTHROUGH: Service(
            report.PASSTHROUGH,
            [
                str(VENV_PY),
                str(BENCH / "passthrough.py"),
                "--backend",
                backend_url,
                "--port",
                str(ports[report.PASSTHROUGH]),
                "--loop",
                settings.passthrough_loop,
            ],
            port=ports[report.PASSTHROUGH],
            ready_path="/accounts/42",
            cpus=cpus,
            log_dir=LOGS,
        ),
        report.NAIVE: Service(
            report.NAIVE,
            [
                str(VENV_PY),
                str(BENCH / "naive_zeep.py"),
                "--wsdl",
                str(BENCH / "wsdl" / "bench.wsdl"),
                "--backend",
                backend_url,
                "--port",
                str(ports[report.NAIVE]),
            ],
            port=ports[report.NAIVE],
            ready_path="/accounts/42",
            cpus=cpus,
            log_dir=LOGS,
        ),
    }


@contextlib.contextmanager
def running(*services: Service) -> Iterator[None]:
    """Start services, wait until each answers, stop them all on the way out."""
    try:
        for service in services:
            service.start()
        for service in services:
            service.wait_ready()
        yield
    finally:
        for service in services:
            service.stop()


# -- checks and load ----------------------------------------------------------------------


def _fetch(port: int, scenario: Scenario, order_json: Path) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if scenario.method == "POST":
            conn.request(
                "POST",
                scenario.path,
                body=order_json.read_bytes(),
                headers={"Content-Type": "application/json"},
            )
        else:
            conn.request("GET", scenario.path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def smoke_check(
    name: str, service: Service, scenario: Scenario, fixtures: generate.Fixtures
) -> int:
    """One request before loading: right status and shape, so no error page is benchmarked.

    Returns the response size in bytes.
    """
    status, body = _fetch(service.port, scenario, fixtures.order_json)
    expected_status = 200 if name == report.PASSTHROUGH else scenario.status
    problems: list[str] = []
    if status != expected_status:
        problems.append(f"status {status}, expected {expected_status}")
    elif name == report.PASSTHROUGH:
        canned = (
            fixtures.canned_dir / generate.ACTIONS[f"{generate.BENCH_NS}/{scenario.action}"]
        ).read_bytes()
        if body != canned:
            problems.append("body differs from the canned response")
    else:
        data: dict[str, Any] = json.loads(body)
        keys = {
            "small": ("recentTransactions", "RecentTransaction"),
            "large": ("transactions", "Transaction"),
            "post": ("orderId", "OrderId"),
        }[scenario.name]
        items = data.get(keys[0]) or data.get(keys[1])
        if scenario.name == "post":
            items = [items]
        expected_items = {"small": 5, "large": 200, "post": 1}[scenario.name]
        if not isinstance(items, list) or len(items) != expected_items or items == [None]:
            problems.append(f"unexpected JSON shape: {body[:200]!r}")
    if problems:
        raise SystemExit(f"smoke check failed for {name} / {scenario.name}: {'; '.join(problems)}")
    return len(body)


def load(
    request: WrkRequest,
    settings: Settings,
    plan: CpuPlan,
    duration: int | None = None,
    service: Service | None = None,
) -> dict[str, Any]:
    """One wrk run; its figures as a dictionary.

    With the ``service`` under load pinned to one CPU, also how much of that CPU it used
    (``cpu_share``) and how much other processes took (``foreign_share``: other work on the
    machine, plus the kernel's network processing there).
    """
    core = min(plan.contender) if plan.contender and len(plan.contender) == 1 else None
    before = (
        (cpu_busy_seconds(core), service.cpu_seconds()) if core is not None and service else None
    )
    started = time.perf_counter()
    result = run_wrk(
        request,
        duration=duration or settings.duration,
        connections=settings.connections,
        threads=settings.threads,
        preexec=pin_preexec(plan.load),
    )
    data = result.as_dict()
    if before is not None and core is not None and service is not None:
        elapsed = time.perf_counter() - started
        busy = cpu_busy_seconds(core) - before[0]
        own = service.cpu_seconds() - before[1]
        data["cpu_share"] = round(own / elapsed, 3)
        data["foreign_share"] = round(max(0.0, busy - own) / elapsed, 3)
    return data


def measure_backend(
    backend_port: int, fixtures: generate.Fixtures, settings: Settings, plan: CpuPlan
) -> dict[str, Any]:
    """The backend alone, per scenario's SOAPAction: it must far exceed every contender."""
    results: dict[str, Any] = {}
    for scenario in SCENARIOS:
        request = WrkRequest(
            f"http://127.0.0.1:{backend_port}/bench",
            "POST",
            fixtures.request_xml,
            "text/xml; charset=utf-8",
            f"{generate.BENCH_NS}/{scenario.action}",
        )
        run = load(request, settings, plan, duration=max(2, settings.duration // 2))
        results[scenario.name] = {
            "rps": round(run["rps"], 1),
            "p99_ms": run["p99_ms"],
            "errors": run["errors"],
        }
        _log(f"  backend alone, {scenario.name}: {run['rps']:,.0f} req/s")
    return results


def svc_rss(service: Service) -> float:
    """Peak RSS so far of a contender (all its processes), MiB: growth across scenarios shows."""
    return float(service.peak_rss_mb()["total"])


@dataclass(slots=True)
class Retries:
    """Runs that may still be repeated because other work disturbed them.

    Bounded in number and by a deadline, so the whole benchmark keeps its time bound.
    """

    left: int
    until: float

    def take(self, duration: float) -> bool:
        """Whether one more run of ``duration`` seconds may be repeated (and count it)."""
        if self.left <= 0 or time.perf_counter() + duration > self.until:
            return False
        self.left -= 1
        return True


def alternate(
    contenders: dict[str, Service],
    scenarios: tuple[Scenario, ...],
    fixtures: generate.Fixtures,
    settings: Settings,
    plan: CpuPlan,
) -> dict[str, Any]:
    """Per scenario: a warm-up each, then rounds of A B C …; medians and ratios.

    A run during which other processes took more than ``DISTURBED`` of the contender's CPU
    is run again, within a budget of ``settings.retries`` repeats per benchmark.
    """
    out: dict[str, Any] = {}
    retries = Retries(settings.retries, settings.started + settings.retry_window)
    for scenario in scenarios:
        _log(f"scenario {scenario.name}: {scenario.title}")
        sizes = {
            name: smoke_check(name, svc, scenario, fixtures) for name, svc in contenders.items()
        }
        for svc in contenders.values():
            load(
                scenario.request(svc.port, fixtures.order_json),
                settings,
                plan,
                duration=settings.warmup,
            )
            svc.wait_idle()
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
        for round_no in range(settings.rounds):
            for name, svc in contenders.items():
                request = scenario.request(svc.port, fixtures.order_json)
                run = load(request, settings, plan, service=svc)
                svc.wait_idle()
                while run.get("foreign_share", 0.0) > DISTURBED and retries.take(settings.duration):
                    _log(
                        f"  round {round_no + 1} {name:12} disturbed: other processes took"
                        f" {run['foreign_share']:.0%} of its CPU; running it again"
                    )
                    run = load(request, settings, plan, service=svc)
                    svc.wait_idle()
                runs[name].append(run)
                shares = (
                    f"  cpu {run['cpu_share']:4.0%} other {run['foreign_share']:4.0%}"
                    if "cpu_share" in run
                    else ""
                )
                _log(
                    f"  round {round_no + 1} {name:12} {run['rps']:>9,.0f} req/s"
                    f"  p50 {run['p50_ms']:7.2f} ms  p99 {run['p99_ms']:7.2f} ms"
                    f"  errors {run['errors']}{shares}"
                )
        contenders_out = {}
        for name in contenders:
            contenders_out[name] = report.aggregate_runs(runs[name])
            contenders_out[name]["response_bytes"] = sizes[name]
            contenders_out[name]["peak_rss_mb_after"] = svc_rss(contenders[name])
        out[scenario.name] = {
            "title": scenario.title,
            "path": scenario.path,
            "method": scenario.method,
            "contenders": contenders_out,
        }
    report.add_ratios(out)
    return out


def measure_workers(
    backend_url: str, fixtures: generate.Fixtures, settings: Settings, plan: CpuPlan
) -> dict[str, Any]:
    """``--workers 2`` against one worker, both unpinned, on the small scenario (when available)."""
    help_text = subprocess.run(
        [str(MEDIATOR), "serve", "--help"], capture_output=True, text=True, check=False, cwd=ROOT
    ).stdout
    if "--workers" not in help_text:
        _log("workers: skipped: --workers not available")
        return {"skipped": "--workers not available"}
    one = _mediator("mediator-1w", free_port(), backend_url, None, settings, "--workers", "1")
    two = _mediator("mediator-2w", free_port(), backend_url, None, settings, "--workers", "2")
    scenario = SCENARIOS[0]
    runs: dict[str, list[dict[str, Any]]] = {"one": [], "two": []}
    with running(one, two):
        pairs = {"one": one, "two": two}
        for svc in pairs.values():
            load(
                scenario.request(svc.port, fixtures.order_json),
                settings,
                plan,
                duration=settings.warmup,
            )
            svc.wait_idle()
        for round_no in range(settings.rounds):
            for key, svc in pairs.items():
                run = load(scenario.request(svc.port, fixtures.order_json), settings, plan)
                runs[key].append(run)
                svc.wait_idle()
                _log(f"  workers round {round_no + 1} {key}: {run['rps']:,.0f} req/s")
        rss = {key: svc.peak_rss_mb() for key, svc in pairs.items()}
    result: dict[str, Any] = {
        "one": report.aggregate_runs(runs["one"]),
        "two": report.aggregate_runs(runs["two"]),
        "rss_mb": rss,
    }
    result["ratio"] = report.ratio(result["two"]["median_rps"], result["one"]["median_rps"])
    return result


def measure_startup(settings: Settings, plan: CpuPlan) -> dict[str, Any]:
    """Seconds from launching ``mediator serve`` over 10 realistic WSDLs until it answers."""
    mappings, wsdls, wsdl_bytes = generate.write_startup_fixtures(GENERATED / "startup")
    launches: list[float] = []
    peak = 0.0
    # An empty WSDL cache: the first launch is cold (parses and fills it), the others warm.
    cache = Path(tempfile.mkdtemp(prefix="mediator-startup-cache-"))
    for index in range(settings.startup_launches):
        port = free_port()
        service = Service(
            f"startup-{index}",
            [
                str(MEDIATOR),
                "serve",
                str(mappings),
                "--wsdl-dir",
                str(wsdls),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            port=port,
            ready_path="/",
            cpus=plan.contender,
            log_dir=LOGS,
            env={"MEDIATOR_CACHE_DIR": str(cache)},
            cwd=ROOT,
        )
        service.start()
        try:
            launches.append(round(service.wait_ready(timeout=120), 3))
            peak = max(peak, service.peak_rss_mb()["total"])
        finally:
            service.stop()
        _log(f"  start-up launch {index + 1}: {launches[-1]:.2f} s")
    shutil.rmtree(cache, ignore_errors=True)
    routes = sum(Path(f).read_text().count("\n  - ") for f in mappings.glob("*.yaml"))
    return {
        "copies": len(list(wsdls.glob("*.wsdl"))),
        "wsdl_bytes": wsdl_bytes,
        "routes": routes,
        "launches_s": launches,
        "cold_s": launches[0],
        "warm_s": round(statistics.median(launches[1:]), 3) if len(launches) > 1 else None,
        "peak_rss_mb": peak,
    }


def measure_example(settings: Settings, plan: CpuPlan, root: Path = ROOT) -> dict[str, Any]:
    """Peak RSS of ``mediator serve`` with the bundled example under load (demo backend).

    ``root`` holds ``mappings/``, ``wsdl/`` and ``examples/`` (the work tree, or an export).
    """
    backend_port, port = free_port(), free_port()
    backend = Service(
        "example-backend",
        [
            str(VENV_PY),
            "examples/orders/backend.py",
            "--host",
            "127.0.0.1",
            "--port",
            str(backend_port),
        ],
        port=backend_port,
        ready_path="/orders?wsdl",
        cpus=plan.backend,
        log_dir=LOGS,
        cwd=root,
    )
    gateway = Service(
        "example-mediator",
        [
            str(MEDIATOR),
            "serve",
            "mappings",
            "--wsdl-dir",
            "wsdl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        port=port,
        ready_path="/orders/1001",
        cpus=plan.contender,
        log_dir=LOGS,
        env={"ORDERS_SOAP_URL": f"http://127.0.0.1:{backend_port}/orders"},
        cwd=root,
    )
    paths = {
        "get-order": "/orders/1001",
        "search-orders": "/orders?customerId=1",
        "get-customer": "/customers/1",
    }
    rps: dict[str, float] = {}
    errors = 0
    with running(backend, gateway):
        for name, path in paths.items():
            run = load(
                WrkRequest(f"http://127.0.0.1:{port}{path}"),
                settings,
                plan,
                duration=settings.example_seconds,
            )
            rps[name] = round(run["rps"], 1)
            errors += run["errors"]
        rss = gateway.peak_rss_mb()
    _log(f"  bundled example: peak RSS {rss['total']:.1f} MiB")
    return {
        "rps": rps,
        "errors": errors,
        "peak_rss_mb": {**rss, "max_worker": max(rss["main"], rss["max_child"])},
    }


def profile_gateway(
    service: Service, fixtures: generate.Fixtures, settings: Settings, plan: CpuPlan, py_spy: Path
) -> dict[str, Any]:
    """py-spy profiles of the gateway while wrk loads each scenario."""
    summaries: dict[str, Any] = {}
    text: dict[str, list[str]] = {}
    for scenario in SCENARIOS:
        out = RESULTS / f"profile-{scenario.name}.speedscope.json"
        request = scenario.request(service.port, fixtures.order_json)
        argv = [
            "wrk",
            f"-t{settings.threads}",
            f"-c{settings.connections}",
            f"-d{settings.profile_seconds + 2}s",
            "-s",
            str(BENCH / "request.lua"),
            request.url,
        ]
        with subprocess.Popen(
            argv,
            env={**os.environ, **request.environment()},
            stdout=subprocess.DEVNULL,
            preexec_fn=pin_preexec(plan.load),
        ) as loader:
            time.sleep(1)
            try:
                hotspots.record(py_spy, service.pid, settings.profile_seconds, out)
            except subprocess.CalledProcessError as exc:
                _log(f"  py-spy failed: {exc.stderr.decode(errors='replace').strip()}")
                loader.wait()
                return {"error": "py-spy failed"}
            loader.wait()
        service.wait_idle()
        summary = hotspots.summarize(out)
        summaries[scenario.name] = {"file": str(out.relative_to(ROOT)), **summary.as_dict()}
        text[scenario.name] = hotspots.format_summary(summary, scenario.name)
        _log("\n".join(text[scenario.name]))
    return {"scenarios": summaries, "text": text}


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _guarded(
    measure: Callable[[Settings, CpuPlan], dict[str, Any]], settings: Settings, plan: CpuPlan
) -> dict[str, Any]:
    """Run one extra measurement; a failure is recorded, not fatal to the whole run."""
    try:
        return measure(settings, plan)
    except (RuntimeError, OSError) as exc:
        _log(f"  failed: {exc}")
        return {"error": str(exc).splitlines()[0]}


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one short round (< 90 s)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 7, quick 3)")
    parser.add_argument(
        "--rounds", type=int, help="alternated rounds per scenario (default 3, quick 1)"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1 or 2)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    parser.add_argument(
        "--profile", action="store_true", help="also profile the gateway with py-spy"
    )
    parser.add_argument(
        "--skip-extras", action="store_true", help="skip workers, start-up and example RSS"
    )
    parser.add_argument(
        "--mediator-path",
        type=Path,
        help="import the gateway from this directory (holding mediator/) instead of the work tree,"
        " e.g. an export of another commit: git archive HEAD mediator | tar -x -C /tmp/head",
    )
    parser.add_argument(
        "--commit",
        help="benchmark the gateway as of this commit (exported with git archive into"
        " bench/results/src/), whatever the work tree holds",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="add this to the niceness of the runner and all it starts; negative (root only,"
        " e.g. -10) keeps other work on a shared machine from disturbing the figures",
    )
    parser.add_argument(
        "--passthrough-loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="event loop of the pass-through (default asyncio: the ceiling as issue 11 defines it)",
    )
    parser.add_argument(
        "--mediator-loop",
        choices=("asyncio", "uvloop"),
        help="event loop of the gateway (default: its own, uvloop when installed)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    settings = _settings(args)
    started = settings.started
    # Stopping the runner (Ctrl-C, SIGTERM, even when started in the background with SIGINT
    # ignored) unwinds through the ``running`` blocks, which stop every process it started.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)

    os.chdir(ROOT)
    if args.nice:
        os.nice(args.nice)  # inherited by every process the runner starts
    commit = None
    if args.commit:
        commit, args.mediator_path = export_commit(args.commit)
    if args.mediator_path:
        # Every child inherits it; only the gateway processes import mediator.
        os.environ["PYTHONPATH"] = str(args.mediator_path.resolve())
    ensure_venv()
    wrk_path = ensure_wrk()
    py_spy = ensure_py_spy() if args.profile else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    fixtures = generate.write_fixtures(GENERATED)
    plan = cpu_plan(pin=not args.no_pin)
    results: dict[str, Any] = {"meta": _meta(settings, plan, wrk_path), "fixtures": fixtures.sizes}
    results["meta"]["mediator_path"] = str(args.mediator_path or ROOT)
    results["meta"]["mediator_commit"] = commit or "work tree"
    results["meta"]["niceness"] = os.getpriority(os.PRIO_PROCESS, 0)
    results["meta"]["passthrough_loop"] = settings.passthrough_loop
    results["meta"]["mediator_loop"] = settings.mediator_loop or "default (uvloop if installed)"
    _log(f"{settings.mode} run: {plan.describe()}; fixtures {fixtures.sizes}")
    load_now = results["meta"]["loadavg_start"]
    if load_now is not None and load_now > 0.5:
        _log(f"warning: load average {load_now} before starting: other work will skew the figures")

    backend_port = free_port()
    backend_url = f"http://127.0.0.1:{backend_port}/bench"
    backend = Service(
        "backend",
        [
            sys.executable,
            str(BENCH / "backend.py"),
            "--canned",
            str(fixtures.canned_dir),
            "--port",
            str(backend_port),
        ]
        + (["--cpu", str(min(plan.backend))] if plan.backend else []),
        port=backend_port,
        ready_path="/",
        cpus=plan.backend,
        log_dir=LOGS,
    )
    contenders = _contenders(backend_url, plan.contender, settings)
    try:
        with running(backend):
            results["backend_alone"] = measure_backend(backend_port, fixtures, settings, plan)
            with running(*contenders.values()):
                results["scenarios"] = alternate(contenders, SCENARIOS, fixtures, settings, plan)
                results["rss_mb"] = {name: svc.peak_rss_mb() for name, svc in contenders.items()}
                if py_spy is not None:
                    _log("profiling the gateway with py-spy …")
                    results["profile"] = profile_gateway(
                        contenders[report.MEDIATOR], fixtures, settings, plan, py_spy
                    )
            if not args.skip_extras:
                results["workers"] = measure_workers(backend_url, fixtures, settings, plan)
        if not args.skip_extras:
            _log("start-up with 10 realistic WSDLs …")
            results["startup"] = _guarded(measure_startup, settings, plan)
            _log("bundled example under load …")
            example_root = args.mediator_path.resolve() if args.mediator_path else ROOT
            if not (example_root / "mappings").is_dir():
                example_root = ROOT
            results["example"] = _guarded(
                lambda s, p: measure_example(s, p, example_root), settings, plan
            )
    except WrkError as exc:
        sys.exit(f"wrk failed: {exc}")
    results["targets"] = report.evaluate_targets(results)
    results["meta"]["loadavg_end"] = _loadavg()
    results["meta"]["elapsed_s"] = round(time.perf_counter() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    args.output.write_text(text, encoding="utf-8")
    stamp = results["meta"]["date"].replace(":", "").replace("+0000", "Z")
    label = str(results["meta"]["mediator_commit"]).replace(" ", "-")
    keep = RESULTS / f"run-{stamp}-{settings.mode}-{label}.json"
    keep.write_text(text, encoding="utf-8")  # every run kept next to latest.json
    print()
    print(report.format_report(results))
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"\nwrote {shown} in {results['meta']['elapsed_s']:.0f} s")


if __name__ == "__main__":
    main()
