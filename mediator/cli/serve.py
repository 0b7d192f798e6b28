"""``mediator serve``: run the gateway."""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import signal
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from mediator.cli.common import add_mapping_arguments, load, print_issues
from mediator.errors import MappingError, MappingIssue
from mediator.gateway.app import create_app
from mediator.gateway.auth import server_ssl_context
from mediator.gateway.exchange import Observer
from mediator.gateway.metrics import mark_process_dead, prepare_multiprocess
from mediator.gateway.process import LOOPS, loop_name, new_event_loop
from mediator.gateway.settings import GatewaySettings
from mediator.gateway.tracing import configure_tracer_provider, otel_available
from mediator.jobs.settings import add_job_arguments, job_settings_from
from mediator.log import configure_logging, get_logger
from mediator.mapping.model import MappingSet
from mediator.mapping.security_check import security_issues
from mediator.mapping.security_file import MtlsConfig, SecurityConfig, load_security_config
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
        "--loop",
        choices=LOOPS,
        default="auto",
        help="event loop: uvloop when installed (auto, the default), or asyncio's own",
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
    add_job_arguments(parser)
    _add_security_arguments(parser)
    observability = parser.add_argument_group("observability (docs/operations.md)")
    observability.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="serve Prometheus metrics at /metrics (default: on)",
    )
    observability.add_argument(
        "--otel",
        action="store_true",
        help="trace requests with OpenTelemetry (needs the 'otel' extra; OTEL_* variables)",
    )
    observability.add_argument(
        "--explain",
        type=int,
        metavar="N",
        help="keep explain traces of the last N translations at /_mediator/traces "
        "(unauthenticated: development only)",
    )
    observability.add_argument(
        "--dev",
        action="store_true",
        help="development mode: explain traces of the last 100 translations unless --explain",
    )
    observability.add_argument(
        "--readyz-upstreams",
        action="store_true",
        help="/readyz answers 503 while an upstream's circuit breaker is open",
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
            if process.pid is not None:
                mark_process_dead(process.pid)  # its live gauges (in-flight) stop counting
            processes[index] = start()
    for process in processes:
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
    return 0


DEV_EXPLAIN = 100
"""Explain traces kept in development mode (``--dev``) unless ``--explain`` says otherwise."""


def _explain_capacity(args: argparse.Namespace) -> int:
    if args.explain is not None:
        return max(int(args.explain), 0)
    return DEV_EXPLAIN if args.dev else 0


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
        keepalive_timeout=parse_duration(args.keepalive_timeout),
        metrics=args.metrics,
        settle_heap=True,
        warm_upstreams=True,
        otel=args.otel,
        explain=_explain_capacity(args),
        readyz_upstreams=args.readyz_upstreams,
        jobs=job_settings_from(args),
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
    try:  # the security file, TLS files, and unsafe settings (docs/security.md)
        security, server_ssl = _security(args, mappings)
    except MappingError as exc:
        print_issues(exc)
        log.error("gateway.start_failed", issues=len(exc.issues))
        return 1
    try:
        settings = dataclasses.replace(settings_from(args), security=security)
    except ValueError as exc:  # inconsistent job options (a Redis store without a URL…)
        log.error("gateway.start_failed", reason=str(exc))
        return 1
    if settings.otel and not otel_available():
        log.error("gateway.start_failed", reason="--otel needs: pip install 'mediator[otel]'")
        return 1
    if settings.explain and args.workers > 1:
        log.warning("gateway.explain_per_worker", hint="each worker keeps its own traces")
    observers: list[Observer] = []
    if args.record:
        from mediator.contract.record import FixtureRecorder  # imported only with --record

        try:
            observers.append(FixtureRecorder(args.record))
        except MappingError as exc:
            print_issues(exc)
            return 1

    def serve_one(reuse_port: bool) -> None:
        provider = configure_tracer_provider() if settings.otel else None
        app = create_app(
            mappings,
            registry=registry,
            settings=settings,
            reloader=lambda: _refuse_unsafe(args, security, load(args)),
            observers=observers,
        )
        loop = new_event_loop(args.loop)
        log.info(
            "gateway.started",
            host=settings.host,
            port=settings.port,
            pid=os.getpid(),
            loop=loop_name(loop),
        )
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            access_log=None,
            print=None,
            keepalive_timeout=settings.keepalive_timeout,
            handler_cancellation=True,
            reuse_port=reuse_port,
            ssl_context=server_ssl,
            loop=loop,
        )
        if provider is not None:
            provider.shutdown()  # flush the spans still queued
        mark_process_dead(os.getpid())

    if settings.metrics:
        prepare_multiprocess(args.workers)
    if args.workers <= 1:
        serve_one(reuse_port=False)
        return 0
    return supervise(args.workers, serve_one)


