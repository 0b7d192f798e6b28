"""Readiness: a routing table, not draining, and (when asked) no open circuit."""

from __future__ import annotations

from types import SimpleNamespace

from mediator.gateway.app import GatewayRuntime
from mediator.gateway.health import Health
from mediator.gateway.metrics import upstream_label
from mediator.gateway.settings import GatewaySettings
from mediator.mapping.model import MappingSet


def _runtime(mappings: MappingSet) -> GatewayRuntime:
    runtime = GatewayRuntime(GatewaySettings())
    runtime.policies.retain(mappings.upstreams.values())
    runtime.table = SimpleNamespace(mappings=mappings)  # type: ignore[assignment]
    runtime.generation = 3
    return runtime


def _open_breaker(runtime: GatewayRuntime, mappings: MappingSet) -> str:
    (upstream,) = mappings.upstreams.values()
    breaker = runtime.policies.guard(upstream).breaker
    for _ in range(breaker.policy.failures):
        breaker.failed(breaker.acquire())
    return upstream_label(upstream.key)


def test_ready_with_routes_and_circuit_states(orders_mappings: MappingSet) -> None:
    """Ready: the body counts routes and lists each upstream's circuit state."""
    ready, body = Health(_runtime(orders_mappings)).readiness()
    (key,) = orders_mappings.upstreams
    assert ready
    assert body == {
        "status": "ready",
        "routes": len(orders_mappings.routes),
        "generation": 3,
        "upstreams": {upstream_label(key): "closed"},
    }


def test_not_ready_without_mappings_or_while_draining(orders_mappings: MappingSet) -> None:
    """No routing table, or draining, makes the gateway not ready; every reason is listed."""
    runtime = _runtime(orders_mappings)
    health = Health(runtime)
    runtime.table = None
    health.draining = True
    ready, body = health.readiness()
    assert not ready
    assert body["status"] == "not_ready"
    assert body["reasons"] == ["mappings_not_loaded", "draining"]
    assert body["routes"] == 0


def test_open_circuit_counts_only_when_asked(orders_mappings: MappingSet) -> None:
    """An open circuit is reported always, but makes the gateway not ready only with
    ``check_upstreams`` (one failing upstream should not take every route out)."""
    runtime = _runtime(orders_mappings)
    label = _open_breaker(runtime, orders_mappings)
    ready, body = Health(runtime).readiness()
    assert ready and body["upstreams"] == {label: "open"}
    ready, body = Health(runtime, check_upstreams=True).readiness()
    assert not ready and body["reasons"] == ["circuit_open"]


async def test_drain_is_the_shutdown_hook(orders_mappings: MappingSet) -> None:
    """The on_shutdown hook switches readiness off."""
    health = Health(_runtime(orders_mappings))
    await health.drain(None)  # type: ignore[arg-type]
    assert health.draining
    assert health.readiness()[1]["reasons"] == ["draining"]
