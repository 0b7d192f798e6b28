"""Scaffolds mapping files from a WSDL description, one file per SOAP port.

Every operation gets a route: a read with one simple key (``GetOrder(OrderId)``) becomes
``GET /orders/{orderId}`` with a typed path parameter, anything else ``POST /operation-name``
taking a JSON body. The request names every input element (optional ones guarded so that an
absent JSON value omits the element), the response lists every output element as a field, and
comments give each element's XSD type, occurrence and enumeration. The output loads unchanged.

Inputs whose elements can all be addressed as data are rendered through ``request.args`` (zeep
serializes them, values are checked against the XSD); inputs with attributes, optional or
repeated complex elements, or a simple-typed Body element are rendered as a ``request.body``
XML template with loops and guards, since ``args`` cannot rename JSON objects inside lists.
Recursive types are expanded :data:`RECURSION_LIMIT` times along a path: deeper, a response
field returns the element as XML and a request leaves it out.

Pure: a :class:`~mediator.mapping.service_info.WsdlInfo` in, YAML text out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from mediator.mapping.response_plan import Naming
from mediator.mapping.service_info import (
    ElementInfo,
    OperationInfo,
    PortInfo,
    ServiceInfo,
    TypeInfo,
    WsdlInfo,
)
from mediator.mapping.values import camel_case

__all__ = [
    "READ_VERBS",
    "RECURSION_LIMIT",
    "ScaffoldError",
    "ScaffoldFile",
    "ScaffoldOptions",
    "ScaffoldRoute",
    "example_value",
    "scaffold_mappings",
]

RECURSION_LIMIT = 2
"""How many times one type may be expanded along a path before scaffolding stops there."""
READ_VERBS = ("Get", "Find", "Fetch", "Read", "Lookup", "Retrieve", "Load", "Show", "View")
"""Operation-name prefixes that make a one-key operation a ``GET``."""
_CREATE_VERBS = ("Create", "Add", "Insert", "Register", "New")
_XSD = "http://www.w3.org/2001/XMLSchema"
_PARAM_KINDS = {"integer": "integer", "decimal": "number", "number": "number",
                "boolean": "boolean", "date": "date", "datetime": "datetime"}  # fmt: skip
_RESERVED = {"null", "true", "false", "yes", "no", "on", "off", "y", "n", "~"}
_JINJA_NAMES = {"and", "or", "not", "in", "is", "if", "else", "for", "true", "false", "none",
                "True", "False", "None", "loop", "body", "path", "query", "headers", "env",
                *dir(dict)}  # fmt: skip
_URI_NOISE = {"http", "https", "www", "com", "org", "net", "urn", "example", "schemas", "xml",
              "xsd", "wsdl", "soap", "services", "service", "ws", "api", "tempuri", "invalid"}  # fmt: skip
_PLAIN = re.compile(r"^[A-Za-z_/][\w./:\-]*$")
_KEY = re.compile(r"^[A-Za-z_][\w\-]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMMENT_COLUMN = 48
_MAX_ENUM_SHOWN = 8
_EXAMPLES: dict[str, Any] = {
    "integer": 1, "decimal": Decimal("9.99"), "number": Decimal("1.5"), "boolean": True,
    "date": "2024-01-31", "datetime": "2024-01-31T12:00:00Z", "time": "12:00:00",
    "base64": "aGVsbG8=",
}  # fmt: skip
_STRING_EXAMPLES = {"gYearMonth": "2024-01", "gYear": "2024", "gMonthDay": "--01-31",
                    "gDay": "---31", "gMonth": "--01", "duration": "P1D", "language": "en",
                    "anyURI": "http://example.com/", "hexBinary": "0A0B"}  # fmt: skip


class ScaffoldError(ValueError):
    """The WSDL has no SOAP port to scaffold, or the chosen service or port does not exist."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaffoldOptions:
    """What to scaffold and how.

    Args:
        wsdl: the value written under ``service.wsdl`` (where the loader will find the WSDL).
        naming: JSON names: ``camel`` (``OrderId`` → ``orderId``, lists plural) or ``keep``.
        service: only this service (default: every service).
        port: only this port (default: every SOAP port).
        address: the endpoint written under ``service.address`` (default: the WSDL's
            address, overridable by an environment variable).
    """

    wsdl: str
    naming: Naming = "camel"
    service: str | None = None
    port: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ScaffoldRoute:
    """A scaffolded route, with an example call that its request template accepts."""

    method: str
    path: str
    operation: str
    example_path: str
    example_body: Any = None  # the JSON body of a POST


