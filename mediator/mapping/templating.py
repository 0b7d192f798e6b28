"""The Jinja environments mapping templates are compiled in.

* XML templates (``request.body``, ``request.soap_header``) autoescape every value, so a JSON
  string can never inject markup.
* Data templates (``request.args``) render values that zeep serializes (and escapes) itself. A
  leaf that is one expression, ``{{ expr }}``, keeps its native type (a number stays a number,
  a list stays a list); anything else renders to a string.
* Conditions (``errors[].when``) and ``response.template`` are single Jinja expressions.

Every environment uses ``StrictUndefined``: a missing value is an error, never an empty element.
The ``int`` and ``float`` filters are strict too: ``"abc" | int`` is a client error, not ``0``.

Shortcuts keep rendering cheap without changing what it yields (tests compare each with
plain Jinja):

* an expression that is a variable path (``path.id``, ``body.customer["name"]``), optionally
  through filters without arguments (``body.qty | int``), compiles into a
  :class:`PathExpression`: the same ``getattr``/``getitem``/filter calls Jinja's generated code
  makes, without a template context per call; anything else, or a variable the context lacks,
  goes through Jinja;
* a template's context is built from the dicts behind its globals, not key by key;
* ``obj.name`` compiles to an inline dict lookup when ``obj`` is a dict holding ``name``;
* templates write a plain string's escaped text without wrapping it in ``Markup`` first
  (:func:`escape_output`), and :func:`render_escaped` tells whether any value was markup
  written as it is (what :mod:`mediator.mapping.wellformed` needs to know).
"""

from __future__ import annotations

import re
import threading
from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from decimal import Decimal, InvalidOperation
from types import CodeType
from typing import Any

from jinja2 import Environment, StrictUndefined, Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.parser import Parser
from jinja2.runtime import Context
from markupsafe import escape

from mediator.errors import ClientError
from mediator.mapping.values import to_integer

try:  # markupsafe's own C escaper for plain strings (private: fall back to str.replace)
    from markupsafe._speedups import _escape_inner as _escape_text
except ImportError:  # pragma: no cover - other markupsafe versions

    def _escape_text(text: str, /) -> str:
        return (
            text.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )


__all__ = [
    "DATA_ENV",
    "XML_ENV",
    "CompiledExpression",
    "PathExpression",
    "compile_expression",
    "compile_leaf",
    "escape_output",
    "escaped_source",
    "render_escaped",
    "single_expression",
]

_SINGLE = re.compile(r"^\s*\{\{-?(?P<expr>.*?)-?\}\}\s*$", re.DOTALL)


def _strict_int(value: Any) -> int:
    if type(value) is int:  # what to_integer returns for it, without its checks
        return value
    try:
        return to_integer(value if isinstance(value, bool | int | Decimal | float) else str(value))
    except ValueError:
        shown = repr(value) if isinstance(value, bool) else repr(str(value)[:40])
        raise ClientError(f"expected an integer, got {shown}") from None


def _strict_decimal(value: Any) -> Decimal:
    if type(value) is Decimal and value.is_finite():  # its own text would give it back
        return value
    if isinstance(value, bool):
        raise ClientError(f"expected a number, got {value!r}")
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise ClientError(f"expected a number, got {str(value)[:40]!r}") from None
    if not result.is_finite():
        raise ClientError(f"expected a finite number, got {str(value)[:40]!r}")
    return result


_MISSING: Any = object()


def escape_output(value: Any) -> Any:
    """What an autoescaping template writes for ``{{ value }}``: ``markupsafe.escape``'s text.

    A plain string (or an ``int`` or ``Decimal``, whose text needs no escaping) is returned
    as ``str`` rather than ``Markup``; everything else (``Markup``, objects with ``__html__``,
    undefined values) goes through ``markupsafe.escape``.
    """
    cls = value.__class__
    if cls is str:
        return _escape_text(value)
    if cls is int or cls is Decimal:
        return str(value)
    if hasattr(value, "__html__"):
        _OUTPUT.raw = True  # markup: written as it is, not escaped
    return escape(value)


