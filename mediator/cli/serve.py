"""``mediator serve``: run the gateway."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from mediator.cli.common import add_mapping_arguments, load, print_issues
from mediator.contract.record import FixtureRecorder
from mediator.errors import MappingError
from mediator.gateway.app import create_app
from mediator.gateway.exchange import Observer
from mediator.gateway.settings import GatewaySettings
from mediator.log import configure_logging, get_logger
from mediator.mapping.values import parse_duration, parse_size

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "serve"
HELP = "run the gateway"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Mapping paths, bind address and front-door limits."""
    add_mapping_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default: 8080)")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--log-format", default="auto", choices=["auto", "json", "console"])
    parser.add_argument(
        "--max-body", default="1MiB", help="largest request body accepted (default: 1MiB)"
    )
    parser.add_argument(
        "--body-timeout",
        default="10s",
        help="time allowed to receive a request body (default: 10s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (SO_REUSEPORT); default 1",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="reload when a mapping or WSDL file changes (SIGHUP always reloads)",
    )
    parser.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="write every upstream exchange as a contract fixture under DIR (redacted)",
    )


def supervise(workers: int, serve_one: Callable[[bool], None]) -> int:
    """Run ``workers`` forked processes serving one port; forward signals; respawn crashes.

    The mappings are loaded once, before forking. SIGHUP is forwarded, so every worker
    reloads; SIGINT/SIGTERM stop them all.
    """
    log = get_logger("mediator.cli")
    context = multiprocessing.get_context("fork")
    stopping = False

    def start() -> multiprocessing.process.BaseProcess:
        process = context.Process(target=serve_one, args=(True,), daemon=False)
        process.start()
        return process

    processes = [start() for _ in range(workers)]

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum in (signal.SIGINT, signal.SIGTERM):
            stopping = True
        for process in processes:
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGINT if signum == signal.SIGINT else signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, forward)
    restarts: list[float] = []
    while not stopping:
        time.sleep(0.2)
        for index, process in enumerate(processes):
            if process.is_alive() or stopping:
                continue
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < 60] + [now]
            if len(restarts) > 5 * workers:
                log.error("gateway.workers_crashing", exitcode=process.exitcode)
                stopping = True
                forward(signal.SIGTERM, None)
                break
            log.warning("gateway.worker_restarted", exitcode=process.exitcode)
            processes[index] = start()
    for process in processes:
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
    return 0


def settings_from(args: argparse.Namespace) -> GatewaySettings:
    """Gateway settings from the command line."""
    return GatewaySettings(
        mappings=tuple(args.paths),
        wsdl_dir=args.wsdl_dir,
        host=args.host,
        port=args.port,
        max_body_bytes=parse_size(args.max_body),
        body_timeout=parse_duration(args.body_timeout),
        watch=args.watch,
    )


def run(args: argparse.Namespace) -> int:
    """Load the mappings (refusing to start on any issue), then serve until interrupted."""
    json_logs = None if args.log_format == "auto" else args.log_format == "json"
    configure_logging(level=args.log_level, json=json_logs)
    log = get_logger("mediator.cli")
    try:
        mappings, registry = load(args)
    except MappingError as exc:
        print_issues(exc)
        log.error("gateway.start_failed", issues=len(exc.issues))
        return 1
    settings = settings_from(args)
    try:
        observers: list[Observer] = [FixtureRecorder(args.record)] if args.record else []
    except MappingError as exc:
        print_issues(exc)
        return 1

    def serve_one(reuse_port: bool) -> None:
        app = create_app(
            mappings,
            registry=registry,
            settings=settings,
            reloader=lambda: load(args),
            observers=observers,
        )
        log.info("gateway.started", host=settings.host, port=settings.port, pid=os.getpid())
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            access_log=None,
            print=None,
            keepalive_timeout=settings.keepalive_timeout,
            handler_cancellation=True,
            reuse_port=reuse_port,
        )

    if args.workers <= 1:
        serve_one(reuse_port=False)
        return 0
    return supervise(args.workers, serve_one)
