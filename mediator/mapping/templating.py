"""The Jinja environments mapping templates are compiled in.

* XML templates (``request.body``, ``request.soap_header``) autoescape every value, so a JSON
  string can never inject markup.
* Data templates (``request.args``) render values that zeep serializes (and escapes) itself. A
  leaf that is one expression, ``{{ expr }}``, keeps its native type (a number stays a number,
  a list stays a list); anything else renders to a string.
* Conditions (``errors[].when``) and ``response.template`` are single Jinja expressions.

Every environment uses ``StrictUndefined``: a missing value is an error, never an empty element.
The ``int`` and ``float`` filters are strict too: ``"abc" | int`` is a client error, not ``0``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from mediator.errors import ClientError
from mediator.mapping.values import to_integer

__all__ = [
    "DATA_ENV",
    "XML_ENV",
    "CompiledExpression",
    "compile_expression",
    "compile_leaf",
    "single_expression",
]

_SINGLE = re.compile(r"^\s*\{\{-?(?P<expr>.*?)-?\}\}\s*$", re.DOTALL)


def _strict_int(value: Any) -> int:
    try:
        return to_integer(value if isinstance(value, bool | int | Decimal | float) else str(value))
    except ValueError:
        shown = repr(value) if isinstance(value, bool) else repr(str(value)[:40])
        raise ClientError(f"expected an integer, got {shown}") from None


def _strict_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ClientError(f"expected a number, got {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ClientError(f"expected a number, got {str(value)[:40]!r}") from None
    if not result.is_finite():
        raise ClientError(f"expected a finite number, got {str(value)[:40]!r}")
    return result


class _JsonEnvironment(Environment):
    """Templates mostly read parsed JSON: ``body.customer`` looks up the dict key first, and
    only then an attribute (Jinja's default order costs an exception per lookup)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _make_env(*, autoescape: bool) -> Environment:
    env = _JsonEnvironment(
        # Autoescaping is on for every XML template (XML_ENV); data templates render values
        # that zeep serializes and escapes itself.
        autoescape=autoescape,
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["int"] = _strict_int
    env.filters["float"] = _strict_decimal
    env.filters["decimal"] = _strict_decimal
    return env


XML_ENV = _make_env(autoescape=True)
DATA_ENV = _make_env(autoescape=False)

CompiledExpression = Callable[..., Any]


def single_expression(source: str) -> str | None:
    """Return the expression if ``source`` is exactly one ``{{ expr }}``, else ``None``."""
    match = _SINGLE.match(source)
    if not match:
        return None
    expr = match.group("expr")
    if "{{" in expr or "}}" in expr or "{%" in expr:
        return None
    return expr.strip()


def compile_expression(source: str, env: Environment = DATA_ENV) -> CompiledExpression:
    """Compile one Jinja expression; calling the result with a context returns a native value.

    Raises:
        jinja2.TemplateSyntaxError: when the expression does not compile.
    """
    return env.compile_expression(source, undefined_to_none=False)


def compile_leaf(source: str) -> CompiledExpression | Template:
    """Compile a data-template leaf: a native expression when it is one, else a text template."""
    expr = single_expression(source)
    if expr is not None:
        return compile_expression(expr)
    return DATA_ENV.from_string(source)
