"""The ``mediator`` command. Each subcommand lives in its own module of this package.

A command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``;
:data:`COMMANDS` lists them, by module name, in the order ``--help`` shows. A command's
module is imported only when that command is parsed (or its help is shown), so that, say,
``mediator check`` never imports the server, Redis or OpenTelemetry.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

from mediator import __version__

__all__ = ["COMMANDS", "Command", "build_parser", "main"]


class Command(NamedTuple):
    """A subcommand: its name, the module implementing it, and its one-line help (the
    module's ``HELP``, repeated here so that ``mediator --help`` imports no command)."""

    name: str
    module: str
    help: str


COMMANDS: tuple[Command, ...] = (
    Command("serve", "mediator.cli.serve", "run the gateway"),
    Command("check", "mediator.cli.check", "validate mapping files offline; exit 1 on any issue"),
    Command(
        "scaffold",
        "mediator.cli.scaffold",
        "write a mapping file with a route for every operation of a WSDL",
    ),
    Command(
        "try",
        "mediator.cli.trycmd",
        "dry-run a route: print the SOAP envelope it sends and the JSON it would return",
    ),
    Command(
        "openapi",
        "mediator.cli.openapi",
        "print the OpenAPI 3.1 document of the mappings (as served at /openapi.json)",
    ),
    Command(
        "schema",
        "mediator.cli.schema",
        "print the JSON Schema of mapping files (the repository keeps it in schema/)",
    ),
    Command(
        "verify",
        "mediator.cli.verify",
        "check recorded fixtures against the mappings offline; exit 1 on any difference",
    ),
    Command(
        "replay",
        "mediator.cli.replay",
        "serve recorded fixtures as a SOAP backend (SOAP 1.1 and 1.2)",
    ),
    Command(
        "drift",
        "mediator.cli.drift",
        "compare each live service's WSDL with the local copy; report what it affects",
    ),
)


class _CommandParser(argparse.ArgumentParser):
    """A subcommand's parser: imports the command's module and adds its arguments when it is
    first used (parsing, help or usage)."""

    def __init__(self, *args: Any, command_module: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._command_module = command_module

    def load(self) -> None:
        """Import the command's module (once) and add its arguments."""
        if self._command_module is None:
            return
        module = importlib.import_module(self._command_module)
        self._command_module = None
        module.add_arguments(self)
        self.set_defaults(run=module.run)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[Any, list[str]]:
        self.load()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.load()
        return super().format_usage()

    def format_help(self) -> str:
        self.load()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand (each one's arguments added on first use)."""
    parser = argparse.ArgumentParser(
        prog="mediator", description="JSON REST in front of SOAP services."
    )
    parser.add_argument("--version", action="version", version=f"mediator {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_CommandParser)
    for command in COMMANDS:
        subparsers.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            command_module=command.module,
        )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``mediator`` command."""
    args = build_parser().parse_args(argv)
    sys.exit(args.run(args))
