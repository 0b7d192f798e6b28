"""Job settings: validation and the ``mediator serve`` options."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from mediator.cli import serve
from mediator.jobs.settings import JobSettings, job_settings_from, parse_long_duration


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_serve_options_build_job_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """--jobs-store, --redis-url, --job-ttl (hours accepted), --job-workers, --job-lease and
    --callback-allow reach the settings; the secret comes from the environment only."""
    monkeypatch.setenv("MEDIATOR_CALLBACK_SECRET", "k")
    args = _parse(
        "--jobs-store",
        "redis",
        "--redis-url",
        "redis://127.0.0.1:1/0",
        "--job-ttl",
        "2h",
        "--job-workers",
        "3",
        "--job-lease",
        "2s",
        "--callback-allow",
        "https://hooks.example/",
    )
    settings = serve.settings_from(args).jobs
    assert settings.store == "redis" and settings.redis_url == "redis://127.0.0.1:1/0"
    assert settings.ttl == 7200 and settings.workers == 3 and settings.lease == 2
    assert settings.callback_allow == ("https://hooks.example/",)
    assert settings.callback_secret == "k"
    assert settings.sweep_interval < settings.lease


def test_default_store_is_sqlite_in_a_data_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without options jobs are durable: SQLite in ./data (or $MEDIATOR_DATA_DIR)."""
    monkeypatch.delenv("MEDIATOR_DATA_DIR", raising=False)
    settings = job_settings_from(_parse())
    assert settings.store == "sqlite" and settings.data_dir == Path("data")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"store": "redis"}, "Redis URL"),
        ({"callback_allow": ("http://x/",)}, "secret"),
        ({"workers": 0}, ">= 1"),
        ({"lease": 0}, "positive"),
    ],
)
def test_inconsistent_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    """Settings that cannot work are refused when built, with the reason."""
    with pytest.raises(ValueError, match=message):
        JobSettings(**kwargs)  # type: ignore[arg-type]


def test_long_durations() -> None:
    """TTLs may be given in hours or days as well as ms, s and m."""
    assert parse_long_duration("1.5h") == 5400
    assert parse_long_duration("7d") == 7 * 86400
    assert parse_long_duration("90s") == 90
    with pytest.raises(ValueError, match="duration"):
        parse_long_duration("soon")
