"""``hil replay FILE``: run a recording through today's loop, or verify it bit for bit.

- ``hil replay FILE [--rate R|max] [--from S] [--to S] [--launcher recorded|model]
  [--frames raw|recorded] [--set KEY=VALUE] [--record OUT] [--compare] [--json]``: the
  recorded cycles drive the loop again (``hil.rig.replay``) with the recording's effective
  rig config and any ``--set`` overrides — frames re-decoded from the raw radar bytes where the
  recording has them, the launcher the recorded one (open loop) or the in-process PLC model
  (closed loop); prints the summary ``hil run`` prints, and with ``--compare`` the score deltas
  against the recorded run.
- ``hil replay FILE --verify [--set KEY=VALUE]``: feeds every recorded cycle input to a fresh
  core and checks every output is bit-identical to the recorded one.

Exit codes: 0 done (verified); 2 usage, a bad ``--set``, a ``--from``/``--to`` window that
is empty (``--to`` not after ``--from``) or holds no recorded cycle, ``--frames raw`` on a
recording without raw radar bytes, or a recording that is missing, unfinished, corrupt or not a
``hil run`` recording (every chunk's CRC is checked before anything is played); 5
``--verify`` found a cycle whose output differs (the cycle and the first differing field are
named), or the recording was made by another core version (``hil.loop.core_version``: other
arithmetic, so bits may differ by design; one line, pointing at ``--compare``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

from hil.cli.arguments import add_overrides, non_negative_float, rate_or_max
from hil.cli.replay_step import CyclePrinter, Stepper
from hil.config.loader import apply_overrides
from hil.config.rig import RigConfig
from hil.errors import RecordingError
from hil.loop.core_version import CORE_VERSION
from hil.loop.observers import CycleObserver
from hil.recording.player import NS_PER_S, window_ns
from hil.recording.reader import Recording
from hil.recording.run_layout import RESULT_SCORES, RecordedRun, read_recorded_run, recorded_result
from hil.rig.base import ReplayOptions, RunSettings
from hil.rig.replay import (
    cycle_inputs,
    first_cycle_ns,
    has_raw_radar_bytes,
    verify_recording,
)
from hil.run.recorded import config_data, open_run_recording, run_recorded
from hil.run.summary import render, summarize

EXIT_USAGE = 2
EXIT_VERIFY_FAILED = 5
Frames = Literal["raw", "recorded"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="run a recording through today's loop, or --verify it bit for bit",
        description="Replay a hil run recording: its cycles drive the loop again with the "
        "recorded rig config (and any --set overrides), and the summary of hil run is printed; "
        "--verify instead checks that every recorded cycle output is reproduced bit for bit. "
        "Exit codes: 0 done, 2 usage or an unusable recording, 5 --verify found a difference "
        "or the recording was made by another core version (use --compare).",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="a recording made by hil run")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="feed the recorded inputs to a fresh core and check every output is identical",
    )
    parser.add_argument(
        "--rate",
        type=rate_or_max,
        default=None,
        metavar="R|max",
        help="pace: R times recorded speed (1 = as recorded), or max (default: max)",
    )
    parser.add_argument(
        "--from",
        dest="from_s",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="replay from S seconds after the run's first cycle (default: its start)",
    )
    parser.add_argument(
        "--to",
        dest="to_s",
        type=non_negative_float,
        default=None,
        metavar="S",
        help="replay up to S seconds after the run's first cycle (default: its end)",
    )
    parser.add_argument(
        "--launcher",
        choices=("recorded", "model"),
        default=None,
        help="recorded: each cycle sees the launcher status the run saw (open loop, default); "
        "model: the in-process PLC model answers the replayed commands (closed loop)",
    )
    parser.add_argument(
        "--frames",
        choices=("raw", "recorded"),
        default=None,
        help="raw: re-decode the recorded raw radar bytes through today's codec (default when "
        "the recording has them: emulate, bench); recorded: the frames as decoded then "
        "(the only choice for a sim recording)",
    )
    parser.add_argument(
        "--step",
        action="store_true",
        help="one cycle at a time: each played cycle is printed on stderr and the next waits "
        "for Enter (c: play the rest); paces as fast as possible between steps",
    )
    add_overrides(parser, "recorded rig", "tracker.gate_probability=0.99")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="print the score deltas against the recorded run (replay minus recorded)",
    )
    parser.add_argument(
        "--record", type=Path, default=None, metavar="OUT", help="record the replay too"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary as one JSON object (last line)"
    )
    parser.set_defaults(handler=run_replay)


def run_replay(args: argparse.Namespace) -> int:
    if args.verify and (
        args.from_s is not None
        or args.to_s is not None
        or args.compare
        or args.launcher is not None
        or args.frames is not None
        or args.step
    ):
        print(
            "error: --verify checks the recorded inputs of the whole recording from its first "
            "cycle; leave out --from, --to, --compare, --launcher, --frames and --step",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.from_s is not None and args.to_s is not None and args.to_s <= args.from_s:
        print(
            f"error: --to {args.to_s:g} s must come after --from {args.from_s:g} s (both are "
            "seconds after the run's first cycle)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        with Recording(args.file) as recording:
            recorded = read_recorded_run(recording)
            rig = _with_overrides(args.file, recorded.rig, args.overrides)
            if args.verify:
                return _verify(args.file, recording, rig, recorded)
            _check_window(recording, args.from_s, args.to_s)
            result_message = recorded_result(recording) if args.compare else None
            frames = _frames(args.file, args.frames, has_raw_radar_bytes(recording))
    except RecordingError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    replay_rig = rig.model_copy(update={"rig": rig.rig.model_copy(update={"mode": "replay"})})
    stepper = Stepper() if args.step else None
    settings = RunSettings(
        replay_rig,
        recorded.scenario,
        args.file,
        math.inf,
        recorded.seed,
        recorded.armed,
        tuple(args.overrides),
        ReplayOptions(
            args.file,
            None if args.step else args.rate,
            args.from_s,
            args.to_s,
            args.launcher or "recorded",
            frames,
            stepper,
        ),
    )
    watchers: list[CycleObserver] = [] if stepper is None else [CyclePrinter(stepper)]
    try:
        recorder = None if args.record is None else open_run_recording(args.record, settings)
        result, stats = run_recorded(settings, recorder, watchers)
    except RecordingError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    summary = summarize(result)
    summary["replay_of"] = str(args.file)
    summary["replay"] = {"launcher": args.launcher or "recorded", "frames": frames}
    if stats is not None:
        summary["recording"] = {"path": str(stats.path), "messages": stats.messages_written}
    if result_message is not None:
        summary["compare"] = compare(summary, result_message)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(render(summary))
    if "compare" in summary:
        print(render_compare(summary["compare"]))
    return 0


def _frames(path: Path, asked: Frames | None, raw: bool) -> Frames:
    """The frames to replay: as asked, else raw where the recording has raw radar bytes."""
    if asked == "raw" and not raw:
        raise RecordingError(
            f"{path}: --frames raw, but the recording has no raw radar bytes (a sim run): "
            "leave out --frames or use --frames recorded"
        )
    if asked is not None:
        return asked
    return "raw" if raw else "recorded"


def _check_window(recording: Recording, from_s: float | None, to_s: float | None) -> None:
    """``RecordingError`` naming the recording's span unless the ``--from``/``--to`` window
    holds at least one recorded cycle."""
    first_ns = first_cycle_ns(recording)
    if first_ns is None:
        raise RecordingError(f"{recording.path}: no recorded cycles to replay")
    start_ns, end_ns = window_ns(first_ns, from_s, to_s)
    with closing(cycle_inputs(recording, start_ns, end_ns)) as cycles:
        if next(cycles, None) is not None:
            return
    end = recording.info(verify=False).end_ns or first_ns
    bounds = (("--from", from_s), ("--to", to_s))
    given = " ".join(f"{name} {value:g}" for name, value in bounds if value is not None)
    raise RecordingError(
        f"{recording.path}: {given} s: no recorded cycle in that window; the run's cycles "
        f"span 0 to {(end - first_ns) / NS_PER_S:.1f} s after its first one"
    )


def _with_overrides(path: Path, rig: RigConfig, overrides: list[str]) -> RigConfig:
    """The recorded rig with ``--set`` overrides applied (a bad one: ``ConfigError``, exit 2)."""
    if not overrides:
        return rig
    return apply_overrides(path, config_data(rig), RigConfig, overrides)


def _verify(path: Path, recording: Recording, rig: RigConfig, recorded: RecordedRun) -> int:
    if recorded.core_version != CORE_VERSION:
        print(
            f"error: {path}: recorded by core version {recorded.core_version}, this is core "
            f"version {CORE_VERSION}: its arithmetic differs by design, so the bits cannot be "
            f"verified; use hil replay {path} --compare for the score deltas",
            file=sys.stderr,
        )
        return EXIT_VERIFY_FAILED
    checked, mismatch = verify_recording(recording, rig, recorded.scenario)
    if mismatch is not None:
        print(
            f"error: {path}: {mismatch}; the loop no longer reproduces this recording (the "
            f"{checked - 1} cycles before it verified)",
            file=sys.stderr,
        )
        return EXIT_VERIFY_FAILED
    if checked == 0:
        print(f"error: {path}: no recorded cycles to verify", file=sys.stderr)
        return EXIT_USAGE
    print(f"verified {checked} cycles of {path}: every output bit-identical to the recording")
    return 0


def compare(summary: dict[str, Any], recorded: dict[str, Any] | None) -> dict[str, Any]:
    """Per score: recorded, replayed and the delta (replay − recorded; None where either is
    missing)."""
    if recorded is None:
        return {"note": "the recording has no result message (its run did not end cleanly)"}
    scores = recorded.get("scores", {})
    out: dict[str, Any] = {}
    for key in RESULT_SCORES:
        before, after = scores.get(key), summary.get(key)
        delta = None
        if isinstance(before, int | float) and isinstance(after, int | float):
            delta = round(after - before, 6)
        out[key] = {"recorded": before, "replay": after, "delta": delta}
    out["digest_equal"] = recorded.get("digest") == summary.get("digest")
    return out


def render_compare(comparison: dict[str, Any]) -> str:
    if "note" in comparison:
        return f"compare: {comparison['note']}"
    lines = ["compare (replay − recorded):"]
    for key in RESULT_SCORES:
        row = comparison[key]
        delta = row["delta"]
        shown = "—" if delta is None else f"{delta:+g}"
        lines.append(f"  {key:<26} {row['recorded']!s:>12} → {row['replay']!s:>12}  {shown}")
    same = "identical" if comparison["digest_equal"] else "different"
    lines.append(f"  tracks and commands: {same} (determinism digest)")
    return "\n".join(lines)
