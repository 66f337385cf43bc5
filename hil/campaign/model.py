"""Campaign files (``configs/campaigns/*.toml``): the tables as written, validated strictly.

Layout::

    [campaign]   name, description, rig (path relative to this file)
    [[cases]]    name, description, scenario (path), mode (bench | emulate | sim | replay),
                 recording (replay: an .mcap file or a folder of them), duration_s,
                 seeds ([1, 2] or a count N: seeds 1..N), arm, criteria, sweep_criteria
    [[cases.faults]]  at_s, kind, duration_s, value (``hil.rig.faults.FaultEvent``)
    [regression] against, measurements, max_worse, alpha (judged against earlier comparable
                 campaigns of the results store, ``hil.history.regression``)

Unknown keys are refused, floats are finite, case names are filename-safe; each criterion is
parsed against the measurement table as it is validated, so a problem names its key
(``cases[2].criteria[0]``). What needs other files (the rig, scenarios, recordings) is checked
by ``hil.campaign.loader``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator

from hil.campaign.criteria import known_measurements, parse
from hil.campaign.measurements import MEASUREMENTS
from hil.config.fields import MAX_RUN_S, ConfigModel, TableArray
from hil.rig.faults import FaultKind

CaseMode = Literal["bench", "emulate", "sim", "replay"]
MAX_SEED = 2**32 - 1
MAX_RUNS_PER_CASE = 100_000
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Case and campaign names: used in file names (recordings, the results folder)."""


def _file_safe(name: str) -> str:
    if not SAFE_NAME.match(name):
        raise ValueError(
            "a name is used in file names: 1 to 64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit"
        )
    return name


SafeName = Annotated[str, AfterValidator(_file_safe)]


def _per_run(text: str) -> str:
    parse(text, sweep=False)
    return text


def _over_sweep(text: str) -> str:
    parse(text, sweep=True)
    return text


PerRunCriterion = Annotated[str, AfterValidator(_per_run)]
SweepCriterion = Annotated[str, AfterValidator(_over_sweep)]


SEEDS_ALLOWED = (
    f"a count of runs is 1 to {MAX_RUNS_PER_CASE} (seeds 1..N), or a list of seeds, each an "
    f"integer from 0 to {MAX_SEED}"
)


def _seeds(value: Any) -> Any:
    """``seeds`` checked whole, each problem one sentence saying what is allowed (instead of
    pydantic's report of both branches of ``int | tuple``, validator chain included)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_RUNS_PER_CASE:
            raise ValueError(SEEDS_ALLOWED)
        return value
    if not isinstance(value, list | tuple):
        raise ValueError(SEEDS_ALLOWED)
    if not value:
        raise ValueError("an empty list runs nothing: give at least one seed, or a count of runs")
    if len(value) > MAX_RUNS_PER_CASE:
        raise ValueError(
            f"a list of {len(value)} seeds; a case runs at most {MAX_RUNS_PER_CASE} seeds"
        )
    for index, seed in enumerate(value):
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ValueError(
                f"seeds[{index}] = {seed!r} is not a seed: each seed is an integer from 0 to "
                f"{MAX_SEED}"
            )
    repeated = sorted({seed for seed in value if value.count(seed) > 1})
    if repeated:
        raise ValueError(f"seeds {repeated} appear more than once; each seed is one run")
    return tuple(value)


class CampaignInfo(ConfigModel):
    name: SafeName
    """Names the results folder: letters, digits, ``.``, ``_``, ``-`` (at most 64)."""
    description: str = ""
    rig: str = Field(min_length=1)
    """The rig file, relative to the campaign file."""


class FaultSpec(ConfigModel):
    """One fault of a case's runs (``hil.rig.faults.FaultEvent``)."""

    at_s: Annotated[float, Field(ge=0)]
    kind: FaultKind
    duration_s: Annotated[float, Field(ge=0)] = 0.0
    value: float = 0.0


class CaseSpec(ConfigModel):
    name: SafeName
    """Names the case's recordings and JUnit test cases: letters, digits, ``.``, ``_``, ``-``."""
    description: str = ""
    mode: CaseMode
    scenario: str | None = None
    """Scenario file relative to the campaign file (every mode but replay)."""
    recording: str | None = None
    """replay: a recording (.mcap) or a folder of them, relative to the campaign file."""
    duration_s: Annotated[float, Field(gt=0, le=MAX_RUN_S)] | None = None
    """Seconds of loop time per run (default: the scenario's duration_s; replay: the whole
    recording)."""
    seeds: Annotated[int | tuple[int, ...], BeforeValidator(_seeds)] = (0,)
    """One run per seed; a count N is the Monte-Carlo sweep of seeds 1..N."""
    arm: bool = False
    """Arm the runs (sim and emulate: from the file; bench: only with ``--arm`` too)."""
    faults: Annotated[tuple[FaultSpec, ...], TableArray] = ()
    criteria: Annotated[tuple[PerRunCriterion, ...], TableArray] = ()
    sweep_criteria: Annotated[tuple[SweepCriterion, ...], TableArray] = ()

    @property
    def seed_list(self) -> tuple[int, ...]:
        if isinstance(self.seeds, int):
            return tuple(range(1, self.seeds + 1))
        return self.seeds


def _directed(key: str) -> str:
    """A measurement key of ``[regression]``: known, its labels allowed, and with a better
    direction (a regression is a change for the worse)."""
    name = key.split("{", 1)[0].strip()
    measurement = MEASUREMENTS.get(name)
    if measurement is None:
        raise ValueError(f"unknown measurement {name!r}; known: {known_measurements()}")
    if measurement.better is None:
        directed = ", ".join(m.name for m in MEASUREMENTS.values() if m.better is not None)
        raise ValueError(
            f"{key!r} has no better direction ({measurement.description}): a regression is a "
            f"change for the worse; give a measurement that improves lower or higher: {directed}"
        )
    return parse(f"{key} >= 0", sweep=False).key  # its labels checked, written as results do


DirectedMeasurement = Annotated[str, AfterValidator(_directed)]


class RegressionSpec(ConfigModel):
    """``[regression]``: each of ``measurements`` judged against the ``against`` last finished
    comparable campaigns (same campaign file digest and rig fingerprint) — worse by more than
    ``max_worse`` (a fraction of the baseline, in the measurement's worse direction) and, for a
    sweep, a one-sided test over the seeds with p < ``alpha``."""

    against: Annotated[int, Field(ge=2, le=1000)] = 5
    measurements: Annotated[tuple[DirectedMeasurement, ...], TableArray, Field(min_length=1)]
    max_worse: Annotated[float, Field(ge=0)] = 0.05
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.01

    @field_validator("measurements")
    @classmethod
    def _unique(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"{repeated} appear more than once; name each measurement once")
        return keys


class CampaignFile(ConfigModel):
    """A whole campaign file."""

    campaign: CampaignInfo
    cases: Annotated[tuple[CaseSpec, ...], TableArray, Field(min_length=1)]
    regression: RegressionSpec | None = None
