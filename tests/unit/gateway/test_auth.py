"""Authentication and authorisation: API keys, JWT (HS256, RS256, ES256 from JWKS), client
certificates, scopes and claims, the security file, and the start-up safety check."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from multidict import CIMultiDict

from mediator.errors import MappingError
from mediator.gateway.auth import (
    JWKS_MIN_REFRESH,
    Authenticator,
    AuthError,
    Identity,
    JwksKeys,
    authorize,
)
from mediator.mapping import credentials, route_security, security_file
from mediator.mapping.issues import IssueSink
from mediator.mapping.loader import load_mappings
from mediator.mapping.route_security import RouteAuth, compile_route_auth
from mediator.mapping.secrets import Secret
from mediator.mapping.security_check import security_issues
from mediator.mapping.security_file import (
    ApiKey,
    ApiKeyConfig,
    JwtConfig,
    MtlsClient,
    MtlsConfig,
    SecurityConfig,
    effective_auth,
    load_security_config,
)
from mediator.upstream.wsdl import WsdlRegistry
from tests.conftest import REPO, WSDL_DIR

HS_SECRET = "a-test-secret-of-at-least-32-bytes!!"
API_KEY = "mk_live_0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    """One RSA key for the module (generation is the slow part)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    """One P-256 key for the module."""
    return ec.generate_private_key(ec.SECP256R1())


def _jwk(key: ec.EllipticCurvePrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    data = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    return {**data, "kid": kid, "use": "sig", **extra}


def _request(headers: dict[str, str] | None = None, peercert: Any = None) -> web.Request:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        peercert if name == "peercert" else default
    )
    return make_mocked_request(
        "GET", "/orders/1", headers=CIMultiDict(headers or {}), transport=transport
    )


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "ada",
        "iss": "https://idp.test",
        "aud": "mediator",
        "exp": now + 300,
        "iat": now,
        "scope": "orders:read orders:write",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs_config(**overrides: Any) -> SecurityConfig:
    values: dict[str, Any] = {
        "algorithms": ("HS256",),
        "secret": Secret(HS_SECRET, "env:JWT"),
        "issuer": "https://idp.test",
        "audience": ("mediator",),
        "clock_skew": 30.0,
    }
    values.update(overrides)
    return SecurityConfig(
        jwt=JwtConfig(**values),
        api_keys=ApiKeyConfig(
            keys=(
                ApiKey(
                    id="batch",
                    digest=hashlib.sha256(API_KEY.encode()).digest(),
                    scopes=("orders:read",),
                    claims={"tenant": "acme"},
                ),
            )
        ),
    )


async def _refused(authenticator: Authenticator, request: web.Request) -> AuthError:
    with pytest.raises(AuthError) as caught:
        await authenticator.authenticate(request, authenticator.config.methods)
    return caught.value


# -- API keys -------------------------------------------------------------------------------


async def test_api_key_identifies_its_client() -> None:
    """A configured key (stored as its SHA-256) yields its id, scopes and claims."""
    auth = Authenticator(_hs_config())
    identity = await auth.authenticate(_request({"X-API-Key": API_KEY}), ("api_key",))
    assert identity == Identity("batch", "api_key", frozenset({"orders:read"}), {"tenant": "acme"})
    assert identity.template_value() == {
        "subject": "batch",
        "method": "api_key",
        "scopes": ["orders:read"],
        "claims": {"tenant": "acme"},
    }


async def test_wrong_or_missing_api_key_is_401_with_a_challenge() -> None:
    """A wrong key is 401 (never tried against the other methods); no credential is 401
    with a challenge for every method the route accepts."""
    auth = Authenticator(_hs_config())
    wrong = await _refused(
        auth, _request({"X-API-Key": API_KEY + "x", "Authorization": "Bearer x"})
    )
    assert wrong.status == 401 and wrong.detail == "the API key is not valid"
    missing = await _refused(auth, _request())
    assert missing.status == 401
    assert missing.challenge == (
        'ApiKey realm="mediator", header="X-API-Key", Bearer realm="mediator"'
    )


# -- JWT ------------------------------------------------------------------------------------


async def test_hs256_token_identifies_subject_and_scopes() -> None:
    """A valid HS256 token yields sub, the space-separated scope claim, and all claims."""
    auth = Authenticator(_hs_config())
    token = jwt.encode(_claims(tenant="acme"), HS_SECRET, algorithm="HS256")
    identity = await auth.authenticate(_request({"Authorization": f"Bearer {token}"}), ("jwt",))
    assert identity.subject == "ada" and identity.method == "jwt"
    assert identity.scopes == {"orders:read", "orders:write"}
    assert identity.claims["tenant"] == "acme"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        # 5 s past the 30 s skew: whole-second timestamps and a slow machine cannot flip it
        ({"exp": -35}, "expired"),
        ({"nbf": 35}, "not yet valid"),
        ({"iss": "https://evil.test"}, "wrong issuer"),
        ({"aud": "other"}, "wrong audience"),
        ({"exp": None}, "claim exp is missing"),
        ({"sub": None}, "claim sub is missing"),
        ({"iss": None}, "claim iss is missing"),
    ],
)
async def test_invalid_tokens_are_401_invalid_token(overrides: dict[str, Any], reason: str) -> None:
    """Expiry and not-before beyond the 30 s clock skew, issuer, audience and required
    claims are checked; the challenge carries error="invalid_token"."""
    now = int(time.time())
    claims = _claims(
        **{k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in overrides.items()}
    )
    auth = Authenticator(_hs_config())
    token = jwt.encode(claims, HS_SECRET, algorithm="HS256")
    refused = await _refused(auth, _request({"Authorization": f"Bearer {token}"}))
    assert refused.status == 401
    assert reason in refused.detail
    assert refused.challenge is not None and 'error="invalid_token"' in refused.challenge


async def test_clock_skew_boundary() -> None:
    """A token expired 29 s ago passes with a 30 s skew; one expired 31 s ago does not
    (see the parametrized case above); not-before 29 s ahead passes too."""
    auth = Authenticator(_hs_config())
    now = time.time()  # not truncated: a whole second of margin inside the skew
    for claims in (_claims(exp=now - 29), _claims(nbf=now + 29)):
        token = jwt.encode(claims, HS_SECRET, algorithm="HS256")
        identity = await auth.authenticate(_request({"Authorization": f"Bearer {token}"}), ("jwt",))
        assert identity.subject == "ada"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda: jwt.encode(_claims(), "another-secret-of-at-least-32-bytes!!", algorithm="HS256"),
        lambda: jwt.encode(_claims(), HS_SECRET * 2, algorithm="HS512"),
        lambda: jwt.encode(_claims(), None, algorithm="none"),
        lambda: "not.a.token",
        lambda: "",
    ],
    ids=["bad-signature", "alg-not-accepted", "alg-none", "garbage", "empty"],
)
async def test_forged_or_malformed_tokens_are_401(make_token: Callable[[], str]) -> None:
    """Wrong key, an algorithm not configured (including none) and garbage are refused."""
    auth = Authenticator(_hs_config())
    refused = await _refused(auth, _request({"Authorization": f"Bearer {make_token()}"}))
    assert refused.status == 401


