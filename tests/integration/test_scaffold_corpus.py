"""Every corpus WSDL, scaffolded, checked and served: one real call per operation.

For each WSDL of ``tests/wsdl/corpus``: ``scaffold`` writes the mapping files; ``check``
(loading plus rendering every request from sample data) accepts them unchanged; the gateway
serves them over loopback in front of a scripted backend answering each operation with a
response generated from the WSDL (and valid against its XSD); a call per route returns typed
JSON, and the request that reached the backend is valid against the operation's schema.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from copy import deepcopy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from lxml import etree

from mediator.cli import main
from mediator.cli.common import load
from mediator.gateway.app import create_app
from mediator.mapping.scaffold import (
    RECURSION_LIMIT,
    ScaffoldFile,
    ScaffoldOptions,
    example_value,
    scaffold_mappings,
)
from mediator.mapping.service_info import ElementInfo, OperationInfo, TypeInfo
from mediator.upstream.wsdl import WELL_KNOWN_SCHEMAS, WsdlRegistry
from tests.backends.scripted import Reply, ScriptedBackend, envelope
from tests.conftest import REPO

pytestmark = pytest.mark.integration

CORPUS = REPO / "tests" / "wsdl" / "corpus"
WSDLS = sorted(CORPUS.glob("*.wsdl"))
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
ENVELOPES = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
SAMPLE_TEXT = {
    "integer": "42",
    "decimal": "12.50",
    "number": "1.5",
    "boolean": "true",
    "date": "2024-05-17",
    "datetime": "2024-05-17T10:30:00Z",
    "time": "10:30:00",
    "base64": "aGVsbG8=",
}
TYPED = {
    "integer": int,
    "decimal": Decimal,
    "number": Decimal,
    "boolean": lambda text: text == "true",
}


def test_corpus_covers_the_styles_met_in_the_field(registry: WsdlRegistry) -> None:
    """The corpus holds every style the issue lists: wrapped, bare, rpc/literal, rpc/encoded,
    SOAP 1.2, several ports, and a large WSDL with hundreds of types."""
    styles = set()
    for wsdl in WSDLS:
        info = registry.describe(wsdl)
        for service in info.services.values():
            for port in service.ports.values():
                styles.add(f"soap{port.soap_version}")
                styles.update(op.style for op in port.operations.values())
    assert {"soap1.1", "soap1.2", "document", "rpc"} <= styles
    names = {w.stem for w in WSDLS}
    assert {"library_wrapped", "warehouse_bare", "weather_rpc_literal", "quotes_rpc_encoded",
            "payments_soap12", "crm_split", "shapes_choice_extension", "catalog_deep_recursive",
            "tickets_multi_port", "large_erp"} <= names  # fmt: skip
    large = (CORPUS / "large_erp.wsdl").read_text()
    assert len(re.findall(r"<xs:(?:complex|simple)Type\b", large)) >= 300


def test_large_wsdl_is_the_generator_output() -> None:
    """large_erp.wsdl is exactly what generate_large.py writes (edit the script, not the file)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate_large", CORPUS / "generate_large.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.generate() == (CORPUS / "large_erp.wsdl").read_text(encoding="utf-8")


# -- responses generated from the WSDL --------------------------------------------------------


