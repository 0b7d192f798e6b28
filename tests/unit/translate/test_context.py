"""Template contexts with typed path and query parameters (mediator.translate.context)."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mediator.errors import ClientError
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import ParamSpec, Route
from mediator.translate.context import build_context, convert_param

WSDL_DIR = Path(__file__).resolve().parents[3] / "wsdl"

MAPPING = """\
version: 1
env: [TENANT]
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
  - get: /orders/{id}
    operation: GetOrder
    params:
      path: {id: integer}
      query:
        limit: {type: integer, default: 10}
        since: date
        verbose: {type: boolean, required: true}
        state: {enum: [open, shipped]}
    headers: [X-Tenant, Accept-Language]
    request:
      args: {OrderId: "{{ path.id }}"}
"""


@pytest.fixture(scope="module")
def route(registry, tmp_path_factory) -> Route:
    """The GET /orders/{id} route with typed path and query parameters."""
    path = tmp_path_factory.mktemp("context") / "svc.yaml"
    path.write_text(textwrap.dedent(MAPPING), encoding="utf-8")
    mappings = load_mappings(
        [path], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={"TENANT": "acme"}
    )
    return mappings.routes[0]


def _spec(kind: str, *, enum=None, location="path") -> ParamSpec:
    return ParamSpec(name="p", location=location, kind=kind, enum=enum)


def _bad(spec: ParamSpec, raw: str) -> str:
    with pytest.raises(ClientError) as info:
        convert_param(spec, raw)
    assert info.value.status == 400
    return info.value.detail


# -- convert_param ---------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "value"), [("42", 42), ("-7", -7), ("+3", 3), ("007", 7)])
def test_integer_param(raw, value):
    """Integer parameters become ints."""
    result = convert_param(_spec("integer"), raw)
    assert result == value
    assert type(result) is int


@pytest.mark.parametrize("raw", ["4.2", "abc", "", " 1", "5\n", "1e3", "1" * 31, "٣", "１"])
def test_integer_param_rejects(raw):
    """Anything but up to 30 ASCII digits with an optional sign is rejected, in full."""
    assert _bad(_spec("integer"), raw) == f"path parameter 'p': expected an integer, got {raw!r}"


def test_rejection_shows_at_most_60_characters():
    """The rejected value is cut to 60 characters in the message."""
    assert (
        _bad(_spec("integer"), "x" * 100)
        == f"path parameter 'p': expected an integer, got {'x' * 60!r}"
    )


@pytest.mark.parametrize(("raw", "digits"), [("1.50", "1.50"), ("-3", "-3"), ("2e3", "2E+3")])
def test_number_param_is_exact_decimal(raw, digits):
    """Number parameters become exact Decimals."""
    result = convert_param(_spec("number", location="query"), raw)
    assert isinstance(result, Decimal)
    assert str(result) == digits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc", "a number"),
        ("", "a number"),
        ("NaN", "a finite number"),
        ("Infinity", "a finite number"),
    ],
)
def test_number_param_rejects(raw, expected):
    """Non-numbers and non-finite numbers are rejected."""
    assert _bad(_spec("number", location="query"), raw) == (
        f"query parameter 'p': expected {expected}, got {raw!r}"
    )


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("1", True), ("false", False), ("0", False)]
)
def test_boolean_param(raw, value):
    """true/1 and false/0 become booleans."""
    assert convert_param(_spec("boolean"), raw) is value


@pytest.mark.parametrize("raw", ["True", "yes", "on", ""])
def test_boolean_param_rejects(raw):
    """Other spellings of booleans are rejected."""
    assert _bad(_spec("boolean"), raw) == f"path parameter 'p': expected true or false, got {raw!r}"


def test_date_param_stays_a_string():
    """A valid date stays the string given."""
    assert convert_param(_spec("date"), "2024-02-29") == "2024-02-29"


@pytest.mark.parametrize("raw", ["2024-02-30", "2024-13-01", "yesterday", "20240131", "2024-W05-3"])
def test_date_param_rejects(raw):
    """Impossible dates and forms XSD does not accept are rejected."""
    assert _bad(_spec("date"), raw) == f"path parameter 'p': expected an ISO 8601 date, got {raw!r}"


def test_datetime_param():
    """A valid dateTime stays the string given."""
    assert convert_param(_spec("datetime"), "2024-01-31T10:00:00Z") == "2024-01-31T10:00:00Z"


@pytest.mark.parametrize("raw", ["2024-01-31", "2024-01-31 10:00:00", "2024-01-31T25:00:00"])
def test_datetime_param_rejects(raw):
    """Date-only, space-separated and out-of-range dateTimes are rejected."""
    assert (
        _bad(_spec("datetime"), raw)
        == f"path parameter 'p': expected an ISO 8601 datetime, got {raw!r}"
    )


def test_string_param_is_unchanged():
    """String parameters pass unchanged, whitespace included."""
    assert convert_param(_spec("string"), " a b ") == " a b "


def test_enum_param():
    """A value in the enumeration passes; others are rejected, listing the allowed ones."""
    spec = _spec("string", enum=("open", "shipped"), location="query")
    assert convert_param(spec, "open") == "open"
    assert _bad(spec, "lost") == "query parameter 'p': expected one of open, shipped, got 'lost'"


def test_enum_compares_typed_values():
    """An integer enumeration is checked against the converted integer."""
    spec = _spec("integer", enum=(1, 2))
    assert convert_param(spec, "2") == 2
    assert _bad(spec, "3") == "path parameter 'p': expected one of 1, 2, got '3'"


# -- build_context -------------------------------------------------------------------------


def test_context_holds_typed_values(route):
    """The context has typed path and query values, allowed headers, env and the body."""
    context = build_context(
        route,
        path={"id": "42"},
        query={"limit": "5", "since": "2024-01-01", "verbose": "1", "state": "open"},
        body={"x": 1},
        headers={"x-tenant": "t1", "authorization": "secret"},
    )
    assert context == {
        "path": {"id": 42},
        "query": {"limit": 5, "since": "2024-01-01", "verbose": True, "state": "open"},
        "body": {"x": 1},
        "headers": {"x-tenant": "t1"},
        "env": {"TENANT": "acme"},
    }


def test_missing_optional_query_params_take_their_default(route):
    """Missing optional query parameters take their default, or None without one."""
    context = build_context(
        route, path={"id": "1"}, query={"verbose": "false"}, body=None, headers={}
    )
    assert context["query"] == {"limit": 10, "since": None, "verbose": False, "state": None}


def test_missing_required_query_param(route):
    """A missing required query parameter is a client error naming it."""
    with pytest.raises(ClientError) as info:
        build_context(route, path={"id": "1"}, query={}, body=None, headers={})
    assert info.value.detail == "query parameter 'verbose' is required"


def test_missing_path_param(route):
    """A missing path parameter is a client error naming it."""
    with pytest.raises(ClientError) as info:
        build_context(route, path={}, query={"verbose": "1"}, body=None, headers={})
    assert info.value.detail == "path parameter 'id' is required"


def test_bad_path_param_type(route):
    """A path parameter of the wrong type is a client error."""
    with pytest.raises(ClientError) as info:
        build_context(route, path={"id": "abc"}, query={"verbose": "1"}, body=None, headers={})
    assert info.value.detail == "path parameter 'id': expected an integer, got 'abc'"


def test_bad_query_enum(route):
    """A query value outside its enumeration is a client error."""
    with pytest.raises(ClientError) as info:
        build_context(
            route, path={"id": "1"}, query={"verbose": "1", "state": "x"}, body=None, headers={}
        )
    assert info.value.detail == "query parameter 'state': expected one of open, shipped, got 'x'"


def test_undeclared_query_params_are_ignored(route):
    """Query parameters the route does not declare do not reach the templates."""
    context = build_context(
        route, path={"id": "1"}, query={"verbose": "1", "debug": "1"}, body=None, headers={}
    )
    assert "debug" not in context["query"]


def test_extra_values_are_added(route):
    """extra adds further variables to the context."""
    context = build_context(
        route,
        path={"id": "1"},
        query={"verbose": "1"},
        body=None,
        headers={},
        extra={"request_id": "r-1"},
    )
    assert context["request_id"] == "r-1"
