"""Fetching a live WSDL (and the schemas it imports) over HTTP, bounded, for drift checks.

Only ``mediator drift`` fetches anything: the gateway itself reads WSDLs from local files.
Every document is read with a deadline and a size cap; imports and includes
(``wsdl:import/@location``, ``xsd:import``/``xsd:include``/``xsd:redefine/@schemaLocation``)
are followed only to the same scheme, host and port, up to a number of documents, and are
rewritten to local file names so the copy loads offline like the local WSDL does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import aiohttp
from lxml import etree

from mediator.errors import UpstreamProtocolError, UpstreamTimeout, UpstreamUnavailable
from mediator.translate.xmlsafe import XMLRejected, parse_xml

__all__ = ["FetchedWsdl", "fetch_document", "fetch_wsdl"]

_WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
_XSD_NS = "http://www.w3.org/2001/XMLSchema"
_REFERENCES = (
    (f"{{{_WSDL_NS}}}import", "location"),
    (f"{{{_XSD_NS}}}import", "schemaLocation"),
    (f"{{{_XSD_NS}}}include", "schemaLocation"),
    (f"{{{_XSD_NS}}}redefine", "schemaLocation"),
)
_CHUNK = 64 * 1024


@dataclass(slots=True)
class FetchedWsdl:
    """A WSDL and the documents it references, with references rewritten to file names."""

    url: str
    documents: dict[str, bytes] = field(default_factory=dict)
    main: str = "service.wsdl"

    def write(self, directory: Path) -> Path:
        """Write every document into ``directory``; return the main WSDL's path."""
        directory.mkdir(parents=True, exist_ok=True)
        for name, data in self.documents.items():
            (directory / name).write_bytes(data)
        return directory / self.main


async def fetch_document(
    session: aiohttp.ClientSession, url: str, *, timeout: float, max_bytes: int
) -> bytes:
    """GET ``url`` and return its body.

    Raises:
        UpstreamTimeout: no complete answer within ``timeout`` seconds.
        UpstreamUnavailable: the server could not be reached.
        UpstreamProtocolError: a status other than 200, or a body over ``max_bytes``.
    """
    try:
        async with asyncio.timeout(timeout):
            async with session.get(url, allow_redirects=True, max_redirects=3) as response:
                if response.status != 200:
                    raise UpstreamProtocolError(
                        f"GET {url} answered HTTP {response.status}",
                        upstream=url,
                        status=response.status,
                    )
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        response.close()
                        raise UpstreamProtocolError(
                            f"GET {url}: the document is larger than {max_bytes} bytes",
                            upstream=url,
                            status=response.status,
                        )
                    chunks.append(chunk)
                return b"".join(chunks)
    except TimeoutError:
        raise UpstreamTimeout(f"GET {url}: no answer within {timeout:g}s", upstream=url) from None
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable(f"GET {url}: {type(exc).__name__}: {exc}", upstream=url) from None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


async def fetch_wsdl(
    url: str, *, timeout: float = 10.0, max_bytes: int = 10 * 1024 * 1024, max_documents: int = 32
) -> FetchedWsdl:
    """Fetch the WSDL at ``url`` and, breadth first, the same-origin documents it references.

    Args:
        url: the WSDL's URL (``http://host/service?wsdl``).
        timeout: seconds allowed for each document.
        max_bytes: the largest document accepted.
        max_documents: how many documents may be fetched in all.

    Raises:
        UpstreamTimeout, UpstreamUnavailable, UpstreamProtocolError: a document could not be
            fetched, is not well-formed XML, or the limits were exceeded.
    """
    fetched = FetchedWsdl(url=url)
    names: dict[str, str] = {urldefrag(url)[0]: fetched.main}
    queue = [urldefrag(url)[0]]
    origin = _origin(url)
    timeouts = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(timeout=timeouts, trust_env=False) as session:
        while queue:
            current = queue.pop(0)
            data = await fetch_document(session, current, timeout=timeout, max_bytes=max_bytes)
            try:
                root = parse_xml(data)
            except XMLRejected as exc:
                raise UpstreamProtocolError(f"GET {current}: {exc}", upstream=current) from None
            for element in root.iter(*(tag for tag, _ in _REFERENCES)):
                attribute = dict(_REFERENCES)[str(element.tag)]
                location = element.get(attribute)
                if not location:
                    continue
                target = urldefrag(urljoin(current, location))[0]
                if _origin(target) != origin:
                    raise UpstreamProtocolError(
                        f"{current} references {target}, outside {origin[0]}://{origin[1]}",
                        upstream=current,
                    )
                if target not in names:
                    if len(names) >= max_documents:
                        raise UpstreamProtocolError(
                            f"more than {max_documents} documents referenced", upstream=url
                        )
                    suffix = ".wsdl" if element.tag == f"{{{_WSDL_NS}}}import" else ".xsd"
                    names[target] = f"doc{len(names)}{suffix}"
                    queue.append(target)
                element.set(attribute, names[target])
            fetched.documents[names[current]] = etree.tostring(
                root, xml_declaration=True, encoding="utf-8"
            )
    return fetched
