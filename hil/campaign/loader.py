"""Loading a campaign file into what the runner needs: each case's rig (the campaign's rig file
in the case's mode, with ``HIL_RIG__…`` environment overrides as ``hil run`` has them), scenario,
duration, seeds, faults and parsed criteria. Every problem is one line naming the campaign file
and the key (``cases[2].scenario``) — or the rig or scenario file and its key, and which case
asked for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hil.campaign.criteria import Criterion, parse
from hil.campaign.model import CampaignFile, CaseMode, CaseSpec, RegressionSpec
from hil.config.bundled import bundled_file
from hil.config.loader import load_rig, load_scenario, read_toml, validate
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig
from hil.errors import ConfigError
from hil.rig.faults import FaultEvent, check_faults, hardware_only

T = TypeVar("T")

DEMO = bundled_file("campaigns/demo.toml")
"""The campaign ``hil campaign run`` runs without a FILE."""


@dataclass(frozen=True)
class Case:
    """One case, resolved: for ``replay`` the recordings (rig and scenario come from each),
    for the other modes the rig in the case's mode and the scenario."""

    name: str
    description: str
    mode: CaseMode
    rig: RigConfig | None
    scenario: ScenarioConfig | None
    scenario_file: Path | None
    duration_s: float
    """Seconds of loop time per run (inf: a replay's whole recording)."""
    seeds: tuple[int, ...]
    arm: bool
    faults: tuple[FaultEvent, ...]
    criteria: tuple[Criterion, ...]
    sweep_criteria: tuple[Criterion, ...]
    recordings: tuple[Path, ...] = ()

    @property
    def parallel(self) -> bool:
        """Runs of this case may go to worker processes (no devices, no wall-clock timing)."""
        return self.mode in ("sim", "replay")


@dataclass(frozen=True)
class Campaign:
    """A loaded campaign file; ``overrides``: the ``--set KEY=VALUE`` applied to every case's
    rig (as ``hil run --set``); ``regression``: its ``[regression]`` table, if any."""

    name: str
    description: str
    file: Path
    rig_file: Path
    cases: tuple[Case, ...]
    overrides: tuple[str, ...] = ()
    regression: RegressionSpec | None = None


def is_campaign_file(path: Path) -> bool:
    """``path`` holds a ``[campaign]`` table (``ConfigError`` if it cannot be read as TOML)."""
    return "campaign" in read_toml(path)


MODE_KEY = "rig.mode"


def load_campaign(path: Path, overrides: Sequence[str] = ()) -> Campaign:
    """The campaign file at ``path``, every file it names loaded and checked, ``overrides``
    (``KEY=VALUE``, TOML values, as ``hil run --set``) applied to every case's rig;
    ``ConfigError`` with one line per problem."""
    path = path.resolve() if path.exists() else path
    data = read_toml(path)
    if "campaign" not in data:
        found = ", ".join(f"[{key}]" for key in data if isinstance(data[key], dict)) or "none"
        raise ConfigError(
            [
                f"{path}: not a campaign file: expected a [campaign] table (name, rig) and "
                f"[[cases]]; top-level tables found: {found} (docs/campaigns.md)"
            ]
        )
    spec = validate(path, CampaignFile, data)
    folder = path.parent
    rig_file = folder / spec.campaign.rig
    _check_overrides(rig_file, overrides)
    problems: list[str] = []
    seen: dict[str, int] = {}
    cases = []
    for index, case in enumerate(spec.cases):
        where = f"{path}: cases[{index}]"
        if case.name in seen:
            problems.append(
                f"{where}.name: {case.name!r} is already the name of cases[{seen[case.name]}]; "
                "case names must be unique (they name recordings and test cases)"
            )
            continue
        seen[case.name] = index
        try:
            cases.append(_resolve(path, index, case, rig_file, overrides))
        except ConfigError as error:
            problems.extend(error.problems)
    if problems:
        raise ConfigError(problems)
    return Campaign(
        spec.campaign.name,
        spec.campaign.description,
        path,
        rig_file,
        tuple(cases),
        tuple(overrides),
        spec.regression,
    )


