"""``mediator try``: dry-run one route, offline or against the real upstream."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from lxml import etree

from mediator.cli.common import add_cache_arguments, load, print_issues
from mediator.errors import ClientError, Fault, MappingError, MediatorError
from mediator.gateway.composer import StepFailedError, StepRunner, StepTrace
from mediator.gateway.router import path_pattern
from mediator.mapping.model import MappingSet, Route
from mediator.translate.compose import compose_response
from mediator.translate.context import build_context
from mediator.translate.envelope import read_envelope
from mediator.translate.fault_rules import fault_status
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
    add_cache_arguments(parser)
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
    if route.steps:
        return _try_steps(route, registry, params, query, body, headers, args)
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


# -- composed routes -------------------------------------------------------------------------


def _try_steps(
    route: Route,
    registry: WsdlRegistry,
    params: dict[str, str],
    query: dict[str, str],
    body: Any,
    headers: dict[str, str],
    args: argparse.Namespace,
) -> int:
    """A composed route: without --call, the envelope of every step that needs no other;
    with --call, every step run for real, with its envelopes, answers and timing."""
    if args.response:
        print("error: a route with steps calls several operations; use --call", file=sys.stderr)
        return 1
    try:
        context = build_context(route, path=params, query=query, body=body, headers=headers)
    except MediatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.call:
        return asyncio.run(_run_steps(route, registry, context, args.explain))
    client = _offline_client(registry)
    for step in route.steps:
        call = step.call
        print(
            f"== step {step.name}: {call.operation.name} of {call.upstream.service}, "
            f"SOAP {call.upstream.soap_version} POST {call.upstream.address}",
            file=sys.stderr,
        )
        if step.needs or step.for_each is not None:
            after = f" after {', '.join(step.needs)}" if step.needs else ""
            each = f", once per item of {step.for_each_source}" if step.for_each else ""
            print(f"   runs{after}{each}: rendered at run time (use --call)", file=sys.stderr)
            continue
        try:
            envelope = client.build(call, render_request(call, {**context, "steps": {}}))
        except MediatorError as exc:
            print(f"error: step {step.name!r}: {exc}", file=sys.stderr)
            return 1
        print(_pretty_xml(envelope))
    return 0


async def _run_steps(
    route: Route, registry: WsdlRegistry, context: dict[str, Any], explain: bool
) -> int:
    session = create_session()
    try:
        runner = StepRunner(route, context, SoapClient(registry, HttpTransport(session)))
        try:
            results = await runner.run()
        except StepFailedError as exc:
            _print_steps(runner.traces.values(), explain)
            print(f"error: {exc}", file=sys.stderr)
            return 1
    finally:
        await session.close()
    _print_steps(runner.traces.values(), explain)
    errors = [
        {"step": f.step.name, "error": f"{type(f.error).__name__}: {f.error}"}
        if f.error is not None
        else {"step": f.step.name, "detail": f"not run: it needs step {f.needs!r}, which failed"}
        for f in runner.failures
    ]
    try:
        data = compose_response(route, context, results, errors)
    except MediatorError as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"== JSON response ({route.response.status})", file=sys.stderr)
    sys.stdout.buffer.write(dumps(data, indent=True) + b"\n")
    return 0


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f}"


def _print_steps(traces: Any, explain: bool) -> None:
    """Each step: its status and timing (ms since the route started), then each call's
    envelope, answer and (with explain) what each XPath matched."""
    traces = list(traces)
    print("== steps (ms since the route started)", file=sys.stderr)
    for trace in traces:
        step = trace.step
        calls = f" x{len(trace.calls)}" if step.for_each is not None else ""
        print(
            f"  {step.name:<16} {step.call.operation.name + calls:<24} {trace.status:<10}"
            f" {_ms(trace.started):>8} -> {_ms(trace.finished):<8}"
            + (f" {trace.error}" if trace.error else ""),
            file=sys.stderr,
        )
    for trace in traces:
        _print_step_calls(trace, explain)


def _print_step_calls(trace: StepTrace, explain: bool) -> None:
    step = trace.step
    for call in trace.calls:
        wire = call.wire
        item = f" item {call.item}" if call.item is not None else ""
        print(
            f"== step {step.name}{item}: {step.call.operation.name} POST {wire.url}"
            f" ({_ms(call.started)} -> {_ms(call.finished)} ms, HTTP {wire.response_status})",
            file=sys.stderr,
        )
        if wire.request_body:
            print(_pretty_xml(wire.request_body), file=sys.stderr)
        if wire.response_body:
            print("-- response", file=sys.stderr)
            print(_pretty_xml(wire.response_body), file=sys.stderr)
        if call.error:
            print(f"-- error: {call.error}", file=sys.stderr)
        if explain and wire.response_body and call.error is None:
            explained: Trace = []
            envelope = read_envelope(
                wire.response_body, expected_version=step.call.upstream.soap_version
            )
            extract_response(step.call.response, envelope.body, explained)
            _print_explain(explained)
