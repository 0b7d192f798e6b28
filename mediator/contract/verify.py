"""Offline verification of fixtures against the current mappings (``mediator verify``).

For each fixture, without any network:

1. the recorded HTTP request (method, path) must still reach a route;
2. the route renders, from the recorded JSON request, a SOAP request whose canonical text
   (:mod:`mediator.contract.canonical`, masks applied) equals the recorded one's;
3. the recorded SOAP response, run through the route, gives exactly the recorded JSON
   outcome (:mod:`mediator.contract.outcome`): status and body, decimal digits included.

Each difference comes with a unified diff naming the fixture file and the route. With
``update=True`` the expectations (the SOAP request and the JSON response) are rewritten from
what the mapping now produces, after redaction, and the diffs show what changed; the recorded
SOAP response, which is the upstream's truth, is never rewritten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from mediator.contract.canonical import body_element_name, canonical_xml, text_diff
from mediator.contract.fixture import (
    Fixture,
    FixtureError,
    discover_fixtures,
    load_fixture,
    parse_soap,
    pretty_xml,
    write_fixture,
)
from mediator.contract.outcome import (
    Outcome,
    RecordedTransport,
    mapped_outcome,
    recorded_outcome,
)
from mediator.contract.record import soap_action_of
from mediator.contract.rules import REDACTED, ContractConfig, RuleSet, apply_xml_rules
from mediator.errors import ClientError, RenderError
from mediator.mapping.model import MappingSet, Route
from mediator.translate.context import build_context
from mediator.translate.request import render_request
from mediator.upstream.client import SoapClient, soap_headers
from mediator.upstream.wsdl import WsdlRegistry

__all__ = ["Difference", "FixtureResult", "Verifier", "summarize"]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class Difference:
    """One way a fixture and the mapping disagree: what, a sentence, and a diff if any."""

    what: str
    message: str
    diff: str = ""


@dataclass(slots=True)
class FixtureResult:
    """The verdict on one fixture."""

    path: Path
    name: str
    differences: list[Difference] = field(default_factory=list)
    route: Route | None = None
    updated: bool = False

    @property
    def passed(self) -> bool:
        """True when the fixture matches (or was just updated to match)."""
        return not self.differences or self.updated

    @property
    def where(self) -> str:
        """The route and its position, e.g. ``route get-order: GET /orders/{id}
        (mappings/orders.yaml:17), operation GetOrder``."""
        route = self.route
        if route is None:
            return "no route"
        return (
            f"route {route.name}: {route.method} {route.path} ({route.file}:{route.line}),"
            f" operation {route.operation.name}"
        )

    def report(self) -> str:
        """A readable report: verdict, fixture, route, then each difference with its diff."""
        verdict = "UPDATED" if self.updated else ("ok" if self.passed else "FAIL")
        lines = [f"{verdict} {self.name}", f"  {self.where}"]
        for difference in self.differences:
            lines.append(f"  {difference.message}")
            lines.extend(f"    {line}" for line in difference.diff.splitlines())
        return "\n".join(lines)


def path_pattern(template: str) -> re.Pattern[str]:
    """A regex matching a route's path template; ``{name}`` matches one non-empty segment."""
    parts = _PARAM.split(template)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def match_route(
    routes: Iterable[Route], method: str, path: str
) -> tuple[Route, dict[str, str]] | None:
    """The route serving ``method path`` and its path parameters, as the gateway resolves it
    (routes without parameters first)."""
    candidates = [r for r in routes if r.method == method]
    for route in sorted(candidates, key=lambda r: bool(_PARAM.search(r.path))):
        match = path_pattern(route.path).match(path)
        if match:
            return route, match.groupdict()
    return None


