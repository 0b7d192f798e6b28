"""Who is calling: API keys, JWT bearer tokens and client certificates, checked per route.

:class:`Authenticator` turns a request's credentials into an :class:`Identity` (subject,
method, scopes, claims) or refuses them: 401 with ``WWW-Authenticate`` when credentials are
missing or invalid, 403 when the identity lacks a route's scopes or claims, both as
problem+json. API keys are compared by SHA-256 digest in constant time; JWTs are verified
with PyJWT against a shared secret, a public key, or a JWKS file or URL (fetched with a
deadline and a size cap, cached, refreshed at most every :data:`JWKS_MIN_REFRESH` seconds
for an unknown key id). See docs/security.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import structlog
from aiohttp import web

from mediator.gateway.limits import check_request_head
from mediator.gateway.metrics import record_rate_limit_rejection
from mediator.gateway.problems import problem_response
from mediator.gateway.ratelimit import BucketStore, RateLimiter, StoreUnavailableError
from mediator.gateway.state import request_state
from mediator.log import get_logger
from mediator.mapping.model import Route
from mediator.mapping.route_security import RouteAuth
from mediator.mapping.security_file import (
    JsonLimits,
    JwtConfig,
    MtlsConfig,
    RateLimitConfig,
    SecurityConfig,
    effective_auth,
)
from mediator.translate.context import build_context

__all__ = [
    "IDENTITY_KEY",
    "JWKS_MAX_BYTES",
    "JWKS_MIN_REFRESH",
    "RATE_HEADERS_KEY",
    "AuthError",
    "Authenticator",
    "FrontDoor",
    "Identity",
    "JwksKeys",
    "authorize",
    "client_context",
    "request_context",
    "server_ssl_context",
]

JWKS_MAX_BYTES = 512 * 1024
"""The largest JWKS document read from ``jwks_url``."""
JWKS_MIN_REFRESH = 10.0
"""Seconds between two fetches triggered by an unknown key id (no fetch storms)."""

_log = get_logger("mediator.gateway")

Fetch = Callable[[str, float], Awaitable[bytes]]
"""Fetches a URL within a deadline (seconds); raises on any failure."""

_DN_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "emailAddress": "emailAddress",
}


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated client: who (``subject``), how (``method``), and its rights."""

    subject: str
    method: str
    scopes: frozenset[str] = frozenset()
    claims: Mapping[str, Any] = field(default_factory=dict)

    def template_value(self) -> dict[str, Any]:
        """What templates see as ``client``: subject, method, scopes (sorted) and claims."""
        return {
            "subject": self.subject,
            "method": self.method,
            "scopes": sorted(self.scopes),
            "claims": dict(self.claims),
        }


IDENTITY_KEY = web.RequestKey("mediator_identity", Identity)


def client_context(request: web.Request) -> dict[str, Any] | None:
    """The ``client`` template variable of an authenticated request (``None`` otherwise)."""
    identity = request.get(IDENTITY_KEY)
    return {"client": identity.template_value()} if identity is not None else None


def request_context(
    request: web.Request, route: Route, path_params: Mapping[str, str], body: Any
) -> dict[str, Any]:
    """What ``route``'s templates see for ``request``: path parameters, query, JSON body,
    headers, and ``client`` when the request is authenticated.

    Raises:
        ClientError: a missing required parameter or a value of the wrong type.
    """
    return build_context(
        route,
        path=path_params,
        query=request.query,
        body=body,
        headers=request.headers,
        extra=client_context(request),
    )


