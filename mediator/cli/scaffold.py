"""``mediator scaffold``: write a commented mapping file for every operation of a WSDL."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from mediator.mapping.scaffold import ScaffoldError, ScaffoldOptions, scaffold_mappings
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["HELP", "NAME", "add_arguments", "run", "wsdl_reference"]

NAME = "scaffold"
HELP = "write a mapping file with a route for every operation of a WSDL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The WSDL, where to write, and what to scaffold."""
    parser.add_argument("wsdl", type=Path, help="the WSDL file (imports are read locally)")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        help="the mapping file to write, or a directory (one file per SOAP port); default: stdout",
    )
    parser.add_argument(
        "--naming",
        choices=["camel", "keep"],
        default="camel",
        help="JSON names: camelCase with plural lists (default), or the XSD names as they are",
    )
    parser.add_argument("--service", help="only this WSDL service")
    parser.add_argument("--port", help="only this SOAP port")
    parser.add_argument(
        "--address", help="the endpoint URL to write (default: the WSDL's, overridable by env)"
    )
    parser.add_argument(
        "--wsdl-dir",
        type=Path,
        default=Path("wsdl"),
        help="the directory `serve` and `check` look WSDLs up in; service.wsdl is written "
        "relative to it when the WSDL is inside (default: wsdl/)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def wsdl_reference(wsdl: Path, wsdl_dir: Path, output_dir: Path | None) -> str:
    """What to write under ``service.wsdl`` so the loader finds ``wsdl``: relative to the
    WSDL directory when inside it, else relative to the mapping file's directory (or to
    the working directory when printing)."""
    wsdl = wsdl.resolve()
    try:
        return wsdl.relative_to(wsdl_dir.resolve()).as_posix()
    except ValueError:
        base = (output_dir or Path.cwd()).resolve()
        return Path(os.path.relpath(wsdl, base)).as_posix()


def _is_directory(output: Path) -> bool:
    return output.is_dir() or str(output).endswith(("/", os.sep)) or not output.suffix


def run(args: argparse.Namespace) -> int:
    """Scaffold, then print or write; exit 1 (saying why) on any problem."""
    output: Path | None = args.output
    to_directory = output is not None and _is_directory(output)
    output_dir = output if to_directory else (output.parent if output is not None else None)
    try:
        info = WsdlRegistry().describe(args.wsdl)
    except (OSError, ValueError) as exc:
        print(f"{args.wsdl}: cannot load the WSDL: {exc}", file=sys.stderr)
        return 1
    options = ScaffoldOptions(
        wsdl=wsdl_reference(args.wsdl, args.wsdl_dir, output_dir),
        naming=args.naming,
        service=args.service,
        port=args.port,
        address=args.address,
    )
    try:
        files = scaffold_mappings(info, options)
    except ScaffoldError as exc:
        print(f"{args.wsdl}: {exc}", file=sys.stderr)
        return 1
    if len(files) > 1 and not to_directory:
        ports = ", ".join(f"{f.service}/{f.port}" for f in files)
        print(
            f"{args.wsdl}: {len(files)} SOAP ports ({ports}): write one file per port with "
            "-o DIRECTORY, or choose one with --service/--port",
            file=sys.stderr,
        )
        return 1
    if output is None:
        sys.stdout.write(files[0].text)
        return 0
    targets = [(output / f.name if to_directory else output, f) for f in files]
    existing = [str(path) for path, _ in targets if path.exists()]
    if existing and not args.force:
        print(f"not overwriting {', '.join(existing)} (use --force)", file=sys.stderr)
        return 1
    for path, file in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file.text, encoding="utf-8")
        print(f"wrote {path} ({len(file.routes)} route(s))", file=sys.stderr)
    return 0
