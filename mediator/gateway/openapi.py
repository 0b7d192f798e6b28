"""OpenAPI 3.1 description of the gateway, derived from the mappings and the XSD.

Response schemas come from the compiled extraction plans, so the document describes the JSON
the gateway really returns. Request bodies come from the templates: a value an ``args`` leaf
takes from ``body.x`` is typed by the XSD element it fills; other ``body`` references are
listed untyped.
"""

from __future__ import annotations

from typing import Any

from jinja2 import nodes

from mediator import __version__
from mediator.gateway.problems import PROBLEM_TYPES
from mediator.mapping.model import FieldSpec, MappingSet, ParamSpec, Route
from mediator.mapping.service_info import ElementInfo, TypeInfo
from mediator.mapping.templating import DATA_ENV, single_expression
from mediator.mapping.values import camel_case

__all__ = ["build_openapi", "field_schema"]

_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "decimal": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "time": {"type": "string", "format": "time"},
    "base64": {"type": "string", "contentEncoding": "base64"},
    "xml": {"type": "string", "contentMediaType": "application/xml"},
}
_PARAM_SCHEMAS = {**_SCALAR_SCHEMAS, "number": {"type": "number"}}
_MAX_DEPTH = 12


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return schema


def field_schema(field: FieldSpec) -> dict[str, Any]:
    """The JSON Schema of one extracted field (xsi:nil and empty values may be null)."""
    if field.kind == "object":
        schema: dict[str, Any] = _nullable(_object_schema(field.fields))
    else:
        schema = _nullable(dict(_SCALAR_SCHEMAS[field.kind]))
    if field.is_list:
        return {"type": "array", "items": schema}
    return schema


def _object_schema(fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {field.name: field_schema(field) for field in fields},
        "additionalProperties": False,
    }
    required = [field.name for field in fields if field.absent == "null" or field.is_list]
    if required:
        schema["required"] = required
    return schema


def _element_schema(element: ElementInfo, depth: int = 0) -> dict[str, Any]:
    schema = _type_schema(element.type, depth)
    return {"type": "array", "items": schema} if element.repeated else schema


def _type_schema(type_info: TypeInfo, depth: int) -> dict[str, Any]:
    if type_info.open or depth > _MAX_DEPTH:
        return {}
    if not type_info.children:
        schema = dict(_SCALAR_SCHEMAS[type_info.scalar or "string"])
        if type_info.enumeration:
            schema["enum"] = list(type_info.enumeration)
        return schema
    properties = {c.local: _element_schema(c, depth + 1) for c in type_info.children}
    required = [c.local for c in type_info.children if c.min_occurs > 0 and not c.nillable]
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _body_attribute(source: str) -> str | None:
    """``x`` when the template is exactly ``{{ body.x }}`` (filters allowed), else None."""
    expr = single_expression(source)
    if expr is None:
        return None
    node: nodes.Node = DATA_ENV.parse(f"{{{{ {expr} }}}}").body[0].nodes[0]  # type: ignore[attr-defined]
    while isinstance(node, nodes.Filter) and node.node is not None:
        node = node.node
    if (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "body"
    ):
        return str(node.attr)
    return None


def _body_whole(source: Any) -> bool:
    if not isinstance(source, str):
        return False
    expr = single_expression(source)
    if expr is None:
        return False
    parsed = DATA_ENV.parse(f"{{{{ {expr} }}}}")
    names = {n.name for n in parsed.find_all(nodes.Name)}
    return (
        names <= {"body", "none"} and "body" in names and not list(parsed.find_all(nodes.Getattr))
    )


def _body_references(source: str) -> set[str]:
    parsed = DATA_ENV.parse(source)
    found = set()
    for node in parsed.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name == "body":
            found.add(str(node.attr))
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _request_schema(route: Route) -> dict[str, Any] | None:
    source = route.request.source or {}
    element = route.input
    if "args" in source and _body_whole(source["args"]) and element is not None:
        return _type_schema(element.type, 0)
    properties: dict[str, Any] = {}
    args = source.get("args")
    if isinstance(args, dict) and element is not None:
        for key, leaf in args.items():
            if not isinstance(leaf, str):
                continue
            attribute = _body_attribute(leaf)
            child = next((c for c in element.type.children if c.local == key), None)
            if attribute is not None and child is not None:
                properties[attribute] = _element_schema(child)
    for text in _strings(source.get("body")) + _strings(args) + _strings(source.get("soap_header")):
        for name in sorted(_body_references(text)):
            properties.setdefault(name, {})
    if not properties:
        return None
    return {"type": "object", "properties": properties}


