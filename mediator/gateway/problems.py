"""RFC 9457 problem details: the one shape every error response of the gateway takes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mediator.translate.jsonio import dumps

__all__ = ["PROBLEM_TYPES", "problem_response"]

PROBLEM_CONTENT_TYPE = "application/problem+json"

PROBLEM_TYPES: dict[str, str] = {
    "invalid-request": "The request cannot be translated: invalid JSON or a wrong parameter.",
    "not-found": "No route matches the request path.",
    "method-not-allowed": "The route exists but not for this HTTP method.",
    "payload-too-large": "The request body is larger than the gateway accepts.",
    "unsupported-media-type": "The request body is not JSON.",
    "request-timeout": "The client did not send its request body in time.",
    "unauthorized": "Credentials are missing or invalid (see WWW-Authenticate).",
    "forbidden": "The authenticated client lacks a scope or claim the route requires.",
    "too-many-requests": "The client's or the route's rate limit is exhausted (see Retry-After).",
    "auth-unavailable": "The keys needed to check the credentials cannot be fetched right now.",
    "rate-limit-unavailable": "The shared rate-limit store cannot be reached right now.",
    "upstream-fault": "The SOAP service answered with a Fault.",
    "upstream-timeout": "The SOAP service did not answer in time.",
    "upstream-unavailable": "The SOAP service could not be reached.",
    "upstream-circuit-open": (
        "The SOAP service keeps failing, so the gateway does not call it for a while."
    ),
    "upstream-overloaded": "Too many calls to the SOAP service are in flight and waiting.",
    "upstream-invalid-response": "The SOAP service answered with something that is not SOAP.",
    "upstream-unexpected-response": "The SOAP response does not have the shape mapped.",
    "mapping-error": "The route's mapping failed to build the request.",
    "internal-error": "The gateway failed; the request id locates the details in its log.",
}


def problem_type(slug: str) -> str:
    """The ``type`` URI of a problem slug."""
    return f"urn:mediator:problem:{slug}"


def problem_response(
    slug: str,
    status: int,
    title: str,
    *,
    detail: str | None = None,
    request_id: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> web.Response:
    """A problem+json response."""
    body: dict[str, Any] = {"type": problem_type(slug), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extensions.items() if v is not None})
    return web.Response(
        body=dumps(body), status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )
