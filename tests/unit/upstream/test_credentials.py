"""Credentials to the backend: WS-Security UsernameToken and Timestamp, HTTP Basic, TLS, and
the rule that secrets come only from the environment or files."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lxml import etree

from mediator.mapping.credentials import (
    BasicAuth,
    Credentials,
    WsSecurity,
    compile_credentials,
    compile_tls,
)
from mediator.mapping.issues import IssueSink
from mediator.mapping.secrets import Secret
from mediator.translate.envelope import SOAP11_ENV, SOAP12_ENV
from mediator.upstream.credentials import (
    PASSWORD_DIGEST,
    PASSWORD_TEXT,
    WSSE,
    WSU,
    TlsContexts,
    add_ws_security,
    password_digest,
    secure_request,
)

ENVELOPE = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
    b'<GetOrder xmlns="urn:example:orders"><OrderId>7</OrderId></GetOrder></s:Body></s:Envelope>'
)
NS = {"wsse": WSSE, "wsu": WSU, "s": SOAP11_ENV, "s12": SOAP12_ENV}


# -- a small PKI for TLS tests (also used by tests/integration/test_security.py) ------------


@dataclass
class Pki:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Mediator Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    server: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    else:
        usage = x509.oid.ExtendedKeyUsageOID
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([usage.SERVER_AUTH if server else usage.CLIENT_AUTH]),
            critical=False,
        )
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def make_pki(directory: Path) -> Pki:
    """Write a CA, a server and a client certificate (EC P-256) under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("Mediator Test CA", ca_key, None, ca=True)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_cert = _certificate("Unrelated CA", other_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate("localhost", server_key, (ca_cert.subject, ca_key), server=True)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _certificate("batch-client", client_key, (ca_cert.subject, ca_key))
    return Pki(
        ca=_write(directory / "ca.pem", ca_cert, ca_key),
        server_cert=_write(directory / "server.pem", server, server_key),
        server_key=directory / "server.key",
        client_cert=_write(directory / "client.pem", client, client_key),
        client_key=directory / "client.key",
        other_ca=_write(directory / "other-ca.pem", other_cert, other_key),
    )


# -- WS-Security ----------------------------------------------------------------------------


def _wss(**kwargs: Any) -> WsSecurity:
    values: dict[str, Any] = {
        "username": "svc",
        "password": Secret("s3cr3t-pw", "env:PW"),
        "digest": True,
    }
    values.update(kwargs)
    return WsSecurity(**values)


def test_password_digest_follows_the_username_token_profile() -> None:
    """The digest is Base64(SHA-1(nonce + created + password)), the profile's formula."""
    nonce, created = b"0123456789abcdef", "2026-03-14T09:26:53.123Z"
    expected = base64.b64encode(
        hashlib.sha1(nonce + created.encode() + b"s3cr3t-pw").digest()  # noqa: S324
    ).decode()
    assert password_digest(nonce, created, "s3cr3t-pw") == expected


def test_digest_token_carries_nonce_created_and_no_clear_password() -> None:
    """A PasswordDigest token holds the digest of its own nonce and created, never the
    password; a Timestamp with Created and Expires comes first; mustUnderstand is "1"."""
    now = dt.datetime(2026, 3, 14, 9, 26, 53, 123000, tzinfo=dt.UTC)
    out = add_ws_security(ENVELOPE, _wss(timestamp=300.0), "1.1", now=now, nonce=b"n" * 16)
    assert b"s3cr3t-pw" not in out
    root = etree.fromstring(out)
    security = root.find("s:Header/wsse:Security", NS)
    assert security is not None
    assert security.get(f"{{{SOAP11_ENV}}}mustUnderstand") == "1"
    assert etree.QName(security[0]).localname == "Timestamp"
    assert security.findtext("wsu:Timestamp/wsu:Created", namespaces=NS) == (
        "2026-03-14T09:26:53.123Z"
    )
    assert security.findtext("wsu:Timestamp/wsu:Expires", namespaces=NS) == (
        "2026-03-14T09:31:53.123Z"
    )
    token = security.find("wsse:UsernameToken", NS)
    assert token is not None
    assert token.findtext("wsse:Username", namespaces=NS) == "svc"
    password = token.find("wsse:Password", NS)
    assert password is not None and password.get("Type") == PASSWORD_DIGEST
    nonce = token.findtext("wsse:Nonce", namespaces=NS)
    created = token.findtext("wsu:Created", namespaces=NS)
    assert nonce == base64.b64encode(b"n" * 16).decode()
    assert password.text == password_digest(b"n" * 16, str(created), "s3cr3t-pw")
    assert root.find("s:Body", NS) is not None  # the body is untouched


def test_password_text_token_and_no_timestamp() -> None:
    """PasswordText puts the password itself (for TLS-protected endpoints); timestamp None
    leaves the Timestamp out; mustUnderstand false leaves the attribute out."""
    out = add_ws_security(
        ENVELOPE, _wss(digest=False, timestamp=None, must_understand=False), "1.1"
    )
    root = etree.fromstring(out)
    password = root.find(".//wsse:Password", NS)
    assert password is not None
    assert password.get("Type") == PASSWORD_TEXT and password.text == "s3cr3t-pw"
    assert root.find(".//wsu:Timestamp", NS) is None
    security = root.find(".//wsse:Security", NS)
    assert security is not None and not security.attrib


def test_soap12_must_understand_is_true() -> None:
    """On SOAP 1.2 the header is created in the 1.2 namespace with mustUnderstand="true"."""
    envelope = ENVELOPE.replace(SOAP11_ENV.encode(), SOAP12_ENV.encode())
    root = etree.fromstring(add_ws_security(envelope, _wss(), "1.2"))
    security = root.find("s12:Header/wsse:Security", NS)
    assert security is not None
    assert security.get(f"{{{SOAP12_ENV}}}mustUnderstand") == "true"


def test_existing_security_header_receives_the_token() -> None:
    """A soap_header template's own wsse:Security gets the token; no second header."""
    envelope = ENVELOPE.replace(
        b"<s:Body>",
        f'<s:Header><wsse:Security xmlns:wsse="{WSSE}"><Mine/></wsse:Security></s:Header><s:Body>'.encode(),
    )
    root = etree.fromstring(add_ws_security(envelope, _wss(), "1.1"))
    headers = root.findall(".//wsse:Security", NS)
    assert len(headers) == 1
    assert headers[0].find("Mine") is not None
    assert headers[0].find("wsse:UsernameToken", NS) is not None


def test_every_try_gets_a_fresh_nonce() -> None:
    """Two applications of the same credentials never share a nonce (no replay on retry)."""

    def nonce_of(data: bytes) -> str | None:
        return etree.fromstring(data).findtext(".//wsse:Nonce", namespaces=NS)

    first = add_ws_security(ENVELOPE, _wss(), "1.1")
    second = add_ws_security(ENVELOPE, _wss(), "1.1")
    assert nonce_of(first) != nonce_of(second)


class _Upstream:
    """The two attributes secure_request reads."""

    def __init__(self, credentials: Credentials | None) -> None:
        self.credentials = credentials
        self.soap_version = "1.1"


def test_secure_request_adds_basic_and_replaces_any_authorization() -> None:
    """Basic credentials become the only Authorization header; other headers stay."""
    basic = BasicAuth(username="svc", password=Secret("pa:ss", "file:/x"))
    upstream: Any = _Upstream(Credentials(basic=basic))
    body, headers = secure_request(
        upstream, ENVELOPE, {"authorization": "Bearer leaked", "SOAPAction": '"x"'}
    )
    assert body == ENVELOPE
    assert headers == {
        "SOAPAction": '"x"',
        "Authorization": "Basic " + base64.b64encode(b"svc:pa:ss").decode(),
    }


def test_secure_request_without_credentials_changes_nothing() -> None:
    """No credentials: the envelope and headers go out as they are."""
    body, headers = secure_request(_Upstream(None), ENVELOPE, {"A": "b"})  # type: ignore[arg-type]
    assert body == ENVELOPE and headers == {"A": "b"}


def test_secret_never_prints_itself() -> None:
    """repr and str of a Secret (and of what holds one) name its source, not its value."""
    secret = Secret("hunter2-value", "env:PW")
    holder = BasicAuth(username="u", password=secret)
    assert "hunter2-value" not in repr(secret) + str(secret) + repr(holder)
    assert "env:PW" in repr(secret)


# -- compiling service.credentials and service.tls -----------------------------------------


def _credentials(raw: Any, environ: dict[str, str], base: Path) -> tuple[Any, list[str]]:
    sink = IssueSink("m.yaml")
    result = compile_credentials(raw, sink, ("service", "credentials"), environ, base)
    return result, [str(i) for i in sink.issues]


def test_credentials_from_env_and_file(tmp_path: Path) -> None:
    """Passwords come from a variable or a file (one trailing newline dropped)."""
    (tmp_path / "basic.pw").write_text("from-file\n")
    creds, issues = _credentials(
        {
            "ws_security": {"username": "svc", "password_env": "WSS_PW", "password_type": "text"},
            "basic": {"username": "gw", "password_file": "basic.pw"},
        },
        {"WSS_PW": "from-env"},
        tmp_path,
    )
    assert issues == []
    assert creds.ws_security.password.value == "from-env" and not creds.ws_security.digest
    assert creds.basic.password.value == "from-file"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"basic": {"username": "u", "password": "clear"}}, "a secret in clear is not allowed"),
        ({"ws_security": {"username": "u", "password": "x"}}, "a secret in clear is not allowed"),
        ({"basic": {"username": "u", "password_env": "UNSET"}}, "UNSET is not set"),
        ({"basic": {"username": "u", "password_file": "missing"}}, "cannot read 'missing'"),
        ({"basic": {"username": "u"}}, "expected exactly one of password_env"),
        ({"basic": {"username": "u:x", "password_env": "PW"}}, "cannot contain ':'"),
        (
            {"ws_security": {"username": "u", "password_env": "PW", "password_type": "md5"}},
            "expected text or digest",
        ),
        ({"kerberos": {}}, "unknown key; expected one of: basic, ws_security"),
    ],
)
def test_credential_mistakes_are_reported(raw: Any, message: str, tmp_path: Path) -> None:
    """Secrets in clear, unset variables, unreadable files and bad values are load errors."""
    _, issues = _credentials(raw, {"PW": "x"}, tmp_path)
    assert any(message in issue for issue in issues), issues


