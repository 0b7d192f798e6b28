"""The resilience keys of mapping files (mediator.mapping.resilience through the loader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.errors import MappingError
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import BreakerPolicy, RetryPolicy, UpstreamPolicy
from mediator.mapping.resilience import BREAKER_KEYS, RETRY_KEYS
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO, WSDL_DIR

HEAD = """version: 1
service:
  wsdl: orders.wsdl
  address: http://127.0.0.1:1/orders
  timeout: 8s
  connect_timeout: 2s
"""
ROUTE = """routes:
  - get: /orders/{id}
    operation: GetOrder
    request: {args: {OrderId: "{{ path.id }}"}}
"""


def load(tmp_path: Path, registry: WsdlRegistry, service: str = "", route: str = ""):
    text = HEAD + service + ROUTE + route
    path = tmp_path / "m.yaml"
    path.write_text(text)
    mappings = load_mappings([path], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
    (only,) = mappings.routes
    return only


def issues(tmp_path: Path, registry: WsdlRegistry, service: str = "", route: str = "") -> str:
    with pytest.raises(MappingError) as info:
        load(tmp_path, registry, service, route)
    return str(info.value)


def test_defaults(tmp_path: Path, registry: WsdlRegistry) -> None:
    """Without resilience keys: default policy, route not idempotent, the service's deadlines."""
    route = load(tmp_path, registry)
    assert route.upstream.policy == UpstreamPolicy()
    assert route.idempotent is False
    assert (route.call_timeout, route.call_connect_timeout) == (8.0, 2.0)


def test_every_key_is_read(tmp_path: Path, registry: WsdlRegistry) -> None:
    """Maps, percentages, durations and the route's own deadlines are all compiled."""
    route = load(
        tmp_path,
        registry,
        service=(
            "  retries: {max: 3, backoff: 20ms, max_backoff: 400ms, budget: 25%, "
            "per_try_timeout: 1s}\n"
            "  circuit_breaker: {failures: 7, open_for: 2s, max_open_for: 20s}\n"
            "  max_concurrency: 10\n"
            "  max_queue: 0\n"
        ),
        route="    timeout: 500ms\n    connect_timeout: 5s\n    idempotent: true\n",
    )
    assert route.upstream.policy == UpstreamPolicy(
        retry=RetryPolicy(
            max_retries=3, backoff=0.02, max_backoff=0.4, budget=0.25, per_try_timeout=1.0
        ),
        breaker=BreakerPolicy(failures=7, open_for=2.0, max_open_for=20.0),
        max_concurrency=10,
        max_queue=0,
    )
    assert route.idempotent is True
    assert route.call_timeout == 0.5
    assert route.call_connect_timeout == 0.5  # never above the total deadline


def test_short_forms(tmp_path: Path, registry: WsdlRegistry) -> None:
    """``retries: N`` sets the count; ``circuit_breaker: false`` switches it off."""
    route = load(tmp_path, registry, service="  retries: 0\n  circuit_breaker: false\n")
    assert route.upstream.policy.retry.max_retries == 0
    assert route.upstream.policy.breaker.enabled is False


@pytest.mark.parametrize(
    ("service", "route", "expected"),
    [
        (
            "  retries: {max: 11}\n",
            "",
            "m.yaml:7:18: service.retries.max: expected a whole number from 0 to 10, got 11",
        ),
        (
            "  retries: {budget: 150%}\n",
            "",
            "service.retries.budget: expected a percentage (20%) or a fraction from 0 to 1, got 1.5",
        ),
        (
            "  retries: {backoff: 2s, max_backoff: 1s}\n",
            "",
            "service.retries.max_backoff: expected a duration at least as long as backoff",
        ),
        (
            "  retries: {tries: 2}\n",
            "",
            "service.retries.tries: unknown key; expected one of: backoff, budget, max, max_backoff, per_try_timeout",
        ),
        (
            "  circuit_breaker: {failures: 0}\n",
            "",
            "service.circuit_breaker.failures: expected a whole number from 1 to 10000, got 0",
        ),
        (
            "  circuit_breaker: sometimes\n",
            "",
            "service.circuit_breaker: expected false, or a mapping with failures, open_for and max_open_for",
        ),
        (
            "  circuit_breaker: {open_for: soon}\n",
            "",
            "service.circuit_breaker.open_for: expected a duration such as 500ms, 5s or 2m, got 'soon'",
        ),
        (
            "  max_concurrency: 0\n",
            "",
            "service.max_concurrency: expected a whole number from 1 to 100000, got 0",
        ),
        (
            "  max_queue: -1\n",
            "",
            "service.max_queue: expected a whole number from 0 to 1000000, got -1",
        ),
        ("", "    idempotent: yes\n", "routes[0].idempotent: expected true or false, got 'yes'"),
        (
            "",
            "    timeout: fast\n",
            "routes[0].timeout: expected a duration such as 500ms, 5s or 2m, got 'fast'",
        ),
    ],
)
def test_wrong_values_are_reported_at_their_key(
    tmp_path: Path, registry: WsdlRegistry, service: str, route: str, expected: str
) -> None:
    """Each wrong value is one issue naming its key path and what was expected."""
    assert expected in issues(tmp_path, registry, service, route)


@pytest.mark.parametrize("key", sorted(RETRY_KEYS | BREAKER_KEYS))
def test_nested_keys_are_documented(key: str) -> None:
    """The README's reference lists every key of ``retries`` and ``circuit_breaker``."""
    assert f"| `{key}` |" in (REPO / "README.md").read_text()
