"""The entries of a mapping file's ``routes:`` list → :class:`~mediator.mapping.model.Route`.

Each entry names one HTTP method and path, and either one WSDL operation (with params,
headers, request, response and errors rules) or ``steps`` (a composed route, whose steps
:func:`~mediator.mapping.steps.link_steps` compiles once every file has loaded). Mode, job,
policy and security keys compile here too. Issues go to the file's sink.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from jinja2 import TemplateSyntaxError

from mediator.mapping.issues import IssueSink
from mediator.mapping.keys import ERROR_KEYS, HTTP_METHODS, PARAM_KEYS, ROUTE_KEYS, unknown_keys
from mediator.mapping.model import (
    PARAM_KINDS,
    ROUTE_MODES,
    Absent,
    ErrorRule,
    ParamSpec,
    RequestSpec,
    Route,
    Upstream,
)
from mediator.mapping.request_block import check_references, compile_request
from mediator.mapping.resilience import compile_route_policy
from mediator.mapping.response_plan import Naming, compile_response
from mediator.mapping.route_security import compile_rate_limits, compile_route_auth
from mediator.mapping.secrets import clear_secret_issues
from mediator.mapping.service_block import port_operation, read_number
from mediator.mapping.service_info import OperationInfo
from mediator.mapping.steps import PendingSteps, composed_route
from mediator.mapping.templating import compile_expression
from mediator.mapping.values import parse_duration
from mediator.mapping.yamlsource import KeyPath

__all__ = ["PATH_PARAM", "RouteLoader"]

PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""A ``{name}`` parameter in a route's path."""
_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")


