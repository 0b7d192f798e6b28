"""The zeep-free Body writer produces what zeep produces, for every plain operation we have."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from mediator.errors import ClientError
from mediator.mapping.service_info import ElementInfo, TypeInfo
from mediator.translate.coerce import coerce_args
from mediator.translate.serialize import plain_input, serialize_args
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO

WSDLS = sorted(
    [
        REPO / "wsdl" / "orders.wsdl",
        *(REPO / "tests" / "wsdl").glob("*.wsdl"),
        *(REPO / "tests" / "wsdl" / "corpus").glob("*.wsdl"),
    ]
)
_SAMPLES: dict[str, Any] = {
    "string": "a & <b> ü",
    "integer": 42,
    "number": Decimal("1.5"),
    "decimal": Decimal("1234.50"),
    "boolean": True,
    "date": "2026-01-31",
    "datetime": "2026-01-31T12:00:00Z",
    "time": "12:00:00",
    "base64": "c2FtcGxl",
}


def _sample(type_info: TypeInfo, depth: int = 0) -> Any:
    if not type_info.children:
        if type_info.enumeration:
            return type_info.enumeration[-1]
        return _SAMPLES[type_info.scalar or "string"]
    return {c.local: _element(c, depth + 1) for c in type_info.children if depth < 6}


def _element(element: ElementInfo, depth: int) -> Any:
    value = _sample(element.type, depth)
    return [value, value] if element.repeated else value


def _tree(node: etree._Element) -> Any:
    children = [c for c in node if isinstance(c.tag, str)]
    text = (node.text or "").strip() if not children else ""
    return (node.tag, text, dict(node.attrib), [_tree(c) for c in children])


def _cases() -> list[Any]:
    registry = WsdlRegistry()
    cases = []
    for wsdl in WSDLS:
        info = registry.describe(wsdl)
        for service in info.services.values():
            for port in service.ports.values():
                for operation in port.operations.values():
                    if plain_input(operation):
                        cases.append(
                            pytest.param(
                                registry,
                                wsdl,
                                service.name,
                                port.name,
                                operation,
                                id=f"{wsdl.stem}-{port.name}-{operation.name}",
                            )
                        )
    return cases


CASES = _cases()


def test_the_corpus_has_plain_operations() -> None:
    """Enough operations take the fast path for the comparison below to mean something."""
    assert len(CASES) >= 20


@pytest.mark.parametrize(("registry", "wsdl", "service", "port", "operation"), CASES)
def test_same_body_as_zeep(
    registry: WsdlRegistry, wsdl: Path, service: str, port: str, operation: Any
) -> None:
    """Every plain document/literal input, filled with typed samples (lists of two, every
    optional element, text needing escapes), is written exactly as zeep writes it."""
    element = operation.input
    args = coerce_args(element, _sample(element.type))
    client = registry.client(wsdl)
    envelope = client.create_message(client.bind(service, port), operation.name, **args)
    body = envelope.find("{*}Body")
    assert body is not None
    ours = etree.fromstring(serialize_args(element, args).encode())
    assert _tree(ours) == _tree(body[0])


def test_nil_and_min_occurs() -> None:
    """A required nillable element given null is written xsi:nil; a repeated element with
    fewer items than minOccurs is a client error."""
    leaf = TypeInfo(name="s", scalar="string")
    element = ElementInfo(
        local="Op",
        namespace="urn:x",
        type=TypeInfo(
            name="Op",
            children=(
                ElementInfo(local="A", namespace="urn:x", type=leaf, nillable=True),
                ElementInfo(local="B", namespace="urn:x", type=leaf, min_occurs=1, max_occurs=None),
            ),
        ),
    )
    written = serialize_args(element, {"A": None, "B": ["x"]})
    assert written == (
        '<ns0:Op xmlns:ns0="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<ns0:A xsi:nil="true"/><ns0:B>x</ns0:B></ns0:Op>'
    )
    with pytest.raises(ClientError, match="expected at least 1 item"):
        serialize_args(element, {"A": "a", "B": []})
