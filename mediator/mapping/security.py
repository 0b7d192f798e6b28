"""Backwards-compatible re-exports of the security settings, which now live in modules named
for what they hold:

- :mod:`mediator.mapping.secrets`: :class:`Secret`, secret sources, secrets written in clear;
- :mod:`mediator.mapping.credentials`: ``service.credentials`` and ``service.tls``;
- :mod:`mediator.mapping.route_security`: route ``auth`` and ``rate_limit``;
- :mod:`mediator.mapping.security_file`: the gateway's security file;
- :mod:`mediator.mapping.security_check`: the start-up check refusing unsafe combinations.

Import from those modules; this one holds no code of its own.
"""

from __future__ import annotations

from mediator.mapping.credentials import (
    BASIC_KEYS,
    CREDENTIALS_KEYS,
    SERVICE_SECURITY_KEYS,
    TLS_KEYS,
    WS_SECURITY_KEYS,
    BasicAuth,
    Credentials,
    UpstreamTls,
    WsSecurity,
    compile_credentials,
    compile_tls,
)
from mediator.mapping.route_security import (
    AUTH_KEYS,
    AUTH_METHODS,
    RATE_LIMIT_KEYS,
    ROUTE_SECURITY_KEYS,
    RateLimitRule,
    RouteAuth,
    compile_rate_limits,
    compile_route_auth,
    parse_rate,
)
from mediator.mapping.secrets import Secret, clear_secret_issues
from mediator.mapping.security_check import security_issues
from mediator.mapping.security_file import (
    API_KEY_KEYS,
    JWT_ALGORITHMS,
    JWT_KEYS,
    LIMITS_KEYS,
    MTLS_KEYS,
    RATE_LIMITS_KEYS,
    SECURITY_FILE_KEYS,
    ApiKey,
    ApiKeyConfig,
    JsonLimits,
    JwtConfig,
    MtlsClient,
    MtlsConfig,
    RateLimitConfig,
    SecurityConfig,
    effective_auth,
    load_security_config,
    sha256_hex,
)

__all__ = [
    "API_KEY_KEYS",
    "AUTH_KEYS",
    "AUTH_METHODS",
    "BASIC_KEYS",
    "CREDENTIALS_KEYS",
    "JWT_ALGORITHMS",
    "JWT_KEYS",
    "LIMITS_KEYS",
    "MTLS_KEYS",
    "RATE_LIMITS_KEYS",
    "RATE_LIMIT_KEYS",
    "ROUTE_SECURITY_KEYS",
    "SECURITY_FILE_KEYS",
    "SERVICE_SECURITY_KEYS",
    "TLS_KEYS",
    "WS_SECURITY_KEYS",
    "ApiKey",
    "ApiKeyConfig",
    "BasicAuth",
    "Credentials",
    "JsonLimits",
    "JwtConfig",
    "MtlsClient",
    "MtlsConfig",
    "RateLimitConfig",
    "RateLimitRule",
    "RouteAuth",
    "Secret",
    "SecurityConfig",
    "UpstreamTls",
    "WsSecurity",
    "clear_secret_issues",
    "compile_credentials",
    "compile_rate_limits",
    "compile_route_auth",
    "compile_tls",
    "effective_auth",
    "load_security_config",
    "parse_rate",
    "security_issues",
    "sha256_hex",
]
