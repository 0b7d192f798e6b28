"""The gateway's security file (``mediator serve --security FILE``): who may call
(``api_keys``, ``jwt``, ``mtls``, ``require_auth``, ``realm``), how often (``rate_limits``) and
with how large a body (``limits``); loaded and validated at start-up.

Only hashes of API keys are stored; secrets are named by ``*_env`` or ``*_file``
(:mod:`mediator.mapping.secrets`). See ``docs/security.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mediator.errors import MappingError, MappingIssue
from mediator.mapping.issues import IssueSink
from mediator.mapping.route_security import (
    AUTH_METHODS,
    RateLimitRule,
    RouteAuth,
    compile_rate_rule,
)
from mediator.mapping.secrets import Secret
from mediator.mapping.settings_reader import SettingsReader
from mediator.mapping.values import interpolate
from mediator.mapping.yamlsource import KeyPath, YamlLoadError, load_yaml

__all__ = [
    "API_KEY_KEYS",
    "JWT_ALGORITHMS",
    "JWT_KEYS",
    "LIMITS_KEYS",
    "MTLS_KEYS",
    "RATE_LIMITS_KEYS",
    "SECURITY_FILE_KEYS",
    "ApiKey",
    "ApiKeyConfig",
    "JsonLimits",
    "JwtConfig",
    "MtlsClient",
    "MtlsConfig",
    "RateLimitConfig",
    "SecurityConfig",
    "effective_auth",
    "load_security_config",
    "sha256_hex",
]

SECURITY_FILE_KEYS = frozenset(
    {"version", "require_auth", "realm", "api_keys", "jwt", "mtls", "rate_limits", "limits"}
)
API_KEY_KEYS = frozenset({"header", "keys"})
_API_KEY_ENTRY_KEYS = frozenset({"id", "sha256", "scopes", "claims"})
JWT_KEYS = frozenset(
    {
        "algorithms",
        "secret_env",
        "secret_file",
        "public_key_file",
        "jwks_file",
        "jwks_url",
        "jwks_cache",
        "jwks_timeout",
        "issuer",
        "audience",
        "clock_skew",
        "subject_claim",
        "scope_claim",
        "required_claims",
    }
)
MTLS_KEYS = frozenset({"identity", "clients"})
_MTLS_CLIENT_KEYS = frozenset({"subject", "scopes", "claims"})
RATE_LIMITS_KEYS = frozenset(
    {
        "store",
        "redis_url",
        "redis_prefix",
        "redis_timeout",
        "on_store_error",
        "per_client",
        "clients",
    }
)
LIMITS_KEYS = frozenset(
    {"max_depth", "max_items", "max_string_length", "max_number_length", "max_params"}
)
JWT_ALGORITHMS = (
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SECRET_HEADER = re.compile(r"api[-_]?key|token|secret|credential", re.IGNORECASE)
"""Header names every redaction (logs, traces, fixtures) recognises as secrets."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """One API key: its SHA-256 digest, the client it identifies, and its rights."""

    id: str
    digest: bytes = field(repr=False)
    scopes: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyConfig:
    """API keys sent by header; only their hashes are configured."""

    header: str = "X-API-Key"
    keys: tuple[ApiKey, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class JwtConfig:
    """JWT bearer tokens: accepted algorithms, keys, and the claims checked."""

    algorithms: tuple[str, ...]
    secret: Secret | None = None
    public_key: str | None = field(default=None, repr=False)
    jwks: Mapping[str, Any] | None = field(default=None, repr=False)
    jwks_url: str | None = None
    jwks_cache: float = 300.0
    jwks_timeout: float = 3.0
    issuer: str | None = None
    audience: tuple[str, ...] = ()
    clock_skew: float = 30.0
    subject_claim: str = "sub"
    scope_claim: str = "scope"
    required_claims: tuple[str, ...] = ("exp",)


@dataclass(frozen=True, slots=True, kw_only=True)
class MtlsClient:
    """Rights of the client whose certificate has this subject."""

    subject: str
    scopes: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class MtlsConfig:
    """Client certificates (verified by the TLS server): the identity is the subject's
    common name (``identity: cn``) or its whole distinguished name (``dn``)."""

    identity: Literal["cn", "dn"] = "cn"
    clients: tuple[MtlsClient, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitConfig:
    """Where token buckets live and the per-client limit applying to every route."""

    store: Literal["memory", "redis"] = "memory"
    redis_url: str | None = field(default=None, repr=False)
    redis_prefix: str = "mediator:{ratelimit}:"
    redis_timeout: float = 0.25
    on_store_error: Literal["allow", "deny"] = "allow"
    per_client: RateLimitRule | None = None
    clients: dict[str, RateLimitRule] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonLimits:
    """Bounds of a client's JSON body and parameters, beyond the body size."""

    max_depth: int = 32
    max_items: int = 10_000
    """Members of one object or items of one array."""
    max_string_length: int = 65_536
    """Characters of one string (member names included)."""
    max_number_length: int = 64
    """Characters of one number literal."""
    max_params: int = 64
    """Query parameters of one request."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityConfig:
    """The gateway's security file (``mediator serve --security FILE``)."""

    file: str = ""
    require_auth: bool = False
    realm: str = "mediator"
    api_keys: ApiKeyConfig | None = None
    jwt: JwtConfig | None = None
    mtls: MtlsConfig | None = None
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    limits: JsonLimits = field(default_factory=JsonLimits)

    @property
    def methods(self) -> tuple[str, ...]:
        """The authentication methods configured, in the order they are tried."""
        configured = {"api_key": self.api_keys, "jwt": self.jwt, "mtls": self.mtls}
        return tuple(m for m in AUTH_METHODS if configured[m] is not None)


