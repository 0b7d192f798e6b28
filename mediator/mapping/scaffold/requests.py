"""A route's ``request`` section: ``args`` naming every input element when zeep can serialize
them as data, else a ``body`` XML template with loops over lists and guards that omit absent
elements and attributes."""

from __future__ import annotations

from mediator.mapping.scaffold.names import is_jinja_name, jinja_access, unique_name
from mediator.mapping.scaffold.shapes import recursion_allows, recursion_stops
from mediator.mapping.scaffold.vocabulary import Vocabulary
from mediator.mapping.scaffold.yamltext import YamlLines, yaml_key
from mediator.mapping.service_info import ElementInfo, OperationInfo

__all__ = ["emit_request"]


def _args_expressible(element: ElementInfo, stack: tuple[int, ...] = ()) -> bool:
    """Whether ``request.args`` can carry the input: no attributes, no simple-typed Body
    element, and complex children only where required and single."""
    kind = element.type
    if kind.attributes or kind.array_item or (not kind.children and not kind.open and not stack):
        return False
    for child in kind.children:
        if child.type.array_item or child.type.attributes:
            return False
        if child.type.children and (
            child.optional or child.repeated or not recursion_allows(stack, child.type)
        ):
            return False
        if child.type.children and not _args_expressible(child, (*stack, id(kind))):
            return False
    return True


def _emit_args(
    out: YamlLines,
    element: ElementInfo,
    source: str,
    vocab: Vocabulary,
    indent: int,
    stack: tuple[int, ...],
) -> None:
    names = vocab.members(element.type)
    notes = vocab.choice_notes(element.type)
    for child in element.type.children:
        key, value = yaml_key(child.local), jinja_access(source, names[("", child.local)])
        comment = vocab.comment(child, extra=notes.get(child.local, ""))
        if child.type.open and not child.type.children:
            comment += ", open content: sent as given"
        if child.type.children:
            out.add(indent, f"{key}:", comment)
            _emit_args(out, child, value, vocab, indent + 2, (*stack, id(element.type)))
        elif child.optional or child.local in notes:
            out.add(indent, f'{key}: "{{{{ {value} | default(none) }}}}"', comment)
        else:
            out.add(indent, f'{key}: "{{{{ {value} }}}}"', comment)


def _render_value(expression: str, scalar: str | None) -> str:
    if scalar == "integer":
        return f"{{{{ {expression} | int }}}}"
    if scalar in ("decimal", "number"):
        return f"{{{{ {expression} | decimal }}}}"
    if scalar == "boolean":
        return f"{{{{ {expression} | lower }}}}"
    return f"{{{{ {expression} }}}}"


def _if_present(expression: str) -> str:
    return f"{{% if {expression} is defined and {expression} is not none %}}"


