"""The live view of ``hil plc watch`` on a terminal (rich): axes actual vs setpoint, arm state,
interlocks, faults, counters, the link, and whether this tool keeps the heartbeat.

Angles in degrees (radians in the JSON and status output), rates in °/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from drivers.plc.driver import PlcHealth
from drivers.plc.types import ArmState, FaultCode
from hil.plc_tools.link import HEARTBEAT_HZ
from hil.plc_tools.snapshot import PlcSnapshot

ARM_STYLE = {
    ArmState.SAFE: "green",
    ArmState.ARMING: "bold yellow",
    ArmState.ARMED: "bold red",
    ArmState.FIRING: "bold white on red",
}


@dataclass(frozen=True, slots=True)
class WatchState:
    """What the view shows: the newest snapshot (None before the first), the link's health,
    the last read's failure ('' when it succeeded), reads done, and the tool's settings."""

    url: str
    snapshot: PlcSnapshot | None
    health: PlcHealth
    error: str
    reads: int
    rate_hz: float
    heartbeat: bool


def heartbeat_text(heartbeat: bool) -> str:
    """What the view says about the heartbeat."""
    if heartbeat:
        return f"heartbeat KEPT by this tool ({HEARTBEAT_HZ:g} Hz); it stops when the tool ends"
    return "heartbeat NOT sent (listen-only; --heartbeat keeps the PLC's watchdog fed)"


def _good(value: bool, good: str, bad: str) -> Text:
    return Text(good, style="green") if value else Text(bad, style="bold red")


def _deg(rad: float) -> str:
    return f"{math.degrees(rad):9.3f}°"


def _axes(snapshot: PlcSnapshot) -> Table:
    s, r = snapshot.status, snapshot.requests
    table = Table(title="axes", title_justify="left", expand=False)
    for column in ("axis", "actual", "setpoint", "error", "rate", "rate limit"):
        table.add_column(column, justify="right" if column != "axis" else "left")
    az_error = (r.az_setpoint_rad - s.az_rad + math.pi) % (2 * math.pi) - math.pi
    rows = (
        ("azimuth", s.az_rad, r.az_setpoint_rad, az_error, s.az_rate_rad_s, r.az_rate_limit_rad_s),
        (
            "elevation",
            s.el_rad,
            r.el_setpoint_rad,
            r.el_setpoint_rad - s.el_rad,
            s.el_rate_rad_s,
            r.el_rate_limit_rad_s,
        ),
    )
    for name, actual, setpoint, error, rate, limit in rows:
        table.add_row(
            name,
            _deg(actual),
            _deg(setpoint),
            _deg(error),
            f"{math.degrees(rate):8.3f} °/s",
            f"{math.degrees(limit):8.3f} °/s",
        )
    return table


def _state(snapshot: PlcSnapshot) -> Table:
    s, r, f = snapshot.status, snapshot.requests, snapshot.flags()
    grid = Table.grid(padding=(0, 2))
    for _ in range(4):
        grid.add_column()
    fault = s.fault_code
    grid.add_row(
        "mode",
        Text(r.mode.name, style="bold"),
        "arm state",
        Text(s.arm_state.name, style=ARM_STYLE[s.arm_state]),
    )
    grid.add_row(
        "axes",
        Text(
            f"enable {'requested' if r.axes_enable else 'off'}, "
            f"drives {'ENABLED' if f['axes_enabled'] else 'off'}"
        ),
        "in position",
        Text("yes" if f["in_position"] else "no"),
    )
    grid.add_row(
        "e-stop",
        _good(f["estop_ok"], "released", "PRESSED"),
        "interlock chain",
        _good(f["interlock_chain_ok"], "closed", "OPEN"),
    )
    grid.add_row(
        "watchdog",
        _good(not f["watchdog_tripped"], "ok", "TRIPPED"),
        "fault",
        _good(fault is FaultCode.NONE, "none", fault.name),
    )
    grid.add_row(
        "ready to fire",
        Text("YES", style="bold red") if f["ready_to_fire"] else Text("no"),
        "host requests",
        Text(
            " ".join(
                name
                for name, on in (
                    ("ARM_REQUEST", r.arm_request),
                    ("FIRE", r.fire),
                    ("FAULT_RESET", r.fault_reset),
                    ("AXES_ENABLE", r.axes_enable),
                )
                if on
            )
            or "none"
        ),
    )
    last = f"{s.last_launch_s:.3f} s" if s.launch_count else "—"
    grid.add_row(
        "rounds ready", str(s.rounds_ready), "launches", f"{s.launch_count} (last at {last})"
    )
    grid.add_row(
        "fire rejects",
        str(s.fire_reject_count),
        "scan / uptime",
        f"{s.scan_counter} / {s.uptime_s:.1f} s",
    )
    return grid


def _link(state: WatchState) -> Text:
    h = state.health
    rtt = "—" if h.rtt_p99_ms is None else f"{h.rtt_p50_ms:.1f}/{h.rtt_p99_ms:.1f} ms"
    line = Text(
        f"link {h.link_state.value}  reads {state.reads}  requests {h.requests}  timeouts "
        f"{h.timeouts}  reconnects {h.reconnects}  rtt p50/p99 {rtt}"
    )
    if state.error:
        line.append(f"\nlast read failed: {state.error}", style="bold red")
    return line


def watch_view(state: WatchState) -> RenderableType:
    """The whole view for one refresh."""
    header = Text(f"PLC {state.url}  every {1 / state.rate_hz:g} s  ", style="bold")
    header.append(heartbeat_text(state.heartbeat), style="yellow" if state.heartbeat else "cyan")
    parts: list[RenderableType] = [header]
    if state.snapshot is None:
        parts.append(Text("waiting for the first read…"))
    else:
        parts += [_axes(state.snapshot), _state(state.snapshot)]
    parts.append(_link(state))
    return Group(*parts)