def _add_security_arguments(parser: argparse.ArgumentParser) -> None:
    """Authentication, TLS and the explicit flags that accept unsafe settings."""
    group = parser.add_argument_group("security (docs/security.md)")
    group.add_argument(
        "--security", type=Path, metavar="FILE", help="API keys, JWT, mTLS identities, limits"
    )
    group.add_argument(
        "--keepalive-timeout",
        default="15s",
        help="idle time a connection is kept, and time a request head must arrive in "
        "(default: 15s)",
    )
    group.add_argument("--tls-cert", type=Path, metavar="FILE", help="serve HTTPS: certificate")
    group.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key")
    group.add_argument(
        "--tls-client-ca", type=Path, metavar="FILE", help="verify client certificates (mTLS)"
    )
    group.add_argument(
        "--tls-client-cert",
        choices=["required", "optional"],
        default="required",
        help="with --tls-client-ca: refuse connections without a certificate (default), or "
        "leave it to each route's auth",
    )
    group.add_argument(
        "--allow-insecure-upstream-tls",
        action="store_true",
        help="accept service.tls.verify: false (certificates not checked)",
    )
    group.add_argument(
        "--allow-cleartext-credentials",
        action="store_true",
        help="accept Basic or WS-Security PasswordText credentials over http://",
    )


def _refuse_unsafe(
    args: argparse.Namespace, security: SecurityConfig | None, loaded: tuple[MappingSet, Any]
) -> tuple[MappingSet, Any]:
    """``loaded`` unless it is unsafe with this security file (start-up and reload).

    Raises:
        MappingError: listing every unsafe setting.
    """
    issues = security_issues(
        loaded[0].routes,
        security,
        allow_insecure_tls=args.allow_insecure_upstream_tls,
        allow_cleartext_credentials=args.allow_cleartext_credentials,
    )
    if issues:
        raise MappingError(issues)
    return loaded


def _security(
    args: argparse.Namespace, mappings: MappingSet
) -> tuple[SecurityConfig | None, ssl.SSLContext | None]:
    """The security file and the server's TLS context, refusing unsafe combinations.

    Raises:
        MappingError: an invalid security file, unusable TLS files, or unsafe settings.
    """
    security = load_security_config(args.security, os.environ) if args.security else None
    where = str(args.security or "command line")
    if args.tls_client_ca is not None:
        security = security or SecurityConfig(file=where)
        if security.mtls is None:
            security = dataclasses.replace(security, mtls=MtlsConfig())
    elif security is not None and security.mtls is not None:
        raise MappingError(
            [MappingIssue(where, 1, 1, "mtls", "client certificates need --tls-client-ca")]
        )
    server_ssl = None
    if args.tls_cert is not None:
        try:
            server_ssl = server_ssl_context(
                args.tls_cert,
                args.tls_key,
                client_ca=args.tls_client_ca,
                require_client_cert=args.tls_client_cert == "required",
            )
        except (OSError, ssl.SSLError) as exc:
            raise MappingError(
                [MappingIssue(str(args.tls_cert), 1, 1, "--tls-cert", f"unusable: {exc}")]
            ) from None
    elif args.tls_client_ca is not None or args.tls_key is not None:
        raise MappingError(
            [MappingIssue(where, 1, 1, "--tls-cert", "--tls-key/--tls-client-ca need --tls-cert")]
        )
    _refuse_unsafe(args, security, (mappings, None))
    return security, server_ssl
