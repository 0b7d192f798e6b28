"""Maps a SOAP Fault to the HTTP status a route's ``errors`` rules choose for it."""

from __future__ import annotations

from typing import Any

from mediator.errors import Fault
from mediator.log import get_logger
from mediator.mapping.model import Route

__all__ = ["DEFAULT_FAULT_STATUS", "fault_context", "fault_status"]

DEFAULT_FAULT_STATUS = 502

_log = get_logger("mediator.gateway")


def fault_context(fault: Fault) -> dict[str, Any]:
    """The ``fault`` variable that ``errors[].when`` expressions see."""
    return {
        "code": fault.code,
        "subcodes": list(fault.subcodes),
        "subcode": fault.subcodes[0] if fault.subcodes else None,
        "string": fault.string,
        "reason": fault.string,
        "actor": fault.actor,
        "detail": fault.detail,
        "soap_version": fault.soap_version,
        "http_status": fault.http_status,
    }


def fault_status(route: Route | None, fault: Fault) -> tuple[int, str | None]:
    """The status and title of the first rule whose condition holds (default 502)."""
    if route is None:
        return DEFAULT_FAULT_STATUS, None
    context = {"fault": fault_context(fault)}
    for rule in route.errors:
        try:
            matched = bool(rule.when(**context))
        except Exception as exc:  # a rule that cannot be evaluated for this fault does not match
            _log.warning("gateway.fault_rule_failed", rule=rule.source, error=type(exc).__name__)
            continue
        if matched:
            return rule.status, rule.title
    return DEFAULT_FAULT_STATUS, None
