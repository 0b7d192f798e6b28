"""The ``mediator`` command: serve the gateway, check mapping files."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mediator import __version__
from mediator.errors import MappingError
from mediator.log import configure_logging, get_logger

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediator", description="JSON REST in front of SOAP services."
    )
    parser.add_argument("--version", action="version", version=f"mediator {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def mapping_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "paths",
            nargs="*",
            type=Path,
            default=[Path("mappings")],
            help="mapping files or directories (default: mappings/)",
        )
        sub.add_argument(
            "--wsdl-dir",
            type=Path,
            default=Path("wsdl"),
            help="where service.wsdl paths are looked up (default: wsdl/)",
        )

    serve = commands.add_parser("serve", help="run the gateway")
    mapping_options(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to bind (default: 8080)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--log-format", default="auto", choices=["auto", "json", "console"])
    serve.add_argument(
        "--max-body", default="1MiB", help="largest accepted request body (default: 1MiB)"
    )
    serve.add_argument(
        "--body-timeout",
        default="10s",
        help="time allowed to receive a request body (default: 10s)",
    )

    check = commands.add_parser("check", help="validate mapping files offline; exit 1 on any issue")
    mapping_options(check)
    return parser


def _load(paths: list[Path], wsdl_dir: Path) -> tuple[object, object]:
    from mediator.mapping.loader import load_mappings
    from mediator.upstream.wsdl import WsdlRegistry

    registry = WsdlRegistry()
    mappings = load_mappings(paths, describe=registry.describe, wsdl_dir=wsdl_dir)
    return mappings, registry


def _check(args: argparse.Namespace) -> int:
    try:
        mappings, _ = _load(args.paths, args.wsdl_dir)
    except MappingError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        print(f"{len(exc.issues)} issue(s) found", file=sys.stderr)
        return 1
    routes = getattr(mappings, "routes", ())
    print(f"ok: {len(routes)} route(s) in {len(getattr(mappings, 'files', ()))} file(s)")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from mediator.gateway.app import create_app
    from mediator.gateway.settings import GatewaySettings
    from mediator.mapping.values import parse_duration, parse_size

    configure_logging(
        level=args.log_level, json=None if args.log_format == "auto" else args.log_format == "json"
    )
    log = get_logger("mediator.cli")
    try:
        mappings, registry = _load(args.paths, args.wsdl_dir)
    except MappingError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        log.error("gateway.start_failed", issues=len(exc.issues))
        return 1
    settings = GatewaySettings(
        mappings=tuple(args.paths),
        wsdl_dir=args.wsdl_dir,
        host=args.host,
        port=args.port,
        max_body_bytes=parse_size(args.max_body),
        body_timeout=parse_duration(args.body_timeout),
    )
    app = create_app(mappings, registry=registry, settings=settings)  # type: ignore[arg-type]
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


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mediator`` command."""
    args = _parser().parse_args(argv)
    handlers = {"serve": _serve, "check": _check}
    sys.exit(handlers[args.command](args))