class _Output(threading.local):
    raw = False
    """Whether a value with ``__html__`` was written since the render began."""


_OUTPUT = _Output()


def render_escaped(template: Template, context: Mapping[str, Any]) -> tuple[str, bool]:
    """Render ``template``; also whether every value it wrote went through
    :func:`escape_output` as plain data, none as markup (``Markup``, ``__html__``) written
    as it is. Meaningful for templates of :data:`XML_ENV` (see :func:`escaped_source`).
    """
    _OUTPUT.raw = False
    text = template.render(context)
    return text, not _OUTPUT.raw


def escaped_source(template: Template) -> str | None:
    """The source of a template whose output expressions are all written by
    :func:`escape_output` (an autoescaping template of this module's environments, compiled
    from a string); ``None`` for any other template."""
    if (
        isinstance(template, _Template)
        and template.root_render_func.__globals__.get("escape") is escape_output
    ):
        return template.source
    return None


class _Template(Template):
    """A template whose output expressions are escaped by :func:`escape_output`."""

    source: str | None = None
    """The template's source, when it was compiled from a string."""

    @classmethod
    def from_code(
        cls,
        environment: Environment,
        code: CodeType,
        globals: MutableMapping[str, Any],
        uptodate: Callable[[], bool] | None = None,
    ) -> Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The generated module imports ``escape`` and calls it only around output expressions
        # of autoescaped templates (whose results are joined into the output).
        namespace = template.root_render_func.__globals__
        if namespace.get("escape") is escape:
            namespace["escape"] = escape_output
        return template

    def new_context(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> Context:
        """Jinja's context for ``vars``, its parent built from the globals' own dicts.

        Jinja copies the template's globals (a ``ChainMap``) key by key into every context,
        in Python; merging the dicts behind it gives the same mapping for a fraction of
        the cost (several microseconds per render or expression call).
        """
        globals_ = self.globals
        if shared or locals or type(globals_) is not ChainMap:
            return super().new_context(vars, shared, locals)
        flat: dict[str, Any] = {}
        for layer in reversed(globals_.maps):  # the first map wins, as in the ChainMap
            flat.update(layer)
        parent = dict(flat, **vars) if vars else dict(flat)
        return self.environment.context_class(
            self.environment, parent, self.name, self.blocks, globals=flat
        )


class _JsonCodeGenerator(CodeGenerator):
    """Writes ``obj.name`` as a dict lookup where ``obj`` is a dict holding ``name`` (what
    :meth:`_JsonEnvironment.getattr` would return), else as Jinja's ``environment.getattr``
    call: no call per step into JSON."""

    def visit_Getattr(self, node: nodes.Getattr, frame: Frame) -> None:
        inline = type(self.environment).getattr is _JsonEnvironment.getattr
        if self.environment.is_async or not inline:
            super().visit_Getattr(node, frame)
            return
        if self.optimizer is not None and not frame.eval_ctx.volatile:  # as @optimizeconst
            folded = self.optimizer.visit(node, frame.eval_ctx)
            if folded != node:
                self.visit(folded, frame)
                return
        temp = f"t_json{self._json_temps}"
        self._json_temps += 1
        attr = repr(node.attr)
        self.write(f"({temp}[{attr}] if type({temp} := ")
        self.visit(node.node, frame)
        self.write(f") is dict and {attr} in {temp} else environment.getattr({temp}, {attr}))")

    _json_temps = 0


class _JsonEnvironment(Environment):
    """Templates mostly read parsed JSON: ``body.customer`` looks up the dict key first, and
    only then an attribute (Jinja's default order costs an exception per lookup)."""

    template_class = _Template
    code_generator_class = _JsonCodeGenerator

    def from_string(
        self,
        source: str | nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[Template] | None = None,
    ) -> Template:
        template = super().from_string(source, globals, template_class)
        if isinstance(template, _Template) and isinstance(source, str):
            template.source = source
        return template

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
            # Jinja's fallbacks, without raising: a dict attribute (``body.items``), else
            # undefined (the item lookup was just done).
            value = getattr(obj, attribute, _MISSING)
            return self.undefined(obj=obj, name=attribute) if value is _MISSING else value
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

_Step = tuple[bool, str, Callable[..., Any]]
"""One step of a path: ``(True, "", f)`` applies ``f``; ``(False, name, getattr)`` reads
``name`` (from a dict holding it, else through ``getattr``)."""

_SPECIAL_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super"})
"""Names Jinja's generated code may bind itself instead of reading the context."""


class PathExpression:
    """A compiled variable path, evaluated the way Jinja's generated code evaluates it.

    The root variable comes from the context; each ``.name`` goes through the environment's
    ``getattr``, each ``[constant]`` through its ``getitem``, each filter is called on the
    value, so values, undefined results and errors are Jinja's. A context without the root
    variable (Jinja would then look at its globals, or report it undefined) is handed to the
    Jinja expression itself.
    """

    __slots__ = ("_fallback", "_root", "_steps", "source")

    def __init__(
        self,
        source: str,
        root: str,
        steps: tuple[_Step, ...],
        fallback: CompiledExpression,
    ) -> None:
        self.source = source
        self._root = root
        self._steps = steps
        self._fallback = fallback

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """The expression's value in ``context`` (the variables, as for ``__call__``)."""
        try:
            value = context[self._root]
        except KeyError:
            return self._fallback(**context)
        for call, name, func in self._steps:
            if call:
                value = func(value)
            elif type(value) is dict and name in value:  # _JsonEnvironment.getattr, inlined
                value = value[name]
            else:
                value = func(value, name)
        return value

    def __call__(self, /, **context: Any) -> Any:
        return self.evaluate(context)

    def __repr__(self) -> str:
        return f"<PathExpression {self.source!r}>"


def _path_steps(node: nodes.Expr, env: Environment) -> tuple[str, list[_Step]] | None:
    """The root name and steps of a variable path, or ``None`` for any other expression."""
    steps: list[_Step] = []
    inline = type(env).getattr is _JsonEnvironment.getattr
    while not isinstance(node, nodes.Name):
        if isinstance(node, nodes.Getattr):
            attr, getattr_ = node.attr, env.getattr
            if inline:
                steps.append((False, attr, getattr_))
            else:
                steps.append((True, "", lambda obj, attr=attr, get=getattr_: get(obj, attr)))
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            key, getitem = node.arg.value, env.getitem
            steps.append((True, "", lambda obj, key=key, get=getitem: get(obj, key)))
            node = node.node
        elif (
            isinstance(node, nodes.Filter)
            and node.node is not None
            and not node.args
            and not node.kwargs
            and node.dyn_args is None
            and node.dyn_kwargs is None
        ):
            func = env.filters.get(node.name)
            if func is None or getattr(func, "jinja_pass_arg", None) is not None:
                return None
            steps.append((True, "", func))
            node = node.node
        else:
            return None
    if node.ctx != "load" or node.name in _SPECIAL_NAMES:
        return None
    steps.reverse()
    return node.name, steps


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

    A variable path (optionally through filters without arguments) becomes a
    :class:`PathExpression`; anything else Jinja's own compiled expression.

    Raises:
        jinja2.TemplateSyntaxError: when the expression does not compile.
    """
    compiled = env.compile_expression(source, undefined_to_none=False)
    if env.is_async or env.sandboxed:
        return compiled
    parser = Parser(env, source, state="variable")
    path = _path_steps(parser.parse_expression(), env)
    if path is None or not parser.stream.eos:
        return compiled
    root, steps = path
    return PathExpression(source, root, tuple(steps), compiled)


def compile_leaf(source: str) -> CompiledExpression | Template:
    """Compile a data-template leaf: a native expression when it is one, else a text template."""
    expr = single_expression(source)
    if expr is not None:
        return compile_expression(expr)
    return DATA_ENV.from_string(source)
