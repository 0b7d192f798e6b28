"""Explain traces: the last N translations, kept whole and redacted, for the people who write
mappings.

A trace holds the incoming request, the rendered envelope sent upstream, the raw upstream
response, every XPath of the route's extraction plan with what it matched (how many nodes
and their values, truncated), the JSON returned, and the timings. It is fetched at
``GET /_mediator/traces/{request_id}`` (``GET /_mediator/traces`` lists the ones kept).

Switched on by ``mediator serve --explain N`` or ``--dev``; the endpoints do not exist
otherwise. They have no authentication of their own: see docs/operations.md for the risk.

Secrets are removed before a trace is stored: HTTP headers and query parameters naming a
credential, JSON members naming a secret (at any depth), WS-Security passwords, nonces,
tokens and SAML assertions in envelopes (by XPath), and XML elements or attributes whose
name names a secret.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from lxml import etree
from yarl import URL

from mediator.gateway.problems import problem_response
from mediator.gateway.state import RequestState, request_state
from mediator.mapping.model import FieldSpec, ResponseSpec, Route
from mediator.translate.jsonio import dumps
from mediator.translate.xmljson import is_nil
from mediator.translate.xmlsafe import XMLRejected, parse_xml
from mediator.upstream.client import WireLog

__all__ = [
    "REDACTED",
    "STEPS_KEY",
    "TRACES_KEY",
    "TraceBuffer",
    "explain_extraction",
    "is_secret_name",
    "redact_headers",
    "redact_json",
    "redact_xml",
]

REDACTED = "[REDACTED]"
MAX_TEXT = 64 * 1024
"""Characters kept of one envelope or body; the rest is cut with a note."""
MAX_VALUE = 120
"""Characters kept of one matched value."""
MAX_VALUES = 5
"""Matched values shown per XPath (the count is always exact)."""
MAX_ITEMS = 5
"""Items of a list whose nested fields are explained."""
MAX_ENTRIES = 500
"""XPath entries per trace."""

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|secret|token|api[-_]?key|authorization|cookie|credential"
    r"|private[-_]?key|signature",
    re.IGNORECASE,
)
_WSSE_NAMESPACES = {
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsse11": "http://docs.oasis-open.org/wss/oasis-wss-wssecurity-secext-1.1.xsd",
    "xenc": "http://www.w3.org/2001/04/xmlenc#",
    "saml1": "urn:oasis:names:tc:SAML:1.0:assertion",
    "saml2": "urn:oasis:names:tc:SAML:2.0:assertion",
}
# The WS-Security secrets (the same defaults as contract recording; the gateway does not
# import mediator.contract): replaced whole, children included.
_WSSE_SECRETS = etree.XPath(
    "//wsse:Password | //wsse:Nonce | //wsse:BinarySecurityToken | //wsse11:EncryptedHeader"
    " | //xenc:CipherValue | //saml1:Assertion | //saml2:Assertion",
    namespaces=_WSSE_NAMESPACES,
)


def is_secret_name(name: str) -> bool:
    """True when a header, parameter, JSON member or XML name names a credential."""
    return _SECRET_NAME.search(name) is not None


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``headers`` with the value of every credential-naming header replaced
    (a repeated header's values are joined with commas)."""
    result: dict[str, str] = {}
    for key, raw in headers.items():
        name = str(key)  # multidict keys are a str subclass JSON encoders refuse
        value = REDACTED if is_secret_name(name) else raw
        result[name] = f"{result[name]}, {value}" if name in result else value
    return result


