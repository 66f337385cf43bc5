"""``hil record info FILE [--json]`` and ``hil record recover FILE [OUT]``: look into a recording,
and rewrite one whose writer was killed, or that was damaged, into a valid file.

Exit codes (as for every ``hil`` command): 0 done; 2 the file cannot be used as it is — missing,
empty, not MCAP, corrupt, or (``info``) unfinished: ``info`` then still prints what the complete
part holds, and the one error line says to run ``hil record recover``; ``recover``: nothing in
the file can be read (no file is written), or OUT exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hil.errors import RecordingError
from hil.recording.channels import CLOSE_METADATA, RUN_METADATA
from hil.recording.reader import RECOVER_HINT, Recording, RecordingInfo
from hil.recording.recover import RecoveryReport, default_out, recover

EXIT_USAGE = 2
UNIX_2000_NS = 946_684_800 * 10**9
"""Log times past this are taken as Unix-epoch times and also shown as UTC dates."""


def register(commands: Any) -> None:
    parser = commands.add_parser("record", help="inspect and repair run recordings (MCAP)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = actions.add_parser(
        "info",
        help="topics with counts and schemas, time span, size, rig, seed, software version",
        description="Show what a recording holds. An unfinished recording (its writer was "
        "killed) is read up to its last complete chunk, then exit 2 says so.",
    )
    info.add_argument("file", type=Path, metavar="FILE")
    info.add_argument("--json", action="store_true", help="one JSON object")
    info.add_argument(
        "--quick",
        action="store_true",
        help="read only the summary of a finished file (default: also read every chunk and "
        "check its CRC, which takes about a second per GB)",
    )
    info.set_defaults(handler=run_info)
    repair = actions.add_parser(
        "recover",
        help="rewrite a truncated or damaged recording into a valid one with every message of "
        "its whole, CRC-valid chunks",
        description="Copy every whole, CRC-valid chunk of FILE into OUT (default: FILE's name "
        "with .recovered before the suffix) as a finished, indexed recording, skipping damaged "
        "chunks and saying how many chunks, messages and bytes were lost. Exit 2 if nothing "
        "in FILE can be read (nothing is written) or OUT exists.",
    )
    repair.add_argument("file", type=Path, metavar="FILE")
    repair.add_argument("out", type=Path, nargs="?", metavar="OUT")
    repair.set_defaults(handler=run_recover)


def run_info(args: argparse.Namespace) -> int:
    try:
        with Recording(args.file) as recording:
            info = recording.info(verify=not args.quick)
    except RecordingError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(json.dumps(info_dict(info)) if args.json else render_info(info))
    if info.problem is not None:
        print(f"error: {info.path}: {info.problem}; {RECOVER_HINT}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def run_recover(args: argparse.Namespace) -> int:
    out = default_out(args.file) if args.out is None else args.out
    try:
        report = recover(args.file, out)
    except RecordingError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(recovery_text(report))
    return 0


def recovery_text(report: RecoveryReport) -> str:
    """``recovered N messages into OUT;`` then what was lost and why, or that nothing was."""
    head = f"recovered {report.messages_kept} messages into {report.out}"
    if report.damage is None and report.stopped is None:
        return f"{head}; nothing lost (the file was complete)"
    lost = []
    if report.chunks_lost:
        plural = "" if report.chunks_lost == 1 else "s"
        lost.append(
            f"{report.chunks_lost} damaged chunk{plural} ({report.messages_lost} messages) skipped"
        )
    elif report.messages_lost:
        lost.append(f"{report.messages_lost} messages on undeclared channels dropped")
    lost.append(f"{report.bytes_lost} bytes not copied")
    why = "; then ".join(text for text in (report.damage, report.stopped) if text)
    return f"{head}; {', '.join(lost)} ({why})"


def info_dict(info: RecordingInfo) -> dict[str, Any]:
    """The JSON form of ``hil record info``."""
    run = info.metadata.get(RUN_METADATA, {})
    return {
        "file": str(info.path),
        "size_bytes": info.size_bytes,
        "complete": info.complete,
        "problem": info.problem,
        "messages": info.messages,
        "start_ns": info.start_ns,
        "end_ns": info.end_ns,
        "duration_s": _duration_s(info),
        "rig": run.get("rig"),
        "scenario": run.get("scenario"),
        "seed": run.get("seed"),
        "software_version": run.get("software_version"),
        "topics": [
            {
                "topic": topic.topic,
                "messages": topic.messages,
                "schema": topic.schema_name,
                "encoding": topic.message_encoding,
            }
            for topic in sorted(info.topics.values(), key=lambda t: t.topic)
        ],
        "metadata": info.metadata,
        "attachments": [
            {"name": name, "media_type": media_type, "size_bytes": size}
            for name, media_type, size in info.attachments
        ],
    }


def render_info(info: RecordingInfo) -> str:
    """The text form of ``hil record info``: one fact per line, topics as a table."""
    run = info.metadata.get(RUN_METADATA, {})
    closing = info.metadata.get(CLOSE_METADATA, {})
    if not info.complete:
        state = "UNFINISHED (read up to its last complete chunk)"
    else:
        state = "complete" if info.problem is None else "CORRUPT (see the error below)"
    lines = [
        f"file      {info.path}",
        f"size      {info.size_bytes} bytes, {state}",
        f"span      {_span_text(info)}",
        f"rig       {run.get('rig', '?')} ({run.get('mode', '?')})",
        f"scenario  {run.get('scenario', '?')}",
        f"seed      {run.get('seed') or '?'}",
        f"software  {run.get('software_version', '?')} on {run.get('host', '?')}",
        f"messages  {info.messages}"
        + (f", {closing['messages_dropped']} dropped while recording" if closing else ""),
    ]
    width = max((len(topic) for topic in info.topics), default=5)
    lines.append(f"{'topic':<{width}}  {'messages':>9}  schema (encoding)")
    lines.extend(
        f"{t.topic:<{width}}  {t.messages:>9}  {t.schema_name} ({t.message_encoding})"
        for t in sorted(info.topics.values(), key=lambda t: t.topic)
    )
    lines.extend(
        f"attachment {name} ({media_type}, {size} bytes)"
        for name, media_type, size in info.attachments
    )
    return "\n".join(lines)


def _duration_s(info: RecordingInfo) -> float | None:
    if info.start_ns is None or info.end_ns is None:
        return None
    return (info.end_ns - info.start_ns) / 1e9


def _span_text(info: RecordingInfo) -> str:
    duration_s = _duration_s(info)
    if info.start_ns is None or duration_s is None:
        return "no messages"
    start = f"{info.start_ns} ns"
    if info.start_ns >= UNIX_2000_NS:
        moment = datetime.fromtimestamp(info.start_ns / 1e9, tz=UTC)
        start = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{duration_s:.3f} s from {start}"