class Verifier:
    """Verifies fixtures against one loaded mapping set.

    Args:
        mappings: the compiled routes.
        registry: the WSDL registry the mappings were loaded with.
        config: the fixtures directory's rules (masks, redaction).
        root: the fixtures directory (fixtures are named relative to it).
    """

    def __init__(
        self, mappings: MappingSet, registry: WsdlRegistry, config: ContractConfig, root: Path
    ) -> None:
        self.mappings = mappings
        self.registry = registry
        self.config = config
        self.root = root
        self._builder = SoapClient(registry, RecordedTransport(500, {}, b""))

    def verify_all(self, *, update: bool = False) -> list[FixtureResult]:
        """Verify (or update) every fixture under the root, in name order."""
        return [self.verify_path(path, update=update) for path in discover_fixtures(self.root)]

    def verify_path(self, directory: Path, *, update: bool = False) -> FixtureResult:
        """Verify the fixture stored in ``directory``; an unreadable fixture fails."""
        try:
            fixture = load_fixture(directory, self.root)
        except FixtureError as exc:
            name = _name(directory, self.root)
            return FixtureResult(directory, name, [Difference("fixture", str(exc))])
        return self.verify(fixture, update=update)

    def verify(self, fixture: Fixture, *, update: bool = False) -> FixtureResult:
        """Compare one fixture with what the mappings produce now (see the module doc)."""
        result = FixtureResult(fixture.path, fixture.name)
        found = match_route(self.mappings.routes, fixture.method, fixture.http_path)
        if found is None:
            recorded = (
                f"route {fixture.route} of {fixture.mapping_file}" if fixture.route else "no route"
            )
            result.differences.append(
                Difference(
                    "route",
                    f"no route matches {fixture.method} {fixture.http_path} any more"
                    f" (recorded through {recorded})",
                )
            )
            return result
        route, params = found
        result.route = route
        if route.steps:
            result.differences.append(
                Difference(
                    "route",
                    f"route {route.name} now composes several operations; a fixture records"
                    " one SOAP exchange and can only verify a single-operation route",
                )
            )
            return result
        try:
            masks = self.config.masks_for(route.name, fixture.masks(self.config))
        except FixtureError as exc:
            result.differences.append(Difference("fixture", str(exc)))
            return result
        envelope = self._render(fixture, route, params, result)
        if envelope is None:
            return result
        request_changed = self._compare_request(fixture, route, envelope, masks, result)
        mapped = mapped_outcome(route, self.registry, envelope, fixture)
        response_changed = self._compare_response(fixture, route, mapped, masks, result)
        if update and (request_changed or response_changed):
            self._update(
                fixture,
                route,
                envelope,
                mapped,
                request_changed=request_changed,
                response_changed=response_changed,
            )
            result.updated = True
        return result

    def _render(
        self, fixture: Fixture, route: Route, params: dict[str, str], result: FixtureResult
    ) -> bytes | None:
        try:
            context = build_context(
                route,
                path=params,
                query=fixture.query,
                body=fixture.json_request,
                headers=fixture.headers,
            )
            return self._builder.build(route, render_request(route, context))
        except ClientError as exc:
            message = f"the recorded JSON request is now rejected (HTTP {exc.status}): {exc.detail}"
        except RenderError as exc:
            message = f"the mapping cannot render the SOAP request: {exc}"
        result.differences.append(Difference("request", message))
        return None

    def _prefixes(self, route: Route) -> dict[str, str]:
        prefixes = dict(route.namespaces)
        for prefix, uri in self.config.namespaces.items():
            prefixes.setdefault(prefix, uri)
        return prefixes

    def _compare_request(
        self, fixture: Fixture, route: Route, envelope: bytes, masks: RuleSet, result: FixtureResult
    ) -> bool:
        recorded = parse_soap(fixture.soap_request)
        rendered = parse_soap(envelope)
        if recorded is None or rendered is None:
            result.differences.append(
                Difference("fixture", f"{fixture.path / 'soap-request.xml'} is not well-formed XML")
            )
            return False
        changed = False
        if route.operation.name != fixture.operation:
            result.differences.append(
                Difference(
                    "operation",
                    f"the route calls {route.operation.name}; the recording called"
                    f" {fixture.operation}",
                )
            )
            changed = True
        prefixes = self._prefixes(route)
        expected = canonical_xml(recorded, masks=masks.xml, prefixes=prefixes)
        actual = canonical_xml(rendered, masks=masks.xml, prefixes=prefixes)
        if expected != actual:
            diff = text_diff(
                expected,
                actual,
                expected_name=f"{_display(fixture.path / 'soap-request.xml')} (recorded)",
                actual_name=f"{route.file}:{route.line} route {route.name} (rendered now)",
            )
            result.differences.append(
                Difference("soap-request", "SOAP request differs from the recording:", diff)
            )
            changed = True
        return changed

    def _compare_response(
        self, fixture: Fixture, route: Route, mapped: Outcome, masks: RuleSet, result: FixtureResult
    ) -> bool:
        expected = recorded_outcome(fixture).text(masks.json)
        actual = mapped.text(masks.json)
        if expected == actual:
            return False
        diff = text_diff(
            expected,
            actual,
            expected_name=f"{_display(fixture.path / 'response.json')} (recorded)",
            actual_name=f"{route.file}:{route.line} route {route.name} (extracted now)",
        )
        result.differences.append(
            Difference("json-response", "JSON response differs from the recording:", diff)
        )
        return True

    def _update(
        self,
        fixture: Fixture,
        route: Route,
        envelope: bytes,
        mapped: Outcome,
        *,
        request_changed: bool,
        response_changed: bool,
    ) -> None:
        """Rewrite what changed: the SOAP request (redacted) and/or the JSON outcome."""
        changes: dict[str, Any] = {"route": route.name, "operation": route.operation.name}
        if request_changed:
            root = parse_soap(envelope)
            if root is not None:
                apply_xml_rules(root, self.config.redact.xml, REDACTED)
                envelope = (
                    pretty_xml(root)
                    if self.config.pretty
                    else etree.tostring(root, xml_declaration=True, encoding="utf-8")
                )
            headers = soap_headers(route.upstream, route.operation.soap_action, None)
            changes.update(
                soap_version=route.upstream.soap_version,
                soap_action=soap_action_of(headers),
                body_element=body_element_name(root),
                soap_request_headers={
                    k.lower(): v for k, v in headers.items() if k.lower() in _KEPT_HEADERS
                },
                soap_request=envelope,
            )
        if response_changed:
            changes.update(
                response_status=mapped.status,
                response_content_type=(
                    "application/problem+json" if mapped.problem else "application/json"
                ),
                json_response=_merge_problem(fixture, mapped) if mapped.problem else mapped.body,
            )
        write_fixture(fixture.replace(**changes))


