"""The JSON Schema of mapping files (mediator.mapping.jsonschema, ``mediator schema``)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mediator.cli import main
from mediator.cli.schema import render
from mediator.errors import MappingError
from mediator.mapping import loader, resilience, response_plan
from mediator.mapping.jsonschema import mapping_schema, undescribed_keys
from mediator.mapping.loader import load_mappings
from mediator.mapping.scaffold import ScaffoldOptions, scaffold_mappings
from mediator.mapping.yamlsource import load_yaml
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO, WSDL_DIR

SCHEMA_FILE = REPO / "schema" / "mapping.schema.json"
VALIDATOR = Draft202012Validator(mapping_schema())
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__"}


def _mapping_files() -> list[Path]:
    """Every YAML file of the repository that is a mapping file (version, service, routes)."""
    found = []
    for path in sorted(REPO.rglob("*.y*ml")):
        if SKIPPED_DIRS & set(path.relative_to(REPO).parts):
            continue
        data = load_yaml(path.read_text(encoding="utf-8"), str(path)).data
        if isinstance(data, dict) and {"version", "service", "routes"} <= set(data):
            found.append(path)
    return found


MAPPING_FILES = _mapping_files()


def test_committed_schema_is_current() -> None:
    """schema/mapping.schema.json is exactly what `mediator schema` prints (regenerate it with
    `mediator schema -o schema/mapping.schema.json` after changing the format)."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render()


def test_schema_command_prints_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`mediator schema` prints the schema; -o writes it."""
    with pytest.raises(SystemExit) as exit_info:
        main(["schema"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == render()
    with pytest.raises(SystemExit):
        main(["schema", "-o", str(tmp_path / "s.json")])
    assert json.loads((tmp_path / "s.json").read_text()) == mapping_schema()


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The schema itself validates against the 2020-12 metaschema."""
    Draft202012Validator.check_schema(mapping_schema())


def test_every_key_the_loader_accepts_is_described() -> None:
    """Each block's properties are exactly the loader's keys, each with a real fragment."""
    defs = mapping_schema()["$defs"]
    assert undescribed_keys() == []
    assert set(mapping_schema()["properties"]) == loader._TOP_KEYS
    assert set(defs["service"]["properties"]) == loader._SERVICE_KEYS
    assert set(defs["route"]["properties"]) == loader._ROUTE_KEYS
    assert set(defs["request"]["properties"]) == loader._REQUEST_KEYS
    assert set(defs["error"]["properties"]) == loader._ERROR_KEYS
    assert set(defs["response"]["properties"]) == response_plan._RESPONSE_KEYS
    assert set(defs["field"]["anyOf"][1]["properties"]) == response_plan._FIELD_KEYS
    assert set(defs["retries"]["properties"]) == resilience.RETRY_KEYS
    assert set(defs["circuit_breaker"]["properties"]) == resilience.BREAKER_KEYS


def test_bundled_mappings_are_found() -> None:
    """The repository's mapping files are all picked up (the example among them)."""
    assert REPO / "mappings" / "orders.yaml" in MAPPING_FILES
    assert len(MAPPING_FILES) >= 5


