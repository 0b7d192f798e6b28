"""Security settings: the mapping keys ``credentials``, ``tls``, ``auth`` and ``rate_limit``,
the gateway's security file, and the start-up check that refuses unsafe combinations.

Mapping files may name secrets only indirectly, by environment variable (``*_env``) or file
(``*_file``); a secret written in clear is an error. Secrets are read once, at load, into
:class:`Secret` objects whose ``repr`` never shows them. See ``docs/security.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mediator.errors import MappingError, MappingIssue
from mediator.mapping.issues import IssueSink
from mediator.mapping.values import interpolate, parse_duration
from mediator.mapping.yamlsource import KeyPath, YamlLoadError, load_yaml

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
    "security_issues",
    "sha256_hex",
]

SERVICE_SECURITY_KEYS = frozenset({"credentials", "tls"})
ROUTE_SECURITY_KEYS = frozenset({"auth", "rate_limit"})
CREDENTIALS_KEYS = frozenset({"ws_security", "basic"})
WS_SECURITY_KEYS = frozenset(
    {"username", "password_env", "password_file", "password_type", "timestamp", "must_understand"}
)
BASIC_KEYS = frozenset({"username", "password_env", "password_file"})
TLS_KEYS = frozenset(
    {"verify", "ca_file", "cert_file", "key_file", "key_password_env", "key_password_file"}
)
AUTH_KEYS = frozenset({"scopes", "claims", "methods"})
RATE_LIMIT_KEYS = frozenset({"rate", "burst", "per"})
AUTH_METHODS = ("api_key", "jwt", "mtls")

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
_CLEAR_SECRET_KEYS = ("password", "secret", "key_password", "api_key", "token")
_RATE = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)\s*$"
)
_PERIODS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SECRET_HEADER = re.compile(r"api[-_]?key|token|secret|credential", re.IGNORECASE)
"""Header names every redaction (logs, traces, fixtures) recognises as secrets."""
_CLEAR_PASSWORD = re.compile(
    r"<(?:[\w.-]+:)?(Password|Nonce)\b[^>]*>(?P<text>[^<]*)</", re.IGNORECASE
)


@dataclass(frozen=True, slots=True, repr=False)
class Secret:
    """A secret read from an environment variable or a file; it never prints itself."""

    value: str
    source: str
    """Where it came from (``env:NAME`` or ``file:PATH``), safe to show."""

    def __repr__(self) -> str:
        return f"Secret({self.source})"

    __str__ = __repr__


# -- credentials to the backend ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WsSecurity:
    """A WS-Security UsernameToken (and optionally a Timestamp) added to every request."""

    username: str
    password: Secret
    digest: bool = False
    """PasswordDigest (Base64(SHA-1(nonce + created + password))) instead of PasswordText."""
    timestamp: float | None = 300.0
    """Seconds a request's ``wsu:Timestamp`` is valid (``Expires``); ``None``: none."""
    must_understand: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class BasicAuth:
    """HTTP Basic credentials sent as ``Authorization`` on every request."""

    username: str
    password: Secret

    def header(self) -> str:
        """The ``Authorization`` header value."""
        token = base64.b64encode(f"{self.username}:{self.password.value}".encode()).decode()
        return f"Basic {token}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """What the gateway presents to one upstream (``service.credentials``)."""

    ws_security: WsSecurity | None = None
    basic: BasicAuth | None = None
    file: str = ""
    line: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class UpstreamTls:
    """TLS towards one upstream (``service.tls``); verification is on unless turned off."""

    verify: bool = True
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    """Built once at load from the settings above."""
    file: str = ""
    line: int = 1


# -- routes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteAuth:
    """Who may call a route (``auth``): ``public``, or authenticated clients with ``scopes``
    (all required) and ``claims`` (each claim one of the listed values), by ``methods``
    (empty: any method the gateway has)."""

    public: bool = False
    scopes: tuple[str, ...] = ()
    claims: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    methods: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitRule:
    """A token bucket: ``burst`` tokens, refilled at ``count`` per ``period`` seconds."""

    count: float
    period: float
    burst: int
    per: Literal["client", "route", "global"] = "client"

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self.count / self.period

    @property
    def window(self) -> int:
        """Seconds an empty bucket takes to fill (the policy's ``w``), at least 1."""
        return max(1, round(self.burst / self.rate))


# -- the security file ----------------------------------------------------------------------


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


# -- reading values -------------------------------------------------------------------------


class _Reader:
    """Typed values with their issues reported at their key paths."""

    def __init__(self, sink: IssueSink, environ: Mapping[str, str], base: Path) -> None:
        self.sink = sink
        self.environ = environ
        self.base = base

    def block(self, raw: Any, allowed: Collection[str], path: KeyPath, what: str) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.sink.at_value(path, f"expected a mapping ({what})")
            return {}
        for key in raw:
            if key in _CLEAR_SECRET_KEYS and f"{key}_env" in allowed:
                self.sink.at_key(
                    (*path, key),
                    f"a secret in clear is not allowed here; use {key}_env (an environment "
                    f"variable) or {key}_file (a file)",
                )
            elif key not in allowed:
                self.sink.at_key(
                    (*path, key), f"unknown key; expected one of: {', '.join(sorted(allowed))}"
                )
        return raw

    def text(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.sink.at_value((*path, key), f"expected a non-empty string, got {value!r}")
            return None
        try:
            return interpolate(value, self.environ)
        except KeyError as exc:
            self.sink.at_value((*path, key), f"environment variable {exc.args[0]} is not set")
            return None

    def boolean(self, raw: Mapping[str, Any], key: str, default: bool, path: KeyPath) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.sink.at_value((*path, key), f"expected true or false, got {value!r}")
            return default
        return value

    def duration(self, raw: Mapping[str, Any], key: str, default: float, path: KeyPath) -> float:
        if key not in raw:
            return default
        try:
            return parse_duration(raw[key])
        except ValueError as exc:
            self.sink.at_value((*path, key), str(exc))
            return default

    def integer(self, raw: Mapping[str, Any], key: str, default: int, path: KeyPath) -> int:
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.sink.at_value((*path, key), f"expected a positive integer, got {value!r}")
            return default
        return value

    def names(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> tuple[str, ...]:
        value = raw.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.sink.at_value((*path, key), "expected a list of names")
            return ()
        return tuple(value)

    def path(self, raw: Mapping[str, Any], key: str, path: KeyPath) -> Path | None:
        name = self.text(raw, key, path)
        if name is None:
            return None
        resolved = Path(name) if Path(name).is_absolute() else self.base / name
        if not resolved.is_file():
            self.sink.at_value((*path, key), f"file {name!r} not found")
            return None
        return resolved

    def secret(
        self, raw: Mapping[str, Any], name: str, path: KeyPath, *, required: bool
    ) -> Secret | None:
        env_key, file_key = f"{name}_env", f"{name}_file"
        given = [k for k in (env_key, file_key) if k in raw]
        if len(given) != 1:
            if given or required:
                self.sink.at_key(
                    path, f"expected exactly one of {env_key} (a variable) or {file_key} (a file)"
                )
            return None
        key = given[0]
        value = raw[key]
        if not isinstance(value, str) or not value:
            self.sink.at_value((*path, key), "expected a name")
            return None
        if key == env_key:
            secret = self.environ.get(value)
            if not secret:
                self.sink.at_value((*path, key), f"environment variable {value} is not set")
                return None
            return Secret(secret, f"env:{value}")
        file = Path(value) if Path(value).is_absolute() else self.base / value
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.sink.at_value((*path, key), f"cannot read {value!r}: {type(exc).__name__}")
            return None
        text = text.removesuffix("\n").removesuffix("\r")
        if not text:
            self.sink.at_value((*path, key), f"file {value!r} is empty")
            return None
        return Secret(text, f"file:{file}")

    def scopes_and_claims(
        self, raw: Mapping[str, Any], path: KeyPath
    ) -> tuple[tuple[str, ...], dict[str, Any]]:
        scopes = self.names(raw, "scopes", path)
        claims = raw.get("claims", {})
        if not isinstance(claims, dict):
            self.sink.at_value((*path, "claims"), "expected a mapping of claim name to value")
            claims = {}
        return scopes, claims


def _line(sink: IssueSink, path: KeyPath) -> int:
    return sink.positions.key(path)[0]


# -- service keys ---------------------------------------------------------------------------


def compile_credentials(
    raw: Any, sink: IssueSink, path: KeyPath, environ: Mapping[str, str], base: Path
) -> Credentials | None:
    """``service.credentials``: WS-Security UsernameToken and/or HTTP Basic."""
    if raw is None:
        return None
    reader = _Reader(sink, environ, base)
    block = reader.block(raw, CREDENTIALS_KEYS, path, "ws_security and/or basic")
    wss = basic = None
    if "ws_security" in block:
        wpath = (*path, "ws_security")
        wraw = reader.block(block["ws_security"], WS_SECURITY_KEYS, wpath, "username, password")
        username = reader.text(wraw, "username", wpath)
        password = reader.secret(wraw, "password", wpath, required=True)
        kind = wraw.get("password_type", "digest")
        if kind not in ("text", "digest"):
            sink.at_value((*wpath, "password_type"), f"expected text or digest, got {kind!r}")
        timestamp: float | None = 300.0
        if wraw.get("timestamp") is False:
            timestamp = None
        else:
            timestamp = reader.duration(wraw, "timestamp", 300.0, wpath)
        if username is None and "username" not in wraw:
            sink.at_key(wpath, "missing key username")
        if username is not None and password is not None:
            wss = WsSecurity(
                username=username,
                password=password,
                digest=kind != "text",
                timestamp=timestamp,
                must_understand=reader.boolean(wraw, "must_understand", True, wpath),
            )
    if "basic" in block:
        bpath = (*path, "basic")
        braw = reader.block(block["basic"], BASIC_KEYS, bpath, "username, password")
        username = reader.text(braw, "username", bpath)
        password = reader.secret(braw, "password", bpath, required=True)
        if username is None and "username" not in braw:
            sink.at_key(bpath, "missing key username")
        elif username is not None and ":" in username:
            sink.at_value((*bpath, "username"), "a Basic user name cannot contain ':'")
        elif username is not None and password is not None:
            basic = BasicAuth(username=username, password=password)
    if wss is None and basic is None:
        return None
    return Credentials(ws_security=wss, basic=basic, file=sink.file, line=_line(sink, path))


def compile_tls(
    raw: Any, sink: IssueSink, path: KeyPath, environ: Mapping[str, str], base: Path
) -> UpstreamTls | None:
    """``service.tls``: CA bundle, verification, client certificate; the SSL context is
    built here, so a bad file or key password is reported at load."""
    if raw is None:
        return None
    reader = _Reader(sink, environ, base)
    issues_before = len(sink.issues)
    block = reader.block(raw, TLS_KEYS, path, "verify, ca_file, cert_file, key_file")
    verify = reader.boolean(block, "verify", True, path)
    ca_file = reader.path(block, "ca_file", path)
    cert_file = reader.path(block, "cert_file", path)
    key_file = reader.path(block, "key_file", path)
    key_password = reader.secret(block, "key_password", path, required=False)
    if "key_file" in block and "cert_file" not in block:
        sink.at_key(path, "key_file needs cert_file (the client certificate)")
    if not verify and "ca_file" in block:
        sink.at_key((*path, "ca_file"), "ca_file has no effect with verify: false")
    context = None
    if len(sink.issues) == issues_before:
        try:
            context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            if not verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if cert_file is not None:
                context.load_cert_chain(
                    str(cert_file),
                    str(key_file) if key_file else None,
                    password=key_password.value if key_password else None,
                )
        except (ssl.SSLError, OSError) as exc:
            sink.at_key(path, f"cannot use the TLS files: {exc.__class__.__name__}: {exc}")
            return None
    return UpstreamTls(
        verify=verify,
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        context=context,
        file=sink.file,
        line=_line(sink, path),
    )


# -- route keys -----------------------------------------------------------------------------


def compile_route_auth(raw: Any, sink: IssueSink, path: KeyPath) -> RouteAuth | None:
    """``auth``: ``public``/``false``, ``true``/``required``, or scopes, claims and methods.
    ``None`` when the route does not say (the security file's ``require_auth`` decides)."""
    if raw is None:
        return None
    if raw is False or raw == "public":
        return RouteAuth(public=True)
    if raw is True or raw == "required":
        return RouteAuth()
    reader = _Reader(sink, {}, Path("."))
    if not isinstance(raw, dict):
        sink.at_value(
            path, f"expected public, required, or a mapping with scopes/claims/methods; got {raw!r}"
        )
        return None
    block = reader.block(raw, AUTH_KEYS, path, "scopes, claims, methods")
    scopes, claims = reader.scopes_and_claims(block, path)
    methods = reader.names(block, "methods", path)
    for index, method in enumerate(methods):
        if method not in AUTH_METHODS:
            sink.at_value(
                (*path, "methods", index),
                f"unknown method {method!r}; expected one of: {', '.join(AUTH_METHODS)}",
            )
    compiled_claims = []
    for name, value in claims.items():
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values or not all(isinstance(v, str | int | bool) for v in values):
            sink.at_value((*path, "claims", name), "expected a value or a list of values")
            continue
        compiled_claims.append((str(name), values))
    return RouteAuth(scopes=scopes, claims=tuple(compiled_claims), methods=methods)


def parse_rate(value: Any) -> tuple[float, float]:
    """``"100/min"`` → ``(100.0, 60.0)``: a count and the period in seconds.

    Raises:
        ValueError: for anything else.
    """
    match = _RATE.match(str(value)) if isinstance(value, str) else None
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"expected a rate such as 10/s, 600/min, 5000/h or 20/10s, got {value!r}")
    multiplier = int(match.group(2)) if match.group(2) else 1
    if multiplier < 1:
        raise ValueError(f"expected a rate such as 10/s with a positive period, got {value!r}")
    return float(match.group(1)), _PERIODS[match.group(3)] * multiplier


def _rule(
    raw: Any, sink: IssueSink, path: KeyPath, *, per_default: str, pers: tuple[str, ...]
) -> RateLimitRule | None:
    reader = _Reader(sink, {}, Path("."))
    block = reader.block(raw, RATE_LIMIT_KEYS, path, "rate, burst, per")
    if not block:
        return None
    if "rate" not in block:
        sink.at_key(path, "missing key rate; expected e.g. 10/s or 600/min")
        return None
    try:
        count, period = parse_rate(block["rate"])
    except ValueError as exc:
        sink.at_value((*path, "rate"), str(exc))
        return None
    burst = reader.integer(block, "burst", max(1, round(count)), path)
    per = block.get("per", per_default)
    if per not in pers:
        sink.at_value((*path, "per"), f"expected one of: {', '.join(pers)}; got {per!r}")
        return None
    return RateLimitRule(count=count, period=period, burst=burst, per=per)


def compile_rate_limits(raw: Any, sink: IssueSink, path: KeyPath) -> tuple[RateLimitRule, ...]:
    """``rate_limit``: one token bucket or a list of them, each ``per`` client (each client
    has its own bucket on this route) or ``route`` (all clients share one)."""
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    rules = []
    for index, item in enumerate(items):
        rule = _rule(
            item,
            sink,
            (*path, index) if isinstance(raw, list) else path,
            per_default="client",
            pers=("client", "route"),
        )
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def clear_secret_issues(source: str) -> list[str]:
    """Messages for WS-Security passwords or nonces written in clear in a request template
    (a literal value, not a ``{{ expression }}``)."""
    issues = []
    for match in _CLEAR_PASSWORD.finditer(source):
        text = match.group("text").strip()
        if text and "{{" not in text and "{%" not in text:
            issues.append(
                f"a {match.group(1)} is written in clear in the template; use "
                "service.credentials.ws_security, or read it from env"
            )
    return issues


def effective_auth(route_auth: RouteAuth | None, config: SecurityConfig | None) -> RouteAuth | None:
    """What a route requires: ``None`` when anybody may call it."""
    if route_auth is None:
        return RouteAuth() if config is not None and config.require_auth else None
    return None if route_auth.public else route_auth


# -- the security file ----------------------------------------------------------------------


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
    reader = _Reader(sink, environ, path.parent)
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


def _api_keys(raw: Any, reader: _Reader) -> ApiKeyConfig:
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


def _jwt(raw: Any, reader: _Reader) -> JwtConfig:
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


def _mtls(raw: Any, reader: _Reader) -> MtlsConfig:
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


def _rate_limits(raw: Any, reader: _Reader) -> RateLimitConfig:
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
        per_client = _rule(
            block["per_client"], sink, (*path, "per_client"), per_default="global", pers=("global",)
        )
    clients: dict[str, RateLimitRule] = {}
    overrides = block.get("clients", {})
    if not isinstance(overrides, dict):
        sink.at_value((*path, "clients"), "expected a mapping of client id to {rate, burst}")
        overrides = {}
    for name, value in overrides.items():
        rule = _rule(value, sink, (*path, "clients", name), per_default="global", pers=("global",))
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


def _limits(raw: Any, reader: _Reader) -> JsonLimits:
    if raw is None:
        return JsonLimits()
    path: KeyPath = ("limits",)
    block = reader.block(raw, LIMITS_KEYS, path, "JSON and parameter limits")
    defaults = JsonLimits()
    values = {key: reader.integer(block, key, getattr(defaults, key), path) for key in LIMITS_KEYS}
    return JsonLimits(**values)


# -- start-up safety ------------------------------------------------------------------------


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


def sha256_hex(key: str) -> str:
    """The SHA-256 of an API key as hex: what the security file stores."""
    return hashlib.sha256(key.encode()).hexdigest()
