"""Maps a SOAP Fault to the HTTP status a route's ``errors`` rules choose for it.

The one place this decision is made: the gateway, ``mediator try``, contract verification
and jobs all call :func:`fault_status`.

Without a matching rule, a fault blaming the request (SOAP 1.1 ``Client``, SOAP 1.2
``Sender``) is a 422: the upstream understood the call and refused it, so repeating it
unchanged will not help. Every other fault (``Server``, ``Receiver``, ``VersionMismatch``,
``MustUnderstand``…) is a 502.
"""

from __future__ import annotations

from typing import Any

from mediator.errors import Fault
from mediator.log import get_logger
from mediator.mapping.model import Route

__all__ = [
    "CLIENT_FAULT_CODES",
    "CLIENT_FAULT_STATUS",
    "DEFAULT_FAULT_STATUS",
    "default_fault_status",
    "fault_context",
    "fault_status",
]

DEFAULT_FAULT_STATUS = 502
CLIENT_FAULT_STATUS = 422
CLIENT_FAULT_CODES = frozenset({"Client", "Sender"})

_log = get_logger("mediator.translate")


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


def default_fault_status(fault: Fault) -> int:
    """422 for a Client/Sender fault, 502 for any other."""
    return CLIENT_FAULT_STATUS if fault.code in CLIENT_FAULT_CODES else DEFAULT_FAULT_STATUS


def fault_status(route: Route | None, fault: Fault) -> tuple[int, str | None]:
    """The status and title of the first rule whose condition holds (else the default)."""
    if route is None:
        return default_fault_status(fault), None
    context = {"fault": fault_context(fault)}
    for rule in route.errors:
        try:
            matched = bool(rule.when(**context))
        except Exception as exc:  # a rule that cannot be evaluated for this fault does not match
            _log.warning("translate.fault_rule_failed", rule=rule.source, error=type(exc).__name__)
            continue
        if matched:
            return rule.status, rule.title
    return default_fault_status(fault), None