def _parameter(spec: ParamSpec) -> dict[str, Any]:
    schema = dict(_PARAM_SCHEMAS[spec.kind])
    if spec.enum:
        schema["enum"] = list(spec.enum)
    if spec.default is not None:
        schema["default"] = spec.default
    return {"name": spec.name, "in": spec.location, "required": spec.required, "schema": schema}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _operation(route: Route) -> dict[str, Any]:
    response = route.response
    if response.template is not None:
        success_schema: dict[str, Any] = {}
    else:
        success_schema = _object_schema(response.fields)
    responses: dict[str, Any] = {
        str(response.status): {
            "description": f"The translated answer of {route.operation.name}.",
            "content": {"application/json": {"schema": success_schema}},
        },
        "400": _problem("Invalid request: bad JSON, a parameter or value of the wrong type."),
        "502": _problem("The SOAP service failed, was unreachable or answered unusably."),
        "504": _problem("The SOAP service did not answer in time."),
    }
    rules = [*route.errors, *(rule for step in route.steps for rule in step.call.errors)]
    for rule in rules:
        responses.setdefault(str(rule.status), _problem(rule.title or f"SOAP fault: {rule.source}"))
    if route.mode != "sync":
        responses["202"] = {
            "description": (
                "Accepted as an asynchronous job"
                + (
                    " (when the client sends `Prefer: respond-async`)"
                    if route.mode == "both"
                    else ""
                )
                + "; poll the `Location` URL (`GET /jobs/{id}`) for the result."
            ),
            "headers": {
                "Location": {"schema": {"type": "string"}},
                "Retry-After": {"schema": {"type": "integer"}},
            },
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if route.auth is None or not route.auth.public:
        responses["401"] = _problem("Authentication is required (when the gateway requires it).")
        if route.auth is not None and (route.auth.scopes or route.auth.claims):
            responses["403"] = _problem("The client lacks a required scope or claim.")
    if route.rate_limits:
        responses["429"] = _problem("Too many requests; see Retry-After and RateLimit headers.")
    if route.steps:
        calls = ", ".join(
            f"`{step.name}` → `{step.call.operation.name}` of `{step.call.upstream.service}`"
            for step in route.steps
        )
        description = f"Composed of steps {calls} (mapped in `{route.file}`)."
        tag = route.steps[0].call.upstream.service
    else:
        description = (
            f"Calls SOAP operation `{route.operation.name}` of `{route.upstream.service}`"
            f" (mapped in `{route.file}`)."
        )
        tag = route.upstream.service
    operation: dict[str, Any] = {
        "operationId": camel_case(
            route.name.replace(" ", "_").replace("/", "_").replace("{", "").replace("}", "")
        ),
        "summary": route.summary or f"{route.operation.name} ({route.upstream.service})",
        "description": description,
        "tags": [tag],
        "responses": responses,
    }
    parameters = [_parameter(spec) for spec in route.params]
    if parameters:
        operation["parameters"] = parameters
    request_schema = _request_schema(route)
    if route.method in ("POST", "PUT", "PATCH"):
        responses.setdefault("415", _problem("The request body is not JSON."))
        operation["requestBody"] = {
            "required": request_schema is not None,
            "content": {"application/json": {"schema": request_schema or {"type": "object"}}},
        }
    return operation


def build_openapi(mappings: MappingSet, *, title: str = "Mediator gateway") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every mapped route."""
    paths: dict[str, dict[str, Any]] = {}
    for route in mappings.routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    problem = {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {
                "type": "string",
                "enum": [f"urn:mediator:problem:{slug}" for slug in PROBLEM_TYPES],
            },
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "fault": {"type": "object"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__},
        "paths": paths,
        "components": {"schemas": {"Problem": problem}},
    }
