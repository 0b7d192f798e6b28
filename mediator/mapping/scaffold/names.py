"""Names the scaffold writes: kebab-case path segments, plurals, JSON names, environment
variable names, Jinja expressions reading a JSON name, and numbered unique names."""

from __future__ import annotations

import json
import re
from collections.abc import Container

from mediator.mapping.response_plan import Naming
from mediator.mapping.values import camel_case

__all__ = [
    "env_variable",
    "is_identifier",
    "is_jinja_name",
    "jinja_access",
    "json_name",
    "kebab_case",
    "pluralize",
    "unique_name",
]

_UNCOUNTED = ("ed", "data", "info", "information", "media", "metadata", "staff")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JINJA_NAMES = {
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "for",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "body",
    "path",
    "query",
    "headers",
    "env",
    *dir(dict),
}


def kebab_case(name: str) -> str:
    """``GetOrderByID`` → ``get-order-by-id``; ``operation`` when nothing is left."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", text)
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "operation"


def pluralize(word: str) -> str:
    """The English plural of a name's last word (``Order`` → ``Orders``, ``Category`` →
    ``Categories``); words already plural or uncounted stay as they are."""
    lower = word.lower()
    if lower.endswith(_UNCOUNTED):
        return word
    if lower.endswith(("ss", "us", "x", "z", "ch", "sh")):
        return word + "es"
    if lower.endswith("s"):
        return word
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return word[:-1] + "ies"
    return word + "s"


def json_name(local: str, naming: Naming, *, plural: bool = False) -> str:
    """The JSON name of an element or attribute: camelCase (plural for lists) with ``camel``
    naming, the XSD name as it is with ``keep``."""
    if naming == "keep":
        return local
    name = camel_case(local) or local
    return pluralize(name) if plural else name


def env_variable(*parts: str) -> str:
    """The environment variable holding an endpoint: ``ORDER_SERVICE_URL`` for
    ``("OrderService",)``, prefixed with ``SOAP_`` if it would start with a digit."""
    words = [re.sub(r"[^A-Za-z0-9]+", "_", kebab_case(p)).upper().strip("_") for p in parts]
    name = "_".join(w for w in words if w) + "_URL"
    return name if not name[0].isdigit() else f"SOAP_{name}"


def is_identifier(name: str) -> bool:
    """Whether ``name`` is an ASCII identifier."""
    return _IDENTIFIER.match(name) is not None


def is_jinja_name(name: str) -> bool:
    """Whether ``name`` can be a Jinja variable or ``.attribute``: an identifier that is no
    keyword, template variable or ``dict`` attribute."""
    return is_identifier(name) and name not in _JINJA_NAMES


def jinja_access(base: str, name: str) -> str:
    """A Jinja expression reading ``name`` from ``base`` (subscript when ``.name`` is unsafe)."""
    if is_jinja_name(name):
        return f"{base}.{name}"
    return f"{base}[{json.dumps(name)}]"


def unique_name(base: str, taken: Container[str]) -> str:
    """``base``, or the first of ``base2``, ``base3``… not in ``taken``."""
    name, index = base, 1
    while name in taken:
        index += 1
        name = f"{base}{index}"
    return name
