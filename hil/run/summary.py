"""The summary of a ``hil run``: one JSON-ready dict and its text rendering."""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import asdict
from typing import Any

from drivers.plc.types import ArmState, FaultCode
from hil.rig.base import LinkDetails
from hil.run.perform import RunResult
from hil.telemetry.session import telemetry_line


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def summarize(result: RunResult) -> dict[str, Any]:
    loop = result.loop
    score = loop.scorer.summary()
    timing = loop.timing
    engagement = loop.engagement
    final = loop.final_status
    initial = loop.initial_status
    latency = timing.latency.summary_ms()
    jitter = timing.jitter.summary_ms()
    settings = result.settings
    return {
        "mode": result.mode,
        "rig": settings.rig.rig.name,
        "scenario": settings.scenario.scenario.name,
        "seed": settings.seed,
        "armed": settings.armed,
        "emulated_devices": list(result.emulated_devices),
        "duration_s": _round(loop.duration_s),
        "stopped_early": loop.stopped_early,
        "frames": loop.counters.frames,
        "detections": loop.counters.detections,
        "injected_detections": loop.counters.injected_detections,
        "tracks_confirmed": len(loop.counters.confirmed_track_ids),
        "engagements": len(engagement.records),
        "launch_requests": engagement.launch_requests,
        "launches": engagement.launches,
        "launch_requests_refused": engagement.launch_requests_refused,
        "gospa_mean_m": _round(score.gospa_mean_m),
        "ospa_mean_m": _round(score.ospa_mean_m),
        "rmse_m": _round(score.rmse_m),
        "id_switches": score.id_switches,
        "time_to_confirm_mean_s": _round(score.mean_time_to_confirm_s),
        "false_track_fraction": _round(score.false_track_fraction, 4),
        "latency_p50_ms": latency["p50_ms"],
        "latency_p99_ms": latency["p99_ms"],
        "latency_max_ms": latency["max_ms"],
        "jitter_p99_ms": jitter["p99_ms"],
        "stages": timing.summary()["stages"],
        "rig_final_state": _final_state(result),
        "rig_safe_confirmed": loop.rig_safe_confirmed,
        "engagement_log": [_relative(asdict(r), loop.start_s) for r in engagement.records],
        "fire_suppressed": loop.counters.fire_suppressed,
        "digest": loop.digest,
        "notes": result.notes,
        "initial_launch_count": initial.launch_count if initial else None,
        "final_launch_count": final.launch_count if final else None,
        "links": _links(result),
        "devices_lost": loop.links.lost,
        "telemetry": None if result.telemetry is None else result.telemetry.summary(),
    }


