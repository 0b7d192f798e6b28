#!/usr/bin/env python3
"""Isolation under load: one hung upstream must not slow a healthy one.

Starts a SOAP backend serving three services on ONE host and port (``/healthy`` and
``/other`` answer at once, ``/hung`` never answers), and ``mediator serve`` in front of them
with three mapping files (hung: 2 s deadline, 16 in flight, 16 queued, breaker after 5
failures). Then, for ``--duration`` seconds each:

1. baseline: ``--healthy-clients`` closed-loop clients call the healthy route (wrk when it
   is installed, else Python clients);
2. control: the same, plus ``--hung-rate`` requests a second (open loop) at ``/other``, a
   second healthy upstream: what the extra load alone costs (one gateway process, one core);
3. isolation: the same, but the extra requests go to the hung upstream.

Isolation holds when phase 3 is no worse than phase 2. It prints the healthy route's
latency percentiles and throughput per phase, what the hung route answered (504 after the
deadline, 503 from the bulkhead or the open breaker, and how fast), and how many requests
reached the hung service. Bounded: about ``3 * duration + 5`` seconds in all.

    .venv/bin/python bench/isolation.py [--duration 5] [--hung-rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ORDER = (
    '<GetOrderResponse xmlns="urn:example:orders"><Order><Id>7</Id><Customer><Id>1</Id>'
    "<Name>N</Name><Vip>false</Vip></Customer><Status>open</Status>"
    "<OrderDate>2026-01-02</OrderDate><CreatedAt>2026-01-02T03:04:05Z</CreatedAt>"
    "<Total>1.5</Total><Paid>true</Paid></Order></GetOrderResponse>"
)
ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope '
    f'xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{ORDER}</s:Body></s:Envelope>'
).encode()

MAPPING = """version: 1
service:
  wsdl: orders.wsdl
  address: http://127.0.0.1:{port}/{name}
  timeout: {timeout}
  connect_timeout: 1s
{extra}  namespaces: {{o: "urn:example:orders"}}
routes:
  - get: /{name}/orders/{{id}}
    operation: GetOrder
    params: {{path: {{id: integer}}}}
    request: {{args: {{OrderId: "{{{{ path.id }}}}"}}}}
    response: {{root: o:GetOrderResponse/o:Order, fields: {{id: o:Id, status: o:Status}}}}
"""
HUNG_POLICY = (
    "  max_concurrency: 16\n  max_queue: 16\n  retries: 0\n"
    "  circuit_breaker: {failures: 5, open_for: 1s, max_open_for: 4s}\n"
)


# -- the backend (a child process) ------------------------------------------------------------


def run_backend(port: int) -> None:
    """Serve /healthy (instant answer), /hung (never answers) and GET /stats."""
    stats = {"hung_received": 0, "hung_open": 0, "healthy": 0}

    async def healthy(request: web.Request) -> web.Response:
        await request.read()
        stats["healthy"] += 1
        return web.Response(body=ENVELOPE, content_type="text/xml")

    async def hung(request: web.Request) -> web.Response:
        await request.read()
        stats["hung_received"] += 1
        stats["hung_open"] += 1
        try:
            await asyncio.sleep(3600)
        finally:
            stats["hung_open"] -= 1
        return web.Response(body=ENVELOPE, content_type="text/xml")

    async def report(request: web.Request) -> web.Response:
        return web.json_response(stats)

    app = web.Application()
    app.router.add_post("/healthy", healthy)
    app.router.add_post("/other", healthy)
    app.router.add_post("/hung", hung)
    app.router.add_get("/stats", report)
    web.run_app(
        app, host="127.0.0.1", port=port, print=None, access_log=None, handler_cancellation=True
    )


# -- helpers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def child(argv: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_until_up(session: aiohttp.ClientSession, url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(url) as response:
                if response.status < 500:
                    return
        await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": ordered[-1] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


# -- load ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Healthy:
    """What the healthy route's closed-loop clients saw in one phase."""

    rps: float
    latency_ms: dict[str, float]
    errors: int
    tool: str