@dataclass(frozen=True, slots=True)
class ScaffoldFile:
    """One mapping file: a suggested file name, the port it maps and its YAML text."""

    name: str
    service: str
    port: str
    text: str
    routes: tuple[ScaffoldRoute, ...]


def example_value(type_info: TypeInfo) -> Any:
    """A valid example of a simple type: its first enumerated value, or a value of its kind."""
    if type_info.enumeration:
        value = type_info.enumeration[0]
        return (
            int(value) if type_info.scalar == "integer" and value.lstrip("-").isdigit() else value
        )
    if type_info.scalar in _EXAMPLES:
        return _EXAMPLES[type_info.scalar]
    local = type_info.name.rpartition("}")[2]
    return (
        _STRING_EXAMPLES.get(local, "text") if type_info.name.startswith(f"{{{_XSD}}}") else "text"
    )


# -- names ---------------------------------------------------------------------------------


def _kebab(name: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "operation"


def _plural(word: str) -> str:
    lower = word.lower()
    if lower.endswith(("ss", "us", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("s"):
        return word
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return word[:-1] + "ies"
    return word + "s"


def _env_name(*parts: str) -> str:
    words = [re.sub(r"[^A-Za-z0-9]+", "_", _kebab(p)).upper().strip("_") for p in parts]
    name = "_".join(w for w in words if w) + "_URL"
    return name if not name[0].isdigit() else f"SOAP_{name}"


def _yaml_str(value: str) -> str:
    if _PLAIN.match(value) and value.lower() not in _RESERVED and not value.endswith(":"):
        return value
    return json.dumps(value, ensure_ascii=False)


def _yaml_key(value: str) -> str:
    return value if _KEY.match(value) and value.lower() not in _RESERVED else json.dumps(value)


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return _yaml_str(str(value))


def _access(base: str, name: str) -> str:
    """A Jinja expression reading ``name`` from ``base`` (subscript when ``.name`` is unsafe)."""
    if _IDENTIFIER.match(name) and name not in _JINJA_NAMES:
        return f"{base}.{name}"
    return f"{base}[{json.dumps(name)}]"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


# -- the port's vocabulary -----------------------------------------------------------------


class _Vocabulary:
    """Namespace prefixes, JSON names of each type's members, and type labels for comments."""

    def __init__(self, naming: Naming, roots: list[ElementInfo]) -> None:
        self.naming = naming
        self.prefixes: dict[str, str] = {}  # namespace → prefix
        self._members: dict[int, dict[tuple[str, str], str]] = {}
        seen: set[int] = set()
        for root in roots:
            self._collect(root, seen)

    def _collect(self, element: ElementInfo, seen: set[int]) -> None:
        self._prefix(element.namespace)
        for attribute in element.type.attributes:
            self._prefix(attribute.namespace)
        if id(element.type) in seen:
            return
        seen.add(id(element.type))
        for child in element.type.children:
            self._collect(child, seen)
        if element.type.array_item is not None:
            for child in element.type.array_item.children:
                self._collect(child, seen)

    def _prefix(self, namespace: str | None) -> None:
        if not namespace or namespace in self.prefixes:
            return
        words = [w for w in re.split(r"[^A-Za-z0-9]+", namespace) if w]
        useful = [w for w in words if w.isalpha() and w.lower() not in _URI_NOISE and len(w) > 1]
        word = (useful[-1] if useful else "ns").lower()
        base = word if len(word) <= 10 else word[:3]
        if base.startswith("xml"):
            base = "ns"
        prefix, index = base, 1
        while prefix in self.prefixes.values():
            index += 1
            prefix = f"{base}{index}"
        self.prefixes[namespace] = prefix

    def qualified(self, namespace: str | None, local: str) -> str:
        """``prefix:local``, or ``local`` for an unqualified name."""
        return f"{self.prefixes[namespace]}:{local}" if namespace else local

    def json_name(self, local: str, *, plural: bool = False) -> str:
        """The JSON name of an element or attribute (camelCase, lists plural, by default)."""
        if self.naming == "keep":
            return local
        name = camel_case(local) or local
        return _plural(name) if plural else name

    def members(self, type_info: TypeInfo) -> dict[tuple[str, str], str]:
        """JSON names of a type's attributes (``("@", local)``), text (``("#", "value")``) and
        children (``("", local)``), made unique among themselves."""
        cached = self._members.get(id(type_info))
        if cached is not None:
            return cached
        names: dict[tuple[str, str], str] = {}
        taken: set[str] = set()

        def add(key: tuple[str, str], name: str) -> None:
            candidate, index = name, 1
            while candidate in taken:
                index += 1
                candidate = f"{name}{index}"
            taken.add(candidate)
            names[key] = candidate

        for child in type_info.children:
            add(("", child.local), self.json_name(child.local, plural=child.repeated))
        if type_info.scalar and type_info.attributes:
            add(("#", "value"), "value")
        for attribute in type_info.attributes:
            name = self.json_name(attribute.local)
            add(("@", attribute.local), name if name not in taken else f"{name}Attribute")
        self._members[id(type_info)] = names
        return names

    def type_label(self, type_info: TypeInfo) -> str:
        """``xsd:int``, ``lib:Genre``, or the kind for an anonymous type."""
        namespace, _, local = type_info.name[1:].partition("}")
        if type_info.name.startswith("{") and namespace == _XSD:
            return f"xsd:{local}"
        if type_info.name.startswith("{") and namespace in self.prefixes:
            return f"{self.prefixes[namespace]}:{local}"
        return type_info.name or type_info.scalar or "anonymous type"

    def comment(self, element: ElementInfo, *, extra: str = "") -> str:
        """The comment describing an element: type, kind, occurrence, enumeration."""
        kind = element.type
        parts = [self.type_label(kind)]
        if kind.scalar and kind.scalar != "string" and not kind.name.endswith(f"}}{kind.scalar}"):
            parts[0] += f" ({kind.scalar})"
        if element.repeated:
            bound = "" if element.max_occurs is None else f", at most {element.max_occurs}"
            parts.append(f"list{bound}")
        if element.optional:
            parts.append("optional")
        if element.nillable:
            parts.append("nillable (null)")
        if extra:
            parts.append(extra)
        text = ", ".join(parts)
        if kind.enumeration:
            shown = " | ".join(kind.enumeration[:_MAX_ENUM_SHOWN])
            more = " | …" if len(kind.enumeration) > _MAX_ENUM_SHOWN else ""
            text += f": {shown}{more}"
        return text

    def choice_notes(self, type_info: TypeInfo) -> dict[str, str]:
        """For each child in a choice, a note naming the alternatives."""
        notes: dict[str, str] = {}
        for choice in type_info.choices:
            text = "one of: " + " | ".join("+".join(alt) for alt in choice.alternatives if alt)
            for alternative in choice.alternatives:
                for local in alternative:
                    notes.setdefault(local, text)
        return notes


# -- output writer ---------------------------------------------------------------------------


@dataclass
class _Lines:
    """YAML lines with comments aligned at a column."""

    lines: list[str] = field(default_factory=list)

    def add(self, indent: int, text: str, comment: str = "") -> None:
        line = " " * indent + text
        if comment:
            line = f"{line.ljust(_COMMENT_COLUMN - 1)} # {comment}"
        self.lines.append(line)

    def note(self, indent: int, comment: str) -> None:
        self.lines.append(" " * indent + "# " + comment)

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines) + "\n"


def _stack_allows(stack: tuple[int, ...], type_info: TypeInfo) -> bool:
    return stack.count(id(type_info)) < RECURSION_LIMIT


def _complex(type_info: TypeInfo) -> bool:
    return bool(type_info.children or type_info.attributes or type_info.array_item)


def _in_first_alternative(type_info: TypeInfo) -> set[str]:
    """Children left out of an example: members of every choice branch but the first."""
    skipped: set[str] = set()
    for choice in type_info.choices:
        for alternative in choice.alternatives[1:]:
            skipped.update(alternative)
        if choice.alternatives:
            skipped.difference_update(choice.alternatives[0])
    return skipped


# -- request ---------------------------------------------------------------------------------


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
            child.optional or child.repeated or not _stack_allows(stack, child.type)
        ):
            return False
        if child.type.children and not _args_expressible(child, (*stack, id(kind))):
            return False
    return True


def _example(element: ElementInfo, vocab: _Vocabulary, stack: tuple[int, ...]) -> Any:
    kind = element.type
    if not _complex(kind):
        return example_value(kind)
    names = vocab.members(kind)
    result: dict[str, Any] = {}
    skipped = _in_first_alternative(kind)
    for attribute in kind.attributes:
        attr_type = TypeInfo(name="", scalar=attribute.scalar, enumeration=attribute.enumeration)
        result[names[("@", attribute.local)]] = example_value(attr_type)
    if kind.scalar and kind.attributes:
        result["value"] = example_value(TypeInfo(name=kind.name, scalar=kind.scalar))
    for child in kind.children:
        if child.local in skipped or (child.type.open and not child.type.children):
            continue
        if _complex(child.type) and not _stack_allows((*stack, id(kind)), child.type):
            continue
        value = _example(child, vocab, (*stack, id(kind)))
        result[names[("", child.local)]] = [value] if child.repeated else value
    return result


def _emit_args(
    out: _Lines, element: ElementInfo, source: str, vocab: _Vocabulary, indent: int,
    stack: tuple[int, ...],
) -> None:  # fmt: skip
    names = vocab.members(element.type)
    notes = vocab.choice_notes(element.type)
    for child in element.type.children:
        key, value = _yaml_key(child.local), _access(source, names[("", child.local)])
        comment = vocab.comment(child, extra=notes.get(child.local, ""))
        if child.type.open and not child.type.children:
            out.note(indent, f"{child.local}: {comment}; open content, not scaffolded")
        elif child.type.children:
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


class _BodyTemplate:
    """Writes a ``request.body`` XML template for an input element."""

    def __init__(self, vocab: _Vocabulary) -> None:
        self.vocab = vocab
        self.lines: list[str] = []
        self.loop_names: set[str] = set()

    def element(
        self, element: ElementInfo, source: str, indent: int, stack: tuple[int, ...], note: str = ""
    ) -> None:
        vocab, pad = self.vocab, " " * indent
        kind = element.type
        if kind.open and not kind.children:
            self.lines.append(f"{pad}{{# {element.local}: open content, not scaffolded #}}")
            return
        guarded = element.optional or bool(note)
        if element.repeated:
            if guarded:
                self.lines.append(f"{pad}{{% if {source} is defined and {source} is not none %}}")
            item = self._loop_name(vocab.json_name(element.local))
            self.lines.append(f"{pad}{{% for {item} in {source} %}}")
            self._one(element, item, indent, stack, note)
            self.lines.append(f"{pad}{{% endfor %}}")
            self.loop_names.discard(item)
            if guarded:
                self.lines.append(f"{pad}{{% endif %}}")
        elif guarded:
            self.lines.append(f"{pad}{{% if {source} is defined and {source} is not none %}}")
            self._one(element, source, indent, stack, note)
            self.lines.append(f"{pad}{{% endif %}}")
        else:
            self._one(element, source, indent, stack, note)

    def _loop_name(self, base: str) -> str:
        base = base if _IDENTIFIER.match(base) and base not in _JINJA_NAMES else "item"
        name, index = base, 1
        while name in self.loop_names:
            index += 1
            name = f"{base}{index}"
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
            value = _access(source, names[("@", attribute.local)])
            text = f' {vocab.qualified(attribute.namespace, attribute.local)}="{_render_value(value, attribute.scalar)}"'
            if not attribute.required:
                text = f"{{% if {value} is defined and {value} is not none %}}{text}{{% endif %}}"
            attributes += text
        comment = f"  {{# {vocab.comment(element, extra=note)} #}}"
        if not kind.children:
            scalar_source = _access(source, "value") if kind.attributes else source
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
            if _complex(child.type) and not _stack_allows((*stack, id(kind)), child.type):
                self.lines.append(
                    f"{pad}  {{# {child.local}: recursive {vocab.type_label(child.type)}, "
                    f"not rendered deeper #}}"
                )
                continue
            child_source = _access(source, names[("", child.local)])
            self.element(
                child, child_source, indent + 2, (*stack, id(kind)), notes.get(child.local, "")
            )
        self.lines.append(f"{pad}</{tag}>")


# -- response --------------------------------------------------------------------------------


def _emit_fields(
    out: _Lines, type_info: TypeInfo, vocab: _Vocabulary, indent: int, stack: tuple[int, ...],
    *, explicit: bool = False,
) -> None:  # fmt: skip
    names = vocab.members(type_info)
    notes = vocab.choice_notes(type_info)
    for attribute in type_info.attributes:
        name = names[("@", attribute.local)]
        xpath = "@" + vocab.qualified(attribute.namespace, attribute.local)
        comment = f"attribute, {attribute.scalar}" + ("" if attribute.required else ", optional")
        if attribute.enumeration:
            comment += ": " + " | ".join(attribute.enumeration[:_MAX_ENUM_SHOWN])
        _leaf(out, indent, name, xpath, attribute.scalar, False, comment, explicit)
    if type_info.scalar and type_info.attributes:
        _leaf(out, indent, "value", "text()", type_info.scalar, False, "the text content", explicit)
    for child in type_info.children:
        name = _yaml_key(names[("", child.local)])
        xpath = vocab.qualified(child.namespace, child.local)
        comment = vocab.comment(child, extra=notes.get(child.local, ""))
        kind = child.type
        if kind.array_item is not None:
            out.add(indent, f"{name}:", comment + ", SOAP-encoded array")
            out.add(indent + 2, f"xpath: {_yaml_str(xpath + '/*')}")
            out.add(indent + 2, "list: true")
            _nested(out, kind.array_item, vocab, indent + 2, (*stack, id(type_info)))
        elif kind.open and not kind.children:
            out.add(indent, f"{name}:", comment + ", open content: returned as XML")
            out.add(indent + 2, f"xpath: {_yaml_str(xpath)}")
            out.add(indent + 2, "type: xml")
            if explicit:
                out.add(indent + 2, f"list: {_yaml_value(child.repeated)}")
        elif _complex(kind) and not _stack_allows((*stack, id(type_info)), kind):
            out.add(indent, f"{name}:", f"{comment}, recursive: deeper levels as XML")
            out.add(indent + 2, f"xpath: {_yaml_str(xpath)}")
            out.add(indent + 2, "type: xml")
            if explicit:
                out.add(indent + 2, f"list: {_yaml_value(child.repeated)}")
        elif _complex(kind):
            out.add(indent, f"{name}:", comment)
            out.add(indent + 2, f"xpath: {_yaml_str(xpath)}")
            if explicit:
                out.add(indent + 2, f"list: {_yaml_value(child.repeated)}")
            _nested(out, kind, vocab, indent + 2, (*stack, id(type_info)), explicit=explicit)
        else:
            _leaf(out, indent, names[("", child.local)], xpath, kind.scalar or "string",
                  child.repeated, comment, explicit)  # fmt: skip


def _nested(
    out: _Lines, type_info: TypeInfo, vocab: _Vocabulary, indent: int, stack: tuple[int, ...],
    *, explicit: bool = True,
) -> None:  # fmt: skip
    if _complex(type_info) or type_info.scalar is None:
        if type_info.children or type_info.attributes:
            out.add(indent, "fields:")
            _emit_fields(out, type_info, vocab, indent + 2, stack, explicit=explicit)
        else:
            out.add(indent, "type: xml", "no declared content")
    else:
        out.add(indent, f"type: {type_info.scalar}")


def _leaf(
    out: _Lines, indent: int, name: str, xpath: str, scalar: str, repeated: bool, comment: str,
    explicit: bool,
) -> None:  # fmt: skip
    if not explicit:
        out.add(indent, f"{_yaml_key(name)}: {_yaml_str(xpath)}", comment)
        return
    out.add(indent, f"{_yaml_key(name)}: {{xpath: {_yaml_str(xpath)}, type: {scalar}"
            f"{', list: true' if repeated else ''}}}", comment)  # fmt: skip


# -- routes ----------------------------------------------------------------------------------


@dataclass
class _Plan:
    operation: OperationInfo
    method: str
    path: str
    key: ElementInfo | None = None
    param: str = ""
    name: str = ""


def _read_key(operation: OperationInfo) -> tuple[str, ElementInfo] | None:
    """The resource name and key element of a one-key read, if the operation is one."""
    verb = next((v for v in READ_VERBS if operation.name.startswith(v)), None)
    element = operation.input
    if verb is None or element is None or element.type.attributes or element.type.choices:
        return None
    rest = operation.name[len(verb) :]
    if rest and not rest[0].isupper():
        return None
    resource = re.sub(r"By[A-Z]\w*$", "", rest)
    if element.type.children:
        if len(element.type.children) != 1:
            return None
        element = element.type.children[0]
    elif element.type.open or element.type.scalar is None:
        return None
    if _complex(element.type) or element.type.open or element.repeated or not resource:
        return None
    return resource, element


def _shape(method: str, path: str) -> tuple[str, str]:
    return method, re.sub(r"\{[^}]*\}", "{}", path)


def _take(method: str, candidates: list[str], taken: set[tuple[str, str]]) -> str:
    """The first candidate path not taken yet (numbering the last one if all are)."""
    for candidate in candidates:
        if _shape(method, candidate) not in taken:
            return candidate
    index = 2
    while _shape(method, f"{candidates[-1]}-{index}") in taken:
        index += 1
    return f"{candidates[-1]}-{index}"


def _plans_under(
    port: PortInfo, prefix: str, vocab: _Vocabulary, used: set[tuple[str, str]], *, force: bool
) -> list[_Plan] | None:
    """Plans for every operation of ``port`` under ``prefix``; ``None`` when a route's first
    choice of path is already taken by another file (unless ``force``)."""
    taken = set(used)
    plans = []
    for operation in port.operations.values():
        read = _read_key(operation)
        key, param = None, ""
        if read is not None:
            resource, key = read
            param = re.sub(r"\W", "_", vocab.json_name(key.local))
            param = param if _IDENTIFIER.match(param) else f"p_{param}"
            method = "get"
            tails = [
                f"/{_kebab(_plural(resource))}/{{{param}}}",
                f"/{_kebab(operation.name)}/{{{param}}}",
            ]
        else:
            method, tails = "post", [f"/{_kebab(operation.name)}"]
        candidates = [prefix + tail for tail in tails]
        if not force and _shape(method, candidates[0]) in used:
            return None
        path = _take(method, candidates, taken)
        taken.add(_shape(method, path))
        plans.append(_Plan(operation, method, path, key, param))
    return plans


def _plan_port(
    service: ServiceInfo, port: PortInfo, vocab: _Vocabulary, used: set[tuple[str, str]]
) -> list[_Plan]:
    """Plans for a port's operations, with paths unique across the files of one run: when the
    port's paths clash with an earlier file's, all of them take the port's name as prefix."""
    prefixes = ["", f"/{_kebab(port.name)}", f"/{_kebab(service.name)}/{_kebab(port.name)}"]
    plans = None
    for prefix in prefixes:
        plans = _plans_under(port, prefix, vocab, used, force=False)
        if plans is not None:
            break
    if plans is None:
        plans = _plans_under(port, prefixes[-1], vocab, used, force=True) or []
    used.update(_shape(plan.method, plan.path) for plan in plans)
    return plans


def _param_lines(out: _Lines, plan: _Plan) -> Any:
    assert plan.key is not None
    kind = plan.key.type
    param_kind = _PARAM_KINDS.get(kind.scalar or "string", "string")
    example = example_value(kind)
    spec: str = param_kind
    if kind.enumeration and param_kind in ("string", "integer"):
        values = [int(v) if param_kind == "integer" else v for v in kind.enumeration]
        spec = f"{{type: {param_kind}, enum: {_yaml_value(values)}}}"
    if not isinstance(example, str | int) or isinstance(example, bool):
        example = str(example).lower() if isinstance(example, bool) else str(example)
    out.add(4, "params:")
    out.add(6, f"path: {{{plan.param}: {spec}}}", f"{plan.key.local}: {_key_label(kind)}")
    return example


def _key_label(kind: TypeInfo) -> str:
    """The short label of a key's type in comments."""
    return kind.name.rpartition("}")[2] or kind.scalar or "string"


def _route(out: _Lines, plan: _Plan, vocab: _Vocabulary) -> ScaffoldRoute:
    operation = plan.operation
    out.lines.append("")
    out.note(
        2, f"{operation.name} ({operation.style}; SOAPAction {operation.soap_action or 'none'})"
    )
    out.add(2, f"- {plan.method}: {_yaml_str(plan.path)}")
    out.add(4, f"name: {_yaml_str(plan.name)}")
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", operation.name).replace("_", " ")
    out.add(4, f"summary: {_yaml_str(words[:1].upper() + words[1:].lower())}")
    out.add(4, f"operation: {_yaml_str(operation.name)}")
    example_path, example_body = plan.path, None
    if plan.key is not None:
        example = _param_lines(out, plan)
        example_path = plan.path.replace(f"{{{plan.param}}}", str(example))
    _request(out, plan, vocab)
    if plan.method == "post" and operation.input is not None and _complex(operation.input.type):
        example_body = _example(operation.input, vocab, ())
        shown = json.dumps(example_body, default=_json_default)
        if len(shown) <= 160:
            out.note(4, f"example body: {shown}")
    elif plan.method == "post":
        example_body = {}
    _response(out, operation, vocab)
    _errors(out, operation, vocab)
    return ScaffoldRoute(plan.method.upper(), plan.path, operation.name, example_path, example_body)


def _request(out: _Lines, plan: _Plan, vocab: _Vocabulary) -> None:
    element = plan.operation.input
    if element is None or not (
        element.type.children or element.type.scalar or element.type.attributes
    ):
        out.note(4, f"{plan.operation.name} takes no input")
        return
    out.add(4, "request:")
    key_source = f"path.{plan.param}"
    if _args_expressible(element):
        out.add(6, "args:")
        if plan.key is not None:
            out.add(
                8, f'{_yaml_key(plan.key.local)}: "{{{{ {key_source} }}}}"', vocab.comment(plan.key)
            )
        else:
            _emit_args(out, element, "body", vocab, 8, ())
        return
    template = _BodyTemplate(vocab)
    if plan.key is not None and plan.key is element:
        template.element(element, key_source, 0, ())
    elif plan.key is not None:
        tag = vocab.qualified(element.namespace, element.local)
        template.lines.append(f"<{tag}>")
        template.element(plan.key, key_source, 2, (id(element.type),))
        template.lines.append(f"</{tag}>")
    else:
        template.element(element, "body", 0, ())
    out.add(6, "body: |", "XML template: values are escaped; guards omit absent elements")
    for line in template.lines:
        out.lines.append(" " * 8 + line)


def _response(out: _Lines, operation: OperationInfo, vocab: _Vocabulary) -> None:
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
        only is not None and not kind.attributes and not kind.choices and not kind.scalar
        and only.min_occurs >= 1 and not only.repeated and only.type.children
        and not only.type.array_item
    ):  # fmt: skip
        root, kind = only, only.type
        root_xpath += "/" + vocab.qualified(only.namespace, only.local)
    out.add(6, f"root: {_yaml_str(root_xpath)}", vocab.comment(root))
    if _complex(kind) and not kind.array_item:
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


