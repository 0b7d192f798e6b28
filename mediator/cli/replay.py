"""``mediator replay``: serve recorded fixtures as a SOAP backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aiohttp import web

from mediator.cli.common import print_issues
from mediator.contract.fixture import FixtureError
from mediator.contract.replay import ReplayBackend
from mediator.errors import MappingError
from mediator.log import configure_logging, get_logger

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "replay"
HELP = "serve recorded fixtures as a SOAP backend (SOAP 1.1 and 1.2)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fixtures directory, bind address, an optional WSDL to serve, logging."""
    parser.add_argument("directory", type=Path, help="the fixtures directory")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to bind (default: 8081)")
    parser.add_argument("--wsdl", type=Path, metavar="FILE", help="a WSDL served at GET ...?wsdl")
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.add_argument("--log-format", default="auto", choices=["auto", "json", "console"])


def run(args: argparse.Namespace) -> int:
    """Load every fixture under the directory and serve until interrupted.

    Exit status 2 when the directory, a fixture, ``contract.yaml`` or the WSDL cannot be read.
    """
    json_logs = None if args.log_format == "auto" else args.log_format == "json"
    configure_logging(level=args.log_level, json=json_logs)
    log = get_logger("mediator.cli")
    directory: Path = args.directory
    if not directory.is_dir():
        print(f"mediator replay: {directory} is not a directory", file=sys.stderr)
        return 2
    try:
        wsdl = args.wsdl.read_bytes() if args.wsdl else None
        backend = ReplayBackend.from_directory(directory, wsdl=wsdl)
    except MappingError as exc:
        print_issues(exc)
        return 2
    except (FixtureError, OSError) as exc:
        print(f"mediator replay: {exc}", file=sys.stderr)
        return 2
    log.info(
        "contract.replay_started",
        fixtures=len(backend.fixtures),
        url=f"http://{args.host}:{args.port}/",
    )
    web.run_app(backend.app(), host=args.host, port=args.port, access_log=None, print=None)
    return 0
