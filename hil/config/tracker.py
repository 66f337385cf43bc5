"""The ``[tracker]`` table of a rig file: tracker tuning, SI units.

Every field has a bench-tested default, so a rig file needs a ``[tracker]`` table only to change
one. ``motion = "imm"`` selects the interacting-multiple-model filter (constant velocity plus
coordinated turns at ``imm_turn_rates_deg_s``) for manoeuvring targets.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from hil.config.fields import ConfigModel

Positive = Annotated[float, Field(gt=0)]


class TrackerConfig(ConfigModel):
    """Tracker tuning. ``gate_chi2`` is the χ² gate on the 4-D innovation (99.9 % ≈ 18.5)."""

    motion: Literal["cv", "imm"] = "cv"
    """``cv``: one constant-velocity filter per track; ``imm``: CV + coordinated turns."""
    process_noise_m2_s3: Positive = 5.0
    """White-noise acceleration density of the constant-velocity model (m²/s³ per axis)."""
    imm_turn_rates_deg_s: tuple[float, ...] = (3.0, -3.0)
    """Turn rates of the IMM's coordinated-turn models (degrees/s, positive = right turn)."""
    imm_turn_process_noise_m2_s3: Positive = 5.0
    imm_mean_sojourn_s: Positive = 20.0
    """Expected time a target stays in one motion mode (sets the mode-switch probabilities)."""
    imm_initial_cv_probability: Annotated[float, Field(gt=0, le=1)] = 0.8
    sigma_range_m: Positive = 5.0
    sigma_az_rad: Positive = 1e-3
    sigma_el_rad: Positive = 1e-3
    sigma_vr_mps: Positive = 0.5
    use_radial_velocity: bool = True
    gate_chi2: Positive = 18.5
    update_iterations: Annotated[int, Field(ge=1, le=10)] = 3
    """Iterated-EKF steps per update (1 = plain EKF)."""
    initial_speed_sigma_mps: Positive = 150.0
    confirm_hits: Annotated[int, Field(ge=1, le=32)] = 2
    confirm_window: Annotated[int, Field(ge=1, le=32)] = 3
    delete_after_misses: Annotated[int, Field(ge=1)] = 3
    delete_tentative_after_misses: Annotated[int, Field(ge=1)] = 1
    max_position_sigma_m: Positive = 1000.0
    """A confirmed track whose position uncertainty exceeds this is deleted."""
    confirm_within_looks: Annotated[int, Field(ge=1)] = 4
    """A tentative track not confirmed within this many frames that could have updated it is
    deleted: the M-of-N hits must come from one illumination (a few dwells), since a single
    detection leaves the cross-range velocity unknown and its gate would soon catch clutter."""
    max_tentative_position_sigma_m: Positive = 150.0
    """A tentative track must be confirmed before its uncertainty grows past this."""

    @field_validator("imm_turn_rates_deg_s", mode="before")
    @classmethod
    def _rates(cls, value: object) -> object:
        if isinstance(value, list):
            value = tuple(value)
        if isinstance(value, tuple) and any(
            isinstance(v, int | float) and (v == 0 or abs(v) > 30) for v in value
        ):
            raise ValueError("turn rates must be non-zero and within ±30 °/s (0 is the CV model)")
        return value

    def noise(self) -> npt.NDArray[np.float64]:
        """Measurement noise covariance for [range, az, el(, vr)] (m, rad, rad, m/s)."""
        sig = [self.sigma_range_m, self.sigma_az_rad, self.sigma_el_rad]
        if self.use_radial_velocity:
            sig.append(self.sigma_vr_mps)
        return np.diag(np.square(sig))

    def turn_rates_rad_s(self) -> tuple[float, ...]:
        """Turn rate of each motion model, CV first (rad/s, positive = right turn)."""
        if self.motion == "cv":
            return (0.0,)
        return (0.0, *(math.radians(r) for r in self.imm_turn_rates_deg_s))

    def model_process_noise_m2_s3(self) -> tuple[float, ...]:
        rates = self.turn_rates_rad_s()
        return (self.process_noise_m2_s3,) + (self.imm_turn_process_noise_m2_s3,) * (len(rates) - 1)