def test_tls_context_with_ca_bundle_and_client_certificate(tmp_path: Path) -> None:
    """service.tls builds a verifying context holding the CA and the client certificate."""
    pki = make_pki(tmp_path)
    sink = IssueSink("m.yaml")
    tls = compile_tls(
        {
            "ca_file": str(pki.ca),
            "cert_file": str(pki.client_cert),
            "key_file": str(pki.client_key),
        },
        sink,
        ("service", "tls"),
        {},
        tmp_path,
    )
    assert sink.issues == []
    assert tls is not None and tls.context is not None
    assert tls.context.verify_mode == ssl.CERT_REQUIRED and tls.context.check_hostname
    assert tls.context.get_ca_certs()[0]["subject"][-1][0][1] == "Mediator Test CA"


def test_tls_verify_off_and_broken_files(tmp_path: Path) -> None:
    """verify: false gives a non-verifying context; a file that is not a certificate is a
    load error naming the block, not a crash at the first call."""
    sink = IssueSink("m.yaml")
    tls = compile_tls({"verify": False}, sink, ("service", "tls"), {}, tmp_path)
    assert tls is not None and tls.context is not None
    assert tls.context.verify_mode == ssl.CERT_NONE and not tls.verify
    (tmp_path / "bad.pem").write_text("not a certificate")
    sink = IssueSink("m.yaml")
    assert compile_tls({"cert_file": "bad.pem"}, sink, ("service", "tls"), {}, tmp_path) is None
    assert "cannot use the TLS files" in str(sink.issues[0])


def test_tls_contexts_by_address() -> None:
    """Each upstream address gets its own context; others get aiohttp's verified default."""
    context = ssl.create_default_context()

    class _Tls:
        def __init__(self) -> None:
            self.context = context

    class _U:
        def __init__(self, address: str, tls: Any) -> None:
            self.address, self.tls = address, tls

    contexts = TlsContexts()
    contexts.update([_U("https://a/soap", _Tls()), _U("https://b/soap", None)])  # type: ignore[list-item]
    assert contexts.for_url("https://a/soap") is context
    assert contexts.for_url("https://b/soap") is True
    contexts.update([])
    assert contexts.for_url("https://a/soap") is True
