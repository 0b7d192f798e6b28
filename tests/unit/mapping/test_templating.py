"""Template shortcuts: path expressions and output escaping yield exactly what Jinja yields."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from jinja2 import Environment, StrictUndefined, Template, Undefined
from markupsafe import Markup, escape

from mediator.mapping.joins import COMPOSE_ENV
from mediator.mapping.templating import (
    DATA_ENV,
    XML_ENV,
    PathExpression,
    compile_expression,
    escape_output,
)
from mediator.mapping.values import to_integer

CONTEXT: dict[str, Any] = {
    "path": {"id": 42, "code": "A-1"},
    "query": {"limit": "200", "empty": None, "flag": True},
    "body": {
        "reference": "PO-1",
        "customer": {"id": "7", "name": "Ada <Lovelace> & co", "tags": ["x", "y"]},
        "lines": [{"sku": "S1", "quantity": 2, "unitPrice": Decimal("9.50")}],
        "qty": "12",
        "price": "1.50",
        "text": "abc",
        "items": "an item called items",
        "nothing": None,
        "zero": 0,
        "flag": False,
        "nested": {"keys": [1, 2]},
    },
    "headers": {"x-tenant": "acme"},
    "env": {"TENANT": "acme"},
    "steps": {"order": {"id": 1}},
    "item": {"sku": "S1"},
}

PATHS = [
    "path.id",
    "path.code",
    "query.limit",
    "query.empty",
    "query.flag",
    "query.missing",
    "body",
    "body.reference",
    "body.customer.name",
    "body.customer.tags",
    "body.customer.tags.0",
    "body.customer.tags.5",
    "body.customer.tags.count",
    "body.customer.tags.name",
    'body["customer"]["name"]',
    "body['lines'][0]['sku']",
    "body.lines[0].unitPrice",
    "body.lines.sku",
    "body.missing",
    "body.missing.deeper",
    "body.nothing.deeper",
    "body.items",
    "body.customer.items",
    "body.customer.get",
    "body.text.upper",
    "body.text.missing",
    "body.zero.real",
    "body.nested.keys",
    "body.qty | int",
    "body.qty | int | string",
    "body.price | decimal",
    "body.price | float",
    "body.text | int",
    "body.flag | int",
    "body.missing | int",
    "body.nothing | decimal",
    "body.customer.name | upper",
    "body.customer.name | length",
    "headers['x-tenant']",
    "env.TENANT",
    "steps.order.id",
    "item.sku",
    "range",
]

NOT_PATHS = [
    "self",
    "loop.x",
    "body.customer.tags | first",  # filters that take the environment or context
    "body.customer | list",
    "path.id + 1",
    "body.customer.name | default('none')",
    "body.text | replace('a', 'b')",
    "body.customer[path.code]",
    "body.customer.name ~ '!'",
    "body.lines[0:1]",
    "body.customer.get('name')",
    "'literal'",
    "[path.id]",
]

CONTEXTS: list[dict[str, Any]] = [
    CONTEXT,
    {**CONTEXT, "body": None},
    {**CONTEXT, "body": []},
    {**CONTEXT, "body": "a string body"},
    {**CONTEXT, "body": {"customer": None, "qty": "x1"}},
    {key: value for key, value in CONTEXT.items() if key != "body"},
    {"range": "shadows the global", "loop": {"x": 1}},
]


def _outcome(evaluate: Any) -> tuple[Any, ...]:
    """What an evaluation produced: a value, an undefined (with its message), or an error."""
    try:
        value = evaluate()
    except Exception as exc:
        return ("error", type(exc), str(exc))
    if isinstance(value, Undefined):
        try:
            str(value)
        except Exception as exc:
            return ("undefined", type(value), type(exc), str(exc))
        return ("undefined", type(value))
    if callable(value):  # bound methods compare by their object and function
        return ("callable", getattr(value, "__self__", None), getattr(value, "__name__", None))
    return ("value", type(value), value)


@pytest.mark.parametrize("env", [DATA_ENV, XML_ENV, COMPOSE_ENV], ids=["data", "xml", "compose"])
@pytest.mark.parametrize("source", PATHS)
def test_path_expressions_match_jinja(env: Environment, source: str) -> None:
    """A variable path compiles to a PathExpression whose value, undefined result or error
    is Jinja's own, in every context (missing keys, None, lists, strings, methods,
    filters, an absent root variable)."""
    fast = compile_expression(source, env)
    assert isinstance(fast, PathExpression)
    jinja = env.compile_expression(source, undefined_to_none=False)
    for context in CONTEXTS:
        expected = _outcome(lambda context=context: jinja(**context))
        assert _outcome(lambda context=context: fast(**context)) == expected, context
        assert _outcome(lambda context=context: fast.evaluate(context)) == expected, context


@pytest.mark.parametrize("source", NOT_PATHS)
def test_other_expressions_stay_with_jinja(source: str) -> None:
    """Anything but a variable path through argument-less filters, and the names Jinja's
    generated code binds itself (``self``), are left to Jinja."""
    assert not isinstance(compile_expression(source), PathExpression)


def test_filters_of_the_environment_are_used() -> None:
    """A filter is the compiling environment's: the strict ``int`` refuses text."""
    fast = compile_expression("body.text | int")
    with pytest.raises(Exception, match="expected an integer, got 'abc'"):
        fast(**CONTEXT)


