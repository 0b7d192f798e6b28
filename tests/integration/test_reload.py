"""Hot reload: valid sets swap in whole, invalid sets are rejected, in-flight requests finish."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from mediator.gateway.app import RUNTIME_KEY
from mediator.gateway.settings import GatewaySettings
from mediator.mapping.loader import load_mappings
from mediator.upstream.wsdl import WsdlRegistry
from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.conftest import MAPPINGS_DIR, WSDL_DIR
from tests.integration.conftest import GatewayFactory

pytestmark = pytest.mark.integration

CUSTOMER = (
    '<GetCustomerResponse xmlns="urn:example:orders"><Customer><Id>4</Id><Name>Kay</Name>'
    "<Vip>true</Vip></Customer></GetCustomerResponse>"
)


@pytest.fixture
def mapping_dir(tmp_path: Path) -> Path:
    """A private copy of the example mappings that tests may edit."""
    target = tmp_path / "mappings"
    target.mkdir()
    (target / "orders.yaml").write_text((MAPPINGS_DIR / "orders.yaml").read_text())
    return target


async def _start(gateway: GatewayFactory, mapping_dir: Path, url: str, **settings: Any) -> Any:
    environ = {"ORDERS_SOAP_URL": url}

    def reloader() -> tuple[Any, WsdlRegistry]:
        registry = WsdlRegistry()
        return load_mappings(
            [mapping_dir], describe=registry.describe, wsdl_dir=WSDL_DIR, environ=environ
        ), registry

    gw_settings = GatewaySettings(mappings=(mapping_dir,), wsdl_dir=WSDL_DIR, **settings)
    return await gateway(
        paths=[mapping_dir], environ=environ, settings=gw_settings, reloader=reloader
    )


def _add_alias_route(mapping_dir: Path) -> None:
    path = mapping_dir / "orders.yaml"
    path.write_text(
        path.read_text()
        + """
  - get: /clients/{id}
    operation: GetCustomer
    params:
      path: {id: integer}
    request:
      args: {CustomerId: "{{ path.id }}"}
    response:
      root: o:GetCustomerResponse/o:Customer
      fields: {clientName: o:Name}
"""
    )


async def _wait_generation(client: Any, generation: int) -> None:
    runtime = client.app[RUNTIME_KEY]
    for _ in range(100):
        if runtime.generation >= generation:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"generation stayed {runtime.generation}")


async def test_sighup_swaps_in_a_valid_set(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], mapping_dir: Path
) -> None:
    """After SIGHUP a new route answers; the old routes still answer."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(CUSTOMER))
    client = await _start(gateway, mapping_dir, url)
    assert (await client.get("/clients/4")).status == 404
    _add_alias_route(mapping_dir)
    os.kill(os.getpid(), signal.SIGHUP)
    await _wait_generation(client, 2)
    response = await client.get("/clients/4")
    assert response.status == 200
    assert await response.json() == {"clientName": "Kay"}
    assert (await client.get("/customers/4")).status == 200


async def test_invalid_set_is_rejected_and_old_keeps_serving(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], mapping_dir: Path
) -> None:
    """A reload with a broken mapping logs the check messages and keeps the previous table."""
    from mediator.gateway.reload import reload_now

    backend, url = scripted
    backend.reply = Reply(body=envelope(CUSTOMER))
    client = await _start(gateway, mapping_dir, url)
    path = mapping_dir / "orders.yaml"
    path.write_text(path.read_text().replace("operation: GetCustomer", "operation: GetCustomr"))
    runtime = client.app[RUNTIME_KEY]
    with capture_logs() as logs:
        assert runtime.reloader is not None
        assert await reload_now(runtime, runtime.reloader) is False
    rejected = [entry for entry in logs if entry["event"] == "gateway.reload_rejected"]
    assert len(rejected) == 1
    assert "routes[3].operation: no operation 'GetCustomr'" in rejected[0]["issues"][0]
    assert runtime.generation == 1
    assert (await client.get("/customers/4")).status == 200


async def test_file_change_reloads_when_watching(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], mapping_dir: Path
) -> None:
    """With watch on, editing a mapping file reloads it within the poll interval."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(CUSTOMER))
    client = await _start(gateway, mapping_dir, url, watch=True, watch_interval=0.05)
    await asyncio.sleep(0.1)
    _add_alias_route(mapping_dir)
    await _wait_generation(client, 2)
    assert (await client.get("/clients/4")).status == 200


async def test_in_flight_request_finishes_on_the_old_table(
    gateway: GatewayFactory, scripted: tuple[ScriptedBackend, str], mapping_dir: Path
) -> None:
    """A request started before a reload completes normally with the mapping it started with."""
    backend, url = scripted
    backend.reply = Reply(body=envelope(CUSTOMER), delay=0.5)
    client = await _start(gateway, mapping_dir, url)
    in_flight = asyncio.create_task(client.get("/customers/4"))
    await asyncio.sleep(0.1)
    path = mapping_dir / "orders.yaml"
    path.write_text(path.read_text().replace("- get: /customers/{id}", "- get: /people/{id}"))
    os.kill(os.getpid(), signal.SIGHUP)
    await _wait_generation(client, 2)
    response = await in_flight
    assert response.status == 200
    assert await response.json() == {"customer": {"id": 4, "name": "Kay", "vip": True}}
    assert (await client.get("/customers/4")).status == 404
