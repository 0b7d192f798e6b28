"""The shape of problem responses is part of the API: locked here."""

from __future__ import annotations

import json

from mediator.gateway.problems import PROBLEM_TYPES, problem_response


def test_problem_shape_is_locked() -> None:
    """A problem has type, title, status, detail, instance, request_id and extensions, nothing else."""
    response = problem_response(
        "upstream-fault",
        404,
        "Order not found",
        detail="Order 9 not found",
        request_id="r-1",
        instance="/orders/9",
        fault={"code": "Client"},
        pointer=None,
    )
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert response.body is not None
    assert json.loads(bytes(response.body)) == {  # type: ignore[arg-type]
        "type": "urn:mediator:problem:upstream-fault",
        "title": "Order not found",
        "status": 404,
        "detail": "Order 9 not found",
        "instance": "/orders/9",
        "request_id": "r-1",
        "fault": {"code": "Client"},
    }


def test_every_problem_type_has_a_description() -> None:
    """Each problem slug explains itself in one sentence."""
    assert all(text.endswith(".") and len(text) > 20 for text in PROBLEM_TYPES.values())
