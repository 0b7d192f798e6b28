"""Outcomes: the contract layer decides fault statuses exactly as the gateway does."""

from __future__ import annotations

import pytest

from mediator.contract import outcome
from mediator.errors import Fault
from mediator.gateway import faults
from mediator.mapping.model import MappingSet

FAULTS = [
    Fault(
        code="Client",
        string="Order 1 not found",
        soap_version="1.1",
        detail={"NotFound": {"Entity": "Order"}},
    ),
    Fault(code="Client", string="bad", soap_version="1.1", subcodes=("Validation",)),
    Fault(code="Sender", string="bad", soap_version="1.2"),
    Fault(code="Server", string="boom", soap_version="1.1"),
    Fault(code="Receiver", string="boom", soap_version="1.2", detail="text"),
    Fault(code="VersionMismatch", string="v", soap_version="1.1"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.code}-{f.string}")
def test_fault_status_matches_the_gateway(orders_mappings: MappingSet, fault: Fault) -> None:
    """For every bundled route and fault, status and title equal the gateway's decision
    (the contract layer cannot import the gateway, so the logic is mirrored and locked here)."""
    for route in orders_mappings.routes:
        assert outcome.fault_status(route, fault) == faults.fault_status(route, fault)
        assert outcome.fault_context(fault) == faults.fault_context(fault)
    assert outcome.default_fault_status(fault) == faults.default_fault_status(fault)


def test_run_now_returns_immediate_results_and_refuses_real_waits() -> None:
    """run_now drives coroutines that never wait, and raises for one that does."""

    async def immediate() -> int:
        return 7

    class Suspend:
        def __await__(self):  # type: ignore[no-untyped-def]
            yield None

    async def waits() -> None:
        await Suspend()

    assert outcome.run_now(immediate()) == 7
    with pytest.raises(RuntimeError, match="waited for I/O"):
        outcome.run_now(waits())