def _merge_problem(fixture: Fixture, mapped: Outcome) -> Any:
    """The recorded problem body with its compared members replaced by the mapped ones
    (member order and the other members kept)."""
    recorded = fixture.json_response
    if fixture.response_content_type != "application/problem+json" or not isinstance(
        recorded, dict
    ):
        return mapped.body
    merged: dict[str, Any] = {}
    for key, value in recorded.items():
        if key not in _REDUCED:
            merged[key] = value
        elif key in mapped.body:
            merged[key] = mapped.body[key]
    for key, value in mapped.body.items():
        merged.setdefault(key, value)
    return merged


_KEPT_HEADERS = ("content-type", "soapaction")
_REDUCED = ("type", "status", "title", "fault")


def _name(directory: Path, root: Path) -> str:
    try:
        return directory.relative_to(root).as_posix() or directory.name
    except ValueError:
        return directory.name


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def summarize(results: Iterable[FixtureResult]) -> str:
    """``N fixture(s): P passed, F failed, U updated``."""
    items = list(results)
    failed = sum(1 for r in items if not r.passed)
    updated = sum(1 for r in items if r.updated)
    passed = len(items) - failed - updated
    text = f"{len(items)} fixture(s): {passed} passed, {failed} failed"
    return text + (f", {updated} updated" if updated else "")
