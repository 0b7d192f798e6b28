"""Inbound limits, checked before any expensive work.

Two stages. :func:`check_request_head` runs once the route is known, before authentication
and before the body is read: the declared body size (413), the media type and charset
(415, 400), the number of query parameters and what their values and the path parameters
hold (400). :func:`check_json` runs on the parsed body: nesting depth, object and array
sizes, string and number lengths, and characters XML cannot carry (400, with a JSON pointer).

The body size itself is enforced by aiohttp's ``client_max_size`` while reading, chunked
bodies included (413); slow clients are bounded by the server's keep-alive timeout (a request
head must arrive within it) and the handler's body timeout (408). See docs/security.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from mediator.errors import ClientError
from mediator.mapping.security_file import JsonLimits
from mediator.translate.jsonio import json_xml_safe, plain_json

__all__ = [
    "DEFAULT_LIMITS",
    "HOP_BY_HOP",
    "LIMITS_KEY",
    "check_json",
    "check_request_head",
    "check_text",
    "sanitize_header_value",
]

LIMITS_KEY = web.AppKey("mediator_limits", JsonLimits)
DEFAULT_LIMITS = JsonLimits()

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that describe one connection (RFC 9110 §7.6.1); never copied upstream, nor are
``Host``, ``Content-Type``, ``Content-Length`` and a client's ``SOAPAction``."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_text(text: str, where: str, limits: JsonLimits, pointer: str | None = None) -> None:
    """Reject a string that is too long or holds characters XML 1.0 cannot carry.

    Raises:
        ClientError: 400, naming ``where`` (and the pointer, for body values).
    """
    if len(text) > limits.max_string_length:
        raise ClientError(
            f"{where} is longer than {limits.max_string_length} characters", pointer=pointer
        )
    bad = _XML_INCOMPATIBLE.search(text)
    if bad is not None:
        raise ClientError(
            f"{where} holds the character U+{ord(bad.group()):04X}, which XML cannot carry",
            pointer=pointer,
        )


def check_request_head(
    request: web.Request,
    path_params: Mapping[str, str],
    *,
    max_body: int,
    limits: JsonLimits,
) -> None:
    """Checks that need nothing but the request head.

    Raises:
        web.HTTPRequestEntityTooLarge: a declared ``Content-Length`` over ``max_body``.
        ClientError: 415 for a body that is not JSON; 400 for a charset other than UTF-8,
            too many query parameters, or a parameter value that is too long or holds
            characters XML cannot carry.
    """
    declared = request.content_length
    if declared is not None and declared > max_body:
        raise web.HTTPRequestEntityTooLarge(max_size=max_body, actual_size=declared)
    if request.method in _BODY_METHODS and request.body_exists:
        ctype = request.content_type
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise ClientError(
                f"expected a JSON body (application/json), got {ctype[:60]!r}", status=415
            )
        charset = request.charset
        if charset is not None and charset.lower() not in ("utf-8", "utf8"):
            raise ClientError(f"expected UTF-8 JSON, got charset {charset[:30]!r}")
    query = request.query
    if len(query) > limits.max_params:
        raise ClientError(f"more than {limits.max_params} query parameters")
    for name, value in query.items():
        check_text(name, "a query parameter name", limits)
        check_text(value, f"query parameter {name[:60]!r}", limits)
    for name, value in path_params.items():
        check_text(value, f"path parameter {name!r}", limits)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _number_length(value: int | Decimal) -> int:
    """Characters of the number as written (ints of over 4300 digits never parse)."""
    return len(str(value))


# Bytes that can belong to a number map to b"x", every other byte to b" ": a run of n + 1
# b"x" in the translated text exists exactly when some number could be longer than n.
_NUMBER_BYTES = bytes(0x78 if byte in b"-+.0123456789Ee" else 0x20 for byte in range(256))


@functools.lru_cache(maxsize=8)
def _number_run(max_length: int) -> bytes:
    """The translated run of a number longer than ``max_length``."""
    return b"x" * (max_length + 1)


def _plainly_within(value: Any, limits: JsonLimits) -> bool:
    """Upper bounds, counted in C on the value written as JSON, that prove every limit holds.

    False means only that a limit could be exceeded; the walk in :func:`check_json` decides.
    In the text of :func:`~mediator.translate.jsonio.plain_json` every container adds a
    bracket (so brackets bound the depth), every entry but a container's first a comma,
    every character of a string or name at least one byte, and every number is written as
    ``str()`` writes it, among bytes that cannot belong to a number.
    """
    text = plain_json(value)
    return (
        text is not None
        and len(text) <= limits.max_string_length
        and text.count(b"[") + text.count(b"{") <= limits.max_depth
        and text.count(b",") < limits.max_items
        and json_xml_safe(text)
        and (
            len(text) <= limits.max_number_length
            or _number_run(limits.max_number_length) not in text.translate(_NUMBER_BYTES)
        )
    )


def check_json(value: Any, limits: JsonLimits) -> None:
    """Walk a parsed JSON body and enforce ``limits``.

    Small bodies are cleared by bounds counted in C; the walk runs when those cannot rule
    a violation out, so the first offending value is always the walk's.

    Raises:
        ClientError: 400 with a JSON pointer to the first offending value: nested deeper
            than ``max_depth``, an object or array with more than ``max_items`` entries, a
            string (or member name) over ``max_string_length`` characters or holding
            characters XML cannot carry, a number over ``max_number_length`` characters.
    """
    if not _plainly_within(value, limits):
        _walk(value, limits)


def _walk(value: Any, limits: JsonLimits) -> None:
    """The exact check, in Python: every value in order, with its pointer."""
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        item, pointer, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limits.max_depth:
                raise ClientError(
                    f"the JSON body is nested deeper than {limits.max_depth} levels",
                    pointer=pointer or "/",
                )
            if len(item) > limits.max_items:
                kind = "an object with" if isinstance(item, dict) else "an array with"
                raise ClientError(
                    f"{kind} more than {limits.max_items} entries", pointer=pointer or "/"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    child_pointer = f"{pointer}/{_escape(key)}"
                    check_text(key, "a member name", limits, child_pointer)
                    stack.append((child, child_pointer, depth + 1))
            else:
                stack.extend((child, f"{pointer}/{i}", depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            check_text(item, "a string", limits, pointer or "/")
        elif (
            isinstance(item, int | Decimal)
            and not isinstance(item, bool)
            and _number_length(item) > limits.max_number_length
        ):
            raise ClientError(
                f"a number longer than {limits.max_number_length} characters",
                pointer=pointer or "/",
            )


def sanitize_header_value(value: str) -> str:
    """A header value safe to copy into a request: CR, LF, NUL and other control characters
    removed (no header injection, no response splitting)."""
    return re.sub(r"[\x00-\x08\x0a-\x1f\x7f]", "", value)