def _errors(out: _Lines, operation: OperationInfo, vocab: _Vocabulary) -> None:
    if not operation.faults:
        return
    out.note(4, "Faults the operation declares; map them to statuses (default 502):")
    out.note(4, "errors:")
    for fault in operation.faults:
        status = 404 if "notfound" in fault.local.lower() else (
            422 if re.search(r"invalid|validation", fault.local, re.I) else 400
        )  # fmt: skip
        out.note(4, f'  - when: fault.detail and "{fault.local}" in fault.detail')
        out.note(4, f"    status: {status}")


# -- files -----------------------------------------------------------------------------------


def _selected(info: WsdlInfo, options: ScaffoldOptions) -> list[tuple[ServiceInfo, PortInfo]]:
    services = list(info.services.values())
    if not services:
        raise ScaffoldError("the WSDL declares no service with a SOAP port")
    if options.service is not None:
        if options.service not in info.services:
            raise ScaffoldError(
                f"no service {options.service!r} in the WSDL; expected one of: {', '.join(info.services)}"
            )
        services = [info.services[options.service]]
    pairs = [(s, p) for s in services for p in s.ports.values()]
    if options.port is not None:
        pairs = [(s, p) for s, p in pairs if p.name == options.port]
        if not pairs:
            ports = ", ".join(f"{s.name}/{p.name}" for s in services for p in s.ports.values())
            raise ScaffoldError(f"no SOAP port {options.port!r}; expected one of: {ports}")
    return pairs


