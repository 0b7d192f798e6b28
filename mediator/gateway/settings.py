"""Gateway settings: where mappings live and the front-door limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
    upstream_connections: int = 100
    upstream_connections_per_host: int = 32
    watch: bool = False
    watch_interval: float = 1.0