def load_security_config(path: Path, environ: Mapping[str, str]) -> SecurityConfig:
    """Load and validate the gateway's security file.

    Raises:
        MappingError: listing every issue, each with ``file:line:col``.
    """
    sink = IssueSink(str(path))
    try:
        source = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            [MappingIssue(str(path), 1, 1, "", f"cannot read security file: {exc}")]
        ) from None
    except YamlLoadError as exc:
        raise MappingError(
            [MappingIssue(str(path), exc.line, exc.column, "", exc.message)]
        ) from None
    sink.positions = source.positions
    reader = SettingsReader(sink, environ, path.parent)
    raw = reader.block(source.data or {}, SECURITY_FILE_KEYS, (), "the security file")
    if raw.get("version") != 1:
        sink.at_key(("version",), "expected version: 1")
    config = SecurityConfig(
        file=str(path),
        require_auth=reader.boolean(raw, "require_auth", False, ()),
        realm=reader.text(raw, "realm", ()) or "mediator",
        api_keys=_api_keys(raw.get("api_keys"), reader) if "api_keys" in raw else None,
        jwt=_jwt(raw.get("jwt"), reader) if "jwt" in raw else None,
        mtls=_mtls(raw.get("mtls"), reader) if "mtls" in raw else None,
        rate_limits=_rate_limits(raw.get("rate_limits"), reader),
        limits=_limits(raw.get("limits"), reader),
    )
    if not _TOKEN.match(config.realm.replace(" ", "_")) or '"' in config.realm:
        sink.at_value(("realm",), "expected a plain name (letters, digits, - _ .)")
    if sink.issues:
        raise MappingError(sink.issues)
    return config


def _api_keys(raw: Any, reader: SettingsReader) -> ApiKeyConfig:
    path: KeyPath = ("api_keys",)
    block = reader.block(raw, API_KEY_KEYS, path, "header and keys")
    header = reader.text(block, "header", path) or "X-API-Key"
    if not _TOKEN.match(header) or header.lower() in ("authorization", "host", "cookie"):
        reader.sink.at_value((*path, "header"), f"expected a header name, got {header!r}")
    elif not _SECRET_HEADER.search(header):
        reader.sink.at_value(
            (*path, "header"),
            f"{header!r} does not name a secret, so logs and traces would not redact it; "
            "use a name containing api-key, token, secret or credential",
        )
    entries = block.get("keys", [])
    if not isinstance(entries, list) or not entries:
        reader.sink.at_value((*path, "keys"), "expected a list of {id, sha256, scopes}")
        entries = []
    keys = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        epath = (*path, "keys", index)
        item = reader.block(entry, _API_KEY_ENTRY_KEYS, epath, "id, sha256, scopes, claims")
        key_id = reader.text(item, "id", epath)
        digest = item.get("sha256")
        if key_id is None:
            reader.sink.at_key(epath, "missing key id (the client the key identifies)")
            continue
        if key_id in seen:
            reader.sink.at_value((*epath, "id"), f"duplicate id {key_id!r}")
        seen.add(key_id)
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            reader.sink.at_key(
                epath,
                "expected sha256: the key's SHA-256 as 64 hex digits (never the key itself; "
                'printf %s "$KEY" | sha256sum)',
            )
            continue
        scopes, claims = reader.scopes_and_claims(item, epath)
        keys.append(ApiKey(id=key_id, digest=bytes.fromhex(digest), scopes=scopes, claims=claims))
    return ApiKeyConfig(header=header, keys=tuple(keys))