async def test_rs256_with_public_key_file(rsa_key: rsa.RSAPrivateKey) -> None:
    """RS256 tokens verify against a PEM public key; an HS256 token signed with that public
    key as secret (algorithm confusion) is refused."""
    public_pem = (
        rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    config = SecurityConfig(
        jwt=JwtConfig(algorithms=("RS256",), public_key=public_pem, required_claims=("exp",))
    )
    auth = Authenticator(config)
    token = jwt.encode(_claims(), rsa_key, algorithm="RS256")
    identity = await auth.authenticate(_request({"Authorization": f"Bearer {token}"}), ("jwt",))
    assert identity.subject == "ada"
    encode = jwt.utils.base64url_encode
    signing_input = (
        encode(b'{"alg":"HS256","typ":"JWT"}') + b"." + encode(json.dumps(_claims()).encode())
    )
    signature = encode(hmac.new(public_pem.encode(), signing_input, hashlib.sha256).digest())
    forged = (signing_input + b"." + signature).decode()
    refused = await _refused(auth, _request({"Authorization": f"Bearer {forged}"}))
    assert "algorithm not accepted" in refused.detail


async def test_es256_from_jwks_file_by_kid(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """ES256 keys are found by kid in a JWKS; an unknown kid is refused."""
    other = ec.generate_private_key(ec.SECP256R1())
    config = SecurityConfig(
        jwt=JwtConfig(
            algorithms=("ES256",),
            jwks={"keys": [_jwk(other, "old"), _jwk(ec_key, "k1", alg="ES256")]},
        )
    )
    auth = Authenticator(config)
    token = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "k1"})
    identity = await auth.authenticate(_request({"Authorization": f"Bearer {token}"}), ("jwt",))
    assert identity.subject == "ada"
    wrong_kid = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "old"})
    assert (await _refused(auth, _request({"Authorization": f"Bearer {wrong_kid}"}))).status == 401
    unknown = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "nope"})
    refused = await _refused(auth, _request({"Authorization": f"Bearer {unknown}"}))
    assert "unknown key id" in refused.detail


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_jwks_url_is_cached_and_refreshed_sparingly(
    ec_key: ec.EllipticCurvePrivateKey,
) -> None:
    """The JWKS is fetched once, kept for jwks_cache seconds; an unknown kid refetches at
    most every JWKS_MIN_REFRESH seconds; a failed fetch keeps the keys known."""
    calls: list[str] = []
    documents = [{"keys": [_jwk(ec_key, "k1")]}]

    async def fetch(url: str, timeout: float) -> bytes:
        calls.append(url)
        if not documents:
            raise OSError("unreachable")
        return json.dumps(documents.pop(0)).encode()

    clock = _Clock()
    keys = JwksKeys(
        JwtConfig(algorithms=("ES256",), jwks_url="https://idp/jwks", jwks_cache=300.0),
        fetch=fetch,
        clock=clock,
    )
    assert await keys.find("k1") is not None
    assert await keys.find("k1") is not None
    assert len(calls) == 1  # cached
    assert await keys.find("k2") is None  # unknown kid, but fetched < 10 s ago
    assert len(calls) == 1
    clock.now += JWKS_MIN_REFRESH
    assert await keys.find("k2") is None  # refetch attempted, fails: old keys kept
    assert len(calls) == 2
    assert await keys.find("k1") is not None
    clock.now += 301
    documents.append({"keys": [_jwk(ec_key, "k2")]})
    assert await keys.find("k2") is not None  # stale: refetched
    assert len(calls) == 3


async def test_unreachable_jwks_without_keys_is_503(ec_key: ec.EllipticCurvePrivateKey) -> None:
    """With no key known and the JWKS URL failing, the answer is 503, not 401."""

    async def fetch(url: str, timeout: float) -> bytes:
        raise OSError("down")

    config = SecurityConfig(jwt=JwtConfig(algorithms=("ES256",), jwks_url="https://idp/jwks"))
    auth = Authenticator(config, fetch=fetch)
    token = jwt.encode(_claims(), ec_key, algorithm="ES256", headers={"kid": "k1"})
    refused = await _refused(auth, _request({"Authorization": f"Bearer {token}"}))
    assert refused.status == 503 and refused.retry_after > 0


# -- client certificates --------------------------------------------------------------------


