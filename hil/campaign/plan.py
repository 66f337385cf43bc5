"""A campaign's cases expanded into runs: one per seed (or per recording of a replay case),
each with its settings, recording path and arming decided."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hil.campaign.execute import RunJob
from hil.campaign.loader import Campaign, Case
from hil.rig.base import RunSettings

BENCH_NOT_ARMED = (
    "NOT ARMED: the case has arm = true, but a bench run is armed only when the operator also "
    "passes --arm to hil campaign run"
)


@dataclass(frozen=True)
class PlannedCase:
    case: Case
    jobs: tuple[RunJob, ...]


def recording_name(case: str, seed: int, replay_of: Path | None = None) -> str:
    """``<case>-seed<seed>.mcap`` (a replay: ``<case>-<recording's stem>.mcap``)."""
    if replay_of is not None:
        return f"{case}-{replay_of.stem}.mcap"
    return f"{case}-seed{seed}.mcap"


def plan(campaign: Campaign, folder: Path, operator_armed: bool) -> list[PlannedCase]:
    """Every case's runs, recordings under ``folder/recordings``. Arming: a case's ``arm`` on
    ``sim`` and ``emulate``; on ``bench`` only with the operator's ``--arm`` as well (otherwise
    the run is not armed and its notes say so)."""
    recordings = folder / "recordings"
    planned = []
    for case in campaign.cases:
        jobs = []
        if case.mode == "replay":
            for index, source in enumerate(case.recordings):
                path = recordings / recording_name(case.name, index, source)
                jobs.append(
                    RunJob(case.name, index, None, path, case.criteria, source, case.duration_s)
                )
            planned.append(PlannedCase(case, tuple(jobs)))
            continue
        assert case.rig is not None and case.scenario is not None
        assert case.scenario_file is not None
        armed = case.arm and (case.mode != "bench" or operator_armed)
        notes = (BENCH_NOT_ARMED,) if case.arm and not armed else ()
        rig = case.rig
        if case.parallel and rig.telemetry is not None:
            # a sweep's runs go side by side to workers: hundreds of runs would take turns at
            # the rig's retained status; the campaign's emulate and bench runs publish
            rig = rig.model_copy(update={"telemetry": None})
        for seed in case.seeds:
            settings = RunSettings(
                rig,
                case.scenario,
                case.scenario_file,
                case.duration_s,
                seed,
                armed,
                (*campaign.overrides, f"rig.mode={case.mode}"),
                faults=case.faults,
            )
            path = recordings / recording_name(case.name, seed)
            jobs.append(RunJob(case.name, seed, settings, path, case.criteria, notes=notes))
        planned.append(PlannedCase(case, tuple(jobs)))
    return planned
