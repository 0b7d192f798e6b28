"""The resilience keys of a mapping file: retries, circuit breaker, bulkhead, route deadlines.

``service`` takes ``retries``, ``circuit_breaker``, ``max_concurrency`` and ``max_queue``;
a route takes ``timeout``, ``connect_timeout`` and ``idempotent``. Every value is checked
here and every issue reported with its position; defaults are those of
:class:`~mediator.mapping.model.UpstreamPolicy`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mediator.mapping.issues import IssueSink
from mediator.mapping.model import BreakerPolicy, RetryPolicy, UpstreamPolicy
from mediator.mapping.values import interpolate, parse_duration
from mediator.mapping.yamlsource import KeyPath

__all__ = [
    "BREAKER_KEYS",
    "RETRY_KEYS",
    "ROUTE_POLICY_KEYS",
    "SERVICE_POLICY_KEYS",
    "RoutePolicy",
    "compile_route_policy",
    "compile_upstream_policy",
]

SERVICE_POLICY_KEYS = frozenset({"retries", "circuit_breaker", "max_concurrency", "max_queue"})
ROUTE_POLICY_KEYS = frozenset({"timeout", "connect_timeout", "idempotent"})
RETRY_KEYS = frozenset({"max", "backoff", "max_backoff", "budget", "per_try_timeout"})
BREAKER_KEYS = frozenset({"failures", "open_for", "max_open_for"})

_MAX_RETRIES = 10
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """A route's own deadlines (``None``: the upstream's) and idempotency."""

    timeout: float | None = None
    connect_timeout: float | None = None
    idempotent: bool = False


class _Reader:
    """Reads typed values, reporting each problem at its key path."""

    def __init__(self, sink: IssueSink, environ: Mapping[str, str]) -> None:
        self.sink = sink
        self.environ = environ

    def _text(self, value: Any, path: KeyPath) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return interpolate(value, self.environ)
        except KeyError as exc:
            self.sink.at_value(path, f"environment variable {exc.args[0]} is not set")
            return None

    def duration(self, value: Any, path: KeyPath) -> float | None:
        value = self._text(value, path)
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.sink.at_value(path, str(exc))
            return None

    def integer(self, value: Any, path: KeyPath, *, minimum: int, maximum: int) -> int | None:
        value = self._text(value, path)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
            self.sink.at_value(
                path, f"expected a whole number from {minimum} to {maximum}, got {value!r}"
            )
            return None
        return value

    def ratio(self, value: Any, path: KeyPath) -> float | None:
        value = self._text(value, path)
        if isinstance(value, str) and (match := _PERCENT.match(value)):
            value = float(match.group(1)) / 100
        if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
            self.sink.at_value(
                path, f"expected a percentage (20%) or a fraction from 0 to 1, got {value!r}"
            )
            return None
        return float(value)

    def boolean(self, value: Any, path: KeyPath) -> bool | None:
        if not isinstance(value, bool):
            self.sink.at_value(path, f"expected true or false, got {value!r}")
            return None
        return value

    def unknown_keys(self, raw: Mapping[str, Any], allowed: frozenset[str], path: KeyPath) -> None:
        for key in raw:
            if key not in allowed:
                self.sink.at_key(
                    (*path, key), f"unknown key; expected one of: {', '.join(sorted(allowed))}"
                )


def _keep(value: Any, default: Any) -> Any:
    return default if value is None else value


def _retry_policy(reader: _Reader, raw: Any, path: KeyPath) -> RetryPolicy:
    defaults = RetryPolicy()
    if raw is None:
        return defaults
    if not isinstance(raw, dict):
        count = reader.integer(raw, path, minimum=0, maximum=_MAX_RETRIES)
        return RetryPolicy(max_retries=_keep(count, defaults.max_retries))
    reader.unknown_keys(raw, RETRY_KEYS, path)
    count = defaults.max_retries
    if "max" in raw:
        count = _keep(
            reader.integer(raw["max"], (*path, "max"), minimum=0, maximum=_MAX_RETRIES), count
        )
    durations: dict[str, float | None] = {}
    for key in ("backoff", "max_backoff", "per_try_timeout"):
        if key in raw:
            durations[key] = reader.duration(raw[key], (*path, key))
    budget = reader.ratio(raw["budget"], (*path, "budget")) if "budget" in raw else None
    backoff = _keep(durations.get("backoff"), defaults.backoff)
    max_backoff = _keep(durations.get("max_backoff"), max(defaults.max_backoff, backoff))
    if max_backoff < backoff:
        reader.sink.at_value(
            (*path, "max_backoff"), "expected a duration at least as long as backoff"
        )
        max_backoff = backoff
    return RetryPolicy(
        max_retries=count,
        backoff=backoff,
        max_backoff=max_backoff,
        budget=_keep(budget, defaults.budget),
        per_try_timeout=durations.get("per_try_timeout"),
    )


def _breaker_policy(reader: _Reader, raw: Any, path: KeyPath) -> BreakerPolicy:
    defaults = BreakerPolicy()
    if raw is None or raw is True:
        return defaults
    if raw is False:
        return BreakerPolicy(enabled=False)
    if not isinstance(raw, dict):
        reader.sink.at_value(
            path, "expected false, or a mapping with failures, open_for and max_open_for"
        )
        return defaults
    reader.unknown_keys(raw, BREAKER_KEYS, path)
    failures = defaults.failures
    if "failures" in raw:
        failures = _keep(
            reader.integer(raw["failures"], (*path, "failures"), minimum=1, maximum=10_000),
            failures,
        )
    open_for = defaults.open_for
    if "open_for" in raw:
        open_for = _keep(reader.duration(raw["open_for"], (*path, "open_for")), open_for)
    max_open_for = max(defaults.max_open_for, open_for)
    if "max_open_for" in raw:
        given = reader.duration(raw["max_open_for"], (*path, "max_open_for"))
        if given is not None and given < open_for:
            reader.sink.at_value(
                (*path, "max_open_for"), "expected a duration at least as long as open_for"
            )
        elif given is not None:
            max_open_for = given
    return BreakerPolicy(failures=failures, open_for=open_for, max_open_for=max_open_for)


def compile_upstream_policy(
    raw: Mapping[str, Any], sink: IssueSink, path: KeyPath, environ: Mapping[str, str]
) -> UpstreamPolicy:
    """The policy set by a ``service`` block's resilience keys (defaults for absent ones).

    Issues go to ``sink``; a wrong value falls back to its default so loading can go on.
    """
    reader = _Reader(sink, environ)
    defaults = UpstreamPolicy()
    concurrency = defaults.max_concurrency
    if "max_concurrency" in raw:
        concurrency = _keep(
            reader.integer(
                raw["max_concurrency"], (*path, "max_concurrency"), minimum=1, maximum=100_000
            ),
            concurrency,
        )
    queue = defaults.max_queue
    if "max_queue" in raw:
        queue = _keep(
            reader.integer(raw["max_queue"], (*path, "max_queue"), minimum=0, maximum=1_000_000),
            queue,
        )
    return UpstreamPolicy(
        retry=_retry_policy(reader, raw.get("retries"), (*path, "retries")),
        breaker=_breaker_policy(reader, raw.get("circuit_breaker"), (*path, "circuit_breaker")),
        max_concurrency=concurrency,
        max_queue=queue,
    )


def compile_route_policy(
    raw: Mapping[str, Any], sink: IssueSink, path: KeyPath, environ: Mapping[str, str]
) -> RoutePolicy:
    """A route's ``timeout``, ``connect_timeout`` and ``idempotent`` keys."""
    reader = _Reader(sink, environ)
    read: dict[str, Callable[[Any, KeyPath], Any]] = {
        "timeout": reader.duration,
        "connect_timeout": reader.duration,
        "idempotent": reader.boolean,
    }
    values = {key: read[key](raw[key], (*path, key)) for key in read if key in raw}
    return RoutePolicy(
        timeout=values.get("timeout"),
        connect_timeout=values.get("connect_timeout"),
        idempotent=bool(values.get("idempotent")),
    )
