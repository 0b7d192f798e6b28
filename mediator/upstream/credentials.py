"""Credentials the gateway presents to SOAP services: WS-Security UsernameToken (PasswordText
or PasswordDigest, with nonce and created) and Timestamp, HTTP Basic, and TLS (CA bundle,
verification, client certificate).

Secrets were read at load (:class:`~mediator.mapping.secrets.Secret`); here they are only
put on the wire. A fresh nonce and timestamp are made for every try, so a retried request is
never a replay. See docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from lxml import etree

from mediator.errors import RenderError
from mediator.mapping.credentials import WsSecurity
from mediator.mapping.model import Upstream
from mediator.translate.envelope import SOAP_ENV_BY_VERSION
from mediator.translate.xmlsafe import XMLRejected, parse_xml

__all__ = [
    "PASSWORD_DIGEST",
    "PASSWORD_TEXT",
    "WSSE",
    "WSU",
    "TlsContexts",
    "add_ws_security",
    "password_digest",
    "secure_request",
]

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{_PROFILE}#PasswordText"
PASSWORD_DIGEST = f"{_PROFILE}#PasswordDigest"
_BASE64 = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
_NSMAP = {"wsse": WSSE, "wsu": WSU}


def _timestamp(moment: datetime) -> str:
    """``2026-03-14T09:26:53.123Z``: UTC with milliseconds, as WS-Security expects."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """``Base64(SHA-1(nonce + created + password))`` (UsernameToken Profile 1.0, §3.1)."""
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()  # noqa: S324 - the profile mandates SHA-1
    return base64.b64encode(digest).decode()


def _security_element(
    wss: WsSecurity, soap_version: str, now: datetime, nonce: bytes
) -> etree._Element:
    env_ns = SOAP_ENV_BY_VERSION[soap_version]
    security = etree.Element(f"{{{WSSE}}}Security", nsmap=_NSMAP)
    if wss.must_understand:
        security.set(f"{{{env_ns}}}mustUnderstand", "1" if soap_version == "1.1" else "true")
    created = _timestamp(now)
    if wss.timestamp is not None:
        stamp = etree.SubElement(security, f"{{{WSU}}}Timestamp")
        stamp.set(f"{{{WSU}}}Id", f"TS-{uuid.uuid4().hex}")
        etree.SubElement(stamp, f"{{{WSU}}}Created").text = created
        expires = now + timedelta(seconds=wss.timestamp)
        etree.SubElement(stamp, f"{{{WSU}}}Expires").text = _timestamp(expires)
    token = etree.SubElement(security, f"{{{WSSE}}}UsernameToken")
    token.set(f"{{{WSU}}}Id", f"UsernameToken-{uuid.uuid4().hex}")
    etree.SubElement(token, f"{{{WSSE}}}Username").text = wss.username
    password = etree.SubElement(token, f"{{{WSSE}}}Password")
    if wss.digest:
        password.set("Type", PASSWORD_DIGEST)
        password.text = password_digest(nonce, created, wss.password.value)
    else:
        password.set("Type", PASSWORD_TEXT)
        password.text = wss.password.value
    nonce_element = etree.SubElement(token, f"{{{WSSE}}}Nonce")
    nonce_element.set("EncodingType", _BASE64)
    nonce_element.text = base64.b64encode(nonce).decode()
    etree.SubElement(token, f"{{{WSU}}}Created").text = created
    return security


def add_ws_security(
    envelope: bytes,
    wss: WsSecurity,
    soap_version: str,
    *,
    now: datetime | None = None,
    nonce: bytes | None = None,
) -> bytes:
    """The envelope with a ``wsse:Security`` header holding a UsernameToken (and a
    Timestamp when configured). An existing ``wsse:Security`` header (from a
    ``soap_header`` template) receives the token instead of a second header.

    Raises:
        RenderError: the envelope is not well-formed XML (a gateway bug).
    """
    try:
        root = parse_xml(envelope)
    except XMLRejected as exc:
        raise RenderError(f"cannot add WS-Security to the envelope: {exc}") from None
    env_ns = SOAP_ENV_BY_VERSION[soap_version]
    header = root.find(f"{{{env_ns}}}Header")
    if header is None:
        header = etree.Element(f"{{{env_ns}}}Header")
        root.insert(0, header)
    security = _security_element(
        wss, soap_version, now or datetime.now(UTC), nonce if nonce is not None else os.urandom(16)
    )
    existing = header.find(f"{{{WSSE}}}Security")
    if existing is None:
        header.insert(0, security)
    else:
        for child in list(security):
            existing.append(child)
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def secure_request(
    upstream: Upstream, envelope: bytes, headers: Mapping[str, str]
) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one try, with the upstream's credentials applied: a fresh
    WS-Security header, and ``Authorization: Basic`` (replacing any other)."""
    credentials = upstream.credentials
    sent = dict(headers)
    if credentials is None:
        return envelope, sent
    if credentials.ws_security is not None:
        envelope = add_ws_security(envelope, credentials.ws_security, upstream.soap_version)
    if credentials.basic is not None:
        for name in [n for n in sent if n.lower() == "authorization"]:
            del sent[name]
        sent["Authorization"] = credentials.basic.header()
    return envelope, sent


class TlsContexts:
    """The SSL context of each upstream address, for the shared HTTP transport.

    An address without ``service.tls`` gets ``True``: aiohttp's default context, verifying
    the certificate and host name against the system's CA bundle. :meth:`update` swaps the
    whole table (start-up and every reload).
    """

    def __init__(self) -> None:
        self._by_address: dict[str, ssl.SSLContext] = {}

    def update(self, upstreams: Iterable[Upstream]) -> None:
        """Use the TLS settings of these upstreams from now on."""
        self._by_address = {
            u.address: u.tls.context
            for u in upstreams
            if u.tls is not None and u.tls.context is not None
        }

    def for_url(self, url: str) -> ssl.SSLContext | bool:
        """The context to connect to ``url`` with (``True``: verified defaults)."""
        return self._by_address.get(url, True)
