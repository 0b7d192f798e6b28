"""``mediator drift``: compare the live services' WSDLs with the local copies."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from mediator.cli.common import print_issues
from mediator.cli.verify import add_mapping_options, load_mappings_from
from mediator.contract.drift import compare_wsdl, find_impacts, format_report
from mediator.contract.fetch import fetch_wsdl
from mediator.errors import MappingError, UpstreamError
from mediator.mapping.model import MappingSet
from mediator.mapping.values import parse_duration, parse_size
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["HELP", "NAME", "add_arguments", "run"]

NAME = "drift"
HELP = "compare each live service's WSDL with the local copy; report what it affects"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Mapping options, WSDL URLs, the fetch deadline and size cap."""
    add_mapping_options(parser)
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="[WSDL=]URL",
        help="where to fetch the live WSDL (default: each service address + '?wsdl'); "
        "prefix with the local WSDL file name when the mappings use several",
    )
    parser.add_argument("--timeout", default="10s", help="deadline per document (default: 10s)")
    parser.add_argument("--max-size", default="10MiB", help="largest document (default: 10MiB)")


def _overrides(values: list[str]) -> dict[str | None, str]:
    """``URL`` → {None: URL}; ``orders.wsdl=URL`` → {"orders.wsdl": URL}."""
    result: dict[str | None, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if sep and "://" not in name and url.startswith(("http://", "https://")):
            result[name] = url
        else:
            result[None] = value
    return result


def _targets(mappings: MappingSet, overrides: dict[str | None, str]) -> dict[Path, str]:
    """Each local WSDL the mappings use, with the URL its live copy is fetched from."""
    targets: dict[Path, str] = {}
    for upstream in mappings.upstreams.values():
        if upstream.wsdl in targets:
            continue
        url = overrides.get(upstream.wsdl.name) or overrides.get(str(upstream.wsdl))
        if url is None and None in overrides:
            url = overrides[None]
        targets[upstream.wsdl] = url or f"{upstream.address}?wsdl"
    return targets


def run(args: argparse.Namespace) -> int:
    """Fetch, compare and report each WSDL.

    Exit status: 0 when nothing drifted, 1 when a WSDL differs, 2 when the mappings cannot
    be loaded or a live WSDL cannot be fetched or read.
    """
    try:
        mappings, registry = load_mappings_from(args)
        timeout = parse_duration(args.timeout)
        max_bytes = parse_size(args.max_size)
    except MappingError as exc:
        print_issues(exc)
        return 2
    except ValueError as exc:
        print(f"mediator drift: {exc}", file=sys.stderr)
        return 2
    overrides = _overrides(args.url)
    targets = _targets(mappings, overrides)
    if None in overrides and len(targets) > 1:
        names = ", ".join(sorted(path.name for path in targets))
        print(f"mediator drift: several WSDLs ({names}); use --url WSDL=URL", file=sys.stderr)
        return 2
    drifted = False
    for local_path, url in sorted(targets.items()):
        try:
            fetched = asyncio.run(fetch_wsdl(url, timeout=timeout, max_bytes=max_bytes))
            with tempfile.TemporaryDirectory(prefix="mediator-drift-") as temporary:
                live = WsdlRegistry().describe(fetched.write(Path(temporary)))
        except UpstreamError as exc:
            print(f"mediator drift: {exc}", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"mediator drift: the live WSDL at {url} cannot be read: {exc}", file=sys.stderr)
            return 2
        changes = compare_wsdl(registry.describe(local_path), live)
        impacts = [
            i for i in find_impacts(changes, mappings) if i.route.upstream.wsdl == local_path
        ]
        print(format_report(changes, impacts, local=str(local_path), live=url))
        drifted |= bool(changes)
    return 1 if drifted else 0
