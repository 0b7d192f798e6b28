"""The benchmark's SOAP backend: canned responses over raw asyncio HTTP/1.1 keep-alive.

It must never be the bottleneck, so it does almost nothing: it reads a request (headers and a
``Content-Length`` body), picks the canned envelope by the ``SOAPAction`` header and writes
pre-built response bytes. No XML is parsed. Pipelined requests are answered in order.

Standard library only. Pins itself to one CPU (``--cpu``, default the last one) when the OS
allows, so it does not compete with the contender under test.

    python3 bench/backend.py --canned bench/generated/canned --port 18081 [--cpu 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import Final, cast

__all__ = ["CannedResponses", "SoapBackendProtocol", "main"]

_MAX_HEADER: Final = 64 * 1024
_MAX_BODY: Final = 16 * 1024 * 1024


def _response(status: str, content_type: bytes, body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\n".encode()
        + b"Server: bench-backend\r\nContent-Type: "
        + content_type
        + f"\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n".encode()
    )
    return head + body


_FAULT: Final = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b"<soap:Fault><faultcode>soap:Client</faultcode><faultstring>unknown SOAPAction</faultstring>"
    b"</soap:Fault></soap:Body></soap:Envelope>"
)
_XML: Final = b"text/xml; charset=utf-8"
_BAD_REQUEST: Final = _response("400 Bad Request", b"text/plain", b"bad request\n")


class CannedResponses:
    """Full HTTP responses (head and body), keyed by SOAPAction (without quotes)."""

    def __init__(self, canned_dir: Path) -> None:
        actions: dict[str, str] = json.loads(
            (canned_dir / "actions.json").read_text(encoding="utf-8")
        )
        self.by_action: dict[bytes, bytes] = {
            action.encode(): _response("200 OK", _XML, (canned_dir / name).read_bytes())
            for action, name in actions.items()
        }
        self.fault = _response("500 Internal Server Error", _XML, _FAULT)

    def pick(self, action: bytes) -> bytes:
        """The response for a SOAPAction header value (quotes and spaces ignored)."""
        return self.by_action.get(action.strip().strip(b'"'), self.fault)


class SoapBackendProtocol(asyncio.Protocol):
    """One keep-alive connection: parse requests from the buffer, answer each from the cache."""

    def __init__(self, canned: CannedResponses) -> None:
        self._canned = canned
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        out: list[bytes] = []
        close = False
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > _MAX_HEADER:
                    out.append(_BAD_REQUEST)
                    close = True
                break
            length = 0
            action = b""
            keep_alive = True
            lines = bytes(self._buffer[:end]).split(b"\r\n")
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                key = name.strip().lower()
                if key == b"content-length":
                    length = int(value) if value.strip().isdigit() else -1
                elif key == b"soapaction":
                    action = value
                elif key == b"connection" and value.strip().lower() == b"close":
                    keep_alive = False
                elif key == b"transfer-encoding":
                    length = -1  # chunked request bodies are not needed by any contender
            if length < 0 or length > _MAX_BODY:
                out.append(_BAD_REQUEST)
                close = True
                break
            total = end + 4 + length
            if len(self._buffer) < total:
                break
            del self._buffer[:total]
            out.append(self._canned.pick(action))
            if not keep_alive:
                close = True
                break
        if self._transport is None:
            return
        if out:
            self._transport.write(b"".join(out))
        if close:
            self._transport.close()


def pin_to_cpu(cpu: int | None) -> int | None:
    """Pin this process to ``cpu`` (default: the last allowed CPU); return it, or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    target = allowed[-1] if cpu is None else cpu
    try:
        os.sched_setaffinity(0, {target})
    except OSError:
        return None
    return target


async def serve(canned_dir: Path, host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    canned = CannedResponses(canned_dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SoapBackendProtocol(canned), host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Canned SOAP backend for the benchmark.")
    parser.add_argument(
        "--canned", type=Path, required=True, help="directory written by generate.py"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last)")
    args = parser.parse_args()
    pin_to_cpu(args.cpu)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.canned, args.host, args.port))


if __name__ == "__main__":
    main()
