"""``mediator verify``: check recorded fixtures against the mappings, offline."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mediator.cli.common import add_cache_arguments, load, print_issues
from mediator.contract.junit import write_junit
from mediator.contract.rules import load_config
from mediator.contract.verify import Verifier, summarize
from mediator.errors import MappingError
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "verify"
HELP = "check recorded fixtures against the mappings offline; exit 1 on any difference"


def add_mapping_options(parser: argparse.ArgumentParser) -> None:
    """``--mappings PATH`` (repeatable), ``--wsdl-dir``, ``--zero-config`` and the WSDL cache
    options."""
    parser.add_argument(
        "--mappings",
        type=Path,
        action="append",
        metavar="PATH",
        help="mapping file or directory; repeatable (default: mappings/)",
    )
    parser.add_argument(
        "--wsdl-dir",
        type=Path,
        default=Path("wsdl"),
        help="where service.wsdl paths are looked up (default: wsdl/)",
    )
    parser.add_argument(
        "--zero-config",
        action="store_true",
        help="also load the generic routes of every WSDL in --wsdl-dir (as serve does)",
    )
    add_cache_arguments(parser)


def load_mappings_from(args: argparse.Namespace) -> tuple[MappingSet, WsdlRegistry]:
    """Load the mappings named by :func:`add_mapping_options` as ``mediator serve`` does.

    Raises:
        MappingError: listing every issue.
    """
    return load(
        argparse.Namespace(
            paths=args.mappings or [Path("mappings")],
            wsdl_dir=args.wsdl_dir,
            zero_config=args.zero_config,
            cache_dir=args.cache_dir,
            no_cache=args.no_cache,
        )
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The fixtures directory, mapping options, ``--junit``, ``--update`` and ``--quiet``."""
    parser.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=Path("fixtures"),
        help="the fixtures directory (default: fixtures/)",
    )
    add_mapping_options(parser)
    parser.add_argument("--junit", type=Path, metavar="FILE", help="also write a JUnit XML report")
    parser.add_argument(
        "--update",
        action="store_true",
        help="rewrite expectations (SOAP request, JSON response) from the mappings; show changes",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print only differences")


def run(args: argparse.Namespace) -> int:
    """Verify every fixture; print a report per difference and a summary.

    Exit status: 0 when every fixture matches (or was updated), 1 when any differs, 2 when
    the fixtures or the mappings cannot be loaded.
    """
    started = time.perf_counter()
    directory: Path = args.directory
    if not directory.is_dir():
        print(f"mediator verify: {directory} is not a directory", file=sys.stderr)
        return 2
    try:
        config = load_config(directory)
        mappings, registry = load_mappings_from(args)
    except MappingError as exc:
        print_issues(exc)
        return 2
    results = Verifier(mappings, registry, config, directory).verify_all(update=args.update)
    if not results:
        print(f"mediator verify: no fixtures under {directory}", file=sys.stderr)
        return 2
    for result in results:
        if result.differences:
            print(result.report())
        elif not args.quiet:
            print(f"ok {result.name}")
    if args.junit:
        write_junit(args.junit, results, seconds=time.perf_counter() - started)
    print(summarize(results))
    return 0 if all(result.passed for result in results) else 1
