"""The radar's preflight rows: ICD version, mode, temperature, fault bits, frame rate, CRC-error
rate, clock offset and drift to the host, command round trip (docs/preflight.md).

The radar must be sending DETECTIONS to measure its frame rate: one found in STANDBY (stopped,
0 rpm) is put in ROTATING at 0 rpm for the window — it dwells and reports without turning — and
set back to STANDBY after it, whatever happened; a run sets its own speed when it starts. A
radar found ROTATING or SECTOR is not commanded at all. Over the window the host
PINGs every ``PING_INTERVAL_S``: each round trip is a latency sample and a clock sample (device
time at the host midpoint).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field

import numpy as np

from drivers.errors import DriverError
from drivers.radar.driver import RadarDriver, RadarHealth
from drivers.radar.messages import Detections, RadarMode, Status
from hil.config.preflight import PreflightConfig
from hil.preflight.report import Row, Verdict, not_checked

PING_INTERVAL_S = 0.05
FIRST_ANSWER_ATTEMPTS = 6
"""Tries of the first STATUS and PONG (each try ≤ 2 × the driver's command timeout). A link
losing 0.5 % of its bytes corrupts about a third of the (STATUS, PONG) pairs: with 3 tries one
preflight in 20 called such a radar unreachable instead of measuring its CRC errors; with 6,
one in 500."""
MIN_DRIFT_SPAN_S = 0.5
"""Shortest span of round trips (s) a drift is fitted over; shorter is amber (not measured)."""
MIN_DRIFT_SAMPLES = 5
"""Fewest round trips a drift is fitted from (its uncertainty, 3σ of the fitted slope, needs
at least 5)."""
ICD_VERSION = 1
"""The frame version byte of the radar ICD this software speaks."""
FAULT_BITS = {0: "motor", 1: "encoder", 2: "over-temperature", 3: "RF"}
ROWS = (
    "radar.icd_version",
    "radar.mode",
    "radar.temperature",
    "radar.faults",
    "radar.frame_rate",
    "radar.crc_errors",
    "radar.clock_offset",
    "radar.clock_drift",
    "radar.latency",
)
"""The rows this module makes, after ``radar.reachable`` (``hil.preflight.check``)."""


@dataclass
class RadarWindow:
    """What the measurement window saw: DETECTIONS frames, round trips (host send s, device
    s, round trip s), failed PINGs, and the link's counters before and after."""

    seconds: float = 0.0
    detections: int = 0
    pings: list[tuple[float, float, float]] = field(default_factory=list)
    lost_pings: int = 0
    first_error: str | None = None
    health_before: RadarHealth | None = None
    health_after: RadarHealth | None = None
    mode_error: str | None = None


async def check_radar(radar: RadarDriver, limits: PreflightConfig, seconds: float) -> list[Row]:
    """Every radar row but ``radar.reachable``, over ``seconds`` of measurement; the radar's
    mode is as found afterwards."""
    try:
        status = await _first_status(radar)
    except DriverError as error:
        why = f"the radar did not answer REQUEST_STATUS/PING ({error})"
        return [_icd_row(None, str(error), radar.health()), *not_checked(ROWS[1:], why)]
    window = RadarWindow(health_before=radar.health())
    restore = status.mode is RadarMode.STANDBY
    try:
        if restore:
            try:
                await radar.set_rpm(0.0)  # dwells without turning: nothing moves
                await radar.set_mode(RadarMode.ROTATING)
            except DriverError as error:
                window.mode_error = f"could not start it ROTATING: {error}"
        await _measure(radar, seconds, window)
    finally:
        if restore:
            with contextlib.suppress(DriverError):
                await radar.set_mode(RadarMode.STANDBY)
    try:
        after: Status | None = await radar.request_status()
    except DriverError:
        after = None
    window.health_after = radar.health()
    return [
        _icd_row(status, None, window.health_after),
        _mode_row(status),
        _temperature_row(status, limits),
        _faults_row(status),
        _frame_rate_row(window, limits, status.mode),
        _crc_row(window, status, after, limits),
        *_clock_rows(window, limits),
        _latency_row(window, limits),
    ]


async def _first_status(radar: RadarDriver) -> Status:
    """A STATUS and a PONG, each tried ``FIRST_ANSWER_ATTEMPTS`` times (a corrupted answer is
    measured by the rows, not mistaken for a device that does not answer)."""
    for _ in range(FIRST_ANSWER_ATTEMPTS - 1):
        with contextlib.suppress(DriverError):
            return await _status_and_pong(radar)
    return await _status_and_pong(radar)


async def _status_and_pong(radar: RadarDriver) -> Status:
    status = await radar.request_status()
    await radar.ping()
    return status


async def _measure(radar: RadarDriver, seconds: float, window: RadarWindow) -> None:
    radar.drain()
    started = time.monotonic()

    async def count_detections() -> None:
        while True:
            frame = await radar.receive()
            if isinstance(frame.message, Detections):
                window.detections += 1

    async with asyncio.TaskGroup() as group:
        counter = group.create_task(count_detections(), name="preflight DETECTIONS counter")
        try:
            while True:  # the last PING starts at or after the window's end: a full span
                sent = time.monotonic()
                try:
                    result = await radar.ping()
                    window.pings.append((sent, result.device_s, result.rtt_s))
                except DriverError as error:
                    window.lost_pings += 1
                    window.first_error = window.first_error or str(error)
                if time.monotonic() - started >= seconds:
                    break
                await asyncio.sleep(PING_INTERVAL_S)  # pacing the PINGs
        finally:
            window.seconds = time.monotonic() - started
            counter.cancel()


def _icd_row(status: Status | None, error: str | None, health: RadarHealth) -> Row:
    """Green when STATUS and PONG came in version-1 frames: a device of another version would
    not have answered. Frames with another version byte are then corruption (the receiver
    rejects a frame on its version before its CRC: radar.crc_errors says more)."""
    limit = f"STATUS and PONG answered in version-{ICD_VERSION} frames"
    if status is None:
        other = (
            f"; {health.bad_version} frames of another version: the device speaks another ICD"
            if health.bad_version
            else ""
        )
        return Row(
            "radar.icd_version",
            Verdict.RED,
            f"no answer: {error}{other}",
            limit,
            "check the baud rate ([radar] baud) and that the device firmware speaks the radar "
            "ICD v1",
        )
    corrupt = (
        f" ({health.bad_version} frames with a corrupted version byte)"
        if health.bad_version
        else ""
    )
    return Row(
        "radar.icd_version", Verdict.GREEN, f"v1 (STATUS, PONG){corrupt}", limit, "", ICD_VERSION
    )


def _mode_row(status: Status) -> Row:
    limit = "STANDBY, ROTATING or SECTOR (not FAULT)"
    if status.mode is RadarMode.FAULT:
        return Row(
            "radar.mode",
            Verdict.RED,
            "FAULT",
            limit,
            "the radar reports FAULT: see radar.faults, power-cycle the turntable",
            status.mode.name,
        )
    return Row("radar.mode", Verdict.GREEN, status.mode.name, limit, "", status.mode.name)


def _temperature_row(status: Status, limits: PreflightConfig) -> Row:
    limit_c = limits.radar_max_temperature_c
    ok = math.isfinite(status.temp_c) and status.temp_c <= limit_c
    return Row(
        "radar.temperature",
        Verdict.GREEN if ok else Verdict.RED,
        f"{status.temp_c:.2f} °C",
        f"≤ {limit_c:g} °C (preflight.radar_max_temperature_c)",
        "let the turntable cool; check its fan and the room",
        status.temp_c,
        "°C",
    )


def _faults_row(status: Status) -> Row:
    names = [name for bit, name in FAULT_BITS.items() if status.fault_bits >> bit & 1]
    unknown = status.fault_bits & ~0xF
    if unknown:
        names.append(f"undefined bits {unknown:#x}")
    return Row(
        "radar.faults",
        Verdict.RED if names else Verdict.GREEN,
        ", ".join(names) if names else "none",
        "no fault bit set",
        "fix the faulty unit (motor, encoder, cooling, RF) before a session",
        status.fault_bits,
    )


def _frame_rate_row(window: RadarWindow, limits: PreflightConfig, found: RadarMode) -> Row:
    limit = f"≥ {limits.radar_min_frame_rate_hz:g} /s (preflight.radar_min_frame_rate_hz)"
    rate = window.detections / window.seconds if window.seconds > 0 else 0.0
    started = " (ROTATING at 0 rpm for the check, then STANDBY again)"
    how = started if found is RadarMode.STANDBY else ""
    if window.mode_error is not None:
        return Row(
            "radar.frame_rate",
            Verdict.RED,
            f"not measured: {window.mode_error}",
            limit,
            "check the radar's mode and faults",
        )
    return Row(
        "radar.frame_rate",
        Verdict.GREEN if rate >= limits.radar_min_frame_rate_hz else Verdict.RED,
        f"{rate:.1f} DETECTIONS frames/s over {window.seconds:.2f} s{how}",
        limit,
        "frames are missing: check the baud rate, the cable, the dwell setting and "
        "radar.crc_errors",
        round(rate, 3),
        "1/s",
    )


def _crc_row(
    window: RadarWindow, before: Status, after: Status | None, limits: PreflightConfig
) -> Row:
    assert window.health_before is not None and window.health_after is not None
    host_crc = window.health_after.crc_errors - window.health_before.crc_errors
    received = window.health_after.frames - window.health_before.frames + host_crc
    device_crc = None if after is None else (after.crc_errors - before.crc_errors) % 2**32
    sent = window.health_after.commands - window.health_before.commands
    errors = host_crc + (device_crc or 0)
    fraction = errors / max(1, received + sent)
    limit_fraction = limits.radar_max_crc_error_fraction
    device = "device side unknown (no STATUS)" if device_crc is None else f"device {device_crc}"
    ok = fraction <= limit_fraction and device_crc is not None
    return Row(
        "radar.crc_errors",
        Verdict.GREEN if ok else Verdict.RED,
        f"{errors} of {received + sent} frames ({100 * fraction:.3f} %): host {host_crc}, {device}",
        f"≤ {100 * limit_fraction:g} % (preflight.radar_max_crc_error_fraction)",
        "bytes are corrupted on the line: check the cable, its shielding and the baud rate",
        fraction,
    )


def _clock_rows(window: RadarWindow, limits: PreflightConfig) -> list[Row]:
    offset_limit = (
        f"± ≤ {limits.radar_max_clock_uncertainty_ms:g} ms "
        "(preflight.radar_max_clock_uncertainty_ms)"
    )
    drift_limit = (
        f"|drift| ≤ {limits.radar_max_clock_drift_ppm:g} ppm (preflight.radar_max_clock_drift_ppm)"
    )
    if len(window.pings) < 3:
        why = f"{len(window.pings)} PING round trips ({window.first_error or 'too short'})"
        return [
            Row("radar.clock_offset", Verdict.RED, f"not measured: {why}", offset_limit,
                "the radar does not answer PING: see radar.latency"),
            Row("radar.clock_drift", Verdict.RED, f"not measured: {why}", drift_limit,
                "the radar does not answer PING: see radar.latency"),
        ]  # fmt: skip
    sent, device, rtt = (np.array(column) for column in zip(*window.pings, strict=True))
    host_mid = sent + rtt / 2
    fastest = float(rtt.min())
    good = rtt <= 2 * fastest + 2e-4  # slow round trips carry queueing delay
    if good.sum() < MIN_DRIFT_SAMPLES:
        good = np.ones_like(rtt, dtype=bool)
    offsets = host_mid[good] - device[good]
    span = float(np.ptp(device[good]))
    offset_ok = fastest / 2 * 1e3 <= limits.radar_max_clock_uncertainty_ms
    offset_row = Row(
        "radar.clock_offset",
        Verdict.GREEN if offset_ok else Verdict.RED,
        f"host − device = {float(np.median(offsets)):.6f} s ± {fastest / 2 * 1e3:.3f} ms",
        offset_limit,
        "round trips are slow: the device-to-host time mapping is coarse; check the link "
        "(radar.latency) and the host's load",
        float(np.median(offsets)),
        "s",
    )
    if span < MIN_DRIFT_SPAN_S or good.sum() < MIN_DRIFT_SAMPLES:
        drift_row = Row(
            "radar.clock_drift",
            Verdict.AMBER,
            f"not measured: {int(good.sum())} round trips over {span:.2f} s (needs "
            f"{MIN_DRIFT_SAMPLES} over ≥ {MIN_DRIFT_SPAN_S:g} s)",
            drift_limit,
            "run the check longer (--seconds 2 or more)",
        )
        return [offset_row, drift_row]
    centred = device[good] - device[good].mean()
    (slope, _), covariance = np.polyfit(centred, host_mid[good], 1, cov=True)
    drift_ppm = (float(slope) - 1.0) * 1e6
    uncertainty_ppm = 3 * math.sqrt(max(float(covariance[0, 0]), 0.0)) * 1e6
    limit_ppm = limits.radar_max_clock_drift_ppm
    if abs(drift_ppm) - uncertainty_ppm > limit_ppm:
        verdict = Verdict.RED
    elif uncertainty_ppm > limit_ppm:
        verdict = Verdict.AMBER
    else:
        verdict = Verdict.GREEN
    action = (
        "the device clock runs at the wrong rate: check its oscillator / firmware time base"
        if verdict is Verdict.RED
        else "too uncertain to judge over this window: run the check longer (--seconds)"
    )
    drift_row = Row(
        "radar.clock_drift",
        verdict,
        f"{drift_ppm:+.0f} ppm ± {uncertainty_ppm:.0f} ppm over {span:.2f} s",
        drift_limit,
        action,
        drift_ppm,
        "ppm",
    )
    return [offset_row, drift_row]


def _latency_row(window: RadarWindow, limits: PreflightConfig) -> Row:
    limit_ms = limits.radar_max_latency_p99_ms
    limit = f"p99 ≤ {limit_ms:g} ms, no PING lost (preflight.radar_max_latency_p99_ms)"
    if not window.pings:
        return Row(
            "radar.latency",
            Verdict.RED,
            f"every PING lost ({window.lost_pings}): {window.first_error}",
            limit,
            "the radar does not answer commands: check the cable's host-to-device direction",
        )
    rtts_ms = np.array([rtt for _, _, rtt in window.pings]) * 1e3
    p50, p99 = (float(v) for v in np.percentile(rtts_ms, [50, 99]))
    ok = p99 <= limit_ms and window.lost_pings == 0
    lost = f", {window.lost_pings} lost" if window.lost_pings else ""
    return Row(
        "radar.latency",
        Verdict.GREEN if ok else Verdict.RED,
        f"PING p50 {p50:.2f} ms, p99 {p99:.2f} ms ({len(rtts_ms)} round trips{lost})",
        limit,
        "slow or lost answers: check the link (radar.crc_errors), the adapter and the host load",
        p99,
        "ms",
    )