async def test_client_certificate_identity_and_rights() -> None:
    """A verified peer certificate yields its common name (or DN), with the rights listed
    for it; without a certificate the request is unauthenticated."""
    subject = ((("organizationName", "Acme"),), (("commonName", "batch-client"),))
    config = SecurityConfig(
        mtls=MtlsConfig(clients=(MtlsClient(subject="batch-client", scopes=("orders:read",)),))
    )
    auth = Authenticator(config)
    identity = await auth.authenticate(_request(peercert={"subject": subject}), ("mtls",))
    assert identity.subject == "batch-client" and identity.scopes == {"orders:read"}
    assert identity.claims["dn"] == "CN=batch-client,O=Acme"
    dn_auth = Authenticator(SecurityConfig(mtls=MtlsConfig(identity="dn")))
    identity = await dn_auth.authenticate(_request(peercert={"subject": subject}), ("mtls",))
    assert identity.subject == "CN=batch-client,O=Acme" and not identity.scopes
    refused = await _refused(auth, _request(peercert={}))
    assert refused.status == 401 and refused.challenge == 'ClientCertificate realm="mediator"'


# -- authorisation --------------------------------------------------------------------------


def test_scopes_and_claims_are_403() -> None:
    """Every required scope must be held; each required claim must have an allowed value
    (or contain one, for list claims); a JWT client gets an insufficient_scope challenge."""
    auth = Authenticator(_hs_config())
    identity = Identity("ada", "jwt", frozenset({"a"}), {"tenant": "acme", "roles": ["x", "y"]})
    authorize(identity, RouteAuth(scopes=("a",), claims=(("tenant", ("acme", "other")),)), auth)
    authorize(identity, RouteAuth(claims=(("roles", ("y",)),)), auth)
    with pytest.raises(AuthError) as caught:
        authorize(identity, RouteAuth(scopes=("a", "b")), auth)
    assert caught.value.status == 403 and "b" in caught.value.detail
    assert caught.value.challenge == (
        'Bearer realm="mediator", error="insufficient_scope", scope="a b"'
    )
    with pytest.raises(AuthError, match="tenant claim"):
        authorize(identity, RouteAuth(claims=(("tenant", ("globex",)),)), auth)


def test_route_auth_forms() -> None:
    """auth: public/false, true/required, or a mapping; require_auth decides when absent."""
    sink = IssueSink("m.yaml")
    assert compile_route_auth("public", sink, ("auth",)) == RouteAuth(public=True)
    assert compile_route_auth(False, sink, ("auth",)) == RouteAuth(public=True)
    assert compile_route_auth(True, sink, ("auth",)) == RouteAuth()
    compiled = compile_route_auth(
        {"scopes": ["a"], "claims": {"tenant": ["x", "y"]}, "methods": ["jwt"]}, sink, ("auth",)
    )
    assert compiled == RouteAuth(scopes=("a",), claims=(("tenant", ("x", "y")),), methods=("jwt",))
    assert sink.issues == []
    compile_route_auth({"methods": ["kerberos"], "roles": []}, sink, ("auth",))
    assert len(sink.issues) == 2
    assert effective_auth(None, None) is None
    assert effective_auth(None, SecurityConfig(require_auth=True)) == RouteAuth()
    assert effective_auth(RouteAuth(public=True), SecurityConfig(require_auth=True)) is None


# -- the security file ----------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "security.yaml"
    path.write_text(text)
    return path


