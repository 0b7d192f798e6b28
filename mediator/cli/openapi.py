"""``mediator openapi``: print the OpenAPI 3.1 document of the mappings."""

from __future__ import annotations

import argparse
import sys

from mediator.cli.common import add_mapping_arguments, load, print_issues
from mediator.errors import MappingError
from mediator.gateway.openapi import build_openapi
from mediator.translate.jsonio import dumps

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "openapi"
HELP = "print the OpenAPI 3.1 document of the mappings (as served at /openapi.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Mapping paths, WSDL directory and the output file."""
    add_mapping_arguments(parser)
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")


def run(args: argparse.Namespace) -> int:
    """Print (or write) the document; exit 1 when the mappings are invalid."""
    try:
        mappings, _ = load(args)
    except MappingError as exc:
        print_issues(exc)
        return 1
    document = dumps(build_openapi(mappings), indent=True) + b"\n"
    if args.output:
        with open(args.output, "wb") as handle:
            handle.write(document)
    else:
        sys.stdout.buffer.write(document)
    return 0
