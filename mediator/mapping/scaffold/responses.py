"""A route's ``response`` section, a field for every attribute and child of the output element
(typed from the XSD, recursion returned as XML), and notes on the faults it declares."""

from __future__ import annotations

import re

from mediator.mapping.scaffold.shapes import is_complex, recursion_stops
from mediator.mapping.scaffold.vocabulary import MAX_ENUM_SHOWN, Vocabulary
from mediator.mapping.scaffold.yamltext import YamlLines, yaml_key, yaml_str, yaml_value
from mediator.mapping.service_info import OperationInfo, TypeInfo

__all__ = ["emit_faults", "emit_response"]

_CREATE_VERBS = ("Create", "Add", "Insert", "Register", "New")


def _emit_fields(
    out: YamlLines,
    type_info: TypeInfo,
    vocab: Vocabulary,
    indent: int,
    stack: tuple[int, ...],
    *,
    explicit: bool = False,
) -> None:
    names = vocab.members(type_info)
    notes = vocab.choice_notes(type_info)
    for attribute in type_info.attributes:
        name = names[("@", attribute.local)]
        xpath = "@" + vocab.qualified(attribute.namespace, attribute.local)
        comment = f"attribute, {attribute.scalar}" + ("" if attribute.required else ", optional")
        if attribute.enumeration:
            comment += ": " + " | ".join(attribute.enumeration[:MAX_ENUM_SHOWN])
        _leaf(out, indent, name, xpath, attribute.scalar, False, comment, explicit)
    if type_info.scalar and type_info.attributes:
        _leaf(out, indent, "value", "text()", type_info.scalar, False, "the text content", explicit)
    for child in type_info.children:
        name = yaml_key(names[("", child.local)])
        xpath = vocab.qualified(child.namespace, child.local)
        comment = vocab.comment(child, extra=notes.get(child.local, ""))
        kind = child.type
        recursive = recursion_stops((*stack, id(type_info)), kind)
        if kind.array_item is not None:
            out.add(indent, f"{name}:", comment + ", SOAP-encoded array")
            out.add(indent + 2, f"xpath: {yaml_str(xpath + '/*')}")
            out.add(indent + 2, "list: true")
            _nested(out, kind.array_item, vocab, indent + 2, (*stack, id(type_info)))
        elif (kind.open and not kind.children) or recursive:
            why = "recursive: deeper levels" if recursive else "open content: returned"
            out.add(indent, f"{name}:", f"{comment}, {why} as XML")
            out.add(indent + 2, f"xpath: {yaml_str(xpath)}")
            out.add(indent + 2, "type: xml")
            if explicit:
                out.add(indent + 2, f"list: {yaml_value(child.repeated)}")
        elif is_complex(kind):
            out.add(indent, f"{name}:", comment)
            out.add(indent + 2, f"xpath: {yaml_str(xpath)}")
            if explicit:
                out.add(indent + 2, f"list: {yaml_value(child.repeated)}")
            _nested(out, kind, vocab, indent + 2, (*stack, id(type_info)), explicit=explicit)
        else:
            _leaf(
                out,
                indent,
                names[("", child.local)],
                xpath,
                kind.scalar or "string",
                child.repeated,
                comment,
                explicit,
            )


def _nested(
    out: YamlLines,
    type_info: TypeInfo,
    vocab: Vocabulary,
    indent: int,
    stack: tuple[int, ...],
    *,
    explicit: bool = True,
) -> None:
    if is_complex(type_info) or type_info.scalar is None:
        if type_info.children or type_info.attributes:
            out.add(indent, "fields:")
            _emit_fields(out, type_info, vocab, indent + 2, stack, explicit=explicit)
        else:
            out.add(indent, "type: xml", "no declared content")
    else:
        out.add(indent, f"type: {type_info.scalar}")


def _leaf(
    out: YamlLines,
    indent: int,
    name: str,
    xpath: str,
    scalar: str,
    repeated: bool,
    comment: str,
    explicit: bool,
) -> None:
    if not explicit:
        out.add(indent, f"{yaml_key(name)}: {yaml_str(xpath)}", comment)
        return
    out.add(
        indent,
        f"{yaml_key(name)}: {{xpath: {yaml_str(xpath)}, type: {scalar}"
        f"{', list: true' if repeated else ''}}}",
        comment,
    )


def emit_response(out: YamlLines, operation: OperationInfo, vocab: Vocabulary) -> None:
    """Write the route's ``response`` section: status 201 for a create, the root (the output
    element, or its only required complex child), and its fields.

    Args:
        out: the file's lines.
        operation: the operation the route calls.
        vocab: the port's vocabulary.
    """
    output = operation.output
    if output is None:
        out.note(4, "the output has no Body element: the answer's first element is returned")
        return
    out.add(4, "response:")
    if operation.name.startswith(_CREATE_VERBS):
        out.add(6, "status: 201", "a create")
    root, kind = output, output.type
    only = kind.children[0] if len(kind.children) == 1 else None
    root_xpath = vocab.qualified(output.namespace, output.local)
    if (
        only is not None
        and not kind.attributes
        and not kind.choices
        and not kind.scalar
        and only.min_occurs >= 1
        and not only.repeated
        and only.type.children
        and not only.type.array_item
    ):
        root, kind = only, only.type
        root_xpath += "/" + vocab.qualified(only.namespace, only.local)
    out.add(6, f"root: {yaml_str(root_xpath)}", vocab.comment(root))
    if is_complex(kind) and not kind.array_item:
        out.add(6, "fields:")
        _emit_fields(out, kind, vocab, 8, ())
    elif kind.array_item is not None:
        out.add(6, "fields:")
        out.add(8, "items:", "SOAP-encoded array")
        out.add(10, 'xpath: "*"')
        out.add(10, "list: true")
        _nested(out, kind.array_item, vocab, 10, ())
    elif kind.open:
        out.add(6, "fields:")
        out.add(8, 'content: {xpath: ".", type: xml}', "open content, as XML")
    elif kind.scalar:
        out.add(6, "fields:")
        out.add(8, 'value: "."', vocab.comment(root))
    else:
        out.note(6, "the response element is empty: the answer is {}")


def emit_faults(out: YamlLines, operation: OperationInfo) -> None:
    """Write, as comments, an ``errors`` section mapping each declared fault to a status
    (404 for a not-found, 422 for a validation fault, else 400); nothing if none is declared.
    """
    if not operation.faults:
        return
    out.note(4, "Faults the operation declares; map them to statuses (default 502):")
    out.note(4, "errors:")
    for fault in operation.faults:
        status = (
            404
            if "notfound" in fault.local.lower()
            else (422 if re.search(r"invalid|validation", fault.local, re.I) else 400)
        )
        out.note(4, f'  - when: fault.detail and "{fault.local}" in fault.detail')
        out.note(4, f"    status: {status}")
