"""``hil results trend``'s computation over many stored campaigns (issue 23 goal: ≤ 1 s end to
end over 1,000 campaigns once the store is plugged in).

Until the store exists this times the analysis itself on in-memory records: ``--campaigns``
stored campaigns (default 1,000), each a sweep of ``--seeds`` runs (default 20) of one case with
``--measurements`` measurements per run (default 30, as results.json has them: the trend picks one
out of them), the rig fingerprint changing every 100 campaigns. Timed, best of ``--repeats``:
``trend`` (grouping the samples, a band per campaign), ``trend_json`` and ``trend_plot`` (the
PNG). Prints the figures, then one JSON line.

    python benchmarks/trend_bench.py [--campaigns 1000] [--seeds 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from hil.campaign.report.plots import trend_plot
from hil.history.model import MeasurementSample, StoredCampaign
from hil.history.trend import trend, trend_json, trend_lines

GOAL_S = 1.0
MEASUREMENT = "gospa_mean_m"


def history(
    campaigns: int, seeds: int, measurements: int
) -> tuple[list[StoredCampaign], list[MeasurementSample]]:
    """Stored campaigns, oldest first, and every run's samples (fixed random values)."""
    draw = np.random.default_rng(23)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    stored = []
    samples = []
    names = [MEASUREMENT, *(f"other_{i}" for i in range(measurements - 1))]
    for number in range(campaigns):
        campaign_id = f"c{number:06d}"
        began = start + timedelta(hours=number)
        stored.append(
            StoredCampaign(
                campaign_id, "bench", "d" * 64, f"{number // 100:064d}", began,
                began + timedelta(minutes=10), "pass", "0.1.0", f"{number:040x}",
                f"runs/{campaign_id}",
            )
        )  # fmt: skip
        values = draw.normal(150.0, 20.0, size=(seeds, len(names)))
        for seed in range(seeds):
            for column, name in enumerate(names):
                value = float(values[seed, column])
                samples.append(
                    MeasurementSample(campaign_id, "sweep", "sim", seed + 1, name, value, "m")
                )
    return stored, samples


def best_of(repeats: int, work: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - began)
    return best, result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--measurements", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    campaigns, samples = history(args.campaigns, args.seeds, args.measurements)
    # what the store's samples(ids, measurement=...) query hands over: one measurement's rows
    chosen = [s for s in samples if s.name == MEASUREMENT]
    trend_s, series = best_of(args.repeats, lambda: trend(campaigns, chosen, MEASUREMENT))
    all_s, _ = best_of(args.repeats, lambda: trend(campaigns, samples, MEASUREMENT))
    json_s, _ = best_of(args.repeats, lambda: json.dumps(trend_json(series), allow_nan=False))
    plot_s, png = best_of(
        args.repeats,
        lambda: trend_plot(trend_lines(series), MEASUREMENT, "m", "bench"),
    )
    total = trend_s + json_s + plot_s
    result = {
        "benchmark": "trend",
        "campaigns": args.campaigns,
        "seeds": args.seeds,
        "samples_of_measurement": len(chosen),
        "samples_all": len(samples),
        "points": sum(len(s.points) for s in series),
        "rig_changes": sum(p.rig_changed for s in series for p in s.points),
        "trend_s": round(trend_s, 4),
        "trend_from_all_measurements_s": round(all_s, 4),
        "json_s": round(json_s, 4),
        "plot_s": round(plot_s, 4),
        "png_bytes": len(png),
        "analysis_total_s": round(total, 4),
        "goal_s": GOAL_S,
        "within_goal": total <= GOAL_S,
    }
    print(
        f"{args.campaigns} campaigns × {args.seeds} seeds ({len(chosen)} samples of {MEASUREMENT})"
    )
    print(f"  trend (bands):                 {trend_s * 1000:8.1f} ms")
    print(f"  trend over all {len(samples)} samples: {all_s * 1000:8.1f} ms")
    print(f"  JSON:                          {json_s * 1000:8.1f} ms")
    print(f"  PNG:                           {plot_s * 1000:8.1f} ms")
    print(
        f"  total (without the store):     {total * 1000:8.1f} ms (goal ≤ {GOAL_S:g} s end to end)"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