class _JsonFirst(Environment):
    """Dict keys before attributes, as XML_ENV reads them, the plain way."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _reference_env() -> Environment:
    """Plain Jinja with the same settings and filters, without the shortcuts."""
    env = _JsonFirst(
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(XML_ENV.filters)
    return env


TEMPLATES = [
    "<a>{{ body.customer.name }}</a><b>{{ path.id }}</b><c>{{ body.lines[0].unitPrice }}</c>",
    '<a x="{{ body.customer.name }}">{{ body.text }}</a>',
    "{% for line in body.lines %}<l>{{ line.sku }}{{ line.quantity | int }}</l>{% endfor %}",
    "{% if body.missing is defined %}<m/>{% endif %}{{ body.nothing }}{{ query.flag }}",
    "{{ '<raw/>' | safe }}{{ body.text | safe }}{{ '<x>' | e }}",
    "{% set block %}<s>{{ body.customer.name }}</s>{% endset %}{{ block }}{{ block | upper }}",
    "{% filter upper %}<f>{{ body.customer.name }}</f>{% endfilter %}",
    "{% macro m(v) %}<m>{{ v }}</m>{% endmacro %}{{ m(body.customer.name) }}",
    "{% macro c() %}<c>{{ caller() }}</c>{% endmacro %}{% call c() %}{{ body.text }}&amp;{% endcall %}",
    "{{ body.customer.name ~ '<' }}{{ body.customer.tags | join('&') }}{{ 1.5 }}{{ none }}",
    "{{ body.customer.name | replace('&', '+') }}{{ body.price | decimal }}{{ body.items }}",
    "{{ body.text.upper() }}{{ body.customer.tags.count('x') }}{{ body.nested.keys | list }}",
    "{{ body.customer.get('name') }}{{ body.zero.real }}{{ body.lines[0].unitPrice }}",
    "{% for k, v in body.customer.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for l in body.lines recursive %}{{ l.sku }}{{ loop(l.children or []) }}{% endfor %}",
    "{% macro m(c) %}{% for t in c.tags %}{{ t.upper() }}{% endfor %}{% endmacro %}"
    "{{ m(body.customer) }}{{ m(body.customer).lower() }}",
    "{% set ns = namespace(n=0) %}{% for l in body.lines %}{% set ns.n = ns.n + l.quantity %}"
    "{% endfor %}{{ ns.n }}",
    "{{ body.missing is defined }}{{ body.nothing.deeper is defined }}{{ 'abc'.upper() }}",
    "{{ body.nothing.deeper }}",
    "{{ body.missing.deeper }}",
    "{{ body.text.missing }}",
    "{{ body.customer.tags.name }}",
    "{{ nobody.name }}",
]


@pytest.mark.parametrize("source", TEMPLATES)
def test_xml_templates_render_what_jinja_renders(source: str) -> None:
    """Templates render what plain Jinja renders, or fail the same way: output escaping
    writes markupsafe's text (plain values escaped once, Markup from safe filters, blocks,
    macros and caller as it is), attribute steps into JSON read the dict directly and
    anything else the way Jinja does."""
    reference = _reference_env().from_string(source)
    template = XML_ENV.from_string(source)
    for context in CONTEXTS:
        expected = _outcome(lambda context=context: reference.render(context))
        assert _outcome(lambda context=context: template.render(context)) == expected, context


def test_undefined_output_raises_as_in_jinja() -> None:
    """An undefined value written to the output is the same error."""
    source = "<a>{{ body.missing }}</a>"
    expected = _outcome(lambda: _reference_env().from_string(source).render(CONTEXT))
    assert _outcome(lambda: XML_ENV.from_string(source).render(CONTEXT)) == expected
    assert expected[0] == "error"


class _Html:
    def __html__(self) -> str:
        return "<b>html</b>"

    def __str__(self) -> str:
        return "<b>str</b>"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain",
        "<a href=\"x\">'&amp;'</a>",
        "ünïcödé \u2028 \t\n",
        Markup("<b>safe</b>"),
        _Html(),
        42,
        -7,
        True,
        None,
        1.5,
        Decimal("-1.50E+3"),
        Decimal("NaN"),
        ["<list>"],
        {"<k>": "<v>"},
    ],
)
def test_escape_output_writes_markupsafes_text(value: Any) -> None:
    """escape_output(v) has the text of markupsafe.escape(v) for every kind of value."""
    assert str(escape_output(value)) == str(escape(value))


def test_json_getattr_falls_back_like_jinja_on_a_missing_key() -> None:
    """A dict without the key yields its attribute (a method) or the same undefined."""
    reference = Environment(autoescape=True, undefined=StrictUndefined)
    data = {"a": 1}
    assert XML_ENV.getattr(data, "keys") == reference.getattr(data, "keys")
    missing, expected = XML_ENV.getattr(data, "zzz"), reference.getattr(data, "zzz")
    assert isinstance(missing, StrictUndefined)
    assert missing._undefined_message == expected._undefined_message


def test_template_contexts_are_jinjas() -> None:
    """A render's context holds what Jinja's own new_context puts there: the template's
    globals over the environment's (read when rendering), then the variables."""
    template = XML_ENV.from_string("{{ x }}{{ g }}", globals={"g": "template", "range": "tg"})
    variables = {"x": 1, "g": "variable", "dict": "shadowed"}
    for args in [(variables,), (None,), ({},)]:
        ours, jinjas = template.new_context(*args), Template.new_context(template, *args)
        assert list(ours.parent.items()) == list(jinjas.parent.items())
        assert ours.globals_keys == jinjas.globals_keys
        assert (ours.vars, ours.name, ours.blocks) == (jinjas.vars, jinjas.name, jinjas.blocks)
    with pytest.raises(TypeError):
        template.new_context({1: "not a name"})
    with pytest.raises(TypeError):
        Template.new_context(template, {1: "not a name"})
    XML_ENV.globals["late"] = "seen"
    try:
        assert template.new_context({}).parent["late"] == "seen"
    finally:
        del XML_ENV.globals["late"]
    assert template.render(x=1) == "1template"


