"""Build the emulated radar firmware from a scenario (the scenario's ``[radar]`` and targets)."""

from __future__ import annotations

import math

import numpy as np

from firmware_stubs.radar.firmware import RadarFirmware
from hil.config.scenario import ScenarioConfig
from hil.scenario import build_targets, radar_parameters
from sim.sensor import RadarSensor


def build_radar_firmware(
    config: ScenarioConfig, seed: int, rotate_rpm: float | None = None
) -> RadarFirmware:
    """Firmware whose detections come from the scenario's ``real`` targets (``injected`` ones are
    the loop's to add); STANDBY at power-on unless
    ``rotate_rpm`` is given. ``seed`` drives the sensor noise, detections and clutter."""
    radar = config.radar
    firmware = RadarFirmware(
        RadarSensor(radar_parameters(radar)),
        build_targets(config, "real"),
        np.random.default_rng(seed),
        dwell_s=radar.dwell_s,
        sector_centre_rad=math.radians(radar.sector_centre_deg),
        sector_width_rad=math.radians(radar.sector_width_deg),
        boresight_el_rad=math.radians(radar.boresight_el_deg),
    )
    if rotate_rpm is not None:
        firmware.start_rotating(rotate_rpm)
    return firmware