@pytest.mark.parametrize("path", MAPPING_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_bundled_mapping_validates(path: Path) -> None:
    """Every mapping file in the repository is valid against the schema."""
    data = load_yaml(path.read_text(encoding="utf-8"), str(path)).data
    assert [e.message for e in VALIDATOR.iter_errors(data)] == []


@pytest.mark.parametrize("naming", ["camel", "keep"])
def test_scaffolded_mappings_validate(registry: WsdlRegistry, naming: str) -> None:
    """What `mediator scaffold` writes for the corpus is valid against the schema."""
    for wsdl in sorted((REPO / "tests" / "wsdl" / "corpus").glob("*.wsdl")):
        if wsdl.stem == "large_erp":
            continue  # generated; its shapes are those of the others
        options = ScaffoldOptions(wsdl=wsdl.name, naming=naming)
        for file in scaffold_mappings(registry.describe(wsdl), options):
            data = load_yaml(file.text, file.name).data
            assert [e.message for e in VALIDATOR.iter_errors(data)] == [], file.name


BASE: dict[str, Any] = {
    "version": 1,
    "service": {"wsdl": "orders.wsdl", "namespaces": {"o": "urn:example:orders"}},
    "routes": [
        {
            "get": "/orders/{id}",
            "operation": "GetOrder",
            "params": {"path": {"id": "integer"}},
            "request": {"args": {"OrderId": "{{ path.id }}"}},
            "response": {"root": "o:GetOrderResponse/o:Order", "fields": {"id": "o:Id"}},
        }
    ],
}


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    node: Any = document
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


_DELETE = object()

INVALID = {
    "unknown top key": (("extra",), 1),
    "unknown version": (("version",), 2),
    "missing routes": (("routes",), _DELETE),
    "unknown service key": (("service", "wsdl_dir"), "x"),
    "bad timeout": (("service", "timeout"), "5 parsecs"),
    "too many retries": (("service", "retries"), 11),
    "bad namespace prefix": (("service", "namespaces"), {"xmlns": "urn:x"}),
    "two methods": (("routes", 0, "post"), "/orders"),
    "no operation": (("routes", 0, "operation"), _DELETE),
    "relative path": (("routes", 0, "get"), "orders/{id}"),
    "unknown param type": (("routes", 0, "params", "path", "id"), "uuid"),
    "args and body": (("routes", 0, "request", "body"), "<o:GetOrder/>"),
    "non-2xx status": (("routes", 0, "response", "status"), 404),
    "unknown field type": (
        ("routes", 0, "response", "fields", "id"),
        {"xpath": "o:Id", "type": "int"},
    ),
    "field without xpath": (("routes", 0, "response", "fields", "id"), {"type": "integer"}),
    "empty fields": (("routes", 0, "response", "fields"), {}),
    "error status 302": (("routes", 0, "errors"), [{"when": "true", "status": 302}]),
    "unknown defaults": (("defaults",), {"naming": "snake"}),
    "unknown mode": (("routes", 0, "mode"), "later"),
    "steps and operation": (("routes", 0, "steps"), {"order": {"operation": "GetOrder"}}),
    "step without operation": (("routes", 0), {"get": "/x", "steps": {"order": {"request": {}}}}),
    "rate limit without rate": (("routes", 0, "rate_limit"), {"burst": 2}),
    "unknown auth": (("routes", 0, "auth"), "sometimes"),
    "clear password": (("service", "credentials"), {"basic": {"username": "u", "password": "p"}}),
    "reserved step name": (
        ("routes", 0),
        {"get": "/x", "steps": {"body": {"operation": "GetOrder"}}},
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_schema_and_loader_reject_the_same_mistakes(
    registry: WsdlRegistry, tmp_path: Path, case: str
) -> None:
    """A mistake the schema flags is one the loader rejects too (and the unchanged base
    document passes both)."""
    path, value = INVALID[case]
    document = _with(path, value)
    assert not VALIDATOR.is_valid(document)
    target = tmp_path / "m.yaml"
    target.write_text(json.dumps(document))
    with pytest.raises(MappingError):
        load_mappings([target], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})


VALID = {
    "variable timeout": (("service", "timeout"), "${T:-5s}"),
    "numeric timeout": (("service", "timeout"), 2.5),
    "retries policy": (("service", "retries"), {"max": 2, "backoff": "100ms", "budget": "20%"}),
    "breaker off": (("service", "circuit_breaker"), False),
    "param mapping": (("routes", 0, "params", "path", "id"), {"type": "integer", "required": True}),
    "field mapping": (
        ("routes", 0, "response", "fields", "id"),
        {"xpath": "o:Id", "type": "string", "list": True},
    ),
    "idempotent route": (("routes", 0, "idempotent"), True),
    "async route": (("routes", 0, "mode"), "both"),
    "public route": (("routes", 0, "auth"), "public"),
    "rate limits": (
        ("routes", 0, "rate_limit"),
        [{"rate": "10/s"}, {"rate": "600/min", "per": "route"}],
    ),
    "tls": (("service", "tls"), {"verify": True}),
    "composed route": (
        ("routes", 0),
        {
            "get": "/orders/{id}/twice",
            "params": {"path": {"id": "integer"}},
            "steps": {
                "first": {
                    "operation": "GetOrder",
                    "request": {"args": {"OrderId": "{{ path.id }}"}},
                },
                "again": {
                    "operation": "GetOrder",
                    "for_each": "[steps.first]",
                    "as": "order",
                    "concurrency": 2,
                    "request": {"args": {"OrderId": "{{ path.id }}"}},
                },
            },
            "response": {"template": "{'first': steps.first}", "status": 200},
        },
    ),
}


@pytest.mark.parametrize("case", sorted(VALID))
def test_schema_and_loader_accept_the_same_forms(
    registry: WsdlRegistry, tmp_path: Path, case: str
) -> None:
    """The alternative forms of a value the loader accepts are valid against the schema."""
    path, value = VALID[case]
    document = _with(path, value)
    assert [e.message for e in VALIDATOR.iter_errors(document)] == []
    target = tmp_path / "m.yaml"
    target.write_text(json.dumps(document))
    load_mappings([target], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={})
