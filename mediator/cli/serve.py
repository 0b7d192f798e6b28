"""``mediator serve``: run the gateway."""

from __future__ import annotations

import argparse

from aiohttp import web

from mediator.cli.common import add_mapping_arguments, load, print_issues
from mediator.errors import MappingError
from mediator.gateway.app import create_app
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
        "--watch",
        action="store_true",
        help="reload when a mapping or WSDL file changes (SIGHUP always reloads)",
    )


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
    app = create_app(mappings, registry=registry, settings=settings, reloader=lambda: load(args))
    log.info("gateway.started", host=settings.host, port=settings.port)
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        access_log=None,
        print=None,
        keepalive_timeout=settings.keepalive_timeout,
        handler_cancellation=True,
    )
    return 0
