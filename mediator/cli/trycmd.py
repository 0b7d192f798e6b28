"""``mediator try``: dry-run one route, offline or against the real upstream."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from lxml import etree

from mediator.cli.common import load, print_issues
from mediator.errors import ClientError, Fault, MappingError, MediatorError
from mediator.gateway.faults import fault_status
from mediator.gateway.router import path_pattern
from mediator.mapping.model import MappingSet, Route
from mediator.translate.context import build_context
from mediator.translate.envelope import read_envelope
from mediator.translate.jsonio import dumps, loads_strict
from mediator.translate.request import render_request
from mediator.translate.response import Trace, extract_response
from mediator.upstream.client import SoapClient, WireLog, soap_headers
from mediator.upstream.transport import HttpTransport, create_session
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["HELP", "NAME", "add_arguments", "find_route", "run"]

NAME = "try"
HELP = "dry-run a route: print the SOAP envelope it sends and the JSON it would return"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The request (method, path, body, headers) and what to do with it."""
    parser.add_argument("method", help="HTTP method, e.g. GET")
    parser.add_argument("url", help="path with query, e.g. '/orders/1001' or '/orders?status=open'")
    parser.add_argument(
        "-m",
        "--mappings",
        dest="paths",
        type=Path,
        action="append",
        help="a mapping file or directory (repeatable; default: mappings/)",
    )
    parser.add_argument(
        "--wsdl-dir", type=Path, default=Path("wsdl"), help="where WSDLs are (default: wsdl/)"
    )
    parser.add_argument("--body", help="the JSON request body (or @FILE to read it from a file)")
    parser.add_argument(
        "-H", "--header", action="append", default=[], help="a request header 'Name: value'"
    )
    answer = parser.add_mutually_exclusive_group()
    answer.add_argument("--response", type=Path, help="a SOAP response XML file to translate")
    answer.add_argument("--call", action="store_true", help="call the real upstream")
    parser.add_argument("--explain", action="store_true", help="show what each XPath matched")


def find_route(mappings: MappingSet, method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route serving ``method`` and ``path``, with its path parameters.

    Raises:
        LookupError: naming the routes that exist, when none matches.
    """
    for route in mappings.routes:
        match = path_pattern(route.path).match(path)
        if match and route.method == method.upper():
            return route, match.groupdict()
    known = ", ".join(f"{r.method} {r.path}" for r in mappings.routes)
    raise LookupError(f"no route for {method.upper()} {path}; routes: {known}")


def _pretty_xml(data: bytes) -> str:
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    return etree.tostring(etree.fromstring(data, parser), pretty_print=True, encoding="unicode")


def _parse_target(url: str) -> tuple[str, dict[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(url)
    return parts.path, dict(parse_qsl(parts.query, keep_blank_values=True))


def _print_explain(trace: Trace) -> None:
    print("== extraction", file=sys.stderr)
    for step in trace:
        kind = f" as {step['kind']}" if "kind" in step else ""
        print(
            f"  {step['field']:<24} {step['xpath']:<40} matched {step['matched']}{kind}",
            file=sys.stderr,
        )


def _translate_response(route: Route, data: bytes, status: int | None, explain: bool) -> int:
    trace: Trace | None = [] if explain else None
    try:
        envelope = read_envelope(
            data, expected_version=route.upstream.soap_version, http_status=status
        )
        result: Any = extract_response(route.response, envelope.body, trace)
        code = route.response.status
    except Fault as fault:
        code, title = fault_status(route, fault)
        result = {
            "status": code,
            "title": title or "Upstream Fault",
            "fault": fault.code,
            "reason": fault.string,
            "detail": fault.detail,
        }
    except MediatorError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if trace is not None:
        _print_explain(trace)
    print(f"== JSON response ({code})", file=sys.stderr)
    sys.stdout.buffer.write(dumps(result, indent=True) + b"\n")
    return 0


async def _call(route: Route, client: SoapClient, envelope: bytes) -> WireLog:
    wire = WireLog()
    try:
        await client.call(route, envelope, wire=wire)
    except MediatorError:
        if wire.response_body is None:
            raise
    return wire


def run(args: argparse.Namespace) -> int:
    """Render the route's request; translate a given or real response when asked."""
    args.paths = args.paths or [Path("mappings")]
    try:
        mappings, registry = load(args)
    except MappingError as exc:
        print_issues(exc)
        return 1
    path, query = _parse_target(args.url)
    try:
        route, params = find_route(mappings, args.method, path)
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    body = None
    if args.body:
        text = Path(args.body[1:]).read_bytes() if args.body.startswith("@") else args.body.encode()
        body = loads_strict(text)
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in args.header)}
    try:
        context = build_context(route, path=params, query=query, body=body, headers=headers)
        rendered = render_request(route, context)
        client = _offline_client(registry)
        envelope = client.build(route, rendered)
    except (ClientError, MediatorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    action = route.operation.soap_action
    print(
        f"== SOAP {route.upstream.soap_version} request: POST {route.upstream.address}",
        file=sys.stderr,
    )
    for name, value in soap_headers(route.upstream, action, None).items():
        print(f"{name}: {value}", file=sys.stderr)
    # The envelope is the result of a plain dry run; with an answer, the JSON is the result.
    print(_pretty_xml(envelope), file=sys.stderr if args.response or args.call else sys.stdout)
    if args.response:
        return _translate_response(route, args.response.read_bytes(), None, args.explain)
    if args.call:
        return asyncio.run(_call_and_translate(route, registry, envelope, args.explain))
    return 0


def _offline_client(registry: WsdlRegistry) -> SoapClient:
    class _NoTransport:
        async def send(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("offline")

    return SoapClient(registry, _NoTransport())


async def _call_and_translate(
    route: Route, registry: WsdlRegistry, envelope: bytes, explain: bool
) -> int:
    session = create_session()
    try:
        client = SoapClient(registry, HttpTransport(session))
        try:
            wire = await _call(route, client, envelope)
        except MediatorError as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    finally:
        await session.close()
    print(f"== SOAP response: HTTP {wire.response_status}", file=sys.stderr)
    print(_pretty_xml(wire.response_body or b"<empty/>"), file=sys.stderr)
    return _translate_response(route, wire.response_body or b"", wire.response_status, explain)
