"""Gateway settings: where mappings live and the front-door limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mediator.jobs.settings import JobSettings
from mediator.mapping.security_file import SecurityConfig

__all__ = ["GatewaySettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewaySettings:
    """Everything ``mediator serve`` needs besides the mapping files themselves."""

    mappings: tuple[Path, ...] = field(default_factory=lambda: (Path("mappings"),))
    wsdl_dir: Path | None = Path("wsdl")
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    body_timeout: float = 10.0
    keepalive_timeout: float = 15.0
    """Seconds an idle connection is kept, and the time a request head must arrive in."""
    security: SecurityConfig | None = None
    """Authentication, rate limits and JSON limits (``--security FILE``; docs/security.md)."""
    watch: bool = False
    watch_interval: float = 1.0
    # Observability (docs/operations.md).
    metrics: bool = True
    """Serve Prometheus metrics at ``/metrics``."""
    settle_heap: bool = False
    """After each load, exempt the loaded objects from garbage collection (``mediator
    serve`` sets it; see :mod:`mediator.gateway.process`)."""
    warm_upstreams: bool = False
    """After each load, load the zeep clients that routes need in a thread of their own, so
    no request waits for a WSDL parse (``mediator serve`` sets it)."""
    otel: bool = False
    """Trace requests with OpenTelemetry (the ``otel`` extra), using the global provider."""
    explain: int = 0
    """Keep the explain traces of the last N translations at ``/_mediator/traces`` (0: off)."""
    readyz_upstreams: bool = False
    """Make ``/readyz`` 503 while any upstream's circuit breaker is open."""
    jobs: JobSettings = field(default_factory=JobSettings)
    """The asynchronous gateway: job store, workers, expiry, callbacks (docs/jobs.md)."""
