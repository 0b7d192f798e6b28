"""Options and helpers shared by several commands."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from mediator.errors import MappingError, MappingIssue
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import MappingSet
from mediator.translate.sample import sample_request_issues
from mediator.upstream.wsdl import WsdlRegistry
from mediator.upstream.wsdl_cache import WsdlCache, default_cache_dir

__all__ = [
    "add_cache_arguments",
    "add_mapping_arguments",
    "load",
    "print_issues",
    "wsdl_cache",
]


def add_mapping_arguments(parser: argparse.ArgumentParser) -> None:
    """``PATHS…`` and ``--wsdl-dir``: which mapping files to load and where WSDLs are."""
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("mappings")],
        help="mapping files or directories (default: mappings/)",
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
        help="also serve every WSDL in --wsdl-dir generically: "
        "POST /soap/{service}/{operation}, JSON in and out",
    )
    add_cache_arguments(parser)


def add_cache_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cache-dir DIR`` and ``--no-cache``: where parsed WSDL descriptions are kept."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="cache of parsed WSDL descriptions (default: $MEDIATOR_CACHE_DIR, else "
        "$XDG_CACHE_HOME/mediator or ~/.cache/mediator)",
    )
    group.add_argument(
        "--no-cache",
        action="store_true",
        help="parse every WSDL; neither read nor write the cache",
    )


def wsdl_cache(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> WsdlCache | None:
    """The WSDL cache the arguments ask for (``None`` with ``--no-cache``)."""
    if getattr(args, "no_cache", False):
        return None
    directory = getattr(args, "cache_dir", None) or default_cache_dir(environ)
    return WsdlCache(directory)


def load(args: argparse.Namespace) -> tuple[MappingSet, WsdlRegistry]:
    """Load the mapping files named by the arguments.

    Raises:
        MappingError: listing every issue.
    """
    cache = wsdl_cache(args)
    registry = WsdlRegistry(cache)
    zero_config = getattr(args, "zero_config", False)
    wsdls = sorted(args.wsdl_dir.glob("*.wsdl")) if zero_config and args.wsdl_dir.is_dir() else []
    paths = [p for p in args.paths if p.exists()] if zero_config else args.paths
    mappings = load_mappings(
        paths, describe=registry.describe, wsdl_dir=args.wsdl_dir, zero_config=wsdls
    )
    if cache is not None and cache.problem:
        print(f"mediator: {cache.problem}", file=sys.stderr)
    issues = [
        MappingIssue(route.file, route.line, 1, f"{route.method} {route.path}: request", message)
        for route in mappings.routes
        if not route.steps
        for message in sample_request_issues(route)
    ]
    issues += [
        MappingIssue(
            route.file, step.line, 1, f"{route.method} {route.path}: steps.{step.name}", message
        )
        for route in mappings.routes
        for step in route.steps
        for message in sample_request_issues(step.call)
    ]
    if issues:
        raise MappingError(issues)
    return mappings, registry


def print_issues(error: MappingError) -> None:
    """One line per issue on stderr, then a count."""
    for issue in error.issues:
        print(issue, file=sys.stderr)
    print(f"{len(error.issues)} issue(s) found", file=sys.stderr)