def _reference_int(value: Any) -> Any:
    try:
        return to_integer(value if isinstance(value, bool | int | Decimal | float) else str(value))
    except ValueError:
        shown = repr(value) if isinstance(value, bool) else repr(str(value)[:40])
        return ("error", f"expected an integer, got {shown}")


def _reference_decimal(value: Any) -> Any:
    if isinstance(value, bool):
        return ("error", f"expected a number, got {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return ("error", f"expected a number, got {str(value)[:40]!r}")
    if not result.is_finite():
        return ("error", f"expected a finite number, got {str(value)[:40]!r}")
    return result


def _filtered(name: str, value: Any) -> Any:
    try:
        return DATA_ENV.filters[name](value)
    except Exception as exc:
        return ("error", str(exc))


@pytest.mark.parametrize(
    "value",
    [0, -5, 10**40, True, False, 1.0, 1.5, "12", " 7 ", "x", None, [1]]
    + [Decimal(text) for text in ["1", "1.50", "-0", "1E+3", "1.5E-7", "NaN", "sNaN", "-Infinity"]],
)
def test_number_filters_give_what_they_gave(value: Any) -> None:
    """The int and decimal filters return the same value (and digits), or the same error,
    with their shortcuts for int and finite Decimal."""
    got, expected = _filtered("int", value), _reference_int(value)
    assert (got, type(got)) == (expected, type(expected))
    got, expected = _filtered("decimal", value), _reference_decimal(value)
    assert (str(got), type(got)) == (str(expected), type(expected))
