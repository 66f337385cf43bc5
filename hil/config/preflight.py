"""The ``[preflight]`` table of a rig file: every limit ``hil rig check`` judges against, with
defaults that fit the ICDs (docs/preflight.md). Units are in the key names."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hil.config.fields import ConfigModel

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class PreflightConfig(ConfigModel):
    """Limits of the rig preflight. A row is green inside its limit, red outside it."""

    window_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    """Measurement window (s) for rates, clock and latency: what a campaign's preflight uses
    and ``hil rig check`` without ``--seconds``. The clock drift needs about 1 s or more."""
    connect_timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    """How long each device may take to come up (s), as ``hil run`` waits on a bench."""
    radar_max_temperature_c: Annotated[float, Field(ge=-40, le=150)] = 60.0
    """Hottest acceptable turntable temperature (°C, STATUS ``temp_cc``)."""
    radar_min_frame_rate_hz: Annotated[float, Field(gt=0, le=1000)] = 90.0
    """Fewest DETECTIONS frames per second (the ICD's default dwell gives 100)."""
    radar_max_crc_error_fraction: Annotated[float, Field(ge=0, le=1)] = 0.001
    """Largest share of the frames received in the window that failed their CRC (either
    direction: the host's rejections and the device's ``crc_errors``)."""
    radar_max_clock_uncertainty_ms: Positive = 2.0
    """Largest uncertainty of the device-clock offset (half the fastest PING round trip, ms)."""
    radar_max_clock_drift_ppm: Positive = 1000.0
    """Largest device-clock rate error against the host's monotonic clock (ppm)."""
    radar_max_latency_p99_ms: Positive = 50.0
    """Slowest acceptable command round trip, 99th percentile (ms; the ICD's ACK deadline)."""
    plc_min_rounds_ready: Annotated[int, Field(ge=0, le=65535)] = 1
    """Fewest rounds loaded and ready (ROUNDS_READY)."""
    plc_min_scan_rate_hz: Annotated[float, Field(gt=0, le=10_000)] = 50.0
    """Slowest acceptable SCAN_COUNTER advance (scans per second; the ICD scans at 100)."""
    plc_max_latency_p99_ms: Positive = 100.0
    """Slowest acceptable Modbus request round trip, 99th percentile (ms; the driver counts
    slower answers as late)."""