_WRK_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _parse_wrk(output: str) -> Healthy:
    latency: dict[str, float] = {}
    for name, key in (("50%", "p50"), ("90%", "p90"), ("99%", "p99")):
        match = re.search(rf"^\s*{re.escape(name)}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match:
            latency[key] = float(match.group(1)) * _WRK_UNITS[match.group(2)]
    match = re.search(r"Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s)", output)
    if match:
        latency["max"] = float(match.group(1)) * _WRK_UNITS[match.group(2)]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors:.*", output)
    return Healthy(
        rps=float(rps.group(1)) if rps else 0.0,
        latency_ms=latency,
        errors=(int(errors.group(1)) if errors else 0) + (1 if socket_errors else 0),
        tool="wrk",
    )


async def healthy_load(
    session: aiohttp.ClientSession, base: str, clients: int, duration: float
) -> Healthy:
    """Closed-loop load on the healthy route: wrk when installed (a C client adds little
    noise), else Python clients."""
    wrk = shutil.which("wrk")
    if wrk:
        process = await asyncio.create_subprocess_exec(
            wrk,
            "-t1",
            f"-c{clients}",
            f"-d{duration:g}s",
            "--latency",
            f"{base}/healthy/orders/7",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        return _parse_wrk(output.decode(errors="replace"))
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + duration

    async def client(index: int) -> None:
        nonlocal errors
        while time.monotonic() < stop:
            started = time.perf_counter()
            async with session.get(f"{base}/healthy/orders/{index}") as response:
                await response.read()
                errors += response.status != 200
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(i) for i in range(clients)))
    figures = percentiles(latencies)
    return Healthy(
        rps=len(latencies) / duration,
        latency_ms={k: figures[k] for k in ("p50", "p90", "p99", "max")},
        errors=errors,
        tool="python",
    )


async def paced_load(
    session: aiohttp.ClientSession, base: str, name: str, rate: float, duration: float
) -> tuple[Counter[str], dict[str, list[float]], float | None]:
    outcomes: Counter[str] = Counter()
    latencies: dict[str, list[float]] = {}
    first_refusal: list[float] = []
    started_at = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()

    async def one(index: int) -> None:
        started = time.perf_counter()
        try:
            async with session.get(f"{base}/{name}/orders/{index}") as response:
                body = await response.read()
                kind = str(response.status)
                if response.status >= 400:
                    kind += " " + json.loads(body)["type"].rsplit(":", 1)[-1]
                if response.status == 503 and not first_refusal:
                    first_refusal.append(time.monotonic() - started_at)
        except (aiohttp.ClientError, TimeoutError) as exc:
            kind = f"client error {type(exc).__name__}"
        outcomes[kind] += 1
        latencies.setdefault(kind, []).append(time.perf_counter() - started)

    index = 0
    while time.monotonic() - started_at < duration:
        task = asyncio.create_task(one(index))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        index += 1
        await asyncio.sleep(1 / rate)
    if tasks:
        await asyncio.wait(tasks, timeout=5)
    return outcomes, latencies, first_refusal[0] if first_refusal else None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def show_latency(title: str, healthy: Healthy, seconds: float, cpu: float) -> None:
    print(
        f"  {title:<26} {healthy.rps:6.0f} req/s  "
        + "  ".join(f"{k} {v:7.2f} ms" for k, v in healthy.latency_ms.items())
        + f"  non-200 {healthy.errors}  gateway CPU {cpu / seconds * 100:3.0f}%"
    )


