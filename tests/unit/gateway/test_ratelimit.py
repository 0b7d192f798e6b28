"""Token buckets: burst at the boundary and one past, refill, all-or-nothing across buckets,
per-client and per-route keys, the RateLimit headers, and store failures."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mediator.gateway.ratelimit import (
    Bucket,
    MemoryBuckets,
    RateLimiter,
    StoreUnavailableError,
)
from mediator.mapping.issues import IssueSink
from mediator.mapping.route_security import RateLimitRule, compile_rate_limits, parse_rate
from mediator.mapping.security_file import RateLimitConfig


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _rule(
    count: float = 2, period: float = 1.0, burst: int = 2, per: str = "client"
) -> RateLimitRule:
    return RateLimitRule(count=count, period=period, burst=burst, per=per)  # type: ignore[arg-type]


async def test_burst_at_the_boundary_and_one_past() -> None:
    """A bucket of burst 3 admits exactly 3 requests at once; the 4th is refused."""
    store = MemoryBuckets(clock=Clock())
    bucket = [Bucket("k", "route", _rule(count=1, burst=3))]
    results = [(await store.take(bucket, 1))[0] for _ in range(4)]
    assert results == [True, True, True, False]


async def test_tokens_refill_at_the_rate_up_to_the_burst() -> None:
    """After draining, one token comes back per 1/rate seconds, never more than the burst."""
    clock = Clock()
    store = MemoryBuckets(clock=clock)
    bucket = [Bucket("k", "route", _rule(count=2, period=1.0, burst=2))]
    assert (await store.take(bucket, 1))[0] and (await store.take(bucket, 1))[0]
    assert not (await store.take(bucket, 1))[0]
    clock.now += 0.49
    assert not (await store.take(bucket, 1))[0]
    clock.now += 0.02  # 0.51 s: one token back
    allowed, levels = await store.take(bucket, 1)
    assert allowed and levels[0] == pytest.approx(0.02)
    clock.now += 3600
    _, levels = await store.take(bucket, 1)
    assert levels[0] == pytest.approx(1.0)  # capped at burst 2, minus the one taken


async def test_nothing_is_taken_when_one_bucket_is_empty() -> None:
    """A request refused by one bucket takes no token from the others."""
    store = MemoryBuckets(clock=Clock())
    wide = Bucket("wide", "client", _rule(count=100, burst=100))
    narrow = Bucket("narrow", "route", _rule(count=1, burst=1))
    assert (await store.take([wide, narrow], 1))[0]
    allowed, levels = await store.take([wide, narrow], 1)
    assert not allowed
    assert levels[0] == pytest.approx(99.0)  # still 99: the refused request took nothing


async def test_memory_store_is_bounded() -> None:
    """Beyond max_buckets the least recently used bucket is dropped (it comes back full)."""
    store = MemoryBuckets(clock=Clock(), max_buckets=2)
    for key in ("a", "b", "c"):
        await store.take([Bucket(key, "client", _rule(count=1, burst=1))], 1)
    assert len(store) == 2
    assert (await store.take([Bucket("a", "client", _rule(count=1, burst=1))], 1))[0]


def test_buckets_per_client_per_route_and_global() -> None:
    """per: client keys a bucket by route and client, per: route by route only; the global
    per-client bucket follows the client across routes, with per-subject overrides."""
    config = RateLimitConfig(
        per_client=_rule(count=10, burst=10, per="global"),
        clients={"batch": _rule(count=100, burst=100, per="global")},
    )
    limiter = RateLimiter(config, MemoryBuckets())
    rules = (_rule(per="client"), _rule(per="route"), _rule(per="client"))
    buckets = limiter.buckets("get-order", rules, "api_key:ada", "ada")
    assert [(b.key, b.name) for b in buckets] == [
        ("c:api_key:ada", "client-global"),
        ("r:get-order:0:api_key:ada", "client"),
        ("r:get-order:1", "route"),
        ("r:get-order:2:api_key:ada", "client-2"),
    ]
    assert limiter.buckets("x", (), "api_key:batch", "batch")[0].rule.burst == 100
    assert RateLimiter(RateLimitConfig(), MemoryBuckets()).buckets("x", (), "ip:1", None) == []


async def test_headers_and_retry_after() -> None:
    """Responses describe every bucket (draft RateLimit-Policy/RateLimit fields); a refusal
    says when a token will be back."""
    limiter = RateLimiter(RateLimitConfig(), MemoryBuckets(clock=Clock()))
    rules = (_rule(count=6, period=60.0, burst=2, per="route"),)
    first = await limiter.check("r", rules, "ip:1")
    assert first is not None and first.allowed
    assert first.headers == {
        "RateLimit-Policy": '"route";q=2;w=20',
        "RateLimit": '"route";r=1;t=10',
    }
    await limiter.check("r", rules, "ip:1")
    refused = await limiter.check("r", rules, "ip:2")  # per route: clients share the bucket
    assert refused is not None and not refused.allowed
    assert refused.retry_after == 10  # one token per 10 s
    assert refused.headers["RateLimit"] == '"route";r=0;t=20'


async def test_no_rules_no_decision() -> None:
    """A route without limits and no per-client limit is not counted at all."""
    assert await RateLimiter(RateLimitConfig(), MemoryBuckets()).check("r", (), "ip:1") is None


class _BrokenStore:
    async def take(self, buckets: Sequence[Bucket], cost: int) -> tuple[bool, list[float]]:
        raise StoreUnavailableError("ConnectionError")

    async def close(self) -> None:
        return None


async def test_store_failure_allows_or_denies_as_configured() -> None:
    """A failing store admits requests by default (no headers) and refuses them with
    on_store_error: deny."""
    rules = (_rule(),)
    allow = RateLimiter(RateLimitConfig(), _BrokenStore())
    assert await allow.check("r", rules, "ip:1") is None
    deny = RateLimiter(RateLimitConfig(on_store_error="deny"), _BrokenStore())
    with pytest.raises(StoreUnavailableError):
        await deny.check("r", rules, "ip:1")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/s", (10.0, 1.0)),
        ("600/min", (600.0, 60.0)),
        ("5000/h", (5000.0, 3600.0)),
        ("1/day", (1.0, 86400.0)),
        ("20/10s", (20.0, 10.0)),
        ("0.5/s", (0.5, 1.0)),
    ],
)
def test_rates(text: str, expected: tuple[float, float]) -> None:
    """Rates are a count per period, the period optionally multiplied."""
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["10", "0/s", "10/week", "ten/s", "10/0s"])
def test_bad_rates(text: str) -> None:
    """Anything else is refused with the accepted forms."""
    with pytest.raises(ValueError, match="expected a rate such as"):
        parse_rate(text)


def test_rate_limit_key_compiles_one_or_many_buckets() -> None:
    """rate_limit is one bucket or a list; burst defaults to the count; per is checked."""
    sink = IssueSink("m.yaml")
    one = compile_rate_limits({"rate": "100/min"}, sink, ("rate_limit",))
    assert one == (RateLimitRule(count=100, period=60.0, burst=100, per="client"),)
    many = compile_rate_limits(
        [{"rate": "5/s", "burst": 10, "per": "route"}, {"rate": "1/s"}], sink, ("rate_limit",)
    )
    assert [r.per for r in many] == ["route", "client"] and many[0].burst == 10
    assert sink.issues == []
    compile_rate_limits({"rate": "1/s", "per": "tenant", "burst": 0}, sink, ("rate_limit",))
    messages = [i.message for i in sink.issues]
    assert any("expected a positive integer" in m for m in messages)
    assert any("expected one of: client, route" in m for m in messages)