def _check_overrides(rig_file: Path, overrides: Sequence[str]) -> None:
    """``--set`` overrides checked once against the campaign's rig file (one line each, not one
    per case); ``rig.mode`` is each case's ``mode`` and cannot be set for all."""
    for override in overrides:
        if override.split("=", 1)[0].strip() == MODE_KEY:
            raise ConfigError(
                [
                    f"--set {override}: each case's mode sets {MODE_KEY}; change the case's "
                    "mode in the campaign file instead"
                ]
            )
    if overrides and rig_file.is_file():
        load_rig(rig_file, overrides)


def _resolve(
    path: Path, index: int, case: CaseSpec, rig_file: Path, overrides: Sequence[str]
) -> Case:
    where = f"{path}: cases[{index}]"
    asked = f"(cases[{index}] of {path})"
    criteria = tuple(parse(text, sweep=False) for text in case.criteria)
    sweep = tuple(parse(text, sweep=True) for text in case.sweep_criteria)
    if case.mode == "replay":
        return _resolve_replay(path, index, case, criteria, sweep)
    if case.recording is not None:
        raise ConfigError(
            [
                f"{where}.recording: only a replay case plays a recording; remove it or set "
                'mode = "replay"'
            ]
        )
    if case.scenario is None:
        raise ConfigError(
            [
                f"{where}.scenario: required key is missing (a scenario file, relative to the "
                'campaign file, e.g. "../scenarios/defended-site.toml")'
            ]
        )
    mode = f"{MODE_KEY}={case.mode}"
    rig = _with_context(lambda: load_rig(rig_file, [*overrides, mode]), asked)
    scenario_file = path.parent / case.scenario
    scenario = _with_context(lambda: load_scenario(scenario_file), asked)
    duration = case.duration_s if case.duration_s is not None else scenario.scenario.duration_s
    faults = tuple(FaultEvent(f.at_s, f.kind, f.duration_s, f.value) for f in case.faults)
    _check_faults(where, case, rig, faults, duration)
    return Case(
        case.name,
        case.description,
        case.mode,
        rig,
        scenario,
        scenario_file,
        duration,
        case.seed_list,
        case.arm,
        faults,
        criteria,
        sweep,
    )


def _resolve_replay(
    path: Path,
    index: int,
    case: CaseSpec,
    criteria: tuple[Criterion, ...],
    sweep: tuple[Criterion, ...],
) -> Case:
    where = f"{path}: cases[{index}]"
    fixed = {
        "scenario": case.scenario is not None,
        "seeds": case.seeds != (0,),
        "arm": case.arm,
        "faults": bool(case.faults),
    }
    for key, given in fixed.items():
        if given:
            raise ConfigError(
                [f"{where}.{key}: a replay case plays its recordings' own {key}; remove it"]
            )
    if case.recording is None:
        raise ConfigError(
            [
                f"{where}.recording: required key is missing in mode 'replay' (an .mcap "
                "recording or a folder of them, relative to the campaign file)"
            ]
        )
    target = path.parent / case.recording
    if target.is_dir():
        recordings = tuple(sorted(target.glob("*.mcap")))
        if not recordings:
            raise ConfigError([f"{where}.recording: {target} holds no .mcap recordings"])
    elif target.is_file():
        recordings = (target,)
    else:
        raise ConfigError(
            [f"{where}.recording: {target} does not exist; give an .mcap file or a folder"]
        )
    duration = case.duration_s if case.duration_s is not None else math.inf
    return Case(
        case.name,
        case.description,
        "replay",
        None,
        None,
        None,
        duration,
        tuple(range(len(recordings))),
        False,
        (),
        criteria,
        sweep,
        recordings,
    )


def _with_context(load: Callable[[], T], asked: str) -> T:
    try:
        return load()
    except ConfigError as error:
        raise ConfigError([f"{line} {asked}" for line in error.problems]) from error


def _check_faults(
    where: str, case: CaseSpec, rig: RigConfig, faults: tuple[FaultEvent, ...], duration_s: float
) -> None:
    """The case's faults by ``hil.rig.faults.check_faults``' rules (times within the run, each
    kind's duration and value, the modes); on a bench rig without emulation fallback no device
    can be faulted."""
    if not faults:
        return
    real = hardware_only(rig.rig.mode, rig.rig.allow_emulation_fallback)
    check_faults(faults, case.mode, duration_s, where=f"{where}.faults", real_devices=real)