async def measure(args: argparse.Namespace, gateway: str, backend: str, pid: int) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        await wait_until_up(session, f"{gateway}/healthy/orders/1", time.monotonic() + 30)
        for _ in range(200):  # warm up: connections, zeep, caches
            async with session.get(f"{gateway}/healthy/orders/1") as response:
                await response.read()

        clients, seconds, rate = args.healthy_clients, args.duration, args.hung_rate
        cpu = cpu_seconds(pid)
        base = await healthy_load(session, gateway, clients, seconds)
        print(
            f"healthy route, {clients} closed-loop clients ({base.tool}), {seconds:g}s per phase:"
        )
        cpu, used = cpu_seconds(pid), cpu_seconds(pid) - cpu
        show_latency("baseline (nothing hung)", base, seconds, used)

        control, _ = await asyncio.gather(
            healthy_load(session, gateway, clients, seconds),
            paced_load(session, gateway, "other", rate, seconds),
        )
        cpu, used = cpu_seconds(pid), cpu_seconds(pid) - cpu
        show_latency(f"+{rate:g}/s to a healthy one", control, seconds, used)

        isolated, (outcomes, hung_lat, first_503) = await asyncio.gather(
            healthy_load(session, gateway, clients, seconds),
            paced_load(session, gateway, "hung", rate, seconds),
        )
        used = cpu_seconds(pid) - cpu
        show_latency(f"+{rate:g}/s to the hung one", isolated, seconds, used)

        print(
            f"  hung vs control: p99 {isolated.latency_ms['p99'] - control.latency_ms['p99']:+.2f}"
            f" ms, throughput {(isolated.rps / control.rps - 1) * 100:+.0f}%; max healthy "
            f"latency {isolated.latency_ms['max']:.0f} ms vs the hung deadline 2000 ms"
        )
        total = sum(outcomes.values())
        print(f"hung route, {args.hung_rate:g} req/s open loop, {total} requests:")
        for kind, count in sorted(outcomes.items()):
            figures = percentiles(hung_lat[kind])
            print(
                f"  {kind:<36} {count:6d}   p50 {figures['p50']:8.2f} ms   "
                f"max {figures['max']:8.2f} ms"
            )
        if first_503 is not None:
            print(f"  first 503 after {first_503 * 1000:.0f} ms")
        await asyncio.sleep(0.5)  # let the backend notice connections the gateway closed
        async with session.get(f"{backend}/stats") as response:
            stats = await response.json()
        print(
            f"hung service: {stats['hung_received']} requests reached it "
            f"(of {total}); {stats['hung_open']} still open at the end"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase")
    parser.add_argument("--healthy-clients", type=int, default=8)
    parser.add_argument(
        "--hung-rate", type=float, default=200.0, help="requests/s at the hung route"
    )
    parser.add_argument("--backend", type=int, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.backend:
        run_backend(args.backend)
        return 0

    backend_port, gateway_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        mappings = Path(tmp)
        upstreams = (("healthy", "5s", ""), ("other", "5s", ""), ("hung", "2s", HUNG_POLICY))
        for name, timeout, extra in upstreams:
            (mappings / f"{name}.yaml").write_text(
                MAPPING.format(port=backend_port, name=name, timeout=timeout, extra=extra)
            )
        backend = [sys.executable, __file__, "--backend", str(backend_port)]
        gateway = [
            str(VENV_BIN / "mediator"),
            "serve",
            str(mappings),
            "--wsdl-dir",
            str(ROOT / "wsdl"),
            "--port",
            str(gateway_port),
            "--log-level",
            "error",
        ]
        env_note = os.environ.get("MEDIATOR_BENCH_NOTE", "")
        print(f"Mediator isolation bench {env_note}".strip())
        with child(backend), child(gateway) as gateway_process:
            try:
                asyncio.run(
                    measure(
                        args,
                        f"http://127.0.0.1:{gateway_port}",
                        f"http://127.0.0.1:{backend_port}",
                        gateway_process.pid,
                    )
                )
            finally:
                if gateway_process.poll() is not None and gateway_process.stderr:
                    sys.stderr.write(gateway_process.stderr.read().decode(errors="replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