def test_security_file_loads(tmp_path: Path) -> None:
    """A complete file: hashed keys, JWT from env, mTLS identities, rate limits, limits."""
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    path = _write(
        tmp_path,
        f"""
version: 1
require_auth: true
api_keys:
  header: X-Client-Token
  keys:
    - {{id: batch, sha256: {digest}, scopes: [orders:read]}}
jwt:
  algorithms: [HS256]
  secret_env: JWT_SECRET
  issuer: https://idp.test
  audience: mediator
  clock_skew: 10s
mtls:
  identity: cn
  clients: [{{subject: batch-client, scopes: [orders:read]}}]
rate_limits:
  per_client: {{rate: 100/min}}
  clients: {{batch: {{rate: 10/s, burst: 50}}}}
limits: {{max_depth: 10, max_items: 100}}
""",
    )
    config = load_security_config(path, {"JWT_SECRET": HS_SECRET})
    assert config.require_auth and config.methods == ("api_key", "jwt", "mtls")
    assert config.api_keys is not None and config.api_keys.header == "X-Client-Token"
    assert config.api_keys.keys[0].digest == bytes.fromhex(digest)
    assert config.jwt is not None and config.jwt.clock_skew == 10.0
    assert HS_SECRET not in repr(config)
    assert config.rate_limits.clients["batch"].burst == 50
    assert config.limits.max_depth == 10 and config.limits.max_string_length == 65_536


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\njwt: {algorithms: [HS256], secret: clear}", "a secret in clear"),
        ("version: 1\napi_keys: {keys: [{id: a, sha256: plain-key}]}", "64 hex digits"),
        ("version: 1\njwt: {algorithms: [HS256, RS256], secret_env: S}", "do not mix"),
        ("version: 1\njwt: {algorithms: [RS256]}", "need public_key_file, jwks_file or jwks_url"),
        ("version: 1\njwt: {algorithms: [HS256]}", "need secret_env or secret_file"),
        ("version: 1\njwt: {algorithms: [HS256], secret_env: SHORT}", "at least 32 bytes"),
        ("version: 1\njwt: {algorithms: [XX1]}", "unknown algorithm"),
        (
            "version: 1\njwt: {algorithms: [RS256], jwks_url: 'http://idp.example/jwks'}",
            "expected an https:// URL",
        ),
        ("version: 1\nrate_limits: {store: redis}", "needs redis_url"),
        ("version: 1\napi_keys: {header: X-Client, keys: []}", "does not name a secret"),
        ("version: 2", "expected version: 1"),
        ("version: 1\nusers: []", "unknown key"),
    ],
)
def test_security_file_mistakes(tmp_path: Path, text: str, message: str) -> None:
    """Secrets in clear, plaintext keys, mixed algorithm families, missing keys, short
    secrets and insecure JWKS URLs are refused with file:line:col messages."""
    path = _write(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_security_config(path, {"S": HS_SECRET, "SHORT": "too-short"})
    assert any(message in str(issue) for issue in caught.value.issues), caught.value.issues
    assert all(str(issue).startswith(str(path)) for issue in caught.value.issues)


# -- start-up safety ------------------------------------------------------------------------


class _Route:
    def __init__(self, auth: RouteAuth | None, upstream: Any = None) -> None:
        self.auth = auth
        self.upstream = upstream or mock.Mock(key="u", tls=None, credentials=None)
        self.file, self.line, self.method, self.path = "m.yaml", 3, "GET", "/x"


def test_unsafe_configurations_are_refused() -> None:
    """require_auth with no method, every route public, a route requiring auth or a
    method the gateway does not have: each is a start-up issue."""
    keys = SecurityConfig(api_keys=ApiKeyConfig(keys=()))
    assert security_issues([_Route(RouteAuth())], None)[0].message.startswith(
        "the route requires authentication"
    )
    assert "method jwt is not configured" in str(
        security_issues([_Route(RouteAuth(methods=("jwt",)))], keys)
    )
    strict = SecurityConfig(file="s.yaml", require_auth=True)
    assert "no authentication method" in str(security_issues([_Route(None)], strict))
    strict_keys = SecurityConfig(file="s.yaml", require_auth=True, api_keys=ApiKeyConfig())
    assert "configured on no route" in str(
        security_issues([_Route(RouteAuth(public=True))], strict_keys)
    )
    assert security_issues([_Route(None)], strict_keys) == []


def test_insecure_tls_and_cleartext_credentials_need_flags() -> None:
    """verify: false needs allow_insecure_tls; Basic or PasswordText over http:// needs
    allow_cleartext_credentials; PasswordDigest over http:// is accepted."""
    tls = mock.Mock(verify=False, file="m.yaml", line=5)
    basic = mock.Mock(basic=object(), ws_security=None, file="m.yaml", line=7)
    digest = mock.Mock(basic=None, ws_security=mock.Mock(digest=True), file="m.yaml", line=7)
    insecure = mock.Mock(key="a", tls=tls, credentials=None, address="https://x")
    cleartext = mock.Mock(key="b", tls=None, credentials=basic, address="http://x")
    hashed = mock.Mock(key="c", tls=None, credentials=digest, address="http://x")
    issues = security_issues(
        [_Route(None, insecure), _Route(None, cleartext), _Route(None, hashed)], None
    )
    assert [i.key for i in issues] == ["service.tls.verify", "service.credentials"]
    assert "HTTP Basic would send a password in clear" in issues[1].message
    assert (
        security_issues(
            [_Route(None, insecure), _Route(None, cleartext)],
            None,
            allow_insecure_tls=True,
            allow_cleartext_credentials=True,
        )
        == []
    )


# -- documentation --------------------------------------------------------------------------

SECURITY_DOC = (REPO / "docs" / "security.md").read_text()
DOCUMENTED_KEYS = sorted(
    credentials.SERVICE_SECURITY_KEYS
    | route_security.ROUTE_SECURITY_KEYS
    | credentials.CREDENTIALS_KEYS
    | credentials.WS_SECURITY_KEYS
    | credentials.BASIC_KEYS
    | credentials.TLS_KEYS
    | route_security.AUTH_KEYS
    | route_security.RATE_LIMIT_KEYS
    | security_file.SECURITY_FILE_KEYS
    | security_file.API_KEY_KEYS
    | security_file.JWT_KEYS
    | security_file.MTLS_KEYS
    | security_file.RATE_LIMITS_KEYS
    | security_file.LIMITS_KEYS
)


@pytest.mark.parametrize("key", DOCUMENTED_KEYS)
def test_every_security_key_is_documented(key: str) -> None:
    """Each key the security loaders accept appears, as code, in docs/security.md."""
    assert f"`{key}`" in SECURITY_DOC


# -- mapping files --------------------------------------------------------------------------


def _load(tmp_path: Path, route_extra: str, service_extra: str = "", address: str = "") -> str:
    """Load one mapping file; the issues as text ("" when it loads)."""
    (tmp_path / "m.yaml").write_text(
        "version: 1\nservice:\n  wsdl: orders.wsdl\n"
        f"  address: {address or 'https://legacy.test/orders'}\n"
        f"  namespaces: {{o: urn:example:orders}}\n{service_extra}"
        "routes:\n  - get: /orders/{id}\n    operation: GetOrder\n"
        f"{route_extra}"
    )
    try:
        load_mappings([tmp_path], describe=WsdlRegistry().describe, wsdl_dir=WSDL_DIR, environ={})
    except MappingError as exc:
        return str(exc)
    return ""


def test_client_variable_needs_auth_on_the_route(tmp_path: Path) -> None:
    """Templates may read ``client`` only on routes with auth; elsewhere it is a load error
    saying how to fix it."""
    args = "    request: {args: {OrderId: '{{ client.claims.order }}'}}\n"
    assert "declare auth: on the route" in _load(tmp_path, args)
    assert _load(tmp_path, args + "    auth: required\n") == ""
    assert "declare auth: on the route" in _load(tmp_path, args + "    auth: public\n")


def test_secrets_in_clear_in_mapping_files_are_refused(tmp_path: Path) -> None:
    """A literal wsse:Password in a template and credentials in the address are load
    errors; a password read from env in a template is accepted."""
    header = (
        "    request:\n      args: {OrderId: '1'}\n      soap_header: |\n"
        '        <w:Security xmlns:w="urn:w"><w:Password>SECRET</w:Password></w:Security>\n'
    )
    assert "a Password is written in clear" in _load(tmp_path, header.replace("SECRET", "hunter2"))
    assert _load(tmp_path, header.replace("SECRET", "{{ path.id }}")) == ""
    issues = _load(tmp_path, "", address="https://user:pw@legacy.test/orders")
    assert "credentials in the address are not allowed" in issues
