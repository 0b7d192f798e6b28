"""The compiled mapping model: what the gateway serves, built once at load.

Every object here is immutable and holds already-compiled templates and XPath expressions;
nothing is parsed per request. The loader (:mod:`mediator.mapping.loader`) builds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

from jinja2 import Template
from lxml import etree

from mediator.mapping.credentials import Credentials, UpstreamTls
from mediator.mapping.route_security import RateLimitRule, RouteAuth
from mediator.mapping.service_info import SCALAR_KINDS, ElementInfo, OperationInfo, PortInfo
from mediator.mapping.templating import CompiledExpression

__all__ = [
    "FIELD_KINDS",
    "PARAM_KINDS",
    "ROUTE_MODES",
    "Absent",
    "ArgNode",
    "BreakerPolicy",
    "ErrorRule",
    "FieldKind",
    "FieldSpec",
    "MappingSet",
    "ParamSpec",
    "RequestSpec",
    "ResponseSpec",
    "RetryPolicy",
    "Route",
    "RouteMode",
    "Step",
    "Upstream",
    "UpstreamPolicy",
]

FieldKind: TypeAlias = Literal[
    "string",
    "integer",
    "number",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "time",
    "base64",
    "xml",
    "object",
]
FIELD_KINDS: tuple[str, ...] = (*SCALAR_KINDS, "xml")
PARAM_KINDS: tuple[str, ...] = ("string", "integer", "number", "boolean", "date", "datetime")
Absent: TypeAlias = Literal["omit", "null"]
RouteMode: TypeAlias = Literal["sync", "async", "both"]
ROUTE_MODES: tuple[str, ...] = ("sync", "async", "both")

ArgNode: TypeAlias = Any
"""A compiled ``request.args`` tree: dicts and lists of literals, expressions and templates."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """When a failed call is tried again (``service.retries``; see docs/resilience.md).

    Only calls that provably never reached the upstream, or calls of idempotent routes, are
    retried, at most ``max_retries`` times, after a fully jittered exponential back-off
    (``backoff`` doubling up to ``max_backoff``), within the call's total deadline and while
    the retry budget (``budget``: retries as a fraction of calls) allows.
    """

    max_retries: int = 2
    backoff: float = 0.05
    max_backoff: float = 1.0
    budget: float = 0.2
    per_try_timeout: float | None = None
    """Deadline of one try; ``None`` lets each try use what remains of the total deadline."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerPolicy:
    """The upstream's circuit breaker (``service.circuit_breaker``).

    It opens after ``failures`` consecutive gateway failures, stays open ``open_for``
    seconds, then lets one probe through; each failed probe doubles the open time up to
    ``max_open_for``.
    """

    enabled: bool = True
    failures: int = 5
    open_for: float = 5.0
    max_open_for: float = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamPolicy:
    """Resilience settings of one upstream: retries, circuit breaker and bulkhead."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    max_concurrency: int = 64
    """Calls in flight at once; more wait in a queue."""
    max_queue: int = 128
    """Calls waiting for a free slot; beyond it the gateway answers 503 at once."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Upstream:
    """One SOAP endpoint: a WSDL port at an address, with its call limits."""

    key: str
    wsdl: Path
    service: str
    port: PortInfo
    address: str
    timeout: float
    connect_timeout: float
    max_response_bytes: int
    policy: UpstreamPolicy = field(default_factory=UpstreamPolicy)
    credentials: Credentials | None = None
    """What the gateway presents to the upstream (``service.credentials``)."""
    tls: UpstreamTls | None = None
    """TLS settings towards the upstream (``service.tls``); ``None``: verified defaults."""

    @property
    def soap_version(self) -> str:
        """``"1.1"`` or ``"1.2"``, from the port's binding."""
        return self.port.soap_version


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamSpec:
    """A typed path or query parameter."""

    name: str
    location: Literal["path", "query"]
    kind: str = "string"
    required: bool = True
    default: Any = None
    enum: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSpec:
    """How the SOAP request is built: from ``args`` (zeep serializes) or a ``body`` template."""

    args: ArgNode = None
    body: Template | None = None
    soap_header: Template | None = None
    source: Any = None
    """The request block as written (template sources), for documentation and checks."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldSpec:
    """One JSON field: an XPath relative to its parent, a type, and list-ness.

    ``fields`` is set for objects; ``kind`` is then ``"object"``.
    """

    name: str
    source: str
    xpath: etree.XPath
    kind: FieldKind
    is_list: bool
    absent: Absent
    fields: tuple[FieldSpec, ...] = ()
    child_tag: str | None = None
    """The Clark tag (``{ns}Name``) when ``source`` is one plain child step (``p:Name``):
    extraction then picks the parent's children by tag instead of running the XPath."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseSpec:
    """How the JSON answer is extracted from the SOAP Body."""

    root_source: str
    root: etree.XPath
    fields: tuple[FieldSpec, ...]
    template: CompiledExpression | None = None
    namespaces: dict[str, str] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorRule:
    """Maps a SOAP fault to an HTTP status when ``when`` is true for it."""

    source: str
    when: CompiledExpression
    status: int
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One HTTP route bound to one SOAP operation."""

    name: str
    method: str
    path: str
    file: str
    line: int
    upstream: Upstream
    operation: OperationInfo
    params: tuple[ParamSpec, ...]
    headers: tuple[str, ...]
    env: dict[str, str]
    request: RequestSpec
    response: ResponseSpec
    errors: tuple[ErrorRule, ...]
    namespaces: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    timeout: float | None = None
    """Total deadline of this route's upstream call; ``None``: the upstream's."""
    connect_timeout: float | None = None
    """Connect deadline of this route's upstream call; ``None``: the upstream's."""
    idempotent: bool = False
    """The operation may be repeated safely, so failed calls may be retried after sending."""
    mode: RouteMode = "sync"
    """``sync`` answers with the result; ``async`` answers 202 with a job to poll
    (docs/jobs.md); ``both`` does so when the client sends ``Prefer: respond-async``."""
    job_ttl: float | None = None
    """Seconds an asynchronous job's result is kept; ``None``: the gateway's default."""
    auth: RouteAuth | None = None
    """Who may call the route (``auth``); ``None``: the security file's ``require_auth``."""
    rate_limits: tuple[RateLimitRule, ...] = ()
    """The route's token buckets (``rate_limit``)."""
    steps: tuple[Step, ...] = ()
    """A composed route's steps, dependencies first (see docs/composition.md); empty for a
    route calling one operation. A composed route's ``operation`` is a placeholder naming its
    steps' operations, its ``response.template`` builds the answer from ``steps``, and its
    ``timeout`` is the deadline of all its steps together."""

    @property
    def call_timeout(self) -> float:
        """The total deadline of one call of this route, in seconds."""
        return self.timeout if self.timeout is not None else self.upstream.timeout

    @property
    def call_connect_timeout(self) -> float:
        """The connect deadline of one call of this route (never above its total deadline)."""
        connect = (
            self.connect_timeout
            if self.connect_timeout is not None
            else self.upstream.connect_timeout
        )
        return min(connect, self.call_timeout)

    @property
    def input(self) -> ElementInfo | None:
        """The operation's input Body element."""
        return self.operation.input


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One named SOAP call of a composed route (``steps.<name>``).

    ``call`` is the call as a route of its own: its upstream (any service of the gateway),
    operation, request templates, extraction plan, fault rules and deadlines. ``needs`` are
    the steps whose results its templates read; it runs once they have all succeeded. With
    ``for_each`` it runs once per item of the list the expression yields (``item`` names the
    item in its templates), at most ``concurrency`` calls at a time, and its result is the
    list of the calls' results in item order.
    """

    name: str
    call: Route
    line: int
    needs: tuple[str, ...] = ()
    optional: bool = False
    """A failed optional step yields ``null`` and an ``errors`` entry; a failed required
    step fails the whole request."""
    for_each: CompiledExpression | None = None
    for_each_source: str = ""
    item: str = "item"
    concurrency: int = 4
    max_items: int = 100


@dataclass(frozen=True, slots=True)
class MappingSet:
    """Every route of every mapping file, loaded and compiled together."""

    routes: tuple[Route, ...]
    upstreams: dict[str, Upstream]
    files: tuple[str, ...]