def _file_name(stem: str, service: ServiceInfo, port: PortInfo, info: WsdlInfo, many: bool) -> str:
    if not many:
        return f"{stem}.yaml"
    if len(info.services) == 1:
        return f"{stem}-{_kebab(port.name)}.yaml"
    return f"{stem}-{_kebab(service.name)}-{_kebab(port.name)}.yaml"


def _header(out: _Lines, options: ScaffoldOptions, service: ServiceInfo, port: PortInfo,
            vocab: _Vocabulary, many: bool) -> None:  # fmt: skip
    source = PurePath(options.wsdl).name
    out.note(0, f"Scaffolded by `mediator scaffold` from {source}: service {service.name},")
    out.note(0, f"port {port.name} (SOAP {port.soap_version}), one route per operation.")
    out.note(0, "Review the REST paths, drop the fields you do not need and map faults to")
    out.note(0, "statuses; `mediator check` validates this file offline, `mediator try` dry-runs")
    out.note(0, "a route. Reference: README.md (mapping file) and docs/scaffold.md.")
    out.add(0, "version: 1")
    out.add(0, "defaults:")
    out.add(
        2, f"naming: {vocab.naming}", "JSON names of fields derived from the XSD: camel or keep"
    )
    out.add(0, "service:")
    out.add(2, f"wsdl: {_yaml_str(options.wsdl)}")
    out.add(2, f"service: {_yaml_str(service.name)}")
    out.add(2, f"port: {_yaml_str(port.name)}", f"SOAP {port.soap_version}")
    if options.address is not None:
        out.add(2, f"address: {_yaml_str(options.address)}")
    else:
        variable = _env_name(service.name, port.name) if many else _env_name(service.name)
        usable = re.match(r"^https?://\S+$", port.address or "")
        default = port.address if usable else "http://localhost/"
        comment = (
            "" if usable else f"the WSDL's address {port.address!r} is not a URL: set {variable}"
        )
        out.add(2, f"address: {_yaml_str(f'${{{variable}:-{default}}}')}", comment)
    if vocab.prefixes:
        out.add(2, "namespaces:")
        for namespace, prefix in vocab.prefixes.items():
            out.add(4, f"{prefix}: {_yaml_str(namespace)}")
    out.add(0, "routes:")


