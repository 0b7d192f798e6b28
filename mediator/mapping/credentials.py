"""What the gateway presents to a SOAP service: the mapping keys ``service.credentials``
(WS-Security UsernameToken, HTTP Basic) and ``service.tls`` (CA bundle, verification, client
certificate), compiled at load.

Passwords are named only by ``*_env`` or ``*_file`` (:mod:`mediator.mapping.secrets`); the
upstream layer puts them on the wire. See ``docs/security.md``.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediator.mapping.issues import IssueSink
from mediator.mapping.secrets import Secret
from mediator.mapping.settings_reader import SettingsReader
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "BASIC_KEYS",
    "CREDENTIALS_KEYS",
    "SERVICE_SECURITY_KEYS",
    "TLS_KEYS",
    "WS_SECURITY_KEYS",
    "BasicAuth",
    "Credentials",
    "UpstreamTls",
    "WsSecurity",
    "compile_credentials",
    "compile_tls",
]

SERVICE_SECURITY_KEYS = frozenset({"credentials", "tls"})
CREDENTIALS_KEYS = frozenset({"ws_security", "basic"})
WS_SECURITY_KEYS = frozenset(
    {"username", "password_env", "password_file", "password_type", "timestamp", "must_understand"}
)
BASIC_KEYS = frozenset({"username", "password_env", "password_file"})
TLS_KEYS = frozenset(
    {"verify", "ca_file", "cert_file", "key_file", "key_password_env", "key_password_file"}
)


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


def _line(sink: IssueSink, path: KeyPath) -> int:
    return sink.positions.key(path)[0]


def compile_credentials(
    raw: Any, sink: IssueSink, path: KeyPath, environ: Mapping[str, str], base: Path
) -> Credentials | None:
    """``service.credentials``: WS-Security UsernameToken and/or HTTP Basic."""
    if raw is None:
        return None
    reader = SettingsReader(sink, environ, base)
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
    reader = SettingsReader(sink, environ, base)
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
