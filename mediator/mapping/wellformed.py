"""Which XML templates render well-formed XML whatever values they write.

A request's envelope must be well-formed. Parsing every rendered envelope proves it for one
request; this module proves it once for all requests of a template, from the template's
structure, so that the per-request parse can be skipped (see :func:`proves_well_formed`).

The proof rests on what every rendering has in common. An autoescaped ``{{ value }}``
writes text without ``<``, ``&``, ``>``, ``"`` or ``'`` (when the value is no ``Markup``,
which :func:`~mediator.mapping.templating.render_escaped` reports per render), so a value
can only ever stand where such text is well-formed: in character data or inside a quoted
attribute value. ``{% if %}`` and ``{% for %}`` repeat or leave out their bodies, so every
body must be well-formed content on its own, and stand where content may.

Each *fragment* (the template's top level, and each body of an ``if``, ``elif``, ``else``,
``for`` or ``for … else``) is written as a skeleton: its literal text, the text Jinja's
compiler writes for constant expressions, a hole character for every other expression and an
empty element for every nested block. The template is proved when every skeleton parses as
the content of an element declaring the envelope's namespaces, every hole is found again in
character data or attribute values (not in names, namespace declarations, comments or
processing instructions), and no character data holds ``>`` (with a value ending in ``]]``
it would write the forbidden ``]]>``). Other statements (macros, call and filter blocks,
``{% autoescape %}``, includes) are not analysed: their templates are parsed per request.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping

from jinja2 import Template, nodes
from lxml import etree
from markupsafe import escape

from mediator.mapping.templating import escaped_source
from mediator.xmlparser import hardened_parser

__all__ = ["proves_well_formed"]

_HOLE = "\ue000"  # private use: never part of an XML name
_BLOCK = "<_/>"

_PARSER = hardened_parser()

_PROVED: weakref.WeakKeyDictionary[Template, tuple[Mapping[str, str], str, bool]] = (
    weakref.WeakKeyDictionary()
)


def proves_well_formed(
    template: Template,
    namespaces: Mapping[str, str],
    version: str,
    declarations: Callable[[], str],
) -> bool:
    """Whether every rendering of ``template`` whose values are all written escaped (and
    hold only characters XML can carry) is well-formed content of an element carrying
    ``declarations()``, the namespace declarations of the envelope for ``namespaces`` and
    ``version``. Decided once per template, namespaces and version.
    """
    cached = _PROVED.get(template)
    if cached is not None and cached[0] is namespaces and cached[1] == version:
        return cached[2]
    try:
        proved = _prove(template, declarations())
    except Exception:  # whatever goes wrong, the envelope is parsed per request instead
        proved = False
    _PROVED[template] = (namespaces, version, proved)
    return proved


def _prove(template: Template, declarations: str) -> bool:
    source = escaped_source(template)
    if source is None:
        return False
    environment = template.environment
    tree = environment.parse(source)
    skeletons: list[tuple[str, int]] = []
    if not _skeletons(tree.body, nodes.EvalContext(environment, template.name), skeletons):
        return False
    if len(skeletons) > 1 and any("xmlns:" in text for text, _ in skeletons):
        return False  # a prefix declared around a block could make its attributes clash
    return all(_well_formed(text, holes, declarations) for text, holes in skeletons)


def _skeletons(
    body: list[nodes.Node], eval_ctx: nodes.EvalContext, out: list[tuple[str, int]]
) -> bool:
    """Append the skeleton of the fragment ``body`` and of every fragment nested in it."""
    parts: list[str] = []
    holes = 0
    for node in body:
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                try:  # as Jinja's compiler: a constant is written at compile time, escaped
                    parts.append(str(escape(child.as_const(eval_ctx))))
                except Exception:  # as the compiler: then evaluated (and escaped) when rendering
                    parts.append(_HOLE)
                    holes += 1
        elif isinstance(node, nodes.If):
            parts.append(_BLOCK)
            branches = [node.body, *(branch.body for branch in node.elif_), node.else_]
            if not all(_skeletons(branch, eval_ctx, out) for branch in branches):
                return False
        elif isinstance(node, nodes.For) and not node.recursive:
            parts.append(_BLOCK)
            if not (_skeletons(node.body, eval_ctx, out) and _skeletons(node.else_, eval_ctx, out)):
                return False
        elif not isinstance(node, nodes.Assign):
            return False
    out.append(("".join(parts), holes))
    return True


def _well_formed(skeleton: str, holes: int, declarations: str) -> bool:
    try:
        root = etree.fromstring(f"<_{declarations}>{skeleton}</_>".encode(), _PARSER)
    except (etree.XMLSyntaxError, UnicodeEncodeError):
        return False
    found = 0
    for node in root.iter():
        data = [node.tail] if node is not root else []
        if isinstance(node.tag, str):  # elements: not comments or processing instructions
            data.append(node.text)
            found += sum(str(value).count(_HOLE) for value in node.attrib.values())
        for text in data:
            if text:
                if ">" in text:
                    return False
                found += text.count(_HOLE)
    return found == holes