def _jwt(raw: Any, reader: SettingsReader) -> JwtConfig:
    path: KeyPath = ("jwt",)
    sink = reader.sink
    block = reader.block(raw, JWT_KEYS, path, "algorithms, keys and checked claims")
    algorithms = reader.names(block, "algorithms", path)
    for index, alg in enumerate(algorithms):
        if alg not in JWT_ALGORITHMS:
            sink.at_value(
                (*path, "algorithms", index),
                f"unknown algorithm {alg!r}; expected some of: {', '.join(JWT_ALGORITHMS)}",
            )
    if not algorithms:
        sink.at_key(path, f"missing key algorithms; expected some of: {', '.join(JWT_ALGORITHMS)}")
    symmetric = [a for a in algorithms if a.startswith("HS")]
    if symmetric and len(symmetric) != len(algorithms):
        sink.at_value(
            (*path, "algorithms"),
            "do not mix HS* (shared secret) with public-key algorithms: a public key must never "
            "be usable as an HMAC secret",
        )
    secret = reader.secret(block, "secret", path, required=False)
    public_key = None
    if "public_key_file" in block:
        key_path = reader.path(block, "public_key_file", path)
        if key_path is not None:
            public_key = key_path.read_text(encoding="utf-8")
    jwks = None
    if "jwks_file" in block:
        jwks_path = reader.path(block, "jwks_file", path)
        if jwks_path is not None:
            try:
                jwks = json.loads(jwks_path.read_text(encoding="utf-8"))
            except ValueError as exc:
                sink.at_value((*path, "jwks_file"), f"not a JSON Web Key Set: {exc}")
            if jwks is not None and not isinstance(
                jwks.get("keys") if isinstance(jwks, dict) else None, list
            ):
                sink.at_value((*path, "jwks_file"), "not a JSON Web Key Set (no keys list)")
                jwks = None
    jwks_url = reader.text(block, "jwks_url", path)
    if jwks_url is not None and not (
        jwks_url.startswith("https://")
        or re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/", jwks_url)
    ):
        sink.at_value((*path, "jwks_url"), "expected an https:// URL (http:// only on loopback)")
    if symmetric and secret is None:
        sink.at_key(path, "HS* algorithms need secret_env or secret_file")
    elif symmetric and secret is not None:
        needed = max(int(a[2:]) // 8 for a in symmetric)  # RFC 7518 §3.2: the hash size
        if len(secret.value.encode()) < needed:
            sink.at_key(path, f"the secret must be at least {needed} bytes for {symmetric[-1]}")
    if not symmetric and algorithms and not (public_key or jwks or jwks_url):
        sink.at_key(path, "public-key algorithms need public_key_file, jwks_file or jwks_url")
    audience = block.get("audience", [])
    audience = [audience] if isinstance(audience, str) else audience
    if not isinstance(audience, list) or not all(isinstance(a, str) for a in audience):
        sink.at_value((*path, "audience"), "expected a string or a list of strings")
        audience = []
    return JwtConfig(
        algorithms=algorithms,
        secret=secret,
        public_key=public_key,
        jwks=jwks,
        jwks_url=jwks_url,
        jwks_cache=reader.duration(block, "jwks_cache", 300.0, path),
        jwks_timeout=reader.duration(block, "jwks_timeout", 3.0, path),
        issuer=reader.text(block, "issuer", path),
        audience=tuple(interpolate(a, reader.environ) for a in audience),
        clock_skew=reader.duration(block, "clock_skew", 30.0, path)
        if block.get("clock_skew") not in (0, "0s")
        else 0.0,
        subject_claim=reader.text(block, "subject_claim", path) or "sub",
        scope_claim=reader.text(block, "scope_claim", path) or "scope",
        required_claims=reader.names(block, "required_claims", path)
        if "required_claims" in block
        else ("exp",),
    )


def _mtls(raw: Any, reader: SettingsReader) -> MtlsConfig:
    path: KeyPath = ("mtls",)
    block = reader.block(raw or {}, MTLS_KEYS, path, "identity and clients")
    identity = block.get("identity", "cn")
    if identity not in ("cn", "dn"):
        reader.sink.at_value((*path, "identity"), f"expected cn or dn, got {identity!r}")
        identity = "cn"
    clients = []
    entries = block.get("clients", [])
    if not isinstance(entries, list):
        reader.sink.at_value((*path, "clients"), "expected a list of {subject, scopes, claims}")
        entries = []
    for index, entry in enumerate(entries):
        epath = (*path, "clients", index)
        item = reader.block(entry, _MTLS_CLIENT_KEYS, epath, "subject, scopes, claims")
        subject = reader.text(item, "subject", epath)
        if subject is None:
            reader.sink.at_key(epath, "missing key subject")
            continue
        scopes, claims = reader.scopes_and_claims(item, epath)
        clients.append(MtlsClient(subject=subject, scopes=scopes, claims=claims))
    return MtlsConfig(identity=identity, clients=tuple(clients))


def _rate_limits(raw: Any, reader: SettingsReader) -> RateLimitConfig:
    if raw is None:
        return RateLimitConfig()
    path: KeyPath = ("rate_limits",)
    sink = reader.sink
    block = reader.block(raw, RATE_LIMITS_KEYS, path, "store, per_client, clients")
    store = block.get("store", "memory")
    if store not in ("memory", "redis"):
        sink.at_value((*path, "store"), f"expected memory or redis, got {store!r}")
        store = "memory"
    redis_url = reader.text(block, "redis_url", path)
    if store == "redis" and not redis_url:
        sink.at_key(path, "store: redis needs redis_url (e.g. ${REDIS_URL})")
    if redis_url is not None and not re.match(r"^(redis|rediss|unix)://", redis_url):
        sink.at_value((*path, "redis_url"), "expected a redis://, rediss:// or unix:// URL")
    on_error = block.get("on_store_error", "allow")
    if on_error not in ("allow", "deny"):
        sink.at_value((*path, "on_store_error"), f"expected allow or deny, got {on_error!r}")
        on_error = "allow"
    per_client = None
    if "per_client" in block:
        per_client = compile_rate_rule(
            block["per_client"], sink, (*path, "per_client"), per_default="global", pers=("global",)
        )
    clients: dict[str, RateLimitRule] = {}
    overrides = block.get("clients", {})
    if not isinstance(overrides, dict):
        sink.at_value((*path, "clients"), "expected a mapping of client id to {rate, burst}")
        overrides = {}
    for name, value in overrides.items():
        rule = compile_rate_rule(
            value, sink, (*path, "clients", name), per_default="global", pers=("global",)
        )
        if rule is not None:
            clients[str(name)] = rule
    return RateLimitConfig(
        store=store,
        redis_url=redis_url,
        redis_prefix=reader.text(block, "redis_prefix", path) or "mediator:{ratelimit}:",
        redis_timeout=reader.duration(block, "redis_timeout", 0.25, path),
        on_store_error=on_error,
        per_client=per_client,
        clients=clients,
    )


def _limits(raw: Any, reader: SettingsReader) -> JsonLimits:
    if raw is None:
        return JsonLimits()
    path: KeyPath = ("limits",)
    block = reader.block(raw, LIMITS_KEYS, path, "JSON and parameter limits")
    defaults = JsonLimits()
    values = {key: reader.integer(block, key, getattr(defaults, key), path) for key in LIMITS_KEYS}
    return JsonLimits(**values)


def effective_auth(route_auth: RouteAuth | None, config: SecurityConfig | None) -> RouteAuth | None:
    """What a route requires: its own ``auth`` or, when it does not say, the security file's
    ``require_auth``; ``None`` when anybody may call it."""
    if route_auth is None:
        return RouteAuth() if config is not None and config.require_auth else None
    return None if route_auth.public else route_auth


def sha256_hex(key: str) -> str:
    """The SHA-256 of an API key as hex: what the security file stores."""
    return hashlib.sha256(key.encode()).hexdigest()
