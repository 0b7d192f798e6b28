"""What scaffolding takes and gives: its options, the files and routes it returns, its error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediator.mapping.response_plan import Naming

__all__ = ["ScaffoldError", "ScaffoldFile", "ScaffoldOptions", "ScaffoldRoute"]


class ScaffoldError(ValueError):
    """The WSDL has no SOAP port to scaffold, or the chosen service or port does not exist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaffoldOptions:
    """What to scaffold and how.

    Args:
        wsdl: the value written under ``service.wsdl`` (where the loader will find the WSDL).
        naming: JSON names: ``camel`` (``OrderId`` → ``orderId``, lists plural) or ``keep``.
        service: only this service (default: every service).
        port: only this port (default: every SOAP port).
        address: the endpoint written under ``service.address`` (default: the WSDL's
            address, overridable by an environment variable).
    """

    wsdl: str
    naming: Naming = "camel"
    service: str | None = None
    port: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ScaffoldRoute:
    """A scaffolded route, with an example call that its request template accepts."""

    method: str
    path: str
    operation: str
    example_path: str
    example_body: Any = None  # the JSON body of a POST


@dataclass(frozen=True, slots=True)
class ScaffoldFile:
    """One mapping file: a suggested file name, the port it maps and its YAML text."""

    name: str
    service: str
    port: str
    text: str
    routes: tuple[ScaffoldRoute, ...]
