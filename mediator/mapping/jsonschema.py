"""The JSON Schema (draft 2020-12) of mapping files, for editors and CI.

The schema is built from the loader's own key sets and type lists, so a key the loader
accepts cannot be missing here: each block's ``properties`` are exactly the keys the loader
checks, and :func:`undescribed_keys` names any key added there without a schema fragment
here (a test keeps that list empty). ``${VAR}`` and ``${VAR:-default}`` are accepted wherever
the loader interpolates the environment.

The schema checks shape (keys, types, ranges, enumerations); what needs the WSDL (operation
names, XPath steps, template references) is left to ``mediator check``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mediator.mapping import credentials, loader, resilience, response_plan, route_security, steps
from mediator.mapping.model import FIELD_KINDS, PARAM_KINDS, ROUTE_MODES

__all__ = ["SCHEMA_ID", "mapping_schema", "undescribed_keys"]

SCHEMA_ID = "urn:mediator:mapping:1"

_VARIABLE = r"\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}"
_DURATION = rf"^(\s*\d+(\.\d+)?\s*(ms|s|m)?\s*|.*{_VARIABLE}.*)$"
_SIZE = rf"^(\s*\d+\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*|.*{_VARIABLE}.*)$"
_DIGITS = rf"^(\s*\d+\s*|.*{_VARIABLE}.*)$"
_RATIO = rf"^(\s*\d+(\.\d+)?\s*%\s*|.*{_VARIABLE}.*)$"


def _text(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


def _duration(description: str) -> dict[str, Any]:
    return {
        "description": f"{description} (500ms, 5s, 2m, or seconds)",
        "anyOf": [
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "string", "pattern": _DURATION},
        ],
    }


def _whole(description: str, minimum: int, maximum: int) -> dict[str, Any]:
    return {
        "description": description,
        "anyOf": [
            {"type": "integer", "minimum": minimum, "maximum": maximum},
            {"type": "string", "pattern": _DIGITS},
        ],
    }


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


_HTTP_PATH = _text("the HTTP method's path template, e.g. /orders/{id}", pattern="^/", minLength=1)

_FRAGMENTS: dict[str, dict[str, dict[str, Any]]] = {
    "top": {
        "version": {"description": "the format version", "enum": list(loader.SUPPORTED_VERSIONS)},
        "service": _ref("service"),
        "routes": {"type": "array", "description": "the routes", "items": _ref("route")},
        "env": {
            "type": "array",
            "description": "environment variables templates may read as env.NAME",
            "items": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        },
        "defaults": _ref("defaults"),
    },
    "defaults": {
        "absent": {
            "description": "what an absent optional element becomes",
            "enum": ["omit", "null"],
        },
        "naming": {
            "description": "JSON names of fields derived from the XSD",
            "enum": ["camel", "keep"],
        },
    },
    "service": {
        "wsdl": _text(
            "the WSDL file, relative to --wsdl-dir, then to the mapping file", minLength=1
        ),
        "name": _text(
            "the name steps of composed routes call this service by (default: the WSDL service)",
            pattern="^[A-Za-z_][\\w.\\-]*$",
        ),
        "service": _text("the WSDL service (default: the first)"),
        "port": _text("the SOAP port (default: the service's first)"),
        "address": _text("the endpoint URL, http:// or https:// (default: the port's address)"),
        "timeout": _duration("total deadline of one upstream call"),
        "connect_timeout": _duration("deadline to open the connection"),
        "max_response_size": {
            "description": "the largest answer read (512KiB, 10MiB, or bytes)",
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": _SIZE},
            ],
        },
        "namespaces": {
            "type": "object",
            "description": "prefix → namespace URI, for XPaths and XML templates",
            "propertyNames": {"pattern": "^(?![Xx][Mm][Ll])[A-Za-z_][\\w.\\-]*$"},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
        "retries": {
            "description": "retries of idempotent calls: a count, or a policy",
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": 10},
                {"type": "string", "pattern": _DIGITS},
                _ref("retries"),
            ],
        },
        "circuit_breaker": {
            "description": "false to disable, or the breaker's policy",
            "anyOf": [{"type": "boolean"}, _ref("circuit_breaker")],
        },
        "max_concurrency": _whole("calls in flight to this upstream at once", 1, 100_000),
        "max_queue": _whole("calls waiting for a slot before 503", 0, 1_000_000),
        "credentials": _ref("credentials"),
        "tls": _ref("tls"),
    },
    "credentials": {
        "ws_security": _ref("ws_security"),
        "basic": _ref("basic"),
    },
    "ws_security": {
        "username": _text("the UsernameToken user", minLength=1),
        "password_env": _text("the environment variable holding the password", minLength=1),
        "password_file": _text("the file holding the password", minLength=1),
        "password_type": {"description": "how the password is sent", "enum": ["text", "digest"]},
        "timestamp": {
            "description": "false, or the lifetime of the wsu:Timestamp",
            "anyOf": [{"const": False}, _duration("the timestamp's lifetime")],
        },
        "must_understand": {"type": "boolean", "description": "mark the header mustUnderstand"},
    },
    "basic": {
        "username": _text("the HTTP Basic user", minLength=1),
        "password_env": _text("the environment variable holding the password", minLength=1),
        "password_file": _text("the file holding the password", minLength=1),
    },
    "tls": {
        "verify": {"type": "boolean", "description": "verify the upstream's certificate"},
        "ca_file": _text("CA certificates to trust (PEM)", minLength=1),
        "cert_file": _text("the client certificate (PEM), for mutual TLS", minLength=1),
        "key_file": _text("the client key (PEM)", minLength=1),
        "key_password_env": _text("the environment variable holding the key's password"),
        "key_password_file": _text("the file holding the key's password"),
    },
    "retries": {
        "max": _whole("how many retries", 0, 10),
        "backoff": _duration("the first wait between tries"),
        "max_backoff": _duration("the longest wait between tries"),
        "budget": {
            "description": "the share of calls that may be retries (20% or 0.2)",
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": _RATIO},
            ],
        },
        "per_try_timeout": _duration("the deadline of each try"),
    },
    "circuit_breaker": {
        "failures": _whole("consecutive failures that open the breaker", 1, 10_000),
        "open_for": _duration("how long the breaker stays open at first"),
        "max_open_for": _duration("the longest it stays open"),
    },
    "route": {
        **dict.fromkeys(loader.HTTP_METHODS, _HTTP_PATH),
        "name": _text("a stable name for logs"),
        "operation": _text("the WSDL operation called", minLength=1),
        "summary": _text("a one-line description"),
        "params": _ref("params"),
        "headers": {
            "type": "array",
            "description": "HTTP request headers templates may read, as headers['name']",
            "items": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9\\-]*$"},
        },
        "request": _ref("request"),
        "response": _ref("response"),
        "errors": {"type": "array", "description": "fault → status rules", "items": _ref("error")},
        "timeout": _duration("this route's deadline (default: the service's)"),
        "connect_timeout": _duration("this route's connect deadline"),
        "idempotent": {"type": "boolean", "description": "whether failed calls may be retried"},
        "mode": {
            "description": "sync (answer), async (202 and a job) or both",
            "enum": list(ROUTE_MODES),
        },
        "job_ttl": _duration("how long an async job's result is kept"),
        "auth": {
            "description": "public, required, or the scopes, claims and methods required",
            "anyOf": [{"enum": ["public", "required", True, False]}, _ref("auth")],
        },
        "rate_limit": {
            "description": "a token bucket, or a list of them",
            "anyOf": [_ref("rate_limit"), {"type": "array", "items": _ref("rate_limit")}],
        },
        "steps": {
            "type": "object",
            "description": "named SOAP calls composed behind this route (instead of operation)",
            "minProperties": 1,
            "propertyNames": {
                "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                "not": {"enum": sorted(steps._RESERVED)},
            },
            "additionalProperties": _ref("step"),
        },
    },
    "step": {
        "service": _text("the service called, by service.name (default: this file's)"),
        "operation": _text("the WSDL operation called", minLength=1),
        "needs": {
            "type": "array",
            "description": "steps that must answer first (besides those the templates read)",
            "items": {"type": "string"},
        },
        "request": _ref("request"),
        "response": _ref("response"),
        "errors": {"type": "array", "description": "fault → status rules", "items": _ref("error")},
        "for_each": _text("a Jinja expression giving a list: one call per item", minLength=1),
        "as": _text("the item's variable name (default: item)", pattern="^[A-Za-z_][A-Za-z0-9_]*$"),
        "concurrency": {
            "type": "integer",
            "minimum": 1,
            "maximum": steps.MAX_CONCURRENCY,
            "description": "calls of a for_each step in flight at once",
        },
        "max_items": {
            "type": "integer",
            "minimum": 1,
            "maximum": steps.MAX_ITEMS,
            "description": "the most items a for_each step accepts",
        },
        "optional": {"type": "boolean", "description": "the route still answers if it fails"},
        "timeout": _duration("this step's deadline"),
        "connect_timeout": _duration("this step's connect deadline"),
        "idempotent": {"type": "boolean", "description": "whether a failed call may be retried"},
    },
    "composed_response": {
        "template": _text("a Jinja expression over steps shaping the answer"),
        "status": {"type": "integer", "minimum": 200, "maximum": 299},
    },
    "auth": {
        "scopes": {
            "description": "scopes the client must have",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "claims": {"type": "object", "description": "claim name → required value(s)"},
        "methods": {
            "description": "the authentication methods accepted",
            "anyOf": [
                {"enum": list(route_security.AUTH_METHODS)},
                {"type": "array", "items": {"enum": list(route_security.AUTH_METHODS)}},
            ],
        },
    },
    "rate_limit": {
        "rate": _text("requests per period: 10/s, 600/min, 5000/h, 20/10s", minLength=1),
        "burst": {"type": "integer", "minimum": 1, "description": "the bucket's size"},
        "per": {
            "description": "one bucket per client, or one for the route",
            "enum": ["client", "route"],
        },
    },
    "param": {
        "type": {"description": "the parameter's type", "enum": list(PARAM_KINDS)},
        "required": {"type": "boolean", "description": "path parameters always are"},
        "default": {"description": "the value when the parameter is absent"},
        "enum": {"type": "array", "minItems": 1, "description": "the allowed values"},
    },
    "request": {
        "args": {
            "description": "the input as data; string leaves are Jinja templates",
            "type": ["object", "array", "string"],
        },
        "body": _text("a Jinja template rendering the XML inside soap:Body"),
        "soap_header": _text("a Jinja template rendering XML placed in soap:Header"),
    },
    "response": {
        "root": _text("an XPath from soap:Body to the element fields are read from"),
        "fields": _ref("fields"),
        "status": {
            "type": "integer",
            "minimum": 200,
            "maximum": 299,
            "description": "the success status",
        },
        "absent": {"description": "absent optional elements", "enum": ["omit", "null"]},
        "template": _text("a Jinja expression over fields and xml reshaping the result"),
    },
    "field": {
        "xpath": _text("relative to the parent element", minLength=1),
        "type": {"description": "inferred from the XSD when omitted", "enum": list(FIELD_KINDS)},
        "list": {"type": "boolean", "description": "inferred from maxOccurs when omitted"},
        "fields": _ref("fields"),
        "absent": {"description": "absent optional elements", "enum": ["omit", "null"]},
    },
    "error": {
        "when": _text("a Jinja expression over fault (code, string, detail…)", minLength=1),
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "title": _text("the problem title for that case"),
    },
}

_KEY_SETS: dict[str, Iterable[str]] = {
    "top": loader._TOP_KEYS,
    "defaults": loader._DEFAULTS_KEYS,
    "service": loader._SERVICE_KEYS,
    "retries": resilience.RETRY_KEYS,
    "credentials": credentials.CREDENTIALS_KEYS,
    "ws_security": credentials.WS_SECURITY_KEYS,
    "basic": credentials.BASIC_KEYS,
    "tls": credentials.TLS_KEYS,
    "auth": route_security.AUTH_KEYS,
    "rate_limit": route_security.RATE_LIMIT_KEYS,
    "circuit_breaker": resilience.BREAKER_KEYS,
    "route": loader._ROUTE_KEYS,
    "step": steps.STEP_KEYS,
    "composed_response": steps.COMPOSED_RESPONSE_KEYS,
    "param": loader._PARAM_KEYS,
    "request": loader._REQUEST_KEYS,
    "response": response_plan._RESPONSE_KEYS,
    "field": response_plan._FIELD_KEYS,
    "error": loader._ERROR_KEYS,
}
"""Each block of the format and the keys the loader accepts there."""

_REQUIRED = {
    "top": ["version", "service", "routes"],
    "service": ["wsdl"],
    "step": ["operation"],
    "field": ["xpath"],
    "rate_limit": ["rate"],
    "error": ["when", "status"],
}


def undescribed_keys() -> list[str]:
    """Keys the loader accepts that have no schema fragment here (``block.key``)."""
    return sorted(
        f"{block}.{key}"
        for block, keys in _KEY_SETS.items()
        for key in keys
        if key not in _FRAGMENTS[block]
    )


def _block(name: str, description: str) -> dict[str, Any]:
    fragments: Mapping[str, dict[str, Any]] = _FRAGMENTS[name]
    properties = {
        key: fragments.get(key, {"description": "(not described yet)"})
        for key in sorted(_KEY_SETS[name])
    }
    block: dict[str, Any] = {
        "type": "object",
        "description": description,
        "properties": properties,
        "additionalProperties": False,
    }
    if name in _REQUIRED:
        block["required"] = _REQUIRED[name]
    return block


def mapping_schema() -> dict[str, Any]:
    """The JSON Schema of a mapping file (a plain dict, ready for ``json.dumps``)."""
    route = _block("route", "one HTTP route bound to one SOAP operation, or composed of steps")
    route["allOf"] = [
        {"oneOf": [{"required": [method]} for method in loader.HTTP_METHODS]},
        {"oneOf": [{"required": ["operation"]}, {"required": ["steps"]}]},
        {
            "if": {"required": ["steps"]},
            "then": {
                "not": {"required": ["request"]},
                "properties": {"response": _ref("composed_response")},
            },
        },
    ]
    request = _block("request", "how the SOAP request is built")
    request["not"] = {"required": ["args", "body"]}
    param_map = {
        "type": "object",
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        "additionalProperties": _ref("param"),
    }
    top = _block("top", "a Mediator mapping file: one SOAP service and its routes")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Mediator mapping file",
        **{k: v for k, v in top.items() if k != "description"},
        "description": top["description"],
        "$defs": {
            "service": _block("service", "the SOAP endpoint the routes call"),
            "defaults": _block("defaults", "file-wide defaults"),
            "retries": _block("retries", "the retry policy"),
            "circuit_breaker": _block("circuit_breaker", "the circuit breaker policy"),
            "credentials": _block(
                "credentials", "credentials sent upstream (secrets by env or file)"
            ),
            "ws_security": _block("ws_security", "a WS-Security UsernameToken"),
            "basic": _block("basic", "HTTP Basic authentication"),
            "tls": _block("tls", "TLS towards the upstream"),
            "auth": _block("auth", "what a client must present"),
            "rate_limit": _block("rate_limit", "a token bucket"),
            "route": route,
            "step": _block("step", "one SOAP call of a composed route"),
            "composed_response": _block(
                "composed_response", "the answer of a composed route, shaped from its steps"
            ),
            "params": {
                "type": "object",
                "description": "typed path and query parameters",
                "properties": {"path": param_map, "query": param_map},
                "additionalProperties": False,
            },
            "param": {
                "description": "a type name, or a mapping with type/required/default/enum",
                "anyOf": [
                    {"enum": list(PARAM_KINDS)},
                    _block("param", "a parameter's type and constraints"),
                ],
            },
            "request": request,
            "response": _block("response", "how the JSON answer is built"),
            "fields": {
                "type": "object",
                "description": "JSON name → XPath, or → a field mapping",
                "minProperties": 1,
                "additionalProperties": _ref("field"),
            },
            "field": {
                "anyOf": [
                    {"type": "string", "minLength": 1, "description": "an XPath"},
                    _block("field", "an XPath with its type, list-ness or nested fields"),
                ]
            },
            "error": _block("error", "maps a SOAP fault to an HTTP status"),
        },
    }
