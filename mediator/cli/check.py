"""``mediator check``: validate mapping files offline."""

from __future__ import annotations

import argparse

from mediator.cli.common import add_mapping_arguments, load, print_issues
from mediator.errors import MappingError

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "check"
HELP = "validate mapping files offline; exit 1 on any issue"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Mapping paths and the WSDL directory."""
    add_mapping_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Print every issue, or a summary when there is none."""
    try:
        mappings, _ = load(args)
    except MappingError as exc:
        print_issues(exc)
        return 1
    print(f"ok: {len(mappings.routes)} route(s) in {len(mappings.files)} file(s)")
    return 0