class _BodyTemplate:
    """Writes a ``request.body`` XML template for an input element."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.lines: list[str] = []
        self.loop_names: set[str] = set()

    def element(
        self, element: ElementInfo, source: str, indent: int, stack: tuple[int, ...], note: str = ""
    ) -> None:
        vocab, pad = self.vocab, " " * indent
        guarded = element.optional or bool(note)
        if element.repeated:
            if guarded:
                self.lines.append(pad + _if_present(source))
            item = self._loop_name(vocab.json_name(element.local))
            self.lines.append(f"{pad}{{% for {item} in {source} %}}")
            self._one(element, item, indent, stack, note)
            self.lines.append(f"{pad}{{% endfor %}}")
            self.loop_names.discard(item)
            if guarded:
                self.lines.append(f"{pad}{{% endif %}}")
        elif guarded:
            self.lines.append(pad + _if_present(source))
            self._one(element, source, indent, stack, note)
            self.lines.append(f"{pad}{{% endif %}}")
        else:
            self._one(element, source, indent, stack, note)

    def _loop_name(self, base: str) -> str:
        name = unique_name(base if is_jinja_name(base) else "item", self.loop_names)
        self.loop_names.add(name)
        return name

    def _one(
        self, element: ElementInfo, source: str, indent: int, stack: tuple[int, ...], note: str
    ) -> None:
        vocab, pad, kind = self.vocab, " " * indent, element.type
        tag = vocab.qualified(element.namespace, element.local)
        names = vocab.members(kind)
        attributes = ""
        for attribute in kind.attributes:
            value = jinja_access(source, names[("@", attribute.local)])
            name = vocab.qualified(attribute.namespace, attribute.local)
            text = f' {name}="{_render_value(value, attribute.scalar)}"'
            if not attribute.required:
                text = f"{_if_present(value)}{text}{{% endif %}}"
            attributes += text
        comment = f"  {{# {vocab.comment(element, extra=note)} #}}"
        if kind.array_item is not None:
            item = self._loop_name("item")
            array = vocab.comment(
                element, extra=", ".join(filter(None, [note, "SOAP-encoded array"]))
            )
            self.lines.append(f"{pad}<{tag}{attributes}>  {{# {array} #}}")
            self.lines.append(f"{pad}  {{% for {item} in {source} %}}")
            self._one(ElementInfo("item", None, kind.array_item), item, indent + 4, stack, "")
            self.lines.append(f"{pad}  {{% endfor %}}")
            self.lines.append(f"{pad}</{tag}>")
            self.loop_names.discard(item)
            return
        if not kind.children:
            scalar_source = jinja_access(source, "value") if kind.attributes else source
            content = (
                _render_value(scalar_source, kind.scalar)
                if kind.scalar or not kind.attributes
                else ""
            )
            self.lines.append(f"{pad}<{tag}{attributes}>{content}</{tag}>{comment}")
            return
        self.lines.append(f"{pad}<{tag}{attributes}>{comment}")
        notes = vocab.choice_notes(kind)
        for child in kind.children:
            if recursion_stops((*stack, id(kind)), child.type):
                self.lines.append(
                    f"{pad}  {{# {child.local}: recursive {vocab.type_label(child.type)}, "
                    f"not rendered deeper #}}"
                )
                continue
            child_source = jinja_access(source, names[("", child.local)])
            self.element(
                child, child_source, indent + 2, (*stack, id(kind)), notes.get(child.local, "")
            )
        self.lines.append(f"{pad}</{tag}>")


def emit_request(
    out: YamlLines,
    operation: OperationInfo,
    vocab: Vocabulary,
    *,
    key: ElementInfo | None,
    param: str,
) -> None:
    """Write the route's ``request`` section, or a note that the operation takes no input.

    Args:
        out: the file's lines.
        operation: the operation the route calls.
        vocab: the port's vocabulary.
        key: the input element filled from the path parameter ``param`` (a one-key read),
            or ``None`` when the input comes from the JSON body.
        param: the path parameter's name.
    """
    element = operation.input
    if element is None or not (
        element.type.children or element.type.scalar or element.type.attributes
    ):
        out.note(4, f"{operation.name} takes no input")
        return
    out.add(4, "request:")
    key_source = f"path.{param}"
    if _args_expressible(element):
        out.add(6, "args:")
        if key is not None:
            out.add(8, f'{yaml_key(key.local)}: "{{{{ {key_source} }}}}"', vocab.comment(key))
        else:
            _emit_args(out, element, "body", vocab, 8, ())
        return
    template = _BodyTemplate(vocab)
    if key is not None and key is element:
        template.element(element, key_source, 0, ())
    elif key is not None:
        tag = vocab.qualified(element.namespace, element.local)
        template.lines.append(f"<{tag}>")
        template.element(key, key_source, 2, (id(element.type),))
        template.lines.append(f"</{tag}>")
    else:
        template.element(element, "body", 0, ())
    out.add(6, "body: |", "XML template: values are escaped; guards omit absent elements")
    for line in template.lines:
        out.lines.append(" " * 8 + line)