def _roots(port: PortInfo) -> Iterator[ElementInfo]:
    for operation in port.operations.values():
        yield from (e for e in (operation.input, operation.output) if e is not None)
        yield from operation.faults


def scaffold_mappings(info: WsdlInfo, options: ScaffoldOptions) -> tuple[ScaffoldFile, ...]:
    """One mapping file per selected SOAP port, with a route for each of its operations.

    REST paths are unique across the files returned, so they load together: a path already
    taken (the same operations on a SOAP 1.2 port, say) is prefixed with the port's name.

    Raises:
        ScaffoldError: no SOAP port, or no such service or port (the choices are listed).
    """
    pairs = _selected(info, options)
    many = len(pairs) > 1
    stem = PurePath(options.wsdl).stem or "mapping"
    used: set[tuple[str, str]] = set()
    files = []
    for service, port in pairs:
        vocab = _Vocabulary(options.naming, list(_roots(port)))
        out = _Lines()
        _header(out, options, service, port, vocab, many)
        routes = []
        for plan in _plan_port(service, port, vocab, used):
            plan.name = _kebab(plan.operation.name) + (f"-{_kebab(port.name)}" if many else "")
            routes.append(_route(out, plan, vocab))
        if not routes:
            out.lines[out.lines.index("routes:")] = "routes: []  # the port has no operations"
        files.append(
            ScaffoldFile(
                name=_file_name(stem, service, port, info, many),
                service=service.name,
                port=port.name,
                text=out.text(),
                routes=tuple(routes),
            )
        )
    return tuple(files)
