"""The JSON outcome a mapping gives for a recorded SOAP response, and the recorded one.

An *outcome* is the HTTP status and the JSON body, reduced to what a contract pins down:

- a success: the whole JSON body the route's extraction plan returns;
- an upstream fault: the problem's ``type``, ``status``, ``title`` (chosen by the route's
  ``errors`` rules) and ``fault`` members;
- any other problem: its ``type`` and ``status``.

Request ids, instance paths and the gateway's fixed explanatory texts are not part of it.
The response is run through the same code the gateway uses (:meth:`SoapClient.call` with
the recorded bytes as transport, then :func:`extract_response`).
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from mediator.contract.canonical import canonical_json
from mediator.contract.fixture import Fixture
from mediator.contract.rules import JsonRule
from mediator.errors import ExtractError, Fault, UpstreamError, UpstreamProtocolError
from mediator.log import get_logger
from mediator.mapping.model import Route
from mediator.translate.fault_rules import fault_status
from mediator.translate.response import extract_response
from mediator.types import TransportResponse
from mediator.upstream.client import SoapClient
from mediator.upstream.wsdl import WsdlRegistry

__all__ = [
    "Outcome",
    "RecordedTransport",
    "mapped_outcome",
    "recorded_outcome",
    "run_now",
]

_PROBLEM = "urn:mediator:problem:"
_FAULT_TYPE = f"{_PROBLEM}upstream-fault"

_log = get_logger("mediator.contract")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Outcome:
    """An HTTP status and a JSON body (reduced for problems)."""

    status: int
    body: Any
    problem: bool = False

    def text(self, masks: tuple[JsonRule, ...] = ()) -> str:
        """``HTTP <status>`` and the canonical JSON body, for comparison and diffs."""
        return f"HTTP {self.status}\n" + canonical_json(self.body, masks=masks)


class RecordedTransport:
    """A transport answering every request with one recorded response."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self._response = TransportResponse(
            status=status, headers={k.lower(): v for k, v in headers.items()}, body=body
        )

    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float,
        connect_timeout: float,
        max_bytes: int,
    ) -> TransportResponse:
        """The recorded response, whatever was sent."""
        return self._response


def run_now(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine that never suspends (its awaits complete at once) and return its value.

    Verification drives :meth:`SoapClient.call` over a :class:`RecordedTransport`, which never
    waits, so it needs no event loop and works inside a running one (pytest, aiohttp).

    Raises:
        RuntimeError: the coroutine suspended (it awaited real I/O).
    """
    try:
        coroutine.send(None)
    except StopIteration as stop:
        result: _T = stop.value
        return result
    coroutine.close()
    raise RuntimeError("the coroutine waited for I/O; only immediate coroutines can run here")


def _fault_outcome(route: Route, fault: Fault) -> Outcome:
    status, title = fault_status(route, fault)
    members = {
        "code": fault.code,
        "subcodes": list(fault.subcodes) or None,
        "reason": fault.string,
        "actor": fault.actor,
        "detail": fault.detail,
    }
    body = {
        "type": _FAULT_TYPE,
        "status": status,
        "title": title or "Upstream Fault",
        "fault": {k: v for k, v in members.items() if v is not None},
    }
    return Outcome(status, body, problem=True)


def _problem(slug: str) -> Outcome:
    return Outcome(502, {"type": f"{_PROBLEM}{slug}", "status": 502}, problem=True)


def mapped_outcome(
    route: Route, registry: WsdlRegistry, envelope: bytes, fixture: Fixture
) -> Outcome:
    """What the gateway answers when ``route`` sends ``envelope`` and the upstream answers
    with the fixture's recorded response."""
    transport = RecordedTransport(
        fixture.soap_response_status, fixture.soap_response_headers, fixture.soap_response
    )
    client = SoapClient(registry, transport)
    try:
        call = run_now(client.call(route, envelope))
        data = extract_response(route.response, call.envelope.body)
    except Fault as fault:
        return _fault_outcome(route, fault)
    except UpstreamProtocolError:
        return _problem("upstream-invalid-response")
    except ExtractError:
        return _problem("upstream-unexpected-response")
    except UpstreamError:
        return _problem("upstream-unavailable")
    return Outcome(route.response.status, data)


def recorded_outcome(fixture: Fixture) -> Outcome:
    """The fixture's recorded JSON answer, reduced like :func:`mapped_outcome`'s."""
    body = fixture.json_response
    is_problem = fixture.response_content_type == "application/problem+json"
    if is_problem and isinstance(body, dict):
        keys = (
            ("type", "status", "title", "fault")
            if body.get("type") == _FAULT_TYPE
            else (
                "type",
                "status",
            )
        )
        body = {key: body[key] for key in keys if key in body}
    return Outcome(fixture.response_status, body, problem=is_problem)
