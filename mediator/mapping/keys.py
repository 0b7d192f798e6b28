"""The keys a mapping file may use, block by block, and the check that reports any other.

The JSON Schema (:mod:`mediator.mapping.jsonschema`) and the README's reference are held to
these sets by tests; :mod:`mediator.mapping.loader` re-exports them under their historical
``_TOP_KEYS``… names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mediator.mapping.credentials import SERVICE_SECURITY_KEYS
from mediator.mapping.issues import IssueSink
from mediator.mapping.resilience import ROUTE_POLICY_KEYS, SERVICE_POLICY_KEYS
from mediator.mapping.route_security import ROUTE_SECURITY_KEYS
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "DEFAULTS_KEYS",
    "ERROR_KEYS",
    "HTTP_METHODS",
    "PARAM_KEYS",
    "REQUEST_KEYS",
    "ROUTE_KEYS",
    "SERVICE_KEYS",
    "SUPPORTED_VERSIONS",
    "TOP_KEYS",
    "unknown_keys",
]

SUPPORTED_VERSIONS = (1,)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
TOP_KEYS = {"version", "service", "routes", "env", "defaults"}
SERVICE_KEYS = {
    "wsdl",
    "name",
    "service",
    "port",
    "address",
    "timeout",
    "connect_timeout",
    "max_response_size",
    "namespaces",
    *SERVICE_POLICY_KEYS,
    *SERVICE_SECURITY_KEYS,
}
DEFAULTS_KEYS = {"absent", "naming"}
ROUTE_KEYS = {
    *HTTP_METHODS,
    "name",
    "operation",
    "summary",
    "params",
    "headers",
    "request",
    "response",
    "errors",
    "steps",
    "mode",
    "job_ttl",
    *ROUTE_POLICY_KEYS,
    *ROUTE_SECURITY_KEYS,
}
REQUEST_KEYS = {"args", "body", "soap_header"}
ERROR_KEYS = {"when", "status", "title"}
PARAM_KEYS = {"type", "required", "default", "enum"}


def unknown_keys(sink: IssueSink, raw: Mapping[str, Any], allowed: set[str], path: KeyPath) -> None:
    """Report each key of ``raw`` (found at ``path``) that is not in ``allowed``, listing the
    allowed ones."""
    for key in raw:
        if key not in allowed:
            sink.at_key((*path, key), f"unknown key; expected one of: {', '.join(sorted(allowed))}")
