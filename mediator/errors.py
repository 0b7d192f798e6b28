"""The exceptions Mediator raises, one tree for every layer.

::

    MediatorError
    ├── MappingError                 a mapping file is wrong (carries every issue found)
    ├── TranslationError
    │   ├── RenderError              a template could not build the SOAP request
    │   └── ExtractError             the SOAP response does not fit the extraction plan
    ├── UpstreamError
    │   ├── UpstreamTimeout          no complete answer within the deadline
    │   ├── UpstreamUnavailable      the upstream could not be reached
    │   ├── Fault                    the upstream answered with a SOAP Fault
    │   ├── UpstreamProtocolError    the upstream answered, but not with usable SOAP
    │   └── UpstreamOverloadedError  the gateway did not call the upstream, to protect it
    │       ├── CircuitOpenError     its circuit breaker is open
    │       └── BulkheadFullError    too many calls to it are in flight and waiting
    ├── ClientError                  the client's request is wrong (bad JSON, bad parameter)
    ├── FixtureError                 a contract fixture cannot be read (mediator.contract.fixture)
    ├── JobStoreError                the job store failed (mediator.jobs.store)
    └── StepFailedError              a required step of a composed route failed
                                     (mediator.gateway.composer; carries the step's error)

The last three live in their own layer, which alone raises them.

Foreign exceptions (lxml, Jinja, zeep, aiohttp) are converted once, where they arise, with
``raise ... from exc``. The gateway maps this tree to RFC 9457 problem responses.

Every :class:`UpstreamError` says whether the request may have reached the upstream
(``sent``): ``False`` only when it provably did not (refused, DNS, TLS handshake, a stale
pooled connection, a connect timeout, a call the gateway never made). Retries and the
"outcome unknown" wording of a 504 depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BulkheadFullError",
    "CircuitOpenError",
    "ClientError",
    "ExtractError",
    "Fault",
    "MappingError",
    "MappingIssue",
    "MediatorError",
    "RenderError",
    "TranslationError",
    "UpstreamError",
    "UpstreamOverloadedError",
    "UpstreamProtocolError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class MediatorError(Exception):
    """Base class of every error Mediator raises on purpose."""


@dataclass(frozen=True, slots=True)
class MappingIssue:
    """One mistake in a mapping file, located as precisely as the source allows."""

    file: str
    line: int
    column: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class MappingError(MediatorError):
    """One or more mapping files are invalid; ``issues`` lists every problem found."""

    def __init__(self, issues: list[MappingIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.column, i.key))
        super().__init__("\n".join(str(i) for i in self.issues))


class TranslationError(MediatorError):
    """Translating between JSON and SOAP failed."""


class RenderError(TranslationError):
    """A request template failed in a way the client did not cause (a mapping bug)."""


class ExtractError(TranslationError):
    """The upstream response does not have the shape or types the mapping expects."""


class UpstreamError(MediatorError):
    """Calling the legacy SOAP service failed.

    ``sent`` is ``False`` only when the request provably never reached the upstream; it
    defaults to ``True`` (the request may have been processed).
    """

    def __init__(self, message: str, *, upstream: str = "", sent: bool = True) -> None:
        super().__init__(message)
        self.upstream = upstream
        self.sent = sent


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer completely within its deadline."""


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached (refused, reset, DNS, TLS)."""


class UpstreamProtocolError(UpstreamError):
    """The upstream answered with something that is not a usable SOAP response."""

    def __init__(
        self, message: str, *, upstream: str = "", status: int | None = None, sent: bool = True
    ) -> None:
        super().__init__(message, upstream=upstream, sent=sent)
        self.status = status


class UpstreamOverloadedError(UpstreamError):
    """The gateway refused to call the upstream, to protect it or the gateway itself.

    Nothing was sent (``sent`` is always ``False``); ``retry_after`` is the number of seconds
    after which trying again may succeed.
    """

    def __init__(self, message: str, *, upstream: str = "", retry_after: float) -> None:
        super().__init__(message, upstream=upstream, sent=False)
        self.retry_after = retry_after


class CircuitOpenError(UpstreamOverloadedError):
    """The upstream's circuit breaker is open (or its one half-open probe is in flight)."""


class BulkheadFullError(UpstreamOverloadedError):
    """The upstream's in-flight calls and wait queue are both full."""


@dataclass(eq=False)
class Fault(UpstreamError):
    """A SOAP Fault (1.1 or 1.2) returned by the upstream.

    ``code`` is the fault code's local name (``Client``, ``Server``, ``Sender``,
    ``Receiver``, …); ``subcodes`` holds SOAP 1.2 subcode local names, outermost first.
    ``detail`` is the fault detail as JSON-ready data (``None`` when absent).
    """

    code: str
    string: str
    soap_version: str = "1.1"
    code_namespace: str | None = None
    subcodes: tuple[str, ...] = ()
    actor: str | None = None
    detail: Any = None
    http_status: int | None = None
    upstream: str = field(default="")

    def __post_init__(self) -> None:
        UpstreamError.__init__(
            self, f"SOAP fault {self.code}: {self.string}", upstream=self.upstream
        )

    def __str__(self) -> str:
        return f"SOAP fault {self.code}: {self.string}"


class ClientError(MediatorError):
    """The client's request cannot be translated (bad JSON, a parameter of the wrong type).

    ``detail`` is safe to show to the client; ``pointer`` locates the offending value.
    """

    def __init__(self, detail: str, *, pointer: str | None = None, status: int = 400) -> None:
        super().__init__(detail)
        self.detail = detail
        self.pointer = pointer
        self.status = status
