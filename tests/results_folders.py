"""Campaign results folders made without running a campaign: a ``results.json`` in the layout
``hil campaign run`` writes (``hil-campaign-results/1``), one sweep case of ``runs`` seeds with
``measurements`` numeric measurements each, every one under a criterion. Used by the results
store's tests and its benchmark (``benchmarks/results_store_bench.py``)."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SIM_RIG = REPO / "configs" / "rigs" / "sim.toml"
DEMO = REPO / "configs" / "campaigns" / "demo.toml"
NAMED = (("gospa_mean_m", "m"), ("latency_p99_ms", "ms"), ("tracks_confirmed", "count"))


def measurement_names(count: int) -> list[tuple[str, str]]:
    """``count`` (name, unit) pairs: the named measurements first, then ``extra_<i>_ms``."""
    extra = [(f"extra_{i}_ms", "ms") for i in range(max(0, count - len(NAMED)))]
    return [*NAMED, *extra][:count]


def sweep_document(
    name: str = "sweep",
    runs: int = 5,
    measurements: int = 30,
    campaign_id: str | None = None,
    started_utc: str = "2026-12-01T10:00:00Z",
    seed: int = 0,
    rig: Path = SIM_RIG,
    campaign_file: Path = DEMO,
) -> dict[str, Any]:
    """A results.json document (``campaign_id`` None: an old folder's, with no id or digest)."""
    chance = random.Random(seed)
    names = measurement_names(measurements)
    run_items = []
    for index in range(runs):
        values = {key: round(chance.uniform(1.0, 100.0), 4) for key, _ in names}
        values["rig_final_state"] = "SAFE"
        run_items.append(
            {
                "seed": index + 1,
                "verdict": "pass",
                "wall_s": 0.5,
                "recording": f"recordings/sweep-seed{index + 1}.mcap",
                "replay_command": None,
                "replay_of": None,
                "error": None,
                "emulated": False,
                "stopped_early": False,
                "notes": [],
                "measurements": values,
                "criteria": [
                    {
                        "text": f"{key} <= 1000",
                        "measurement": key,
                        "labels": {},
                        "statistic": None,
                        "comparator": "<=",
                        "limit": 1000.0,
                        "unit": unit,
                        "measured": values[key],
                        "verdict": "pass",
                    }
                    for key, unit in names
                ],
                "summary": {"digest": f"{seed:08x}{index:056x}", "emulated_devices": []},
            }
        )
    campaign: dict[str, Any] = {
        "name": name,
        "file": str(campaign_file),
        "description": "made by tests/results_folders.py",
        "rig": str(rig),
    }
    if campaign_id is not None:
        campaign = {"id": campaign_id, **campaign, "digest": "d" * 64}
    return {
        "schema": "hil-campaign-results/1",
        "campaign": campaign,
        "started_utc": started_utc,
        "finished_utc": started_utc,
        "wall_s": 1.0,
        "interrupted": False,
        "verdict": "pass",
        "environment": {
            "software_version": "0.1.0",
            "git_commit": None,
            "python": "3.11.7",
            "host": "test",
            "platform": "Linux",
            "icd": {"radar": "1.1", "plc": "1.1"},
        },
        "preflight": None,
        "warnings": [],
        "cases": [
            {
                "name": "sweep",
                "description": "",
                "mode": "sim",
                "emulated": False,
                "scenario": None,
                "recordings_replayed": [],
                "duration_s": 10.0,
                "armed": False,
                "faults": [],
                "verdict": "pass",
                "criteria": [
                    {
                        "text": "mean(gospa_mean_m) <= 1000",
                        "measurement": "gospa_mean_m",
                        "labels": {},
                        "statistic": "mean",
                        "comparator": "<=",
                        "limit": 1000.0,
                        "unit": "m",
                        "measured": 50.0,
                        "verdict": "pass",
                    }
                ],
                "runs": run_items,
            }
        ],
    }


def write_folder(folder: Path, document: dict[str, Any]) -> Path:
    """``folder/results.json`` holding ``document``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def new_id() -> str:
    return str(uuid.uuid4())
