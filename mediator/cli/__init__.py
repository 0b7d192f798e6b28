"""The ``mediator`` command. Each subcommand lives in its own module of this package.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
:data:`COMMANDS` lists them in the order ``--help`` shows.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from mediator import __version__
from mediator.cli import check, drift, openapi, replay, scaffold, schema, serve, trycmd, verify

__all__ = ["COMMANDS", "main"]

COMMANDS: tuple[ModuleType, ...] = (
    serve,
    check,
    scaffold,
    trycmd,
    openapi,
    schema,
    verify,
    replay,
    drift,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="mediator", description="JSON REST in front of SOAP services."
    )
    parser.add_argument("--version", action="version", version=f"mediator {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, description=command.HELP)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mediator`` command."""
    args = build_parser().parse_args(argv)
    sys.exit(args.run(args))