def plain(value: Any) -> Any:
    """JSON-ready: dataclasses as dicts (every field, whatever the class has), enums as their
    values, non-finite floats as None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _links(result: RunResult) -> dict[str, Any]:
    """Each link as the loop saw it (``hil.loop.links``) and, with drivers, its driver's
    health (``driver``) — radar: longest silence between frames; PLC: what became of the
    launcher commands and how long their writes took."""
    watches = result.loop.links
    details: LinkDetails | None = result.links
    radar: dict[str, Any] = {"source": "in-process model" if details is None else "driver"}
    plc: dict[str, Any] = dict(radar)
    radar |= watches.radar.summary()
    plc |= watches.plc.summary()
    if details is not None:
        radar["longest_silence_s"] = round(details.radar_longest_silence_s, 3)
        radar["driver"] = plain(details.radar_health)
        counts = plain(details.commands)
        counts.pop("errors", None)
        plc["commands"] = counts
        plc["command_delivery"] = details.command_delivery.summary_ms()
        plc["driver"] = plain(details.plc_health)
    return {"radar": radar, "plc": plc}


def _relative(record: dict[str, Any], start_s: float) -> dict[str, Any]:
    """Engagement times as seconds since the run started."""
    for key in ("designated_s", "fire_requested_s", "launched_s"):
        if record[key] is not None:
            record[key] = round(record[key] - start_s, 3)
    return record


def _final_state(result: RunResult) -> str:
    """The launcher's state as read back at the end, with the PLC's fault: ``SAFE``, ``SAFE
    (fault ESTOP)``, ``ARMED`` (read back but never SAFE: ``rig_safe_confirmed`` is false), or
    ``unknown`` (not read)."""
    final = result.loop.final_status
    if final is None or not final.link_up:
        return "unknown"
    state = ArmState(final.arm_state).name
    fault = FaultCode(final.fault_code)
    return state if fault is FaultCode.NONE else f"{state} (fault {fault.name})"


NOTHING = "—"
"""What the text summary shows for a value the run could not give (JSON has null)."""


def _shown(value: Any, unit: str = "", missing: str = "") -> str:
    """``value unit``, or ``—`` and why (``missing``) when the run has no such value."""
    if value is None:
        return f"{NOTHING} ({missing})" if missing else NOTHING
    return f"{value} {unit}" if unit else str(value)


def render(summary: dict[str, Any]) -> str:
    early = " (stopped early by a signal)" if summary["stopped_early"] else ""
    jitter = (
        f"arrival jitter p99 {summary['jitter_p99_ms']} ms"
        if summary["jitter_p99_ms"] is not None
        else "no arrival jitter (simulated clock)"
    )
    lines = []
    if summary["emulated_devices"]:
        lines.append(
            "!!! EMULATION FALLBACK: "
            + ", ".join(summary["emulated_devices"])
            + " emulated, not the bench hardware !!!"
        )
    lines += [
        f"hil run — {summary['scenario']} on rig {summary['rig']} (mode {summary['mode']}), "
        f"seed {summary['seed']}, {'ARMED' if summary['armed'] else 'not armed'}",
        f"  {summary['duration_s']} s{early}, {summary['frames']} frames, {summary['detections']} "
        f"detections ({summary['injected_detections']} injected)",
        f"  tracks confirmed {summary['tracks_confirmed']}, GOSPA mean "
        f"{_shown(summary['gospa_mean_m'], 'm', 'no truth to score against')}, RMSE "
        f"{_shown(summary['rmse_m'], 'm', 'no track on a target')}, id switches "
        f"{_shown(summary['id_switches'])}, time to confirm "
        f"{_shown(summary['time_to_confirm_mean_s'], 's', 'no confirmed track')}, false-track "
        f"fraction {_shown(summary['false_track_fraction'], '', 'no confirmed track')}",
        f"  engagements {summary['engagements']}, launch requests {summary['launch_requests']}, "
        f"launches {summary['launches']}, refused {summary['launch_requests_refused']}",
        f"  latency frame→command p50 {_shown(summary['latency_p50_ms'], 'ms')}, p99 "
        f"{_shown(summary['latency_p99_ms'], 'ms')}, max {_shown(summary['latency_max_ms'], 'ms')}"
        f"; {jitter}",
        f"  rig final state: {summary['rig_final_state']}",
        *_link_lines(summary["links"]),
    ]
    for record in summary["engagement_log"]:
        failing = ", ".join(record["interlocks_failing_at_end"]) or "-"
        lines.append(
            f"  engagement track {record['track_id']} ({record['source']}, truth "
            f"{_shown(record['truth_id'])}) at {record['designated_s']:.2f} s: "
            f"{record['outcome']}"
            + (f" — {record['reason']}" if record["reason"] else "")
            + (f"; interlocks not holding: {failing}" if record["outcome"] != "launched" else "")
        )
    if summary.get("telemetry") is not None:
        lines.append(telemetry_line(summary["telemetry"]))
    lines += [f"  note: {note}" for note in summary["notes"]]
    return "\n".join(lines)


RADAR_FIELDS = (
    "frames",
    "crc_errors",
    "bad_version",
    "oversize",
    "resyncs",
    "garbage_bytes",
    "bad_payloads",
    "seq_restarts",
    "reconnects",
)
"""Radar health fields the text summary shows, those the driver has (JSON has all of them)."""
PLC_FIELDS = ("requests", "timeouts", "reconnects", "late_answers")


def _link_lines(links: dict[str, Any]) -> list[str]:
    lines = []
    for name, label, fields in (("radar", "radar", RADAR_FIELDS), ("plc", "PLC", PLC_FIELDS)):
        link = links[name]
        if link["lost"]:
            state = (
                f"LOST at {_shown(link['lost_at_s'], 's')}, not recovered "
                f"({_shown(link['reason'])})"
            )
        elif link["outages"]:
            state = (
                f"up, {link['outages']} outages, longest {_shown(link['longest_outage_s'], 's')}"
            )
        else:
            state = "up"
        driver = link.get("driver")
        if driver is None:
            lines.append(f"  {label}: in-process model, no link")
            continue
        counters = ", ".join(
            f"{key.replace('_', ' ')} {driver[key]}" for key in fields if key in driver
        )
        if name == "radar":
            counters += f", longest silence {_shown(link['longest_silence_s'], 's')}"
        else:
            c = link["commands"]
            counters += (
                f"; writes failed {c['failed']}, FIRE dropped {c['fire_dropped']}, "
                f"demands coalesced {c['coalesced']}"
            )
        lines.append(f"  {label} link: {state}; {counters}")
    return lines
