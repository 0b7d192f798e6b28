"""Aggregates benchmark runs, checks them against issue 11's targets, prints the tables.

Works on the plain JSON-ready dictionaries that ``bench/run.py`` writes to
``bench/results/latest.json``, so a saved result can be re-printed:

    python3 bench/report.py bench/results/latest.json
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["aggregate_runs", "evaluate_targets", "format_report", "ratio"]

MEDIATOR = "mediator"
PASSTHROUGH = "passthrough"
NAIVE = "naive-zeep"


def aggregate_runs(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the alternated runs of one contender in one scenario."""
    if not runs:
        return {"runs": [], "median_rps": None}
    return {
        "runs": list(runs),
        "median_rps": round(statistics.median(r["rps"] for r in runs), 1),
        "rps_spread": [
            round(min(r["rps"] for r in runs), 1),
            round(max(r["rps"] for r in runs), 1),
        ],
        "median_p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 2),
        "median_p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 2),
        "errors": sum(r["errors"] for r in runs),
        "max_foreign_share": max((r.get("foreign_share", 0.0) for r in runs), default=0.0),
        "requests": sum(r["requests"] for r in runs),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator`` rounded to 3 digits, or None when either is missing or 0."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _scenario_ratios(contenders: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    med = contenders.get(MEDIATOR, {})
    pas = contenders.get(PASSTHROUGH, {})
    nai = contenders.get(NAIVE, {})
    return {
        "mediator/passthrough rps": ratio(med.get("median_rps"), pas.get("median_rps")),
        "mediator/naive-zeep rps": ratio(med.get("median_rps"), nai.get("median_rps")),
        "mediator/passthrough p99": ratio(med.get("median_p99_ms"), pas.get("median_p99_ms")),
    }


def add_ratios(scenarios: dict[str, dict[str, Any]]) -> None:
    """Fill each scenario's ``ratios`` from its contenders' medians."""
    for scenario in scenarios.values():
        scenario["ratios"] = _scenario_ratios(scenario["contenders"])


def _target(
    name: str, measured: float | None, limit: float, *, at_least: bool, unit: str = "×"
) -> dict[str, Any]:
    if measured is None:
        return {"target": name, "measured": None, "met": None, "note": "not measured"}
    met = measured >= limit if at_least else measured <= limit
    return {"target": name, "measured": measured, "unit": unit, "met": met}


def evaluate_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 11's targets, each with the measured figure and whether it is met."""
    scenarios = results.get("scenarios", {})

    def r(scenario: str, key: str) -> float | None:
        value = scenarios.get(scenario, {}).get("ratios", {}).get(key)
        return float(value) if value is not None else None

    targets = [
        _target(
            "small: mediator ≥ 0.65× pass-through req/s",
            r("small", "mediator/passthrough rps"),
            0.65,
            at_least=True,
        ),
        _target(
            "small: mediator ≥ 10× naive zeep req/s",
            r("small", "mediator/naive-zeep rps"),
            10,
            at_least=True,
        ),
        _target(
            "large: mediator ≥ 10× naive zeep req/s",
            r("large", "mediator/naive-zeep rps"),
            10,
            at_least=True,
        ),
    ]
    for name in ("small", "large", "post"):
        if name in scenarios:
            targets.append(
                _target(
                    f"{name}: p99 ≤ 1.5× pass-through p99",
                    r(name, "mediator/passthrough p99"),
                    1.5,
                    at_least=False,
                )
            )
    workers = results.get("workers", {})
    if "skipped" in workers:
        targets.append(
            {
                "target": "--workers 2 ≥ 1.7× one worker",
                "measured": None,
                "met": None,
                "note": workers["skipped"],
            }
        )
    else:
        target = _target("--workers 2 ≥ 1.7× one worker", workers.get("ratio"), 1.7, at_least=True)
        cpus = results.get("meta", {}).get("cpus") or 0
        if cpus < 4:
            target["note"] = f"{cpus} CPUs shared by both workers, the backend and wrk"
        targets.append(target)
    startup = results.get("startup", {})
    targets.append(
        _target(
            "start-up, 10 realistic WSDLs, warm < 2 s",
            startup.get("warm_s"),
            2.0,
            at_least=False,
            unit="s",
        )
    )
    example = results.get("example", {})
    rss = example.get("peak_rss_mb", {}).get("max_worker")
    targets.append(
        _target(
            "peak RSS per worker, bundled example < 150 MB", rss, 150, at_least=False, unit="MiB"
        )
    )
    return targets


def _fmt(value: float | None, spec: str = ",.0f") -> str:
    return "—" if value is None else format(value, spec)


def _scenario_lines(results: dict[str, Any]) -> list[str]:
    columns = (
        "scenario",
        "contender",
        "req/s (median)",
        "runs",
        "p50 ms",
        "p99 ms",
        "errors",
        "resp B",
        "other",
    )
    widths = (-9, -12, 15, 22, 8, 8, 7, 7, 6)

    def row(cells: Sequence[object]) -> str:
        return " ".join(
            f"{c!s:<{-w}}" if w < 0 else f"{c!s:>{w}}" for c, w in zip(cells, widths, strict=True)
        )

    out = [row(columns)]
    out.append("-" * len(out[0]))
    for name, scenario in results.get("scenarios", {}).items():
        for contender, data in scenario["contenders"].items():
            runs = " ".join(_fmt(run["rps"]) for run in data.get("runs", []))
            cells = (
                name,
                contender,
                _fmt(data.get("median_rps")),
                runs,
                _fmt(data.get("median_p50_ms"), ".2f"),
                _fmt(data.get("median_p99_ms"), ".2f"),
                data.get("errors", 0),
                data.get("response_bytes", 0),
                f"{data.get('max_foreign_share', 0.0):.0%}",
            )
            out.append(row(cells))
        ratios = scenario.get("ratios", {})
        out.append(
            f"{'':9} ratios: mediator/pass-through "
            f"{_fmt(ratios.get('mediator/passthrough rps'), '.2f')}×, "
            f"mediator/naive {_fmt(ratios.get('mediator/naive-zeep rps'), '.2f')}×, "
            f"p99 mediator/pass-through {_fmt(ratios.get('mediator/passthrough p99'), '.2f')}×"
        )
    return out


def _extra_lines(results: dict[str, Any]) -> list[str]:
    out: list[str] = []
    rss = results.get("rss_mb", {})
    if rss:
        peaks = ", ".join(f"{k} {v['total']:.1f} MiB" for k, v in rss.items())
        out.append(f"Peak RSS (VmHWM) after all scenarios: {peaks}")
        steps = []
        for name in rss:
            after = [
                scenario["contenders"].get(name, {}).get("peak_rss_mb_after")
                for scenario in results.get("scenarios", {}).values()
            ]
            steps.append(f"{name} " + " → ".join(_fmt(v, ".0f") for v in after))
        out.append("  after each scenario (MiB): " + "; ".join(steps))
    workers = results.get("workers", {})
    if "skipped" in workers:
        out.append(f"Workers: skipped: {workers['skipped']}")
    elif workers:
        one = _fmt(workers.get("one", {}).get("median_rps"))
        two = _fmt(workers.get("two", {}).get("median_rps"))
        out.append(
            f"Workers (small, gateway unpinned): 1 worker {one} req/s, 2 workers {two} req/s, "
            f"ratio {_fmt(workers.get('ratio'), '.2f')}×"
        )
    for key in ("startup", "example"):
        if "error" in results.get(key, {}):
            out.append(f"{key}: failed: {results[key]['error']}")
    startup = results.get("startup", {})
    if startup and "error" not in startup:
        launches = ", ".join(f"{s:.2f}" for s in startup.get("launches_s", []))
        size = startup.get("wsdl_bytes", 0) // 1024
        out.append(
            f"Start-up, {startup.get('copies')} WSDLs of {size} KiB "
            f"({startup.get('routes')} routes): "
            f"launches {launches} s; first {_fmt(startup.get('cold_s'), '.2f')} s, "
            f"warm {_fmt(startup.get('warm_s'), '.2f')} s; "
            f"peak RSS {_fmt(startup.get('peak_rss_mb'), '.1f')} MiB"
        )
    example = results.get("example", {})
    if example and "error" not in example:
        rps = ", ".join(f"{k} {_fmt(v)} req/s" for k, v in example.get("rps", {}).items())
        peak = _fmt(example.get("peak_rss_mb", {}).get("max_worker"), ".1f")
        out.append(
            f"Bundled example (mappings/, demo backend): peak RSS {peak} MiB under load "
            f"({rps}; bounded by the demo backend)"
        )
    return out


def format_report(results: dict[str, Any]) -> str:
    """The console report: scenario table, ratios, RSS, start-up, workers, targets."""
    meta = results.get("meta", {})
    out = [
        f"Mediator benchmark: {meta.get('mode', '?')} mode, {meta.get('connections')} connections, "
        f"{meta.get('duration_s')} s x {meta.get('rounds')} rounds per contender, "
        f"gateway: {meta.get('mediator_commit', 'work tree')}",
        f"CPUs: {meta.get('cpu_plan', '')}; load average before {meta.get('loadavg_start')}, "
        f"after {meta.get('loadavg_end')} (the run itself adds about 2)",
    ]
    backend = results.get("backend_alone", {})
    if backend:
        parts = [f"{k} {_fmt(v.get('rps'))} req/s" for k, v in backend.items()]
        out.append("Backend alone (sharing its CPU with wrk): " + ", ".join(parts))
    out.append("")
    out.extend(_scenario_lines(results))
    out.append(
        "other: the largest share of the contender's CPU that other processes (and the kernel's"
        " network work) took during one of its runs; above ~10 % the run was disturbed."
    )
    out.append("")
    out.extend(_extra_lines(results))
    out.append("")
    out.append("Targets (issue 11):")
    for target in results.get("targets", []):
        met = {True: "MET   ", False: "MISSED", None: "n/a   "}[target.get("met")]
        measured = target.get("measured")
        shown = "—" if measured is None else f"{measured:.2f}{target.get('unit', '')}"
        note = f"  ({target['note']})" if target.get("note") else ""
        out.append(f"  {met} {target['target']}: {shown}{note}")
    profile = results.get("profile", {})
    for name, lines in profile.get("text", {}).items():
        out.append("")
        out.append(f"Profile of mediator, scenario {name} (py-spy):")
        out.extend(lines)
    return "\n".join(out)


def main() -> None:
    path = (
        Path(sys.argv[1])
        if len(sys.argv) > 1
        else Path(__file__).resolve().parent / "results" / "latest.json"
    )
    results = json.loads(path.read_text(encoding="utf-8"))
    results["targets"] = evaluate_targets(results)
    print(format_report(results))


if __name__ == "__main__":
    main()
