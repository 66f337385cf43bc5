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
from pydantic import Field, field_validator, model_validator

from hil.config.fields import ConfigModel

Positive = Annotated[float, Field(gt=0)]


def chi2_quantile(probability: float, dims: int) -> float:
    """The χ² quantile: ``scipy.stats.chi2.ppf(probability, dims)`` bit for bit (the same
    formula), without importing scipy.stats — 0.6 s of every ``hil`` command's start-up.
    scipy.special itself (0.3 s) is loaded on the first call, by the tracker that needs the gate,
    not by every process that reads a rig file (the emulators, the preflight)."""
    from scipy.special import gammaincinv

    return float(2.0 * gammaincinv(dims / 2.0, probability))


RETIRED_KEYS = {
    "gate_chi2": "the gate is now a probability: set gate_probability (e.g. 0.999); its χ² "
    "threshold follows from each frame's innovation dimension",
    "max_position_sigma_m": "replaced by max_uncertainty_sigmas, relative to the sensor's "
    "resolution at the track's range (default 100)",
    "max_tentative_position_sigma_m": "removed: a tentative track now lives exactly by "
    "delete_tentative_after_misses and confirm_within_looks",
}
"""Keys of earlier releases, with what replaces each (named in the error a rig file gets)."""


class TrackerConfig(ConfigModel):
    """Tracker tuning: motion model, the measurement noise the filter assumes, the gate, and
    track maintenance (M-of-N confirmation, deletion by consecutive misses, a divergence
    guard relative to what the sensor resolves at each track's range)."""

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
    """Elevation noise (rad); unused for a 2-D sensor, which measures no elevation."""
    sigma_vr_mps: Positive = 0.5
    use_radial_velocity: bool = True
    """Update with the radial velocity of frames that carry one."""
    gate_probability: Annotated[float, Field(gt=0, lt=1)] = 0.999
    """Probability that a track's own detection falls inside its gate. The χ² threshold is
    computed for each frame's innovation dimension (2 to 4): 0.999 gives 13.8 for range and
    azimuth, 16.3 with elevation, 18.5 with radial velocity too."""
    succession_gate_probability: Annotated[float, Field(gt=0, lt=1)] | None = 0.9999
    """A detection outside every gate but inside this wider gate of a confirmed track that
    missed it starts a tentative track marked as that track's possible successor: if the
    confirmed track is then deleted for its misses, a successor with two or more detections
    takes over its id and confirmed status at once, instead of the target going untracked
    until M-of-N confirms it anew. ``None``: no succession. Must exceed ``gate_probability``."""
    update_iterations: Annotated[int, Field(ge=1, le=10)] = 3
    """Iterated-EKF steps per update (1 = plain EKF)."""
    initial_speed_sigma_mps: Positive = 150.0
    confirm_hits: Annotated[int, Field(ge=1, le=32)] = 2
    """M of M-of-N: a tentative track is confirmed at ``confirm_hits`` detections among its
    last ``confirm_window`` looks."""
    confirm_window: Annotated[int, Field(ge=1, le=32)] = 3
    delete_after_misses: Annotated[int, Field(ge=1)] = 3
    """A confirmed track is deleted at this many consecutive missed looks."""
    delete_tentative_after_misses: Annotated[int, Field(ge=1)] = 1
    """A tentative track is deleted at this many consecutive missed looks."""
    confirm_within_looks: Annotated[int, Field(ge=1)] = 4
    """A tentative track not confirmed within this many frames that could have updated it is
    deleted: the M-of-N hits must come from one illumination (a few dwells), since a single
    detection leaves the cross-range velocity unknown and its gate would soon catch clutter."""
    max_uncertainty_sigmas: Annotated[float, Field(gt=2)] = 100.0
    """Divergence guard: a confirmed track is deleted when, at a look that misses it, its
    predicted position uncertainty spans more than this many of the sensor's own standard
    deviations there (RSS over range, azimuth and elevation, each against its measurement σ at
    the track's range). Relative, so it means the same at 1 km and at 80 km; a healthy track
    coasting through its allowed misses stays far below it, and a just-updated one spans at
    most √3 (hence the floor of 2)."""

    @model_validator(mode="before")
    @classmethod
    def _retired(cls, data: object) -> object:
        if isinstance(data, dict):
            for key, fix in RETIRED_KEYS.items():
                if key in data:
                    raise ValueError(f"{key} is no longer a tracker key: {fix}")
        return data

    @model_validator(mode="after")
    def _succession_wider(self) -> TrackerConfig:
        p = self.succession_gate_probability
        if p is not None and p <= self.gate_probability:
            raise ValueError(
                f"succession_gate_probability ({p}) must exceed gate_probability "
                f"({self.gate_probability}): it is the wider gate outside the track's own"
            )
        return self

    @model_validator(mode="after")
    def _confirmable(self) -> TrackerConfig:
        if self.confirm_hits > self.confirm_window:
            raise ValueError(
                f"confirm_hits ({self.confirm_hits}) exceeds confirm_window "
                f"({self.confirm_window}): no track could ever be confirmed"
            )
        if self.confirm_within_looks < self.confirm_hits:
            raise ValueError(
                f"confirm_within_looks ({self.confirm_within_looks}) is below confirm_hits "
                f"({self.confirm_hits}): no track could ever be confirmed"
            )
        return self

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

    def noise(self, elevation: bool = True, velocity: bool = True) -> npt.NDArray[np.float64]:
        """Measurement noise covariance for [range, az(, el)(, vr)] (m, rad, rad, m/s)."""
        sig = [self.sigma_range_m, self.sigma_az_rad]
        if elevation:
            sig.append(self.sigma_el_rad)
        if velocity:
            sig.append(self.sigma_vr_mps)
        return np.diag(np.square(sig))

    def gate_chi2(self, dims: int) -> float:
        """χ² threshold of the gate for an innovation of ``dims`` dimensions."""
        return chi2_quantile(self.gate_probability, dims)

    def succession_chi2(self, dims: int) -> float | None:
        """χ² threshold of the succession gate (None: no succession)."""
        p = self.succession_gate_probability
        return None if p is None else chi2_quantile(p, dims)

    def turn_rates_rad_s(self) -> tuple[float, ...]:
        """Turn rate of each motion model, CV first (rad/s, positive = right turn)."""
        if self.motion == "cv":
            return (0.0,)
        return (0.0, *(math.radians(r) for r in self.imm_turn_rates_deg_s))

    def model_process_noise_m2_s3(self) -> tuple[float, ...]:
        rates = self.turn_rates_rad_s()
        return (self.process_noise_m2_s3,) + (self.imm_turn_process_noise_m2_s3,) * (len(rates) - 1)
