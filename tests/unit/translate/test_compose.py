"""The pure side of composition (mediator.translate.compose): step contexts, fan-out items
and the composed answer, joins included."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from mediator.errors import ClientError, ExtractError
from mediator.mapping.loader import load_mappings
from mediator.mapping.model import Route, Step
from mediator.translate.compose import compose_response, fan_out_items, step_context
from tests.conftest import WSDL_DIR

MAPPING = """\
version: 1
service:
  wsdl: orders.wsdl
  namespaces: {o: "urn:example:orders"}
routes:
  - get: /customers/{id}/overview
    params:
      path: {id: integer}
      query: {ids: string}
    steps:
      customer:
        operation: GetCustomer
        request: {args: {CustomerId: "{{ path.id }}"}}
      orders:
        operation: SearchOrders
        request: {args: {CustomerId: "{{ path.id }}"}}
      details:
        operation: GetOrder
        for_each: steps.orders.ids
        as: order_id
        max_items: 3
        request: {args: {OrderId: "{{ order_id }}"}}
      listed:
        operation: GetOrder
        for_each: body.ids
        request: {args: {OrderId: "{{ item }}"}}
    response:
      template: |
        {"who": steps.customer.name,
         "path": path.id,
         "orders": steps.orders.list
                   | join_by(steps.details, "id", into="detail")
                   | rename({"id": "orderId"}),
         "failed": errors | map(attribute="step") | list}
  - get: /plain/{id}
    params:
      path: {id: integer}
    steps:
      a: {operation: GetCustomer, request: {args: {CustomerId: "{{ path.id }}"}}}
      b: {operation: GetCustomer, optional: true, request: {args: {CustomerId: 1}}}
"""

CONTEXT = {"path": {"id": 7}, "query": {}, "body": {"ids": [1, 2]}, "headers": {}, "env": {}}


@pytest.fixture
def routes(registry, tmp_path: Path) -> tuple[Route, Route]:
    """The two composed routes of MAPPING, compiled."""
    path = tmp_path / "m.yaml"
    path.write_text(textwrap.dedent(MAPPING), encoding="utf-8")
    overview, plain = load_mappings(
        [path], describe=registry.describe, wsdl_dir=WSDL_DIR, environ={}
    ).routes
    return overview, plain


def _step(route: Route, name: str) -> Step:
    return next(step for step in route.steps if step.name == name)


def test_step_context_shows_only_needed_steps_and_the_item(routes):
    """A step sees the request's variables, the results of the steps it needs (not the
    others) and, per fan-out call, the item under its as-name."""
    overview, _ = routes
    details = _step(overview, "details")
    results = {"customer": {"name": "Ada"}, "orders": {"ids": [1]}}
    context = step_context(CONTEXT, details, results, 1001)
    assert context["steps"] == {"orders": {"ids": [1]}}
    assert context["order_id"] == 1001
    assert context["path"] == {"id": 7}
    assert "order_id" not in step_context(CONTEXT, details, results)


def test_fan_out_items_from_a_step(routes):
    """The items come from the expression; null is no items."""
    overview, _ = routes
    details = _step(overview, "details")
    context = step_context(CONTEXT, details, {"orders": {"ids": [3, 4]}})
    assert fan_out_items(details, context) == [3, 4]
    context = step_context(CONTEXT, details, {"orders": {"ids": None}})
    assert fan_out_items(details, context) == []


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ({"a": 1}, "expected a list, got dict"),
        ([1, 2, 3, 4], "4 items, more than max_items 3"),
    ],
)
def test_fan_out_over_bad_upstream_data_is_an_upstream_error(routes, ids, message):
    """A list from another step that is not a list, or too long, is the upstream's fault
    (502), never a crash or a silent truncation."""
    overview, _ = routes
    details = _step(overview, "details")
    context = step_context(CONTEXT, details, {"orders": {"ids": ids}})
    with pytest.raises(ExtractError, match=message):
        fan_out_items(details, context)


def test_fan_out_over_bad_request_data_is_a_client_error(routes):
    """A list from the request that is missing or not a list is the client's fault (400)."""
    overview, _ = routes
    listed = _step(overview, "listed")
    assert fan_out_items(listed, step_context(CONTEXT, listed, {})) == [1, 2]
    with pytest.raises(ClientError, match=r"for_each 'body\.ids'"):
        fan_out_items(listed, step_context({**CONTEXT, "body": {}}, listed, {}))
    with pytest.raises(ClientError, match="expected a list, got str"):
        fan_out_items(listed, step_context({**CONTEXT, "body": {"ids": "1,2"}}, listed, {}))


def test_compose_response_joins_nests_and_renames(routes):
    """The template sees every step, the request and errors; join_by nests each detail
    under its order, rename renames; values keep their types (decimals stay exact)."""
    overview, _ = routes
    results = {
        "customer": {"name": "Ada"},
        "orders": {"list": [{"id": 1, "total": Decimal("1.50")}, {"id": 2}]},
        "details": [{"id": 2, "lines": ["x"]}, {"id": 1, "lines": []}],
    }
    assert compose_response(overview, CONTEXT, results) == {
        "who": "Ada",
        "path": 7,
        "orders": [
            {"orderId": 1, "total": Decimal("1.50"), "detail": {"id": 1, "lines": []}},
            {"orderId": 2, "detail": {"id": 2, "lines": ["x"]}},
        ],
        "failed": [],
    }


def test_errors_are_visible_to_the_template_and_added_when_it_leaves_them_out(routes):
    """An answer object gets the errors list unless the template placed it itself; a failed
    step's result is null."""
    overview, plain = routes
    errors = [{"step": "b", "title": "Upstream Fault"}]
    assert compose_response(plain, CONTEXT, {"a": {"id": 7}}, errors) == {
        "a": {"id": 7},
        "b": None,
        "errors": errors,
    }
    results = {"customer": {"name": "Ada"}, "orders": {"list": []}, "details": None}
    answer = compose_response(overview, CONTEXT, results, [{"step": "details"}])
    assert answer["failed"] == ["details"] and answer["errors"] == [{"step": "details"}]
    assert compose_response(plain, CONTEXT, {"a": 1, "b": 2}) == {"a": 1, "b": 2}


def test_template_failure_is_an_unexpected_response(routes):
    """Reading into a missing or null result is a 502 (the answers did not fit), not a 500."""
    overview, _ = routes
    with pytest.raises(ExtractError, match="response template failed"):
        compose_response(overview, CONTEXT, {"customer": None, "orders": {"list": []}})
    with pytest.raises(ExtractError, match="response template failed"):
        compose_response(overview, CONTEXT, {"customer": {}, "orders": {"list": []}})
    with pytest.raises(ExtractError, match="join_by left: expected a list of objects"):
        compose_response(overview, CONTEXT, {"customer": {"name": "A"}, "orders": {"list": "no"}})