def redact_json(value: Any) -> Any:
    """A copy of ``value`` in which members whose name names a secret are replaced, at any
    depth."""
    if isinstance(value, dict):
        return {
            k: REDACTED if isinstance(k, str) and is_secret_name(k) else redact_json(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"


def redact_xml(data: bytes | None) -> str | None:
    """An XML document as text with its secrets replaced (see the module docstring).

    A document that is not well-formed XML is returned as text (truncated) unchanged: the
    gateway's own secrets only ever travel in XML it built.
    """
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace")
    try:
        root = parse_xml(data)
    except XMLRejected:
        return _truncate(text, MAX_TEXT)
    replaced = 0
    for node in _secret_nodes(root):
        for child in list(node):
            node.remove(child)
        node.text = REDACTED
        replaced += 1
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        for name in element.attrib:
            if is_secret_name(etree.QName(name).localname):
                element.set(name, REDACTED)
                replaced += 1
    if replaced:
        text = etree.tostring(root, encoding="unicode")
    return _truncate(text, MAX_TEXT)


def _secret_nodes(root: etree._Element) -> list[etree._Element]:
    """The WS-Security secrets, and the leaf elements whose name names a secret (an element
    with children, such as ``UsernameToken``, keeps its structure: its leaves are checked)."""
    result: Any = _WSSE_SECRETS(root)
    nodes = [n for n in result if isinstance(n, etree._Element)] if isinstance(result, list) else []
    nodes.extend(
        element
        for element in root.iter()
        if isinstance(element.tag, str)
        and not len(element)
        and is_secret_name(etree.QName(element).localname)
    )
    return nodes


def _preview(item: Any) -> Any:
    """A matched node as a short JSON value: element text (or markup when it has children),
    attribute or string results as text, numbers and booleans as they are."""
    if isinstance(item, etree._Element):
        if is_nil(item):
            return None
        if len(item):
            text = etree.tostring(item, encoding="unicode", with_tail=False)
        else:
            text = item.text or ""
        return _truncate(text, MAX_VALUE)
    if isinstance(item, bool | float | int):
        return item
    return _truncate(str(item), MAX_VALUE)


def explain_extraction(spec: ResponseSpec, body: etree._Element) -> list[dict[str, Any]]:
    """What every XPath of ``spec`` matches in a SOAP Body: one entry per field and item.

    Each entry has ``path`` (where the value lands in the JSON, e.g. ``lines[0].sku``),
    ``xpath`` (as written), ``matched`` (the node count), ``type``, ``list`` and, for
    non-object fields, ``values`` (the first few matches, truncated; redacted when the
    field's name or XPath names a secret). Unlike extraction it never fails: an XPath error
    becomes an ``error`` entry.
    """
    entries: list[dict[str, Any]] = []
    try:
        result = spec.root(body)
    except etree.XPathError as exc:
        return [{"path": "", "xpath": spec.root_source, "error": f"XPath failed: {exc}"}]
    roots = result if isinstance(result, list) else [result]
    entries.append({"path": "", "xpath": spec.root_source, "matched": len(roots)})
    if roots and isinstance(roots[0], etree._Element):
        _walk(spec.fields, roots[0], "", entries)
    return entries


def _walk(
    fields: tuple[FieldSpec, ...], node: etree._Element, prefix: str, entries: list[dict[str, Any]]
) -> None:
    for field in fields:
        if len(entries) >= MAX_ENTRIES:
            if entries[-1].get("path") != "…":
                entries.append({"path": "…", "note": f"more than {MAX_ENTRIES} entries"})
            return
        path = f"{prefix}.{field.name}" if prefix else field.name
        entry: dict[str, Any] = {
            "path": path,
            "xpath": field.source,
            "type": field.kind,
            "list": field.is_list,
        }
        entries.append(entry)
        try:
            result = field.xpath(node)
        except etree.XPathError as exc:
            entry["error"] = f"XPath failed: {exc}"
            continue
        items = result if isinstance(result, list) else [result]
        entry["matched"] = len(items)
        if not field.fields:
            secret = is_secret_name(field.name) or is_secret_name(field.source)
            entry["values"] = [REDACTED if secret else _preview(i) for i in items[:MAX_VALUES]]
            continue
        walked = items[:MAX_ITEMS] if field.is_list else items[:1]
        for index, item in enumerate(walked):
            if isinstance(item, etree._Element) and not is_nil(item):
                _walk(field.fields, item, f"{path}[{index}]" if field.is_list else path, entries)


def _body_of(response: web.Response | None) -> Any:
    if response is None or not isinstance(response.body, bytes):
        return None
    try:
        return redact_json(orjson.loads(response.body))
    except orjson.JSONDecodeError:
        return _truncate(response.body.decode("utf-8", errors="replace"), MAX_TEXT)


def _upstream_of(wire: WireLog | None) -> dict[str, Any] | None:
    if wire is None or wire.request_body is None:
        return None
    return {
        "url": str(URL(wire.url).with_user(None)) if wire.url else wire.url,
        "attempts": wire.attempts,
        "request_headers": redact_headers(wire.request_headers or {}),
        "envelope": redact_xml(wire.request_body),
        "status": wire.response_status,
        "response_headers": redact_headers(wire.response_headers or {}),
        "response": redact_xml(wire.response_body),
    }


class TraceBuffer:
    """The last ``capacity`` explain traces, by request id (a repeated id replaces the older).

    Args:
        capacity: how many traces are kept; the oldest goes first.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("an explain trace buffer keeps at least one trace")
        self.capacity = capacity
        self._traces: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._traces)

    def get(self, request_id: str) -> dict[str, Any] | None:
        """The trace of ``request_id``, if still kept."""
        return self._traces.get(request_id)

    def add(self, trace: dict[str, Any]) -> None:
        """Keep ``trace`` (it must have a ``request_id``), dropping the oldest when full."""
        request_id = trace["request_id"]
        self._traces.pop(request_id, None)
        self._traces[request_id] = trace
        while len(self._traces) > self.capacity:
            self._traces.popitem(last=False)

    def capture(
        self,
        request: web.Request,
        state: RequestState,
        response: web.Response | None,
        status: int,
        elapsed: float,
        *,
        route: Route,
        body: etree._Element | None,
        trace_id: str | None = None,
    ) -> None:
        """Build the redacted trace of a finished request of ``route`` and keep it.

        Args:
            body: the upstream's SOAP Body when the call succeeded (the XPaths are
                explained against it).
        """
        timings = {f"{k}_ms": round(v * 1000, 3) for k, v in state.timings.items()}
        timings["total_ms"] = round(elapsed * 1000, 3)
        trace: dict[str, Any] = {
            "request_id": state.request_id,
            "trace_id": trace_id,
            "started_at": datetime.fromtimestamp(time.time() - elapsed, UTC).isoformat(),
            "route": route.name,
            "operation": route.operation.name,
            "mapping": f"{route.file}:{route.line}",
            "request": {
                "method": request.method,
                "path": request.path,
                "query": redact_headers(request.query),
                "headers": redact_headers(request.headers),
                "body": redact_json(state.json_request),
            },
            "upstream": _upstream_of(state.wire),
            "extraction": explain_extraction(route.response, body) if body is not None else None,
            "steps": request.get(STEPS_KEY),  # a composed route's steps (gateway.composer)
            "response": {"status": status, "body": _body_of(response)},
            "timings": timings,
        }
        self.add(trace)

    async def handle_one(self, request: web.Request) -> web.Response:
        """``GET /_mediator/traces/{request_id}``: the trace, or a 404 problem."""
        request_id = request.match_info["request_id"]
        trace = self.get(request_id)
        if trace is None:
            return problem_response(
                "not-found",
                404,
                "Trace Not Found",
                detail=f"no explain trace is kept for request {request_id!r} (the last "
                f"{self.capacity} translations are kept)",
                request_id=request_state(request).request_id,
                instance=request.path,
            )
        return web.Response(
            body=dumps(trace, indent=True),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def handle_list(self, request: web.Request) -> web.Response:
        """``GET /_mediator/traces``: a summary of every trace kept, newest first."""
        summary = [
            {
                "request_id": trace["request_id"],
                "started_at": trace["started_at"],
                "method": trace["request"]["method"],
                "path": trace["request"]["path"],
                "route": trace["route"],
                "status": trace["response"]["status"],
                "href": f"/_mediator/traces/{trace['request_id']}",
            }
            for trace in reversed(self._traces.values())
        ]
        return web.Response(
            body=dumps({"capacity": self.capacity, "traces": summary}, indent=True),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )


TRACES_KEY = web.AppKey("explain_traces", TraceBuffer)
STEPS_KEY = web.RequestKey("mediator_steps", list[dict[str, Any]])
"""A composed route's steps as its explain trace shows them (set by the composer)."""
