"""Field types shared by the config models: strict, frozen, units in names."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_RUN_S = 30 * 86_400.0
"""Longest run (s) a scenario or ``--duration`` may ask for: 30 days. A soak run is hours to
days; 1e9 s (32 years) is a typo, and a simulated run's dwells grow with its length."""

MIN_DWELL_S = 1e-3
"""Shortest radar dwell (s). The ICD's radar dwells 10 ms and sends one DETECTIONS frame per
dwell: an empty one is 34 bytes, 0.37 ms of the default 921600 baud link (0.11 ms at 3 Mbaud)."""


class ConfigModel(BaseModel):
    """Base of every config table: frozen, strict types, unknown keys are errors, and every
    float — scalar, vector element, interval bound, list item — is finite (TOML's ``nan`` and
    ``inf`` are refused naming the key). A field that means "never" by ``inf`` says so with
    ``SecondsOrNever``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _exactly(count: int, what: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, list | tuple):
            if len(value) != count:
                raise ValueError(f"expected {count} numbers {what}, got {len(value)}")
            return tuple(value)
        return value

    return BeforeValidator(check)


Vec3 = Annotated[tuple[float, float, float], _exactly(3, "[east, north, up]")]
"""An ENU vector, [east, north, up]; the unit is in the field's name."""

Interval = Annotated[tuple[float, float], _exactly(2, "[low, high]")]
"""A closed interval [low, high]; the unit is in the field's name."""


def _not_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        raise ValueError("nan is not a time: give seconds, or inf for never")
    return value


SecondsOrNever = Annotated[float, Field(gt=0, allow_inf_nan=True), BeforeValidator(_not_nan)]
"""A time (s) > 0 where ``inf`` means never; ``nan`` is refused."""


def _list_to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


TableArray = BeforeValidator(_list_to_tuple)
"""Annotate ``tuple[Model, ...]`` fields with this so TOML arrays of tables validate strictly."""


def ordered(interval: tuple[float, float], name: str) -> tuple[float, float]:
    """Reject an interval whose low end exceeds its high end."""
    if interval[0] > interval[1]:
        raise ValueError(f"{name}: low end {interval[0]} exceeds high end {interval[1]}")
    return interval


def refuse_literal_password(data: Any, variable: str) -> Any:
    """A table's raw data (a ``mode="before"`` model validator's input) unchanged, unless it
    holds a ``password`` key: rig files are copied into every recording, so a secret comes only
    from the environment variable the table names (e.g. ``password_env = "<variable>"``)."""
    if isinstance(data, dict) and "password" in data:
        raise ValueError(
            "a password in the rig file is refused (rig files are copied into every "
            "recording): put it in an environment variable and name that variable, "
            f'e.g. password_env = "{variable}"'
        )
    return data
