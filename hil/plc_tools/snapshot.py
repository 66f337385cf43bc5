"""One read of everything the PLC ICD publishes, as the PLC tools show it.

A snapshot is the PLC's state (input registers 0–19 and discrete inputs, ``PlcStatus``) and the
host's requests as the PLC holds them (coils and holding registers, ``PlcRequests``), read one
after the other. Units: angles in rad (azimuth clockwise from north) and, for people, degrees;
rates in rad/s (°/s in text); times in s (PLC time since power-on). JSON keys carry their unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from drivers.plc.driver import PlcDriver, PlcRequests, PlcStatus
from drivers.plc.types import DiscreteInput, FaultCode

FLAG_NAMES = tuple(flag.name.lower() for flag in DiscreteInput)
"""The PLC's flags (discrete inputs, STATUS_WORD bit n = input n), by their ICD names."""
HOST_REQUEST_NAMES = ("heartbeat", "arm_request", "fire", "fault_reset", "axes_enable")
"""The coils, by their ICD names."""
NOT_HOLDING = {
    "estop_ok": "E-STOP PRESSED",
    "interlock_chain_ok": "INTERLOCK CHAIN OPEN",
    "watchdog_tripped": "WATCHDOG TRIPPED",
    "fault": "FAULT LATCHED",
}
"""Flags that stop the launcher, and how to say they do (the bad value is the opposite of
``estop_ok``/``interlock_chain_ok``, the same as ``watchdog_tripped``/``fault``)."""


@dataclass(frozen=True, slots=True)
class PlcSnapshot:
    """The PLC at ``url``: its state and the host requests it holds."""

    url: str
    status: PlcStatus
    requests: PlcRequests

    def flags(self) -> dict[str, bool]:
        """The discrete inputs from STATUS_WORD (one scan's snapshot), by ICD name."""
        return {name: bool(self.status.status_word >> i & 1) for i, name in enumerate(FLAG_NAMES)}

    def stopping(self) -> list[str]:
        """What stops the launcher now (e-stop, chain, watchdog, latched fault), in words."""
        flags = self.flags()
        problems = []
        for name, words in NOT_HOLDING.items():
            bad = not flags[name] if name.endswith("_ok") else flags[name]
            if bad:
                problems.append(words)
        return problems


async def read_snapshot(plc: PlcDriver) -> PlcSnapshot:
    """The PLC's state, then the host requests it holds (four Modbus reads)."""
    status = await plc.read_status()
    requests = await plc.read_requests()
    return PlcSnapshot(str(plc.endpoint), status, requests)


def _axis(actual: float, setpoint: float, rate: float, limit: float) -> dict[str, float]:
    return {
        "actual_rad": actual,
        "actual_deg": math.degrees(actual),
        "setpoint_rad": setpoint,
        "setpoint_deg": math.degrees(setpoint),
        "rate_rad_s": rate,
        "rate_limit_rad_s": limit,
    }


def snapshot_json(snapshot: PlcSnapshot) -> dict[str, Any]:
    """The snapshot as one JSON-ready object; every value in SI units named in its key."""
    s, r = snapshot.status, snapshot.requests
    return {
        "url": snapshot.url,
        "icd_version": s.icd_version,
        "t_read_s": s.t_read_s,
        "uptime_s": s.uptime_s,
        "scan_counter": s.scan_counter,
        "axes": {
            "az": _axis(s.az_rad, r.az_setpoint_rad, s.az_rate_rad_s, r.az_rate_limit_rad_s),
            "el": _axis(s.el_rad, r.el_setpoint_rad, s.el_rate_rad_s, r.el_rate_limit_rad_s),
        },
        "mode": r.mode.name,
        "arm_state": s.arm_state.name,
        "status_word": s.status_word,
        "flags": snapshot.flags(),
        "fault_code": s.fault_code.name,
        "rounds_ready": s.rounds_ready,
        "launch_count": s.launch_count,
        "last_launch_s": s.last_launch_s,
        "fire_reject_count": s.fire_reject_count,
        "host_requests": {name: getattr(r, name) for name in HOST_REQUEST_NAMES},
    }


def yes(value: bool) -> str:
    return "yes" if value else "no"


def angle_text(rad: float) -> str:
    """``12.345° (0.215460 rad)``."""
    return f"{math.degrees(rad):8.3f}° ({rad:+.6f} rad)"


def rate_text(rad_s: float) -> str:
    """``1.234 °/s (0.021537 rad/s)``."""
    return f"{math.degrees(rad_s):8.3f} °/s ({rad_s:+.6f} rad/s)"


def snapshot_lines(snapshot: PlcSnapshot) -> list[str]:
    """The snapshot for people: angles in degrees with radians beside them."""
    s, r, f = snapshot.status, snapshot.requests, snapshot.flags()
    fault = s.fault_code.name if s.fault_code is not FaultCode.NONE else "none"
    last = f"{s.last_launch_s:.3f} s" if s.launch_count else "—"
    stopping = ", ".join(snapshot.stopping()) or "none"
    return [
        f"PLC {snapshot.url}  ICD version {s.icd_version}  uptime {s.uptime_s:.3f} s  "
        f"scan {s.scan_counter}",
        f"azimuth    actual {angle_text(s.az_rad)}  setpoint {angle_text(r.az_setpoint_rad)}",
        f"           rate {rate_text(s.az_rate_rad_s)}  limit {rate_text(r.az_rate_limit_rad_s)}",
        f"elevation  actual {angle_text(s.el_rad)}  setpoint {angle_text(r.el_setpoint_rad)}",
        f"           rate {rate_text(s.el_rate_rad_s)}  limit {rate_text(r.el_rate_limit_rad_s)}",
        f"mode {r.mode.name}  arm state {s.arm_state.name}  axes enabled {yes(f['axes_enabled'])}"
        f"  in position {yes(f['in_position'])}  ready to fire {yes(f['ready_to_fire'])}",
        f"e-stop ok {yes(f['estop_ok'])}  interlock chain ok {yes(f['interlock_chain_ok'])}  "
        f"watchdog tripped {yes(f['watchdog_tripped'])}  fault {fault}  stopping: {stopping}",
        f"rounds ready {s.rounds_ready}  launches {s.launch_count} (last at {last})  "
        f"fire rejects {s.fire_reject_count}",
        "host requests: "
        + "  ".join(f"{name.upper()} {int(getattr(r, name))}" for name in HOST_REQUEST_NAMES),
    ]


def snapshot_line(snapshot: PlcSnapshot) -> str:
    """One line per read, for a log (``hil plc watch`` when stdout is not a terminal)."""
    s, r, f = snapshot.status, snapshot.requests, snapshot.flags()
    stopping = ",".join(w.replace(" ", "_") for w in snapshot.stopping()) or "none"
    return (
        f"{s.t_read_s:12.6f} scan {s.scan_counter:5d} "
        f"az {math.degrees(s.az_rad):8.3f}°/{math.degrees(r.az_setpoint_rad):8.3f}° "
        f"el {math.degrees(s.el_rad):7.3f}°/{math.degrees(r.el_setpoint_rad):7.3f}° "
        f"mode {r.mode.name} arm {s.arm_state.name} axes {'on' if f['axes_enabled'] else 'off'} "
        f"ready {int(f['ready_to_fire'])} fault {s.fault_code.name} stopping {stopping} "
        f"rounds {s.rounds_ready} launches {s.launch_count} rejects {s.fire_reject_count}"
    )