class ResponseWriter:
    """Builds a response element from a description: every optional element present, lists
    of two, the first branch of each choice, nillable elements nil, recursion bounded.

    ``typed`` collects the typed values the gateway must return (those outside any
    recursion, where the scaffold always extracts typed fields).
    """

    def __init__(self) -> None:
        self.typed: list[Any] = []

    def text(self, type_info: TypeInfo, stack: tuple[int, ...]) -> str:
        if type_info.enumeration:
            text = type_info.enumeration[0]
        elif type_info.scalar in SAMPLE_TEXT:
            text = SAMPLE_TEXT[type_info.scalar]
        else:
            text = str(example_value(type_info))
        if type_info.scalar in TYPED and len(set(stack)) == len(stack):
            self.typed.append(TYPED[type_info.scalar](text))
        return text

    def element(self, element: ElementInfo) -> etree._Element:
        node = etree.Element(
            etree.QName(element.namespace, element.local).text
            if element.namespace
            else element.local
        )
        self.fill(node, element.type, ())
        return node

    def fill(self, node: etree._Element, kind: TypeInfo, stack: tuple[int, ...]) -> None:
        stack = (*stack, id(kind))
        for attribute in kind.attributes:
            name = (
                etree.QName(attribute.namespace, attribute.local).text
                if attribute.namespace
                else attribute.local
            )
            node.set(
                name,
                self.text(
                    TypeInfo("", scalar=attribute.scalar, enumeration=attribute.enumeration), stack
                ),
            )
        if kind.array_item is not None:
            for _ in range(2):
                self.fill(etree.SubElement(node, "item"), kind.array_item, stack)
            return
        if kind.scalar and not kind.children:
            node.text = self.text(kind, stack)
            return
        skipped = {
            name for choice in kind.choices for alt in choice.alternatives[1:] for name in alt
        }
        for choice in kind.choices:
            skipped.difference_update(choice.alternatives[0] if choice.alternatives else ())
        for child in kind.children:
            tag = etree.QName(child.namespace, child.local).text if child.namespace else child.local
            if child.local in skipped:
                continue
            if child.type.open and not child.type.children and child.type.array_item is None:
                extra = etree.SubElement(etree.SubElement(node, tag), "{urn:example:other}Extra")
                extra.text = "extension"
                continue
            if stack.count(id(child.type)) > RECURSION_LIMIT and child.optional:
                continue
            for _ in range(2 if child.repeated else 1):
                sub = etree.SubElement(node, tag)
                if child.nillable:
                    sub.set(f"{{{XSI}}}nil", "true")
                else:
                    self.fill(sub, child.type, stack)


def _response(operation: OperationInfo) -> tuple[etree._Element, list[Any]]:
    assert operation.output is not None
    writer = ResponseWriter()
    return writer.element(operation.output), writer.typed


# -- XSD validation -----------------------------------------------------------------------------


