"""The PLC's preflight rows: ICD version, e-stop, interlock chain, latched faults, rounds ready,
watchdog, arm state, scan counter, axes, request round trip (docs/preflight.md).

Nothing here moves, arms or fires. The PLC driver runs without a heartbeat: the ICD's watchdog
starts at the host's first HEARTBEAT change, so a check that never toggles it can never trip it
(a heartbeat started here would trip it 500 ms after the check ends). The axes are checked by
writing the setpoint the PLC already holds back to it and reading it back — only in IDLE or
STOW, where the ICD (scan rule 3) has the axes hold or stow whatever the setpoint; in POINTING
another host may be steering, so the setpoint is read back only.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver, PlcSetpoints, PlcStatus
from drivers.plc.types import ArmState, FaultCode, Mode
from hil.config.preflight import PreflightConfig
from hil.preflight.report import Row, Verdict

POLL_INTERVAL_S = 0.05
ICD_VERSION = 1
"""ICD_VERSION the PLC must publish (launcher-plc-modbus v1)."""
SCAN_COUNTER_MODULUS = 1 << 16
CLEARED_BY_A_RUN = (FaultCode.WATCHDOG, FaultCode.ESTOP, FaultCode.INTERLOCK_OPEN)
"""Latched faults a run clears at its start (FAULT_RESET) once their cause is gone."""
ROWS = (
    "plc.icd_version",
    "plc.estop",
    "plc.interlock_chain",
    "plc.faults",
    "plc.rounds_ready",
    "plc.watchdog",
    "plc.arm_state",
    "plc.scan_counter",
    "plc.axes",
    "plc.latency",
)
"""The rows this module makes, after ``plc.reachable`` (``hil.preflight.check``)."""


async def check_plc(plc: PlcDriver, limits: PreflightConfig, seconds: float) -> list[Row]:
    """Every PLC row but ``plc.reachable``, over ``seconds`` of status polling."""
    try:
        first = await plc.read_status()
    except DriverError as error:
        return [
            Row(
                name,
                Verdict.RED,
                f"not checked: the PLC did not answer a status read ({error})",
                action="check the unit id ([plc] unit_id) and that it is the launcher PLC",
            )
            for name in ROWS
        ]
    axes = await _axes_row(plc, first)
    statuses = [first]
    failures: list[str] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await asyncio.sleep(POLL_INTERVAL_S)  # pacing the polls
        try:
            statuses.append(await plc.read_status())
        except DriverError as error:
            failures.append(str(error))
    last = statuses[-1]
    return [
        _icd_row(last),
        _input_row("plc.estop", last.estop_ok, "released", "PRESSED", "release the e-stop"),
        _input_row(
            "plc.interlock_chain",
            last.interlock_chain_ok,
            "closed",
            "OPEN",
            "close the range-safety / enclosure chain (doors, keys, range clear)",
        ),
        _faults_row(last),
        _rounds_row(last, limits),
        _watchdog_row(last),
        _arm_row(last),
        _scan_row(statuses, limits),
        axes,
        _latency_row(plc, limits, failures),
    ]


def _icd_row(status: PlcStatus) -> Row:
    ok = status.icd_version == ICD_VERSION
    return Row(
        "plc.icd_version",
        Verdict.GREEN if ok else Verdict.RED,
        f"ICD_VERSION {status.icd_version}",
        f"= {ICD_VERSION}",
        "the PLC program implements another register map: load the v1 program or update "
        "this software",
        status.icd_version,
    )


def _input_row(name: str, ok: bool, good: str, bad: str, action: str) -> Row:
    return Row(name, Verdict.GREEN if ok else Verdict.RED, good if ok else bad, good, action, ok)


def _faults_row(status: PlcStatus) -> Row:
    code = status.fault_code
    if not status.fault:
        return Row("plc.faults", Verdict.GREEN, "none latched", "none latched", "", "NONE")
    closed = status.estop_ok and status.interlock_chain_ok
    if code in CLEARED_BY_A_RUN and closed:
        return Row(
            "plc.faults",
            Verdict.AMBER,
            f"{code.name} latched, its cause gone",
            "none latched",
            "a run clears it at its start (FAULT_RESET with a live heartbeat); if it latches "
            "again, find why",
            code.name,
        )
    return Row(
        "plc.faults",
        Verdict.RED,
        f"{code.name} latched",
        "none latched",
        "clear the cause (e-stop, chain, axis limit or following error: inspect the mount), "
        "then reset the faults",
        code.name,
    )


def _rounds_row(status: PlcStatus, limits: PreflightConfig) -> Row:
    need = limits.plc_min_rounds_ready
    return Row(
        "plc.rounds_ready",
        Verdict.GREEN if status.rounds_ready >= need else Verdict.RED,
        f"{status.rounds_ready}",
        f"≥ {need} (preflight.plc_min_rounds_ready)",
        "load rounds, or set preflight.plc_min_rounds_ready = 0 for a session without launches",
        status.rounds_ready,
    )


def _watchdog_row(status: PlcStatus) -> Row:
    if not status.watchdog_tripped:
        return Row(
            "plc.watchdog",
            Verdict.GREEN,
            "not tripped (the check sends no heartbeat, so it cannot trip it)",
            "not tripped",
            "",
            False,
        )
    closed = status.estop_ok and status.interlock_chain_ok
    return Row(
        "plc.watchdog",
        Verdict.AMBER if closed else Verdict.RED,
        "TRIPPED: the last host's heartbeat stopped",
        "not tripped",
        "a run resets it at its start (FAULT_RESET with a live heartbeat); if it trips during "
        "runs, check the network and the host's load",
        True,
    )


def _arm_row(status: PlcStatus) -> Row:
    safe = status.arm_state is ArmState.SAFE
    return Row(
        "plc.arm_state",
        Verdict.GREEN if safe else Verdict.RED,
        status.arm_state.name,
        "SAFE",
        "the launcher is not SAFE: another host is driving it; stop that session first",
        status.arm_state.name,
    )


def _scan_row(statuses: list[PlcStatus], limits: PreflightConfig) -> Row:
    limit = f"≥ {limits.plc_min_scan_rate_hz:g} scans/s (preflight.plc_min_scan_rate_hz)"
    elapsed = statuses[-1].t_read_s - statuses[0].t_read_s
    scans = sum(
        (b.scan_counter - a.scan_counter) % SCAN_COUNTER_MODULUS
        for a, b in itertools.pairwise(statuses)
    )
    if len(statuses) < 2 or elapsed <= 0:
        return Row(
            "plc.scan_counter",
            Verdict.RED,
            "not measured: fewer than two status reads",
            limit,
            "see plc.latency",
        )
    rate = scans / elapsed
    return Row(
        "plc.scan_counter",
        Verdict.GREEN if rate >= limits.plc_min_scan_rate_hz else Verdict.RED,
        f"{rate:.1f} scans/s ({scans} over {elapsed:.2f} s)",
        limit,
        "the PLC program is stopped or overloaded: check its run mode and cycle time",
        round(rate, 3),
        "1/s",
    )


async def _axes_row(plc: PlcDriver, status: PlcStatus) -> Row:
    limit = "setpoint read back as written, actual angles finite"
    try:
        held = await plc.read_setpoints()
        if held.mode in (Mode.IDLE, Mode.STOW):
            await plc.point(held.az_rad, held.el_rad)
            back = await plc.read_setpoints()
            how = f"{held.mode.name}: its own setpoint written back"
        else:
            back = await plc.read_setpoints()
            how = "POINTING: read back only (writing could move a mount another host steers)"
    except (DriverError, ValueError) as error:
        return Row(
            "plc.axes",
            Verdict.RED,
            f"setpoint not read back: {error}",
            limit,
            "the PLC refuses setpoint access: check its program and the register map",
        )
    actual = (status.az_rad, status.el_rad, status.az_rate_rad_s, status.el_rate_rad_s)
    finite = all(math.isfinite(v) for v in actual)
    same = _same_setpoint(held, back)
    enabled = "drives enabled" if status.axes_enabled else "drives off"
    return Row(
        "plc.axes",
        Verdict.GREEN if finite and same else Verdict.RED,
        f"{how}; az {math.degrees(status.az_rad):.2f}°, el {math.degrees(status.el_rad):.2f}° "
        f"({enabled})"
        + ("" if same else "; read-back DIFFERS")
        + ("" if finite else "; actual NOT FINITE"),
        limit,
        "the axis controller does not hold its setpoint or reports garbage: check the drives "
        "and encoders",
        same and finite,
    )


def _same_setpoint(held: PlcSetpoints, back: PlcSetpoints) -> bool:
    return held.words[:4] == back.words[:4]


def _latency_row(plc: PlcDriver, limits: PreflightConfig, failures: list[str]) -> Row:
    limit_ms = limits.plc_max_latency_p99_ms
    health = plc.health()
    limit = f"p99 ≤ {limit_ms:g} ms, no request failed (preflight.plc_max_latency_p99_ms)"
    if health.rtt_p99_ms is None or health.rtt_p50_ms is None:
        return Row("plc.latency", Verdict.RED, "no round trip measured", limit, "see plc.reachable")
    ok = health.rtt_p99_ms <= limit_ms and not failures and not health.timeouts
    trouble = f", {len(failures)} reads failed ({failures[0]})" if failures else ""
    timeouts = f", {health.timeouts} timeouts" if health.timeouts else ""
    return Row(
        "plc.latency",
        Verdict.GREEN if ok else Verdict.RED,
        f"p50 {health.rtt_p50_ms:.2f} ms, p99 {health.rtt_p99_ms:.2f} ms "
        f"({health.requests} requests{timeouts}{trouble})",
        limit,
        "slow or lost answers: check the network (or the RTU line), the PLC's load and "
        "[plc] timeout_s",
        health.rtt_p99_ms,
        "ms",
    )
