"""The start-up check: what makes a gateway unsafe to start with its routes and security file
(TLS verification off, passwords sent in clear, authentication required but not configured).

See ``docs/security.md``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mediator.errors import MappingIssue
from mediator.mapping.credentials import Credentials, UpstreamTls
from mediator.mapping.security_file import SecurityConfig, effective_auth

__all__ = ["security_issues"]


def security_issues(
    routes: Iterable[Any],
    config: SecurityConfig | None,
    *,
    allow_insecure_tls: bool = False,
    allow_cleartext_credentials: bool = False,
) -> list[MappingIssue]:
    """What makes a gateway unsafe to start with these routes and this security file.

    ``routes`` are :class:`~mediator.mapping.model.Route` objects. Refused: TLS verification
    off (unless ``allow_insecure_tls``); a password sent in clear over ``http://`` (Basic or
    WS-Security PasswordText, unless ``allow_cleartext_credentials``); a route requiring
    authentication when no method is configured, or naming a method that is not; and
    ``require_auth`` with no method configured or every route public.
    """
    issues: list[MappingIssue] = []
    methods = config.methods if config is not None else ()
    seen_upstreams: set[str] = set()
    authenticated = 0
    routes = list(routes)
    for route in routes:
        upstream = route.upstream
        if upstream.key not in seen_upstreams:
            seen_upstreams.add(upstream.key)
            issues.extend(
                _upstream_issues(upstream, allow_insecure_tls, allow_cleartext_credentials)
            )
        required = effective_auth(route.auth, config)
        if required is None:
            continue
        authenticated += 1
        where = f"{route.method} {route.path}: auth"
        if not methods and route.auth is None:
            continue  # inherited from require_auth: reported once, below
        if not methods:
            issues.append(
                MappingIssue(
                    route.file,
                    route.line,
                    1,
                    where,
                    "the route requires authentication but the gateway has no method "
                    "configured (api_keys, jwt or mtls in the --security file)",
                )
            )
            continue
        for method in required.methods:
            if method not in methods:
                issues.append(
                    MappingIssue(
                        route.file,
                        route.line,
                        1,
                        where,
                        f"method {method} is not configured; configured: {', '.join(methods)}",
                    )
                )
    if config is not None and config.require_auth:
        if not methods:
            issues.append(
                MappingIssue(
                    config.file, 1, 1, "require_auth", "no authentication method is configured"
                )
            )
        elif routes and not authenticated:
            issues.append(
                MappingIssue(
                    config.file,
                    1,
                    1,
                    "require_auth",
                    "every route is public (auth: public): authentication is configured on "
                    "no route",
                )
            )
    return issues


def _upstream_issues(
    upstream: Any, allow_insecure_tls: bool, allow_cleartext: bool
) -> list[MappingIssue]:
    issues = []
    tls: UpstreamTls | None = upstream.tls
    credentials: Credentials | None = upstream.credentials
    if tls is not None and not tls.verify and not allow_insecure_tls:
        issues.append(
            MappingIssue(
                tls.file,
                tls.line,
                1,
                "service.tls.verify",
                "TLS verification is off; start with --allow-insecure-upstream-tls to accept it",
            )
        )
    if (
        credentials is not None
        and not upstream.address.startswith("https://")
        and not allow_cleartext
    ):
        sent_clear = []
        if credentials.basic is not None:
            sent_clear.append("HTTP Basic")
        if credentials.ws_security is not None and not credentials.ws_security.digest:
            sent_clear.append("WS-Security PasswordText")
        if sent_clear:
            issues.append(
                MappingIssue(
                    credentials.file,
                    credentials.line,
                    1,
                    "service.credentials",
                    f"{' and '.join(sent_clear)} would send a password in clear to "
                    f"{upstream.address}; use https://, PasswordDigest, or start with "
                    "--allow-cleartext-credentials",
                )
            )
    return issues
