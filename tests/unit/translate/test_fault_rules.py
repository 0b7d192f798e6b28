"""The one decision of a fault's HTTP status: route rules first, then 422 or 502."""

from __future__ import annotations

import pytest

from mediator.errors import Fault
from mediator.mapping.model import MappingSet
from mediator.translate.fault_rules import default_fault_status, fault_context, fault_status


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("Client", 422),
        ("Sender", 422),
        ("Server", 502),
        ("Receiver", 502),
        ("VersionMismatch", 502),
    ],
)
def test_default_status_blames_the_request_or_the_upstream(code: str, status: int) -> None:
    """Without a matching rule, Client/Sender faults are 422 and every other fault 502."""
    assert default_fault_status(Fault(code=code, string="x")) == status
    assert fault_status(None, Fault(code=code, string="x")) == (status, None)


def test_first_matching_rule_wins(orders_mappings: MappingSet) -> None:
    """The example's get-order rule maps a NotFound Client fault to 404 with its title."""
    route = next(r for r in orders_mappings.routes if r.name == "get-order")
    not_found = Fault(code="Client", string="gone", detail={"NotFound": {"Entity": "Order"}})
    assert fault_status(route, not_found) == (404, "Order not found")
    assert fault_status(route, Fault(code="Client", string="other")) == (422, None)
    assert fault_status(route, Fault(code="Server", string="boom")) == (502, None)


def test_a_rule_that_cannot_be_evaluated_does_not_match(orders_mappings: MappingSet) -> None:
    """A rule raising for this fault (detail is text, not a mapping) is skipped, not fatal."""
    route = next(r for r in orders_mappings.routes if r.name == "get-order")
    assert fault_status(route, Fault(code="Client", string="x", detail=5)) == (422, None)


def test_fault_context_names() -> None:
    """Rules see code, subcode(s), string/reason, actor, detail, soap_version, http_status."""
    fault = Fault(
        code="Sender",
        string="r",
        subcodes=("A", "B"),
        actor="n",
        detail={"d": "1"},
        http_status=500,
    )
    assert fault_context(fault) == {
        "code": "Sender",
        "subcodes": ["A", "B"],
        "subcode": "A",
        "string": "r",
        "reason": "r",
        "actor": "n",
        "detail": {"d": "1"},
        "soap_version": "1.1",
        "http_status": 500,
    }
