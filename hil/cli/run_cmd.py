"""``hil run``: the fire-control loop on a rig over a scenario (see ``hil.run.perform``).

Exit codes, the first that applies: 2 usage or configuration error; 1 the run could not start
or could not go on (``HilError``: a device missing at the start, no PLC status); 3 the rig's
final state is unknown (making it safe could not be confirmed — never masked by another code);
4 a device link was lost and not recovered by the end of the run (``hil.loop.links``); 0
otherwise, also for a run stopped early by SIGINT/SIGTERM/SIGHUP (``stopped_early`` in the summary);
130 interrupted before the run's own signal handling was in place."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil.cli.arguments import add_overrides, run_duration, seed
from hil.config.bundled import bundled_file
from hil.config.loader import load_rig, load_scenario, rig_setting_source
from hil.errors import ConfigError
from hil.rig.base import RunSettings
from hil.run.live_status import LiveRunStatus, show_live
from hil.run.recorded import open_run_recording, run_recorded
from hil.run.runs_folder import (
    open_default_recording,
    recording_line,
    recording_summary,
)
from hil.run.summary import render, summarize
from hil.telemetry.connection import client_settings

DEFAULT_RIG = bundled_file("rigs/emulate.toml")
DEFAULT_SCENARIO = bundled_file("scenarios/defended-site.toml")


EXIT_UNKNOWN_RIG_STATE = 3
EXIT_DEVICE_LOST = 4


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run the fire-control loop on a rig (sim, emulate or bench) over a scenario",
        description="Track, evaluate, engage and command the launcher. Arming is off unless "
        "--arm is given. Exit codes: 0 done (also when stopped by SIGINT/SIGTERM), 1 the run "
        "could not start or go on, 2 usage or configuration error, 3 the rig's final state "
        "could not be confirmed (wins over 4), 4 a device link was lost and not recovered by "
        "the end.",
    )
    parser.add_argument(
        "--rig",
        type=Path,
        default=DEFAULT_RIG,
        metavar="FILE",
        help="rig TOML (default: the bundled rigs/emulate.toml — emulated radar and PLC)",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        metavar="FILE",
        help="scenario TOML: real targets for the emulated radar, injected ones for the loop "
        "(default: the bundled scenarios/defended-site.toml)",
    )
    parser.add_argument(
        "--duration",
        type=run_duration,
        default=None,
        metavar="S",
        help="seconds of loop time (default: the scenario's duration_s)",
    )
    parser.add_argument("--seed", type=seed, default=0, metavar="N", help="run seed (default 0)")
    parser.add_argument(
        "--arm",
        action="store_true",
        help="the operator arms the session: launch requests become possible",
    )
    add_overrides(parser, "rig", "fire_control.interceptor_speed_mps=600")
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object (last line)"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no live status line while the run goes (it is shown only on a terminal, never "
        "with --json); the final summary is printed either way",
    )
    telemetry = parser.add_mutually_exclusive_group()
    telemetry.add_argument(
        "--telemetry",
        default=None,
        metavar="URL",
        help="publish live telemetry to this MQTT broker (mqtt://HOST:PORT or mqtts://...), "
        "overriding the rig file's telemetry.broker (docs/telemetry.md)",
    )
    telemetry.add_argument(
        "--no-telemetry",
        action="store_true",
        help="publish no telemetry, whatever the rig file's [telemetry] table says",
    )
    recording = parser.add_mutually_exclusive_group()
    recording.add_argument(
        "--record",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the run's recording here (default: $HIL_RUNS_DIR or runs/, named "
        "<UTC start>-<mode>.mcap; an existing file is never overwritten)",
    )
    recording.add_argument(
        "--no-record", action="store_true", help="leave no recording (every run records unless)"
    )
    parser.set_defaults(handler=run_loop)


def run_loop(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    if args.telemetry is not None:
        overrides.append(f"telemetry.broker={json.dumps(args.telemetry)}")
    rig = load_rig(args.rig, overrides)
    if rig.rig.mode == "replay":
        raise ConfigError(
            [
                f"{args.rig}: rig.mode: 'replay' plays a recording: use hil replay FILE; hil run "
                f"takes bench, emulate or sim{_mode_source(args.rig, overrides)}"
            ]
        )
    if args.no_telemetry:
        rig = rig.model_copy(update={"telemetry": None})
    if rig.telemetry is not None:  # its password and TLS files, before a recording is opened
        try:
            client_settings(rig.telemetry)
        except ConfigError as error:
            raise ConfigError([f"{args.rig}: {line}" for line in error.problems]) from error
    scenario = load_scenario(args.scenario)
    duration = args.duration if args.duration is not None else scenario.scenario.duration_s
    settings = RunSettings(
        rig, scenario, args.scenario, duration, args.seed, args.arm, tuple(overrides)
    )
    recording = None
    if not args.no_record:
        if args.record is not None:
            recording = open_run_recording(args.record, settings)
        else:
            recording = open_default_recording(settings)
    live = None
    if show_live(sys.stdout) and not args.json and not args.quiet:
        live = LiveRunStatus(duration, rig.rig.mode)
    with live or contextlib.nullcontext():
        watchers = () if live is None else (live.counters,)
        result, stats = run_recorded(settings, recording, watchers)
    summary = summarize(result)
    summary["recording"] = None if stats is None else recording_summary(stats)
    try:
        if args.json:
            print(json.dumps(summary))
        else:
            print(render(summary))
            if stats is not None:
                print(recording_line(stats))
    except BrokenPipeError:  # stdout's reader went away: the rig's state still goes to stderr
        code = exit_code(summary)
        if code:
            return code
        raise
    return exit_code(summary)


def _mode_source(rig_path: Path, overrides: Sequence[str]) -> str:
    """`` [set by …]`` naming what set ``rig.mode`` (as config errors name overrides), or
    nothing when the file did."""
    source = rig_setting_source(rig_path, ("rig", "mode"), overrides)
    return f" [set by {source}]" if source else ""


def exit_code(summary: dict[str, Any]) -> int:
    """3 if the launcher was not confirmed SAFE at the end (its state unknown, or still not
    SAFE when read back), else 4 if a device link was lost and not
    recovered, else 0; each reason goes to stderr as one line."""
    links = summary["links"]
    for key in summary["devices_lost"]:
        link = links[key]
        name = "PLC" if key == "plc" else key
        print(
            f"error: {name} link lost at {link['lost_at_s']} s and not recovered by the end of "
            f"the run ({link['reason']})",
            file=sys.stderr,
        )
    if not summary["rig_safe_confirmed"]:
        state = summary["rig_final_state"]
        what = (
            "the rig's final state is unknown: making the launcher safe could not be confirmed"
            if state == "unknown"
            else f"the launcher was not confirmed SAFE at the end of the run: the PLC still "
            f"showed {state} after the disarm"
        )
        print(f"error: {what}; check the PLC before approaching the launcher", file=sys.stderr)
        return EXIT_UNKNOWN_RIG_STATE
    return EXIT_DEVICE_LOST if summary["devices_lost"] else 0
