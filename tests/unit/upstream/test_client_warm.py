"""Loading zeep clients ahead of the first request (SoapClient.needs_zeep and warm)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediator.mapping.loader import load_mappings
from mediator.mapping.model import Route
from mediator.upstream.client import SoapClient
from mediator.upstream.wsdl import WsdlRegistry

CORPUS = Path(__file__).resolve().parents[2] / "wsdl" / "corpus"


class CountingRegistry(WsdlRegistry):
    """A registry that counts the zeep clients it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[Path] = []

    def client(self, path: Path):  # type: ignore[no-untyped-def]
        self.asked.append(path)
        return super().client(path)


@pytest.fixture
def routes() -> dict[str, Route]:
    """Zero-config routes of an rpc WSDL and a document/literal one."""
    registry = WsdlRegistry()
    mappings = load_mappings(
        [],
        describe=registry.describe,
        wsdl_dir=CORPUS,
        zero_config=[CORPUS / "quotes_rpc_encoded.wsdl", CORPUS / "library_wrapped.wsdl"],
        environ={},
    )
    return {route.name: route for route in mappings.routes}


def test_needs_zeep_only_where_the_plain_writer_cannot(routes: dict[str, Route]) -> None:
    """rpc operations and inputs the plain writer does not cover take zeep; plain
    document/literal inputs do not."""
    client = SoapClient(WsdlRegistry(), transport=None)  # type: ignore[arg-type]
    assert client.needs_zeep(routes["QuotesService.GetQuote"])
    assert client.needs_zeep(routes["LibraryService.Ping"])  # an input without children
    assert not client.needs_zeep(routes["LibraryService.GetBook"])


def test_warm_loads_each_needed_client_once(routes: dict[str, Route]) -> None:
    """One zeep client per upstream that needs one; a second warm loads nothing."""
    registry = CountingRegistry()
    client = SoapClient(registry, transport=None)  # type: ignore[arg-type]
    plain = [
        r
        for r in routes.values()
        if r.name.startswith("LibraryService.") and r.name != "LibraryService.Ping"
    ]
    assert client.cold_upstreams(plain) == []
    assert client.warm(plain) == 0 and registry.asked == []
    assert len(client.cold_upstreams(routes.values())) == 2
    assert client.warm(routes.values()) == 2  # the quotes port and the library port
    assert sorted(p.name for p in registry.asked) == [
        "library_wrapped.wsdl",
        "quotes_rpc_encoded.wsdl",
    ]
    assert client.warm(routes.values()) == 0
    assert client.cold_upstreams(routes.values()) == []
