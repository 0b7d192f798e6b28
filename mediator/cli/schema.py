"""``mediator schema``: print the JSON Schema of mapping files (for editors and CI)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mediator.mapping.jsonschema import mapping_schema

__all__ = ["HELP", "NAME", "add_arguments", "render", "run"]

NAME = "schema"
HELP = "print the JSON Schema of mapping files (the repository keeps it in schema/)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The output file."""
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")


def render() -> str:
    """The schema as the repository stores it: indented JSON with a final newline."""
    return json.dumps(mapping_schema(), indent=2, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    """Print (or write) the schema."""
    text = render()
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