class AuthError(Exception):
    """A request refused by authentication (401), authorisation (403) or because its
    credentials cannot be checked right now (503). ``detail`` is safe to show."""

    def __init__(
        self, status: int, detail: str, *, challenge: str | None = None, retry_after: int = 0
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.challenge = challenge
        self.retry_after = retry_after


async def _fetch_url(url: str, timeout: float) -> bytes:
    """GET ``url`` within ``timeout`` seconds, reading at most :data:`JWKS_MAX_BYTES`."""
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with (
        aiohttp.ClientSession(timeout=client_timeout, trust_env=False) as session,
        session.get(url, allow_redirects=False) as response,
    ):
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        body = await response.content.read(JWKS_MAX_BYTES + 1)
        if len(body) > JWKS_MAX_BYTES:
            raise ValueError(f"larger than {JWKS_MAX_BYTES} bytes")
        return body


def _parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """Signing keys of a JWKS by key id (keys without ``kid`` under ``""``)."""
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # unsupported key types are skipped, like PyJWKSet does
        keys[str(entry.get("kid", ""))] = key
    return keys


class JwksKeys:
    """Public keys from a JWKS file (read at load) and/or URL (fetched, cached for
    ``jwks_cache`` seconds; an unknown key id triggers a refresh at most every
    :data:`JWKS_MIN_REFRESH` seconds; a failed fetch keeps the keys already known)."""

    def __init__(
        self,
        config: JwtConfig,
        *,
        fetch: Fetch = _fetch_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._fetch = fetch
        self._clock = clock
        self._static = _parse_jwks(config.jwks) if config.jwks else {}
        self._fetched: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def find(self, kid: str | None) -> jwt.PyJWK | None:
        """The key for ``kid`` (or the only key, for a token without ``kid``)."""
        url = self._config.jwks_url
        if url is not None:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at > self._config.jwks_cache
            may_fetch = self._attempted_at is None or now - self._attempted_at >= JWKS_MIN_REFRESH
            if may_fetch and (stale or self._lookup(kid) is None):
                await self._refresh(url)
        return self._lookup(kid)

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        keys = {**self._static, **self._fetched}
        if kid is not None:
            return keys.get(kid)
        return next(iter(keys.values())) if len(keys) == 1 else None

    @property
    def available(self) -> bool:
        """Whether any key is known."""
        return bool(self._static or self._fetched)

    async def _refresh(self, url: str) -> None:
        seen = self._attempted_at
        async with self._lock:
            if self._attempted_at != seen:
                return  # another request fetched while this one waited
            self._attempted_at = self._clock()
            try:
                body = await self._fetch(url, self._config.jwks_timeout)
                keys = _parse_jwks(json.loads(body))
            except (aiohttp.ClientError, TimeoutError, ValueError, OSError) as exc:
                _log.warning("auth.jwks_fetch_failed", url=url, reason=str(exc)[:200])
                return
            if not keys:
                _log.warning("auth.jwks_fetch_failed", url=url, reason="no usable signing key")
                return
            self._fetched, self._fetched_at = keys, self._clock()
            _log.info("auth.jwks_fetched", url=url, keys=len(keys))


_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC"}


def _jwk_for(found: jwt.PyJWK, alg: str) -> Any:
    """The key to verify an ``alg`` token with: the JWK itself when it names its algorithm
    (PyJWT then refuses any other), else its raw key when its type fits ``alg``."""
    if found.algorithm_name == alg:
        return found
    declared = found._jwk_data.get("alg")
    if declared is None and found._jwk_data.get("kty") == _KEY_TYPES.get(alg[:2]):
        return found.key
    return None


def _scopes(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    return frozenset()


def _distinguished_name(subject: Any) -> tuple[str | None, str]:
    """The common name and the RFC 4514-like DN of a peer certificate's subject."""
    parts, common_name = [], None
    for rdn in subject or ():
        for name, value in rdn:
            parts.append(f"{_DN_NAMES.get(name, name)}={value}")
            if name == "commonName":
                common_name = value
    return common_name, ",".join(reversed(parts))


class Authenticator:
    """Checks the credentials of requests against the security file."""

    def __init__(self, config: SecurityConfig, *, fetch: Fetch = _fetch_url) -> None:
        self.config = config
        self._jwks = (
            JwksKeys(config.jwt, fetch=fetch)
            if config.jwt is not None and (config.jwt.jwks or config.jwt.jwks_url)
            else None
        )

    # -- challenges --------------------------------------------------------------------

    def challenge(self, methods: tuple[str, ...], *, error: str | None = None) -> str:
        """The ``WWW-Authenticate`` value for ``methods``; ``error`` (RFC 6750) is added to
        the Bearer challenge when a token was refused."""
        realm = self.config.realm
        challenges = []
        for method in methods:
            if method == "jwt":
                text = f'Bearer realm="{realm}"'
                if error:
                    text += f', error="{error}"'
                challenges.append(text)
            elif method == "api_key" and self.config.api_keys is not None:
                challenges.append(f'ApiKey realm="{realm}", header="{self.config.api_keys.header}"')
            elif method == "mtls":
                challenges.append(f'ClientCertificate realm="{realm}"')
        return ", ".join(challenges)

    def _unauthorized(self, methods: tuple[str, ...], detail: str, error: str | None) -> AuthError:
        return AuthError(401, detail, challenge=self.challenge(methods, error=error))

    # -- authentication ----------------------------------------------------------------

    async def authenticate(self, request: web.Request, methods: tuple[str, ...]) -> Identity:
        """The identity proven by the request's credentials, trying ``methods`` in order;
        the first credential presented decides (an invalid one is never skipped).

        Raises:
            AuthError: 401 when no credential of ``methods`` is presented or it is invalid;
                503 when JWT keys cannot be fetched.
        """
        api_keys = self.config.api_keys
        for method in methods:
            if method == "api_key" and api_keys is not None:
                presented = request.headers.get(api_keys.header)
                if presented is not None:
                    return self._api_key(presented, methods)
            elif method == "jwt" and self.config.jwt is not None:
                scheme, _, token = request.headers.get("Authorization", "").partition(" ")
                if scheme.lower() == "bearer":
                    return await self._jwt(self.config.jwt, token.strip(), methods)
            elif method == "mtls" and self.config.mtls is not None:
                identity = self._certificate(request, self.config.mtls)
                if identity is not None:
                    return identity
        raise self._unauthorized(methods, "credentials are required", None)

    def _api_key(self, presented: str, methods: tuple[str, ...]) -> Identity:
        assert self.config.api_keys is not None
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        found = None
        for key in self.config.api_keys.keys:  # every key is compared: no early exit
            if hmac.compare_digest(digest, key.digest):
                found = key
        if found is None:
            raise self._unauthorized(methods, "the API key is not valid", None)
        return Identity(found.id, "api_key", frozenset(found.scopes), dict(found.claims))

    async def _jwt(self, config: JwtConfig, token: str, methods: tuple[str, ...]) -> Identity:
        def invalid(reason: str) -> AuthError:
            return self._unauthorized(
                methods, f"the bearer token is not valid: {reason}", "invalid_token"
            )

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid("malformed") from None
        alg = header.get("alg")
        if alg not in config.algorithms:
            raise invalid("algorithm not accepted")
        key: Any
        if alg.startswith("HS"):
            assert config.secret is not None
            key = config.secret.value
        elif self._jwks is not None:
            kid = header.get("kid")
            found = await self._jwks.find(str(kid) if kid is not None else None)
            if found is None:
                if not self._jwks.available:
                    raise AuthError(
                        503, "the keys to verify bearer tokens are unavailable", retry_after=5
                    )
                raise invalid("unknown key id")
            key = _jwk_for(found, alg)
            if key is None:
                raise invalid("key and algorithm do not match")
        elif config.public_key is not None:
            key = config.public_key
        else:
            raise invalid("no key")
        required = [*config.required_claims, config.subject_claim]
        if config.issuer:
            required.append("iss")
        if config.audience:
            required.append("aud")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=list(config.audience) or None,
                issuer=config.issuer,
                leeway=config.clock_skew,
                options={
                    "require": required,
                    "verify_aud": bool(config.audience),
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise invalid("expired") from None
        except jwt.ImmatureSignatureError:
            raise invalid("not yet valid") from None
        except jwt.InvalidAudienceError:
            raise invalid("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise invalid("wrong issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise invalid(f"claim {exc.claim} is missing") from None
        except jwt.InvalidSignatureError:
            raise invalid("bad signature") from None
        except jwt.PyJWTError:
            raise invalid("rejected") from None
        subject = claims.get(config.subject_claim)
        if not isinstance(subject, str | int) or isinstance(subject, bool) or subject == "":
            raise invalid(f"claim {config.subject_claim} is not a string")
        scopes = _scopes(claims.get(config.scope_claim, claims.get("scp")))
        return Identity(str(subject), "jwt", scopes, claims)

    def _certificate(self, request: web.Request, config: MtlsConfig) -> Identity | None:
        transport = request.transport
        cert = transport.get_extra_info("peercert") if transport is not None else None
        if not cert:
            return None  # no certificate, or one the TLS layer did not verify
        common_name, dn = _distinguished_name(cert.get("subject"))
        subject = common_name if config.identity == "cn" else dn
        if not subject:
            return None
        client = next((c for c in config.clients if c.subject == subject), None)
        scopes = frozenset(client.scopes) if client else frozenset()
        claims = {"dn": dn, **(client.claims if client else {})}
        return Identity(subject, "mtls", scopes, claims)


def _claim_matches(actual: Any, allowed: tuple[Any, ...]) -> bool:
    if isinstance(actual, list):
        return any(item in allowed for item in actual)
    return actual in allowed


def authorize(identity: Identity, required: RouteAuth, authenticator: Authenticator) -> None:
    """Check the route's scopes (all required) and claims (each one of its values).

    Raises:
        AuthError: 403, naming what is missing.
    """
    missing = [s for s in required.scopes if s not in identity.scopes]
    if missing:
        challenge = None
        if identity.method == "jwt":
            realm = authenticator.config.realm
            scope = " ".join(required.scopes)
            challenge = f'Bearer realm="{realm}", error="insufficient_scope", scope="{scope}"'
        raise AuthError(
            403, f"the client lacks the scope(s): {', '.join(missing)}", challenge=challenge
        )
    for name, allowed in required.claims:
        if not _claim_matches(identity.claims.get(name), allowed):
            raise AuthError(403, f"the client's {name} claim does not allow this route")


def server_ssl_context(
    cert_file: Path,
    key_file: Path | None,
    *,
    client_ca: Path | None = None,
    require_client_cert: bool = True,
) -> ssl.SSLContext:
    """The TLS context of ``mediator serve``: TLS 1.2 or later; with ``client_ca``, client
    certificates are verified against it (required, or optional when
    ``require_client_cert`` is false: routes then decide through ``auth.methods``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


RATE_HEADERS_KEY = web.RequestKey("mediator_rate_headers", dict[str, str])
_TITLES = {
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    503: ("auth-unavailable", "Authentication Unavailable"),
}


class FrontDoor:
    """Everything a request passes before its route's handler runs, in order: the inbound
    limits of its head, authentication and authorisation, then rate limits.

    ``admit`` answers a refused request itself (problem+json) and returns ``None`` for an
    admitted one, whose identity is then under :data:`IDENTITY_KEY` (and bound to the log
    context as ``client`` and ``auth``).
    """

    def __init__(
        self,
        security: SecurityConfig | None,
        *,
        max_body: int,
        fetch: Fetch = _fetch_url,
        store: BucketStore | None = None,
    ) -> None:
        self.security = security
        self.max_body = max_body
        self.limits = security.limits if security is not None else JsonLimits()
        self.authenticator = Authenticator(security, fetch=fetch) if security else None
        self.limiter = RateLimiter(
            security.rate_limits if security is not None else RateLimitConfig(), store
        )

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """A cleanup context closing the rate-limit store's connections."""
        yield
        await self.limiter.close()

    async def admit(
        self, request: web.Request, route: Route, path_params: Mapping[str, str]
    ) -> web.Response | None:
        """Check limits, credentials and rate limits for a request on ``route``.

        Raises:
            ClientError, web.HTTPRequestEntityTooLarge: the request head breaks a limit.
        """
        check_request_head(request, path_params, max_body=self.max_body, limits=self.limits)
        required = effective_auth(route.auth, self.security)
        identity: Identity | None = None
        if required is not None:
            try:
                identity = await self._identify(request, required)
            except AuthError as exc:
                return self._refusal(request, exc)
            request[IDENTITY_KEY] = identity
            structlog.contextvars.bind_contextvars(client=identity.subject, auth=identity.method)
        client = f"{identity.method}:{identity.subject}" if identity else f"ip:{request.remote}"
        try:
            decision = await self.limiter.check(
                route.name, route.rate_limits, client, identity.subject if identity else None
            )
        except StoreUnavailableError:
            return problem_response(
                "rate-limit-unavailable",
                503,
                "Rate Limit Unavailable",
                detail="the rate-limit store cannot be reached; the request was not sent",
                request_id=request_state(request).request_id,
                instance=request.path,
                headers={"Retry-After": "1"},
            )
        if decision is None:
            return None
        request[RATE_HEADERS_KEY] = decision.headers
        if decision.allowed:
            return None
        _log.info("ratelimit.request_refused", retry_after_s=decision.retry_after)
        record_rate_limit_rejection(request.app, route.name)
        return problem_response(
            "too-many-requests",
            429,
            "Too Many Requests",
            detail="the rate limit is exhausted; retry after the Retry-After delay",
            request_id=request_state(request).request_id,
            instance=request.path,
            headers={"Retry-After": str(decision.retry_after), **decision.headers},
        )

    async def _identify(self, request: web.Request, required: RouteAuth) -> Identity:
        if self.authenticator is None:
            raise AuthError(
                401,
                "the route requires authentication but none is configured",
                challenge='Bearer realm="mediator"',
            )
        methods = required.methods or self.authenticator.config.methods
        identity = await self.authenticator.authenticate(request, methods)
        authorize(identity, required, self.authenticator)
        return identity

    def _refusal(self, request: web.Request, exc: AuthError) -> web.Response:
        slug, title = _TITLES.get(exc.status, ("unauthorized", "Unauthorized"))
        headers: dict[str, str] = {}
        if exc.challenge:
            headers["WWW-Authenticate"] = exc.challenge
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
        _log.info("auth.request_refused", status=exc.status, reason=exc.detail)
        return problem_response(
            slug,
            exc.status,
            title,
            detail=exc.detail,
            request_id=request_state(request).request_id,
            instance=request.path,
            headers=headers or None,
        )

    @staticmethod
    async def on_response_prepare(request: web.Request, response: web.StreamResponse) -> None:
        """Add the rate-limit fields to every response of a rate-limited request."""
        for name, value in request.get(RATE_HEADERS_KEY, {}).items():
            response.headers.setdefault(name, value)
