"""Unit tests run with the network switched off: any socket connection attempt fails.

Also shared by the unit tests: ``zeep_loads``, the WSDLs zeep is asked to parse.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest


class NetworkBlocked(RuntimeError):
    """A unit test tried to open a network connection."""


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise NetworkBlocked("unit tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def zeep_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every WSDL zeep is asked to parse, in order."""
    from mediator.upstream import zeep_wsdl
    from mediator.upstream.wsdl_cache import SourceRecorder

    calls: list[Path] = []
    real = zeep_wsdl.load_client

    def counting(path: Path, recorder: SourceRecorder) -> Any:
        calls.append(path)
        return real(path, recorder)

    monkeypatch.setattr(zeep_wsdl, "load_client", counting)
    return calls
