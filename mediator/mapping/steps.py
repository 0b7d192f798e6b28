"""Compiles composed routes: a ``steps`` block of named SOAP calls behind one REST route.

Steps are compiled in a pass after every mapping file has loaded (:func:`link_steps`), since
a step may call an operation of a service another file declares (``service:``, matching that
file's ``service.name``, by default its WSDL service name). Each step becomes a
:class:`~mediator.mapping.model.Step` whose ``call`` is a complete route of its own (upstream,
operation, request templates, extraction plan, fault rules, deadlines), so the gateway calls
it exactly as it calls a plain route.

Checked here, each issue at its ``file:line``: unknown services and operations, unknown step
references (``steps.<name>`` in templates, ``needs:``), cycles, a required step needing an
optional one, a step ``timeout`` beyond the route's deadline, fan-out settings, and the
composed ``response`` (``template`` and ``status`` only).

The composed response template and ``for_each`` expressions are compiled in
:data:`~mediator.mapping.joins.COMPOSE_ENV`, which has the join filters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes
from lxml import etree

from mediator.mapping.issues import IssueSink
from mediator.mapping.joins import COMPOSE_ENV
from mediator.mapping.model import (
    Absent,
    ErrorRule,
    ParamSpec,
    RequestSpec,
    ResponseSpec,
    Route,
    Step,
    Upstream,
)
from mediator.mapping.references import CONTEXT_NAMES, RouteVariables, template_reference_issues
from mediator.mapping.resilience import compile_route_policy
from mediator.mapping.response_plan import Naming, compile_response
from mediator.mapping.service_block import port_operation
from mediator.mapping.service_info import OperationInfo
from mediator.mapping.templating import XML_ENV, compile_expression
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "COMPOSED_RESPONSE_KEYS",
    "MAX_CONCURRENCY",
    "MAX_ITEMS",
    "STEP_KEYS",
    "FileScope",
    "PendingSteps",
    "composed_route",
    "link_steps",
    "step_references",
]

STEP_KEYS = {
    "service",
    "operation",
    "needs",
    "request",
    "response",
    "errors",
    "for_each",
    "as",
    "concurrency",
    "max_items",
    "optional",
    "timeout",
    "connect_timeout",
    "idempotent",
}
COMPOSED_RESPONSE_KEYS = ("template", "status")
MAX_CONCURRENCY = 64
MAX_ITEMS = 10_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {*CONTEXT_NAMES, "steps", "errors"}


# -- references ----------------------------------------------------------------------------


def step_references(source: str, env: Environment = COMPOSE_ENV) -> tuple[set[str], bool]:
    """The step names ``source`` reads (``steps.x``, ``steps["x"]``, ``steps.get("x")``),
    and whether it also reads ``steps`` some other way (so its needs cannot be inferred).
    A template that does not parse reads nothing (compilation reports it)."""
    try:
        tree = env.parse(source)
    except TemplateSyntaxError:
        return set(), False
    named: set[str] = set()
    covered: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        target: nodes.Node | None = None
        key: Any = None
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            if node.node.attr == "get" and node.args and isinstance(node.args[0], nodes.Const):
                target, key = node.node.node, node.args[0].value
                if _is_steps(target):
                    covered.add(id(node.node))
        elif isinstance(node, nodes.Getattr) and id(node) not in covered:
            target, key = node.node, node.attr
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            target, key = node.node, node.arg.value
        if _is_steps(target) and isinstance(key, str):
            assert target is not None
            named.add(key)
            covered.add(id(target))
    dynamic = any(_is_steps(name) and id(name) not in covered for name in tree.find_all(nodes.Name))
    return named, dynamic


def _is_steps(node: nodes.Node | None) -> bool:
    return isinstance(node, nodes.Name) and node.name == "steps" and node.ctx == "load"


def _strings(value: Any, path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


# -- what the loader hands over --------------------------------------------------------------


@dataclass(slots=True)
class PendingSteps:
    """A composed route as its file loaded it, waiting for every service to be known."""

    route: Route
    raw: Any
    response: Any
    path: KeyPath


@dataclass(slots=True, kw_only=True)
class FileScope:
    """What step compilation needs from one loaded mapping file."""

    file: str
    sink: IssueSink
    upstream: Upstream
    name: str
    """The name steps use for this file's service: ``service.name``, else the WSDL's."""
    declared_name: bool
    zero_config: bool
    namespaces: dict[str, str]
    environ: Mapping[str, str]
    naming: Naming
    absent: Absent
    compile_request: Callable[[Any, OperationInfo, KeyPath], RequestSpec | None]
    compile_errors: Callable[[Any, KeyPath], tuple[ErrorRule, ...]]
    check_references: Callable[
        [Any, tuple[ParamSpec, ...], tuple[str, ...], KeyPath, Collection[str]], None
    ]
    pending: list[PendingSteps] = field(default_factory=list)


_NO_ROOT = etree.XPath("self::node()")


def composed_route(**parts: Any) -> Route:
    """A composed route before its steps are compiled: ``parts`` are the route's own (name,
    method, path, file, line, upstream, params, headers, env, errors, namespaces, summary,
    policy); the operation and response are placeholders :func:`link_steps` replaces."""
    return Route(
        operation=OperationInfo(
            name="(steps)", soap_action="", style="document", input=None, output=None
        ),
        request=RequestSpec(),
        response=ResponseSpec(root_source="", root=_NO_ROOT, fields=()),
        **parts,
    )


def link_steps(routes: Sequence[Route], scopes: Sequence[FileScope]) -> list[Route]:
    """Compile the steps of every pending composed route, once every file has loaded.

    Issues go to each file's sink; a composed route with issues is left out of the result.
    """
    directory = _Directory(scopes)
    compiled: dict[int, Route | None] = {}
    for scope in scopes:
        for pending in scope.pending:
            compiled[id(pending.route)] = _Composer(scope, directory, pending).compile()
    result = []
    for route in routes:
        replacement = compiled.get(id(route), route)
        if replacement is not None:
            result.append(replacement)
    return result


class _Directory:
    """Services by the names steps use; reports names declared twice."""

    def __init__(self, scopes: Sequence[FileScope]) -> None:
        self._by_name: dict[str, list[FileScope]] = {}
        for scope in scopes:
            self._by_name.setdefault(scope.name, []).append(scope)
        for name, group in self._by_name.items():
            declared = [s for s in group if s.declared_name]
            for duplicate in declared[1:]:
                duplicate.sink.at_value(
                    ("service", "name"),
                    f"service name {name!r} is already used by {declared[0].file}; "
                    "each service.name must be unique",
                )

    def resolve(self, name: str) -> FileScope | str:
        """The file serving ``name`` (mapping files before zero-config), or why there is none."""
        group = self._by_name.get(name, [])
        files = [s for s in group if not s.zero_config] or group
        if len(files) == 1:
            return files[0]
        if not files:
            return f"no service {name!r}; services: {', '.join(sorted(self._by_name)) or 'none'}"
        return (
            f"service {name!r} is ambiguous, served by {', '.join(s.file for s in files)}; "
            "give each a distinct service.name"
        )


@dataclass(slots=True)
class _Draft:
    step: Step
    path: KeyPath


class _Composer:
    """Compiles the steps and response of one composed route."""

    def __init__(self, scope: FileScope, directory: _Directory, pending: PendingSteps) -> None:
        self.scope = scope
        self.sink = scope.sink
        self.directory = directory
        self.pending = pending
        self.route = pending.route
        self.path = (*pending.path, "steps")

    def compile(self) -> Route | None:
        before = len(self.sink.issues)
        raw = self.pending.raw
        if not isinstance(raw, dict) or not raw:
            self.sink.at_value(
                self.path, "expected a mapping of step name to step {operation, request, response}"
            )
            return None
        names = [name for name in raw if self._valid_name(name)]
        drafts = {}
        for name in names:
            draft = self._step(name, raw[name], (*self.path, name), names)
            if draft is not None:
                drafts[name] = draft
        response = self._response(self.pending.response, names, (*self.pending.path, "response"))
        ordered = self._order(drafts)
        if len(self.sink.issues) > before or response is None or ordered is None:
            return None
        operations = dict.fromkeys(step.call.operation.name for step in ordered)
        placeholder = OperationInfo(
            name="+".join(operations), soap_action="", style="document", input=None, output=None
        )
        return replace(self.route, steps=tuple(ordered), operation=placeholder, response=response)

    def _valid_name(self, name: str) -> bool:
        if _NAME.match(name) and name not in _RESERVED:
            return True
        self.sink.at_key(
            (*self.path, name),
            f"invalid step name {name!r}; expected a name such as customer or order_lines "
            f"(letters, digits, _), not one of: {', '.join(sorted(_RESERVED))}",
        )
        return False

    # -- one step --------------------------------------------------------------------------

    def _step(self, name: str, raw: Any, path: KeyPath, names: list[str]) -> _Draft | None:
        if not isinstance(raw, dict):
            self.sink.at_value(
                path, "expected a step mapping such as {operation: GetThing, request: …}"
            )
            return None
        for key in raw:
            if key not in STEP_KEYS:
                self.sink.at_key(
                    (*path, key), f"unknown key; expected one of: {', '.join(sorted(STEP_KEYS))}"
                )
        target = self._service(raw, path)
        if target is None:
            return None
        port = target.upstream.port
        where = f"service {target.name} (port {port.name})"
        operation = port_operation(raw, port, self.sink, path, where=where)
        if operation is None:
            return None
        route, scope = self.route, self.scope
        namespaces = {**target.namespaces, **scope.namespaces}
        item = self._item_name(raw, path)
        for_each, for_each_source = self._for_each(raw, path)
        extra = (*self._extra("steps"), item) if for_each is not None else self._extra("steps")
        request = scope.compile_request(raw.get("request"), operation, (*path, "request"))
        scope.check_references(
            raw.get("request"), route.params, route.headers, (*path, "request"), extra
        )
        response = compile_response(
            raw.get("response"),
            operation.output,
            namespaces,
            self.sink,
            (*path, "response"),
            naming=scope.naming,
            absent=scope.absent,
        )
        errors = scope.compile_errors(raw.get("errors"), (*path, "errors"))
        policy = compile_route_policy(raw, self.sink, path, scope.environ)
        if policy.timeout is not None and policy.timeout > route.call_timeout:
            self.sink.at_value(
                (*path, "timeout"),
                f"step timeout {policy.timeout:g}s is beyond the route's deadline "
                f"{route.call_timeout:g}s (the route's timeout, else its service's)",
            )
        optional = raw.get("optional", False)
        if not isinstance(optional, bool):
            self.sink.at_value((*path, "optional"), f"expected true or false, got {optional!r}")
        concurrency = self._bounded(raw, "concurrency", 4, MAX_CONCURRENCY, path)
        max_items = self._bounded(raw, "max_items", 100, MAX_ITEMS, path)
        if "for_each" not in raw:
            for key in ("as", "concurrency", "max_items"):
                if key in raw:
                    self.sink.at_key((*path, key), f"{key} applies only to a step with for_each")
        references = list(_strings(raw.get("request"), (*path, "request")))
        if for_each_source:
            references.append(((*path, "for_each"), f"{{{{ {for_each_source} }}}}"))
        needs = self._needs(name, raw, path, references, names)
        if request is None or response is None:
            return None
        line, _ = self.sink.positions.key(path)
        call = Route(
            name=f"{route.name} step {name}",
            method=route.method,
            path=route.path,
            file=route.file,
            line=line,
            upstream=target.upstream,
            operation=operation,
            params=route.params,
            headers=route.headers,
            env=route.env,
            request=request,
            response=response,
            errors=errors + route.errors,
            namespaces=namespaces,
            timeout=policy.timeout,
            connect_timeout=policy.connect_timeout
            if policy.connect_timeout is not None
            else route.connect_timeout,
            idempotent=policy.idempotent if "idempotent" in raw else route.idempotent,
        )
        step = Step(
            name=name,
            call=call,
            line=line,
            needs=needs,
            optional=optional is True,
            for_each=for_each,
            for_each_source=for_each_source,
            item=item,
            concurrency=concurrency,
            max_items=max_items,
        )
        return _Draft(step, path)

    def _service(self, raw: Mapping[str, Any], path: KeyPath) -> FileScope | None:
        if "service" not in raw:
            return self.scope
        name = raw["service"]
        if not isinstance(name, str):
            self.sink.at_value(
                (*path, "service"),
                "expected a service name (a file's service.name, else its WSDL service name)",
            )
            return None
        found = self.directory.resolve(name)
        if isinstance(found, str):
            self.sink.at_value((*path, "service"), found)
            return None
        return found

    def _item_name(self, raw: Mapping[str, Any], path: KeyPath) -> str:
        item = raw.get("as", "item")
        if not isinstance(item, str) or not _NAME.match(item) or item in _RESERVED:
            self.sink.at_value(
                (*path, "as"),
                "expected a variable name for the item, not one of: "
                + ", ".join(sorted(_RESERVED)),
            )
            return "item"
        return item

    def _for_each(self, raw: Mapping[str, Any], path: KeyPath) -> tuple[Any, str]:
        if "for_each" not in raw:
            return None, ""
        source = raw["for_each"]
        if not isinstance(source, str) or not source.strip():
            self.sink.at_value(
                (*path, "for_each"),
                "expected a Jinja expression giving a list, e.g. steps.orders.ids",
            )
            return None, ""
        try:
            compiled = compile_expression(source, COMPOSE_ENV)
        except TemplateSyntaxError as exc:
            self.sink.at_value((*path, "for_each"), f"expression does not compile: {exc.message}")
            return None, ""
        self._check_variables(
            f"{{{{ {source} }}}}", self._extra("steps"), (*path, "for_each"), COMPOSE_ENV
        )
        return compiled, source

    def _extra(self, *names: str) -> tuple[str, ...]:
        """``names``, and ``client`` (the caller's identity) when the route requires auth."""
        auth = self.route.auth
        return (*names, "client") if auth is not None and not auth.public else names

    def _check_variables(
        self, source: str, extra: Collection[str], path: KeyPath, env: Environment
    ) -> None:
        route = self.route
        variables = RouteVariables(
            path=[p.name for p in route.params if p.location == "path"],
            query=[p.name for p in route.params if p.location == "query"],
            headers=route.headers,
            env=list(route.env),
            extra=extra,
        )
        for message in template_reference_issues(source, env, variables):
            self.sink.at_value(path, message)

    def _bounded(
        self, raw: Mapping[str, Any], key: str, default: int, ceiling: int, path: KeyPath
    ) -> int:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
            self.sink.at_value((*path, key), f"expected a whole number 1-{ceiling}, got {value!r}")
            return default
        return value

    def _needs(
        self,
        name: str,
        raw: Mapping[str, Any],
        path: KeyPath,
        references: list[tuple[KeyPath, str]],
        names: list[str],
    ) -> tuple[str, ...]:
        """Declared needs plus every step the templates read, each checked."""
        needs: dict[str, None] = {}
        dynamic_at: KeyPath | None = None
        for key_path, source in references:
            env = XML_ENV if key_path[-1] in ("body", "soap_header") else COMPOSE_ENV
            named, dynamic = step_references(source, env)
            if dynamic and dynamic_at is None:
                dynamic_at = key_path
            for other in sorted(named):
                if self._known(other, name, names, key_path, f"template reads steps.{other}"):
                    needs[other] = None
        declared = raw.get("needs")
        if declared is not None:
            if not isinstance(declared, list) or not all(isinstance(n, str) for n in declared):
                self.sink.at_value((*path, "needs"), "expected a list of step names")
            else:
                for index, other in enumerate(declared):
                    if self._known(other, name, names, (*path, "needs", index), f"needs {other!r}"):
                        needs[other] = None
        elif dynamic_at is not None:
            self.sink.at_value(
                dynamic_at,
                "template reads steps without naming a step (steps.<name>), so what it needs "
                "cannot be inferred; declare needs: [..]",
            )
        return tuple(needs)

    def _known(self, other: str, name: str, names: list[str], path: KeyPath, what: str) -> bool:
        if other == name:
            self.sink.at_value(path, f"{what}: a step cannot need its own result")
            return False
        if other not in names:
            self.sink.at_value(
                path, f"{what}, which is not a step of this route; steps: {', '.join(names)}"
            )
            return False
        return True

    # -- order -----------------------------------------------------------------------------

    def _order(self, drafts: dict[str, _Draft]) -> list[Step] | None:
        """Steps with their dependencies first (declaration order otherwise); cycles and a
        required step needing an optional one are issues."""
        steps = {name: draft.step for name, draft in drafts.items()}
        ordered: list[Step] = []
        placed: set[str] = set()
        remaining = list(drafts)
        progress = True
        while remaining and progress:
            progress = False
            for name in list(remaining):
                if all(need in placed or need not in steps for need in steps[name].needs):
                    ordered.append(steps[name])
                    placed.add(name)
                    remaining.remove(name)
                    progress = True
        reported: set[str] = set()
        for start in remaining:
            cycle = self._cycle(start, steps, set(remaining), reported)
            if cycle:
                reported.update(cycle)
                self.sink.at_key(
                    drafts[cycle[0]].path, f"steps form a cycle: {' → '.join([*cycle, cycle[0]])}"
                )
        for step in steps.values():
            for need in step.needs:
                if not step.optional and need in steps and steps[need].optional:
                    self.sink.at_key(
                        drafts[step.name].path,
                        f"required step {step.name!r} needs optional step {need!r}; make "
                        f"{step.name!r} optional too (it is skipped when {need!r} fails) or "
                        f"{need!r} required",
                    )
        return None if remaining else ordered

    @staticmethod
    def _cycle(
        start: str, steps: dict[str, Step], remaining: set[str], reported: set[str]
    ) -> list[str] | None:
        path: list[str] = []
        seen: dict[str, int] = {}
        node = start
        while node not in seen:
            if node in reported:
                return None
            seen[node] = len(path)
            path.append(node)
            node = next(n for n in steps[node].needs if n in remaining)
        return path[seen[node] :]

    # -- response --------------------------------------------------------------------------

    def _response(self, raw: Any, names: list[str], path: KeyPath) -> ResponseSpec | None:
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            self.sink.at_value(path, "expected a mapping with template and/or status")
            return None
        for key in raw:
            if key not in COMPOSED_RESPONSE_KEYS:
                self.sink.at_key(
                    (*path, key),
                    "a route with steps builds its answer from the steps' results; expected "
                    f"one of: {', '.join(COMPOSED_RESPONSE_KEYS)} (extract fields in each step)",
                )
        status = raw.get("status", 200)
        if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 299:
            self.sink.at_value((*path, "status"), f"expected a 2xx status code, got {status!r}")
            status = 200
        source = raw.get("template")
        if source is None:
            source = "{" + ", ".join(f'"{name}": steps.{name}' for name in names) + "}"
        elif not isinstance(source, str):
            self.sink.at_value((*path, "template"), "expected a Jinja expression over steps")
            return None
        else:
            wrapped = f"{{{{ {source} }}}}"
            self._check_variables(
                wrapped, self._extra("steps", "errors"), (*path, "template"), COMPOSE_ENV
            )
            for other in sorted(step_references(wrapped)[0]):
                if other not in names:
                    self.sink.at_value(
                        (*path, "template"),
                        f"template reads steps.{other}, which is not a step of this route; "
                        f"steps: {', '.join(names)}",
                    )
        try:
            template = compile_expression(source, COMPOSE_ENV)
        except TemplateSyntaxError as exc:
            self.sink.at_value((*path, "template"), f"template does not compile: {exc.message}")
            return None
        return ResponseSpec(
            root_source="",
            root=_NO_ROOT,
            fields=(),
            template=template,
            namespaces=self.scope.namespaces,
            status=status,
        )
