"""The ``[fire_control]`` table of a rig file: defended point, interceptor, limits, interlocks.

Angles in degrees in the file (bearings clockwise from north, elevations up from the horizon),
distances in metres, times in seconds. ``inhibit_sectors`` is the software's own copy of the
no-fire zones, in the same form as the emulated PLC's file (``az_deg`` [from, to] clockwise,
[0, 0] = every azimuth; ``el_deg``), bounds included (ICD rule 6); the software keeps every
solution ``pointing_tolerance_deg`` clear of them, the PLC enforces its own on the actual
pointing and decides last.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from hil.config.fields import ConfigModel, Interval, TableArray, Vec3, ordered
from hil.config.sectors import InhibitSectorConfig

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


DEFAULT_SECTORS = (
    InhibitSectorConfig(az_deg=(170.0, 190.0)),
    InhibitSectorConfig(az_deg=(0.0, 0.0), el_deg=(-90.0, 3.0)),
)
"""The software's default copy of the no-fire sectors: the ICD's defaults (azimuth 170°-190° at
any elevation; any azimuth at or below 3°), written out here so that fire control owns them — a
change to the emulator's sectors cannot change the interlocks (``tests/test_sector_ownership.py``
checks that the two defaults agree and that fire control imports nothing of ``firmware_stubs``)."""


class FireControlConfig(ConfigModel):
    defended_point_enu_m: Vec3 = (0.0, 0.0, 0.0)
    """Threats are ordered by their time to closest approach to this point (ENU m)."""
    interceptor_speed_mps: Positive = 800.0
    """Mean speed of the interceptor over its flight, for the constant-velocity intercept."""
    max_time_of_flight_s: Positive = 30.0
    intercept_range_m: Interval = (300.0, 15_000.0)
    """Intercept point distance from the launcher the rig may engage (m)."""
    elevation_limits_deg: Interval = (3.0, 80.0)
    """Launcher elevation the rig may fire at (degrees)."""
    inhibit_sectors: Annotated[tuple[InhibitSectorConfig, ...], TableArray] = DEFAULT_SECTORS
    pointing_tolerance_deg: Positive = 0.5
    """Largest angle between the launcher's actual pointing and the solution's to fire."""
    threat_evaluation_interval_s: Annotated[float, Field(ge=0, le=1)] = 0.1
    """How often an idle launcher re-evaluates the threats (s)."""
    hold_lead_s: Positive = 0.3
    """READY holds the launcher at the solution this far ahead (s); see ``engagement``."""
    max_track_age_s: Positive = 7.5
    """A track is fresh while its last update is at most this old (1.5 revolutions at 12 rpm)."""
    max_velocity_sigma_mps: Positive = 20.0
    """A track is engaged only once its velocity uncertainty (RSS over the axes) is at most
    this: a newly confirmed track's cross-range velocity is still loose, and so is its lead."""
    max_radar_silence_s: Positive = 0.5
    """The radar link is fresh while its last frame is at most this old."""
    max_plc_status_age_s: Positive = 0.5
    """The PLC link is healthy while its link is up and its last status is at most this old."""
    max_threat_range_m: Positive = 20_000.0
    """Exclusion: tracks farther than this from the defended point are not threats."""
    max_miss_distance_m: Positive = 5_000.0
    """Exclusion: tracks whose closest approach misses the defended point by more are not
    threats."""
    exclude_receding: bool = True
    """Exclusion: tracks moving away from the defended point are not threats."""
    fire_confirm_timeout_s: Positive = 1.0
    """After a launch request, how long to wait for the PLC's launch count (or its refusal)."""
    refused_hold_s: Positive = 5.0
    """A track whose launch request the PLC refused is not designated again for this long."""
    assess_margin_s: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 2.0
    """After a launch, assess for the time of flight plus this before the next engagement."""

    @model_validator(mode="after")
    def _limits(self) -> FireControlConfig:
        ordered(self.intercept_range_m, "intercept_range_m")
        ordered(self.elevation_limits_deg, "elevation_limits_deg")
        if not (self.elevation_limits_deg[0] >= -90 and self.elevation_limits_deg[1] <= 90):
            raise ValueError("elevation_limits_deg must lie within [-90, 90]")
        return self
