"""Who may call a route and how often: the mapping keys ``auth`` and ``rate_limit``, and the
token-bucket rules (:class:`RateLimitRule`) the security file's ``rate_limits`` reuses.

See ``docs/security.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mediator.mapping.issues import IssueSink
from mediator.mapping.settings_reader import SettingsReader
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "AUTH_KEYS",
    "AUTH_METHODS",
    "RATE_LIMIT_KEYS",
    "ROUTE_SECURITY_KEYS",
    "RateLimitRule",
    "RouteAuth",
    "compile_rate_limits",
    "compile_rate_rule",
    "compile_route_auth",
    "parse_rate",
]

ROUTE_SECURITY_KEYS = frozenset({"auth", "rate_limit"})
AUTH_KEYS = frozenset({"scopes", "claims", "methods"})
RATE_LIMIT_KEYS = frozenset({"rate", "burst", "per"})
AUTH_METHODS = ("api_key", "jwt", "mtls")

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


def compile_route_auth(raw: Any, sink: IssueSink, path: KeyPath) -> RouteAuth | None:
    """``auth``: ``public``/``false``, ``true``/``required``, or scopes, claims and methods.
    ``None`` when the route does not say (the security file's ``require_auth`` decides)."""
    if raw is None:
        return None
    if raw is False or raw == "public":
        return RouteAuth(public=True)
    if raw is True or raw == "required":
        return RouteAuth()
    reader = SettingsReader(sink, {}, Path("."))
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


def compile_rate_rule(
    raw: Any, sink: IssueSink, path: KeyPath, *, per_default: str, pers: tuple[str, ...]
) -> RateLimitRule | None:
    """One ``{rate, burst, per}`` token bucket; ``per`` must be one of ``pers``.

    ``burst`` defaults to the rate's count (at least 1), ``per`` to ``per_default``. Issues go
    to ``sink``; ``None`` when the rule is unusable.
    """
    reader = SettingsReader(sink, {}, Path("."))
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
        rule = compile_rate_rule(
            item,
            sink,
            (*path, index) if isinstance(raw, list) else path,
            per_default="client",
            pers=("client", "route"),
        )
        if rule is not None:
            rules.append(rule)
    return tuple(rules)
