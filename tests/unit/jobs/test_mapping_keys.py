"""The route keys of the asynchronous gateway: ``mode`` and ``job_ttl``."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.errors import MappingError
from mediator.gateway.jobs_api import JOB_PROBLEM_TYPES
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import MappingSet
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO, WSDL_DIR

ROUTE = """\
version: 1
service: {{wsdl: orders.wsdl, address: "http://127.0.0.1:9/o"}}
routes:
  - get: /orders/{{id}}
    operation: GetOrder
    request: {{args: {{OrderId: "{{{{ path.id }}}}"}}}}
{extra}
"""


def _load(tmp_path: Path, registry: WsdlRegistry, extra: str) -> MappingSet:
    file = tmp_path / "m.yaml"
    file.write_text(ROUTE.format(extra=extra))
    return load_mappings([file], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})


def test_routes_are_sync_by_default(tmp_path: Path, registry: WsdlRegistry) -> None:
    """Without ``mode`` a route answers synchronously and uses the gateway's job TTL."""
    route = _load(tmp_path, registry, "").routes[0]
    assert route.mode == "sync" and route.job_ttl is None


def test_mode_and_job_ttl_are_read(tmp_path: Path, registry: WsdlRegistry) -> None:
    """``mode: both`` and ``job_ttl: 10m`` reach the compiled route."""
    route = _load(tmp_path, registry, "    mode: both\n    job_ttl: 10m").routes[0]
    assert route.mode == "both" and route.job_ttl == 600


def test_wrong_values_are_reported_at_their_line(tmp_path: Path, registry: WsdlRegistry) -> None:
    """An unknown mode lists the valid ones; a bad TTL says what a duration is."""
    with pytest.raises(MappingError) as caught:
        _load(tmp_path, registry, "    mode: later\n    job_ttl: soon")
    messages = [str(issue) for issue in caught.value.issues]
    assert any(":7:11: routes[0].mode: expected one of: sync, async, both" in m for m in messages)
    assert any("routes[0].job_ttl: expected a duration" in m for m in messages)


@pytest.mark.parametrize("slug", sorted(JOB_PROBLEM_TYPES))
def test_job_problem_types_are_documented(slug: str) -> None:
    """Every problem type of the asynchronous gateway is in the README and docs/jobs.md."""
    assert f"`{slug}`" in (REPO / "README.md").read_text()
    assert f"`{slug}`" in (REPO / "docs" / "jobs.md").read_text()
