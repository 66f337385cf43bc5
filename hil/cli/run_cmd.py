"""``hil run``: the fire-control loop on a rig over a scenario (see ``hil.run``).

Exit codes, the first that applies: 2 usage or configuration error; 1 the run could not start
or could not go on (``HilError``: a device missing at the start, no PLC status); 3 the rig's
final state is unknown (making it safe could not be confirmed — never masked by another code);
4 a device link was lost and not recovered by the end of the run (``hil.loop.links``); 0
otherwise, also for a run stopped early by SIGINT/SIGTERM/SIGHUP (``stopped_early`` in the summary);
130 interrupted before the run's own signal handling was in place."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from hil.cli.arguments import add_overrides, run_duration, seed
from hil.config.loader import load_rig, load_scenario
from hil.run import RunResult, RunSettings, StopSwitch, perform_run
from hil.run_summary import render, summarize

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_RIG = CONFIGS / "rigs" / "emulate.toml"
DEFAULT_SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"
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
        help="rig TOML (default: configs/rigs/emulate.toml — emulated radar and PLC)",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        default=DEFAULT_SCENARIO,
        metavar="FILE",
        help="scenario TOML: real targets for the emulated radar, injected ones for the loop "
        "(default: configs/scenarios/defended-site.toml)",
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
    parser.set_defaults(handler=run_loop)


async def _run(settings: RunSettings) -> RunResult:
    """The run with SIGINT, SIGTERM and SIGHUP (the operator's terminal closed) ending it
    cleanly: the launcher made safe, the emulators stopped and the summary printed
    (``stopped_early`` in it)."""
    stop = StopSwitch()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for signum in signals:
        loop.add_signal_handler(signum, stop.stop)
    try:
        return await perform_run(settings, stop=stop)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def run_loop(args: argparse.Namespace) -> int:
    rig = load_rig(args.rig, args.overrides)
    scenario = load_scenario(args.scenario)
    duration = args.duration if args.duration is not None else scenario.scenario.duration_s
    settings = RunSettings(
        rig, scenario, args.scenario, duration, args.seed, args.arm, tuple(args.overrides)
    )
    result = asyncio.run(_run(settings))
    summary = summarize(result)
    if args.json:
        print(json.dumps(summary))
    else:
        print(render(summary))
    return exit_code(summary)


def exit_code(summary: dict[str, Any]) -> int:
    """3 if the rig's final state is unknown, else 4 if a device link was lost and not
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
    if summary["rig_final_state"] == "unknown":
        print(
            "error: the rig's final state is unknown: making the launcher safe could not be "
            "confirmed; check the PLC before approaching the launcher",
            file=sys.stderr,
        )
        return EXIT_UNKNOWN_RIG_STATE
    return EXIT_DEVICE_LOST if summary["devices_lost"] else 0