def _xml_schema(wsdl: Path, workdir: Path) -> etree.XMLSchema:
    """The WSDL's schemas (embedded, wsdl:imported, xsd:imported and included) as one lxml
    XMLSchema: embedded schemas are written out, with locations made absolute."""
    embedded: list[tuple[etree._Element, Path]] = []
    seen: set[Path] = set()

    def visit(path: Path) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        root = etree.parse(str(path)).getroot()
        for node in root.findall(f"{{{WSDL}}}import"):
            visit(path.parent / node.get("location", ""))
        embedded.extend((s, path) for s in root.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"))

    visit(wsdl)
    encoding = workdir / "soap-encoding.xsd"
    encoding.write_bytes(WELL_KNOWN_SCHEMAS[SOAP_ENC.rstrip("/")])
    files: dict[str, Path] = {}
    copies = []
    for index, (schema, source) in enumerate(embedded):
        copy = etree.Element(schema.tag, nsmap=schema.nsmap, attrib=dict(schema.attrib))
        copy.extend(deepcopy(child) for child in schema)
        copies.append((copy, source, workdir / f"embedded{index}.xsd"))
        files[copy.get("targetNamespace", "")] = workdir / f"embedded{index}.xsd"
    for copy, source, target in copies:
        for node in list(copy.iter(f"{{{XSD}}}import", f"{{{XSD}}}include")):
            location = node.get("schemaLocation")
            namespace = node.get("namespace", "")
            if location:
                node.set("schemaLocation", (source.parent / location).resolve().as_uri())
            elif namespace in files:
                node.set("schemaLocation", files[namespace].as_uri())
            elif namespace == SOAP_ENC:
                node.set("schemaLocation", encoding.as_uri())
            else:
                node.getparent().remove(node)
        target.write_bytes(etree.tostring(copy))
    master = etree.Element(f"{{{XSD}}}schema", nsmap={"xs": XSD})
    for namespace, path in files.items():
        etree.SubElement(
            master, f"{{{XSD}}}import", namespace=namespace, schemaLocation=path.as_uri()
        )
    return etree.XMLSchema(master)


def _body_child(data: bytes, version: str) -> etree._Element:
    body = etree.fromstring(data).find(f"{{{ENVELOPES[version]}}}Body")
    assert body is not None
    (child,) = [c for c in body if isinstance(c.tag, str)]
    return child


def _valid(schema: etree.XMLSchema, element: etree._Element) -> None:
    document = etree.ElementTree(deepcopy(element))
    assert schema.validate(document), schema.error_log.filter_from_errors()


# -- typed JSON ---------------------------------------------------------------------------------


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _assert_typed(data: Any, typed: list[Any]) -> None:
    """Every typed value of the response comes back as a JSON number or boolean with its
    exact digits, and none comes back as a string."""
    leaves = list(_leaves(data))
    present = {(type(v), str(v)) for v in leaves}
    for value in typed:
        assert (type(value), str(value)) in present, f"{value!r} missing or mistyped in {data}"
    mistyped = {SAMPLE_TEXT[k] for k in TYPED} | {str(v) for v in typed if not isinstance(v, bool)}
    assert not [v for v in leaves if isinstance(v, str) and v in mistyped], data


# -- the corpus run ------------------------------------------------------------------------------


def _scaffold(
    registry: WsdlRegistry, wsdl: Path, directory: Path, naming: str = "camel"
) -> tuple[ScaffoldFile, ...]:
    files = scaffold_mappings(
        registry.describe(wsdl), ScaffoldOptions(wsdl=wsdl.name, naming=naming)
    )
    directory.mkdir()
    for file in files:
        (directory / file.name).write_text(file.text, encoding="utf-8")
    return files


def _check(directory: Path) -> Any:
    """What `mediator check --wsdl-dir tests/wsdl/corpus DIRECTORY` runs (load, then render
    every request from sample data); raises MappingError on any issue."""
    mappings, registry = load(
        argparse.Namespace(paths=[directory], wsdl_dir=CORPUS, zero_config=False)
    )
    return mappings, registry


@pytest.mark.parametrize("wsdl", WSDLS, ids=[w.stem for w in WSDLS])
async def test_scaffold_check_serve_call(
    wsdl: Path,
    registry: WsdlRegistry,
    tmp_path: Path,
    scripted: tuple[ScriptedBackend, str],
    monkeypatch: pytest.MonkeyPatch,
    aiohttp_client: Any,
) -> None:
    """scaffold → check accepts the files unchanged → serve → every route answers a real call
    with typed JSON, having sent the backend a request valid against the input schema."""
    backend, url = scripted
    files = _scaffold(registry, wsdl, tmp_path / "mappings")
    for file in files:
        for variable in re.findall(r"\$\{([A-Z0-9_]+):-", file.text):
            monkeypatch.setenv(variable, url)
    mappings, gateway_registry = _check(tmp_path / "mappings")
    assert len(mappings.routes) == sum(len(f.routes) for f in files)
    client: TestClient[Any, Any] = await aiohttp_client(
        TestServer(create_app(mappings, registry=gateway_registry))
    )
    info = registry.describe(wsdl)
    schema: etree.XMLSchema | None = None
    for file in files:
        port = info.services[file.service].ports[file.port]
        for route in file.routes:
            operation = port.operations[route.operation]
            document = operation.style == "document"
            if document and schema is None:
                (tmp_path / "xsd").mkdir(exist_ok=True)
                schema = _xml_schema(wsdl, tmp_path / "xsd")
            answer, typed = _response(operation)
            if document:
                assert schema is not None
                _valid(schema, answer)
            backend.reply = Reply(
                body=envelope(etree.tostring(answer).decode(), port.soap_version),
                content_type="text/xml; charset=utf-8"
                if port.soap_version == "1.1"
                else "application/soap+xml; charset=utf-8",
            )
            body = (
                None
                if route.example_body is None
                else json.dumps(route.example_body, default=float)
            )
            response = await client.request(
                route.method,
                route.example_path,
                data=body,
                headers={"Content-Type": "application/json"} if body else {},
            )
            text = await response.text()
            assert response.status in (200, 201), f"{route.method} {route.path}: {text}"
            data = json.loads(text, parse_float=Decimal)
            assert isinstance(data, dict)
            _assert_typed(data, typed)
            sent = _body_child(backend.received[-1].body, port.soap_version)
            assert operation.input is not None
            assert etree.QName(sent).localname == operation.input.local
            if document:
                assert schema is not None
                _valid(schema, sent)
            GOLDEN.get((wsdl.stem, route.method, route.path), lambda _d: None)(data)
            SENT.get((wsdl.stem, route.method, route.path), lambda _s: None)(sent)


@pytest.mark.parametrize("wsdl", [w for w in WSDLS if w.stem != "large_erp"], ids=lambda w: w.stem)
def test_keep_naming_passes_check(wsdl: Path, registry: WsdlRegistry, tmp_path: Path) -> None:
    """With --naming keep the scaffolded files pass check as well."""
    files = _scaffold(registry, wsdl, tmp_path / "mappings", naming="keep")
    mappings, _ = _check(tmp_path / "mappings")
    assert len(mappings.routes) == sum(len(f.routes) for f in files)


# -- exact answers for a few routes -------------------------------------------------------------


def _library_book(data: Any) -> None:
    author = {"name": "text", "born": None}
    assert data == {
        "id": 42, "isbn": "text", "title": "text", "genre": "fiction",
        "published": "2024-05-17", "price": Decimal("12.50"), "inStock": True,
        "rating": Decimal("1.5"), "authors": [author, author], "tags": ["text", "text"],
        "lastLoan": None,
    }  # fmt: skip


def _on_hand(data: Any) -> None:
    assert data == {"value": 42}


def _quotes(data: Any) -> None:
    quote = {
        "symbol": "text",
        "price": Decimal("1.5"),
        "volume": 42,
        "time": "2024-05-17T10:30:00Z",
    }
    assert data == {"quotes": [quote, quote]}


def _warnings(data: Any) -> None:
    warning = {"code": 42, "severity": "low", "value": "text"}
    assert data == {"drawn": 42, "warnings": [warning, warning]}


def _payment(data: Any) -> None:
    money = {"currency": "EUR", "value": Decimal("12.50")}
    assert data == {
        "paymentId": "text", "status": "AUTHORIZED", "amount": money,
        "refunded": [money, money], "createdAt": "2024-05-17T10:30:00Z",
    }  # fmt: skip


def _category_tree(data: Any) -> None:
    assert set(data) == {"code", "title", "subcategories"}
    (first, second) = data["subcategories"]
    assert first == second and set(first) == {"code", "title", "subcategories"}
    deeper = first["subcategories"]
    assert len(deeper) == 2 and all(x.startswith("<") and "Subcategory" in x for x in deeper)


def _find_shape(data: Any) -> None:
    length = {"unit": "mm", "value": Decimal("12.50")}
    assert data == {
        "traceId": "text", "version": 42,
        "circle": {"id": 42, "name": "text", "color": "red", "radius": length},
        "area": Decimal("12.50"),
    }  # fmt: skip


def _contact(data: Any) -> None:
    assert data["contactId"] == 42 and data["kind"] == "person"
    assert data["emails"] == ["text", "text"]
    assert data["address"] == {
        "type": "home", "streets": ["text", "text"], "city": "text", "postcode": "text",
        "country": "GB",
    }  # fmt: skip
    assert data["audit"] == {
        "modifiedAt": "2024-05-17T10:30:00Z",
        "modifiedBy": "text",
        "revision": 42,
    }


def _forecast(data: Any) -> None:
    day = {"date": "2024-05-17", "high": 42, "low": 42, "rain": Decimal("12.50")}
    assert data == {"city": "text", "issued": "2024-05-17T10:30:00Z", "days": {"days": [day, day]}}


GOLDEN = {
    ("library_wrapped", "GET", "/books/{bookId}"): _library_book,
    ("warehouse_bare", "GET", "/on-hands/{sku}"): _on_hand,
    ("quotes_rpc_encoded", "POST", "/list-quotes"): _quotes,
    ("shapes_choice_extension", "POST", "/draw-shapes"): _warnings,
    ("shapes_choice_extension", "POST", "/find-shape"): _find_shape,
    ("payments_soap12", "GET", "/payments/{paymentId}"): _payment,
    ("catalog_deep_recursive", "GET", "/category-trees/{rootCode}"): _category_tree,
    ("crm_split", "GET", "/contacts/{contactId}"): _contact,
    ("weather_rpc_literal", "GET", "/forecasts/{city}"): _forecast,
}


def _symbols_array(sent: etree._Element) -> None:
    """A SOAP-encoded array in the input is a loop of items in the rpc wrapper."""
    assert [(c.tag, [i.text for i in c]) for c in sent] == [("symbols", ["text"]), ("currency", [])]


def _book_sent(sent: etree._Element) -> None:
    """Every element of the example body reached the backend, in schema order."""
    names = [etree.QName(c).localname for c in sent]
    assert names == ["Isbn", "Title", "Genre", "Price", "Author", "Tag", "Note"]


SENT = {
    ("quotes_rpc_encoded", "POST", "/get-quotes"): _symbols_array,
    ("library_wrapped", "POST", "/add-book"): _book_sent,
}


# -- the commands --------------------------------------------------------------------------------


def _run(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return int(exit_info.value.code or 0)


def test_scaffold_and_check_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`mediator scaffold WSDL -o FILE` writes a file `mediator check` accepts as it is, with
    service.wsdl relative to --wsdl-dir; it refuses to overwrite without --force."""
    target = tmp_path / "mappings" / "library.yaml"
    wsdl = str(CORPUS / "library_wrapped.wsdl")
    assert _run("scaffold", wsdl, "-o", str(target), "--wsdl-dir", str(CORPUS)) == 0
    assert "wsdl: library_wrapped.wsdl" in target.read_text()
    assert f"wrote {target} (7 route(s))" in capsys.readouterr().err
    assert _run("check", str(target), "--wsdl-dir", str(CORPUS)) == 0
    assert "ok: 7 route(s) in 1 file(s)" in capsys.readouterr().out
    assert _run("scaffold", wsdl, "-o", str(target)) == 1
    assert "use --force" in capsys.readouterr().err
    assert _run("scaffold", wsdl, "-o", str(target), "--force", "--naming", "keep") == 0


def test_scaffold_command_with_several_ports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several SOAP ports need a directory (one file per port) or a choice of port; the files
    written to a directory load together, their paths made unique."""
    wsdl = str(CORPUS / "tickets_multi_port.wsdl")
    assert _run("scaffold", wsdl) == 1
    err = capsys.readouterr().err
    assert "3 SOAP ports (Tickets/TicketsSoap, Tickets/TicketsSoap12, Agents/AgentsSoap)" in err
    out = tmp_path / "out"
    assert _run("scaffold", wsdl, "-o", f"{out}/") == 0
    assert len(list(out.glob("*.yaml"))) == 3
    assert _run("check", str(out), "--wsdl-dir", str(CORPUS)) == 0
    capsys.readouterr()
    assert _run("scaffold", wsdl, "--service", "Agents") == 0
    printed = capsys.readouterr().out
    assert "port: AgentsSoap" in printed and '- get: "/agents/{agentId}"' in printed
    assert _run("scaffold", wsdl, "--port", "Nope") == 1
    assert "no SOAP port 'Nope'; expected one of: Tickets/TicketsSoap" in capsys.readouterr().err


def test_scaffold_command_reports_an_unusable_wsdl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing WSDL, or one without a SOAP service, is one line on stderr and exit status 1."""
    assert _run("scaffold", str(tmp_path / "missing.wsdl")) == 1
    assert "missing.wsdl: cannot load the WSDL" in capsys.readouterr().err
    empty = tmp_path / "empty.wsdl"
    empty.write_text(
        '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:x"/>'
    )
    assert _run("scaffold", str(empty)) == 1
    assert "empty.wsdl: the WSDL declares no service with a SOAP port" in capsys.readouterr().err
