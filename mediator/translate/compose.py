"""The pure side of composed routes: what each step's templates see, the items a fan-out
step runs over, and the route's answer built from every step's result.

Nothing here calls anything; the gateway's composer runs the steps and hands the results in.
The join filters the response template may use (``join_by``, ``index_by``, ``rename``,
``pick``, ``omit``) are compiled into it at load (:mod:`mediator.mapping.steps`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jinja2 import TemplateError, Undefined, UndefinedError

from mediator.errors import ClientError, ExtractError, MediatorError
from mediator.mapping.model import Route, Step

__all__ = ["compose_response", "fan_out_items", "step_context"]

_MAX_DEPTH = 64


def step_context(
    base: Mapping[str, Any], step: Step, results: Mapping[str, Any], *item: Any
) -> dict[str, Any]:
    """The variables a step's templates see: the request's (``path``, ``query``, ``body``,
    ``headers``, ``env``), ``steps`` with the results of the steps it needs and, for one call
    of a fan-out step, the item under the step's ``as`` name."""
    context = {**base, "steps": {name: results.get(name) for name in step.needs}}
    if item:
        context[step.item] = item[0]
    return context


def _defined(value: Any, depth: int = 0) -> Any:
    """``value``, unless it is or holds an undefined value (an expression returns
    ``Undefined`` rather than raising, e.g. ``{"name": steps.customer.name}`` when the
    customer is ``null``).

    Raises:
        UndefinedError: naming what is missing.
    """
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises UndefinedError here, naming what is missing
        raise UndefinedError("a value is undefined")
    if depth < _MAX_DEPTH:
        if isinstance(value, dict):
            for item in value.values():
                _defined(item, depth + 1)
        elif isinstance(value, list | tuple):
            for item in value:
                _defined(item, depth + 1)
    return value


def fan_out_items(step: Step, context: Mapping[str, Any]) -> list[Any]:
    """The items a ``for_each`` step runs over, from its expression (``null`` is no item).

    Raises:
        ClientError: the list comes from the request only and is missing, not a list or
            longer than ``max_items``.
        ExtractError: the same, when the list comes from another step's result (the
            upstream's answer does not fit the mapping).
    """
    failure: type[MediatorError] = ExtractError if step.needs else ClientError
    if step.for_each is None:
        raise TypeError(f"step {step.name!r} has no for_each")
    where = f"step {step.name!r}: for_each {step.for_each_source!r}"
    try:
        value = _defined(step.for_each(**context))
    except UndefinedError as exc:
        raise failure(f"{where}: {exc.message or 'a value is undefined'}") from None
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise failure(f"{where} failed: {exc}") from None
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise failure(f"{where}: expected a list, got {type(value).__name__}")
    if len(value) > step.max_items:
        raise failure(f"{where}: {len(value)} items, more than max_items {step.max_items}")
    return list(value)


def compose_response(
    route: Route,
    context: Mapping[str, Any],
    results: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]] = (),
) -> Any:
    """The composed route's answer: its ``response.template`` over ``steps`` (every step's
    result; ``null`` for an optional step that failed or was skipped), ``errors`` and the
    request's variables. When ``errors`` is not empty and the answer is an object without an
    ``errors`` member, they are added as ``errors``.

    Raises:
        ExtractError: the template failed (for instance it read into a ``null`` result).
    """
    template = route.response.template
    if template is None:
        raise TypeError(f"route {route.name!r} is not composed")
    steps = {step.name: results.get(step.name) for step in route.steps}
    try:
        data = _defined(template(**{**context, "steps": steps, "errors": list(errors)}))
    except UndefinedError as exc:
        raise ExtractError(f"response template failed: {exc.message}") from None
    except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ExtractError(f"response template failed: {exc}") from None
    if errors and isinstance(data, dict) and "errors" not in data:
        data = {**data, "errors": list(errors)}
    return data