class RouteLoader:
    """Compiles the routes of one mapping file whose service block loaded.

    Args:
        file: the mapping file.
        sink: the file's issues.
        upstream: the file's service.
        environ: the environment, for ``${VAR}`` in route settings.
        env: the file's ``env:`` variables (name → value), which templates may read.
        namespaces: ``service.namespaces``, for the response XPaths.
        naming: ``defaults.naming``.
        absent: ``defaults.absent``.
    """

    def __init__(
        self,
        *,
        file: Path,
        sink: IssueSink,
        upstream: Upstream,
        environ: Mapping[str, str],
        env: dict[str, str],
        namespaces: dict[str, str],
        naming: Naming,
        absent: Absent,
    ) -> None:
        self.file = file
        self.sink = sink
        self.upstream = upstream
        self.environ = environ
        self.env = env
        self.namespaces = namespaces
        self.naming = naming
        self.absent = absent
        self.composed: list[PendingSteps] = []
        """Routes with steps, compiled by :func:`~mediator.mapping.steps.link_steps`."""

    def load_route(self, raw: Any, path: KeyPath) -> Route | None:
        """The route of the entry at ``path``; ``None`` when it cannot be served."""
        if not isinstance(raw, dict):
            self.sink.at_value(
                path, "expected a route mapping such as {get: /things/{id}, operation: GetThing}"
            )
            return None
        unknown_keys(self.sink, raw, ROUTE_KEYS, path)
        methods = [m for m in HTTP_METHODS if m in raw]
        if len(methods) != 1:
            self.sink.at_key(
                path,
                f"expected exactly one of {', '.join(HTTP_METHODS)} with the route's path, got "
                f"{len(methods)}",
            )
            return None
        method = methods[0]
        url = raw[method]
        if not isinstance(url, str) or not url.startswith("/"):
            self.sink.at_value((*path, method), f"expected a path starting with /, got {url!r}")
            return None
        if "steps" in raw:
            return self._load_composed(raw, path, method, url)
        port = self.upstream.port
        operation = port_operation(raw, port, self.sink, path, where=f"port {port.name}")
        if operation is None:
            return None
        params = self._load_params(raw.get("params"), url, (*path, "params"))
        headers = self._load_headers(raw.get("headers"), (*path, "headers"))
        request = self.compile_request(raw.get("request"), operation, (*path, "request"))
        security = self._load_security(raw, path)
        self.check_references(
            raw.get("request"),
            params,
            headers,
            (*path, "request"),
            extra=("client",) if security["auth"] and not security["auth"].public else (),
        )
        response = compile_response(
            raw.get("response"),
            operation.output,
            self.namespaces,
            self.sink,
            (*path, "response"),
            naming=self.naming,
            absent=self.absent,
        )
        errors = self.compile_errors(raw.get("errors"), (*path, "errors"))
        name = raw.get("name") or f"{method.upper()} {url}"
        if request is None or response is None:
            return None
        line, _ = self.sink.positions.key(path)
        return Route(
            name=str(name),
            method=method.upper(),
            path=url,
            file=str(self.file),
            line=line,
            upstream=self.upstream,
            operation=operation,
            params=params,
            headers=headers,
            env=self.env,
            request=request,
            response=response,
            errors=errors,
            namespaces=self.namespaces,
            summary=str(raw.get("summary", "")),
            **asdict(compile_route_policy(raw, self.sink, path, self.environ)),
            **self._load_mode(raw, path),
            **security,
        )

    def compile_request(
        self, raw: Any, operation: OperationInfo, path: KeyPath
    ) -> RequestSpec | None:
        """A ``request:`` block of this file (see :func:`.request_block.compile_request`)."""
        return compile_request(raw, operation, path, self.sink)

    def check_references(
        self,
        raw: Any,
        params: tuple[ParamSpec, ...],
        headers: tuple[str, ...],
        path: KeyPath,
        extra: Collection[str] = (),
    ) -> None:
        """Every template of the request may read only what the route provides (and
        ``extra``: ``steps`` and the fan-out item, for a step)."""
        check_references(raw, params, headers, path, self.sink, self.env, extra)

    def compile_errors(self, raw: Any, path: KeyPath) -> tuple[ErrorRule, ...]:
        """An ``errors:`` list of ``{when, status, title}`` rules."""
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.sink.at_value(path, "expected a list of {when, status, title} rules")
            return ()
        rules = []
        for index, rule in enumerate(raw):
            rule_path = (*path, index)
            if not isinstance(rule, dict):
                self.sink.at_value(rule_path, "expected a mapping with when and status")
                continue
            unknown_keys(self.sink, rule, ERROR_KEYS, rule_path)
            when = rule.get("when")
            status = rule.get("status")
            if not isinstance(when, str):
                self.sink.at_key(
                    rule_path,
                    "missing key when; expected a Jinja expression over fault (code, string, "
                    "detail…)",
                )
                continue
            if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
                self.sink.at_value(
                    (*rule_path, "status") if "status" in rule else rule_path,
                    f"expected an HTTP error status 400-599, got {status!r}",
                )
                continue
            try:
                compiled = compile_expression(when)
            except TemplateSyntaxError as exc:
                self.sink.at_value(
                    (*rule_path, "when"), f"expression does not compile: {exc.message}"
                )
                continue
            title = rule.get("title")
            rules.append(
                ErrorRule(
                    source=when, when=compiled, status=status, title=str(title) if title else None
                )
            )
        return tuple(rules)

    def _load_security(self, raw: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        """A route's ``auth`` and ``rate_limit`` (docs/security.md); request templates with
        a WS-Security password or nonce written in clear are refused."""
        request = raw.get("request")
        if isinstance(request, dict):
            for key in ("body", "soap_header"):
                if isinstance(request.get(key), str):
                    for message in clear_secret_issues(request[key]):
                        self.sink.at_value((*path, "request", key), message)
        return {
            "auth": compile_route_auth(raw.get("auth"), self.sink, (*path, "auth")),
            "rate_limits": compile_rate_limits(
                raw.get("rate_limit"), self.sink, (*path, "rate_limit")
            ),
        }

    def _load_mode(self, raw: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        """A route's ``mode`` (sync, async, both) and ``job_ttl`` (see docs/jobs.md)."""
        mode = raw.get("mode", "sync")
        if mode not in ROUTE_MODES:
            self.sink.at_value(
                (*path, "mode"), f"expected one of: {', '.join(ROUTE_MODES)}, got {mode!r}"
            )
            mode = "sync"
        job_ttl = None
        if "job_ttl" in raw:
            job_ttl = (
                read_number(raw, "job_ttl", parse_duration, 0.0, path, self.sink, self.environ)
                or None
            )
        if "steps" in raw and mode != "sync":
            self.sink.at_value((*path, "mode"), "a route with steps can only be sync for now")
        return {"mode": mode, "job_ttl": job_ttl}

    def _load_composed(self, raw: dict[str, Any], path: KeyPath, method: str, url: str) -> Route:
        """A route with steps: its own parts now, its steps once every file has loaded."""
        for key in ("operation", "request"):
            if key in raw:
                self.sink.at_key(
                    (*path, key), f"a route with steps has no {key} of its own; put it in a step"
                )
        self._load_mode(raw, path)
        line, _ = self.sink.positions.key(path)
        route = composed_route(
            name=str(raw.get("name") or f"{method.upper()} {url}"),
            method=method.upper(),
            path=url,
            file=str(self.file),
            line=line,
            upstream=self.upstream,
            params=self._load_params(raw.get("params"), url, (*path, "params")),
            headers=self._load_headers(raw.get("headers"), (*path, "headers")),
            env=self.env,
            errors=self.compile_errors(raw.get("errors"), (*path, "errors")),
            namespaces=self.namespaces,
            summary=str(raw.get("summary", "")),
            **asdict(compile_route_policy(raw, self.sink, path, self.environ)),
            **self._load_security(raw, path),
        )
        self.composed.append(PendingSteps(route, raw["steps"], raw.get("response"), path))
        return route

    def _load_params(self, raw: Any, url: str, path: KeyPath) -> tuple[ParamSpec, ...]:
        in_path = PATH_PARAM.findall(url)
        declared: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
        if raw is not None:
            if not isinstance(raw, dict):
                self.sink.at_value(path, "expected a mapping with path and/or query")
            else:
                unknown_keys(self.sink, raw, {"path", "query"}, path)
                for location in ("path", "query"):
                    block = raw.get(location)
                    if block is None:
                        continue
                    if not isinstance(block, dict):
                        self.sink.at_value(
                            (*path, location), "expected a mapping of parameter name to type"
                        )
                        continue
                    declared[location] = block
        specs = []
        for name in declared["path"]:
            if name not in in_path:
                self.sink.at_key(
                    (*path, "path", name),
                    f"path parameter {name!r} is not in the route path; path parameters: "
                    f"{', '.join(in_path) or 'none'}",
                )
        for name in in_path:
            specs.append(
                self._param(
                    name, "path", declared["path"].get(name, "string"), (*path, "path", name)
                )
            )
        for name, spec in declared["query"].items():
            specs.append(self._param(name, "query", spec, (*path, "query", name)))
        return tuple(specs)

    def _param(self, name: str, location: str, raw: Any, path: KeyPath) -> ParamSpec:
        spec: dict[str, Any] = (
            {"type": raw} if isinstance(raw, str) else raw if isinstance(raw, dict) else {}
        )
        if not isinstance(raw, str | dict):
            self.sink.at_value(
                path,
                f"expected a type ({', '.join(PARAM_KINDS)}) or a mapping with "
                "type/required/default/enum",
            )
        unknown_keys(self.sink, spec, PARAM_KEYS, path)
        kind = spec.get("type", "string")
        if kind not in PARAM_KINDS:
            self.sink.at_value(
                path if isinstance(raw, str) else (*path, "type"),
                f"unknown type {kind!r}; expected one of: {', '.join(PARAM_KINDS)}",
            )
            kind = "string"
        required = spec.get("required", location == "path")
        if location == "path" and required is not True:
            self.sink.at_value((*path, "required"), "path parameters are always required")
        enum = spec.get("enum")
        if enum is not None and (not isinstance(enum, list) or not enum):
            self.sink.at_value((*path, "enum"), "expected a non-empty list of allowed values")
            enum = None
        return ParamSpec(
            name=name,
            location=cast(Any, location),
            kind=kind,
            required=bool(required),
            default=spec.get("default"),
            enum=tuple(enum) if enum else None,
        )

    def _load_headers(self, raw: Any, path: KeyPath) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.sink.at_value(path, "expected a list of HTTP header names the templates may read")
            return ()
        names = []
        for index, name in enumerate(raw):
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                self.sink.at_value((*path, index), f"expected an HTTP header name, got {name!r}")
            else:
                names.append(name.lower())
        return tuple(names)
