"""``hil plc status | watch | command``: operator tools on the launcher PLC (Modbus TCP or RTU).

- ``status URL [--json]``: one read of everything the ICD publishes (``hil.plc_tools.snapshot``).
- ``watch URL [--rate HZ] [--heartbeat] [--seconds S] [--json]``: the same, read at ``--rate``;
  a live view on a terminal, one line (or JSON object) per read otherwise. Listen-only unless
  ``--heartbeat``: then it keeps the PLC's watchdog fed while it runs (and says so).
- ``command URL fault-reset | stow | idle | axes on|off``: one maintenance write, confirmed by
  reading back (``hil.plc_tools.maintenance``). It never arms and never fires.

URL: ``tcp://HOST[:PORT]`` (port 502 by default) or ``rtu://<serial port>[?baud=115200&parity=E]``.
Exit codes (as for every ``hil`` command): 0 done (``command``: the read-back confirms it); 1 the
PLC could not be reached, did not answer, refused the write, or the read-back shows the command
did not take effect (one line saying why and what to do); ``watch``: its last read failed (no
read succeeded, or the PLC stopped answering and did not answer again by the end); 2 bad input
(URL, option, value; also ``arm`` or ``fire``); 130 interrupted (Ctrl-C); ``watch`` also ends on
SIGTERM and exits 143 (1 when its last read failed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

from rich.console import Console
from rich.live import Live

from drivers.errors import DriverError
from drivers.plc.driver import PlcDriver
from hil.cli.arguments import connect_timeout_s, positive_float
from hil.cli.device_tool import StdoutLines, until_sigterm
from hil.errors import HilError
from hil.plc_tools.link import endpoint, open_plc
from hil.plc_tools.maintenance import VERBS, HeartbeatWatch, Outcome, perform
from hil.plc_tools.snapshot import PlcSnapshot, read_snapshot, snapshot_json, snapshot_line
from hil.plc_tools.snapshot import snapshot_lines as status_lines
from hil.plc_tools.watch_view import WatchState, heartbeat_text, watch_view

MAX_RATE_HZ = 50.0
"""A snapshot is four requests; at 115200 baud (RTU) they take about 20 ms."""
HEARTBEAT_WAIT_S = 2.0
REFUSED_VERBS = ("arm", "disarm", "fire", "launch")
NEVER_ARMS = (
    "this tool never arms or fires: arming and firing stay with the fire-control loop and its "
    "interlocks (hil run --arm); its commands are fault-reset, stow, idle, axes on|off"
)
WATCHDOG_NOTE = (
    "note: the heartbeat this command kept for the reset stops now; unless a host keeps one "
    "(a run, or `hil plc watch URL --heartbeat`), the PLC's watchdog latches again 0.5 s later"
)


class NeverArmsParser(argparse.ArgumentParser):
    """``hil plc command``'s parser: asked to arm or fire, it says why it cannot (exit 2)."""

    def error(self, message: str) -> NoReturn:
        asked = re.search(r"invalid choice: '([^']*)'", message)
        if asked and asked.group(1).lower() in REFUSED_VERBS:
            message = f"{asked.group(1)}: {NEVER_ARMS}"
        super().error(message)


def scan_rate(text: str) -> float:
    value = positive_float(text)
    if value > MAX_RATE_HZ:
        raise argparse.ArgumentTypeError(
            f"at most {MAX_RATE_HZ:g} Hz (each read is four Modbus requests), got {text}"
        )
    return value


def _add_link_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        metavar="URL",
        help="the PLC: tcp://HOST[:PORT] (port 502 by default) or "
        "rtu://<serial port>[?baud=115200&parity=E]",
    )
    parser.add_argument(
        "--connect-timeout",
        type=connect_timeout_s,
        default=3.0,
        metavar="S",
        help="give up if the link is not up after S seconds (default 3)",
    )


def register(commands: Any) -> None:
    parser = commands.add_parser("plc", help="read, watch or service the launcher PLC")
    actions = parser.add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=NeverArmsParser
    )

    status = actions.add_parser(
        "status", help="one read of everything the PLC publishes, in SI units; writes nothing"
    )
    _add_link_arguments(status)
    status.add_argument("--json", action="store_true", help="one JSON object (SI units in keys)")
    status.set_defaults(handler=run_status)

    watch = actions.add_parser(
        "watch",
        help="live view of axes, arm state, interlocks, faults and counters; writes nothing "
        "unless --heartbeat",
    )
    _add_link_arguments(watch)
    watch.add_argument(
        "--rate",
        type=scan_rate,
        default=4.0,
        metavar="HZ",
        help=f"reads per second (default 4, at most {MAX_RATE_HZ:g})",
    )
    watch.add_argument(
        "--heartbeat",
        action="store_true",
        help="keep the PLC's heartbeat (10 Hz) while watching, so its watchdog does not trip; "
        "it stops when the tool ends",
    )
    watch.add_argument(
        "--seconds",
        type=positive_float,
        default=None,
        metavar="S",
        help="stop after S seconds (default: until Ctrl-C or SIGTERM)",
    )
    watch.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per read on stdout; the link's health to stderr at the end",
    )
    watch.set_defaults(handler=run_watch)

    command = actions.add_parser(
        "command",
        help="one maintenance write, read back: fault-reset | stow | idle | axes on|off "
        "(never arms or fires)",
    )
    _add_link_arguments(command)
    command.add_argument(
        "--json", action="store_true", help="the outcome as one JSON object on stdout"
    )
    verbs = command.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser(
        "fault-reset",
        help="clear latched faults (keeps a heartbeat while it runs: the PLC needs a live one)",
    )
    verbs.add_parser("stow", help="MODE STOW: the axes go to az 0, el 0 (if enabled)")
    verbs.add_parser("idle", help="MODE IDLE: the axes hold")
    verbs.add_parser("axes", help="axis drives on or off").add_argument(
        "state", choices=["on", "off"]
    )
    command.set_defaults(handler=run_command)


# --- status ---------------------------------------------------------------------------------


def run_status(args: argparse.Namespace) -> int:
    snapshot = asyncio.run(read_once(args.url, args.connect_timeout))
    if args.json:
        print(json.dumps(snapshot_json(snapshot)))
    else:
        print("\n".join(status_lines(snapshot)))
    return 0


async def read_once(url: str, connect_timeout_s: float) -> PlcSnapshot:
    """One snapshot of the PLC at ``url`` (listen-only: nothing is written)."""
    async with open_plc(url, connect_timeout_s) as plc:
        return await _read(plc)


async def _read(plc: PlcDriver) -> PlcSnapshot:
    try:
        return await read_snapshot(plc)
    except DriverError as error:
        raise HilError(
            f"{error}; check the unit id (1) and that the device speaks the PLC ICD"
        ) from error


# --- watch ----------------------------------------------------------------------------------


def run_watch(args: argparse.Namespace) -> int:
    return asyncio.run(_watch(args))


async def _watch(args: argparse.Namespace) -> int:
    """Until ``--seconds``, Ctrl-C (exit 130) or SIGTERM (exit 143); ``HilError`` (exit 1) when
    the watch ended with the PLC not answering (``ReadTally.problem``)."""
    tally = ReadTally()

    async def watching() -> None:
        async with open_plc(args.url, args.connect_timeout, heartbeat=args.heartbeat) as plc:
            try:
                await watch(plc, args, tally)
            finally:
                _watch_end(plc, args, tally)

    code = await until_sigterm(watching)
    problem = tally.problem(str(endpoint(args.url)))
    if problem:
        raise HilError(problem)
    return code


@dataclass
class ReadTally:
    """The reads of one watch: how many succeeded and failed, and the failures since the last
    good one (loop-clock times, s)."""

    good: int = 0
    failed: int = 0
    failing: int = 0
    """Reads failed since the last good one (all of them when none succeeded)."""
    failing_since_s: float = 0.0
    last_error: str = ""
    last_s: float = 0.0

    def record(self, error: str, at_s: float) -> None:
        """One read done at ``at_s``: ``error`` '' when it succeeded."""
        self.last_s = at_s
        if not error:
            self.good += 1
            self.failing = 0
            return
        if not self.failing:
            self.failing_since_s = at_s
        self.failed += 1
        self.failing += 1
        self.last_error = error

    def problem(self, url: str) -> str:
        """'' when the last read succeeded (or none was done); else the one error line: no
        read succeeded, or the PLC stopped answering and did not answer again."""
        if not self.failing:
            return ""
        last = self.last_error.removeprefix(f"PLC {url}: ")
        check = (
            "check that the PLC (or its emulator) is running and not stopped: a stopped or hung "
            "one may still accept the connection"
        )
        if not self.good:
            return (
                f"PLC {url}: no read succeeded: all {self.failing} reads failed (last: {last}); "
                f"{check}"
            )
        return (
            f"PLC {url}: stopped answering: the last {self.failing} reads (the last "
            f"{self.last_s - self.failing_since_s:.1f} s of the watch) failed after "
            f"{self.good} good one{'s' if self.good > 1 else ''} (last: {last}); {check}"
        )


async def watch(plc: PlcDriver, args: argparse.Namespace, tally: ReadTally) -> None:
    """Read the PLC every ``1 / args.rate`` s and show each read: a live view on a terminal,
    else one line (or JSON object) per read. A failed read is shown and the watch goes on (the
    driver reconnects); every read is counted in ``tally``."""
    out = StdoutLines()
    live = sys.stdout.isatty() and not args.json
    period = 1.0 / args.rate
    loop = asyncio.get_running_loop()
    started = loop.time()
    url = str(plc.endpoint)
    attempts = 0
    snapshot: PlcSnapshot | None = None
    if not live and not args.json:
        out.line(f"watching PLC {url} every {period:g} s; {heartbeat_text(args.heartbeat)}")
    view = Live(console=Console(), auto_refresh=False) if live else None
    if view is not None:
        view.start()
    try:
        next_read = started
        while not out.closed:  # one read per period, on a fixed grid from the start
            error = ""
            try:
                snapshot = await read_snapshot(plc)
            except DriverError as failure:
                error = str(failure)
            tally.record(error, loop.time() - started)
            state = WatchState(
                url, snapshot, plc.health(), error, tally.good, args.rate, args.heartbeat
            )
            if view is not None:
                view.update(watch_view(state), refresh=True)
            elif args.json:
                out.line(json.dumps(_watch_json(state, loop.time() - started)))
            elif error:
                out.line(f"read failed: {error}")
            elif snapshot is not None:
                out.line(snapshot_line(snapshot))
            attempts += 1
            if args.seconds is not None and attempts * period >= args.seconds * (1 - 1e-9):
                break
            next_read = started + attempts * period
            await asyncio.sleep(max(0.0, next_read - loop.time()))  # pacing the reads
    finally:
        if view is not None:
            view.stop()


def _watch_json(state: WatchState, elapsed_s: float) -> dict[str, Any]:
    head: dict[str, Any] = {"elapsed_s": round(elapsed_s, 6), "heartbeat_kept": state.heartbeat}
    if state.error or state.snapshot is None:
        return head | {"url": state.url, "error": state.error or "no read yet"}
    return head | snapshot_json(state.snapshot)


def _watch_end(plc: PlcDriver, args: argparse.Namespace, tally: ReadTally) -> None:
    health = plc.health()
    fields = {k: (v.value if k == "link_state" else v) for k, v in asdict(health).items()}
    reads = {"good": tally.good, "failed": tally.failed}
    if args.json:
        print(json.dumps({"health": fields, "reads": reads}), file=sys.stderr)
    else:
        print(f"reads: {tally.good} good, {tally.failed} failed", file=sys.stderr)
        print(
            "health: "
            + " ".join(
                f"{k}={'-' if v is None else f'{v:.6g}' if isinstance(v, float) else v}"
                for k, v in fields.items()
                if k != "last_error"
            ),
            file=sys.stderr,
        )
    if args.heartbeat:
        print(
            "note: this tool's heartbeat stopped; unless a host keeps one, the PLC's watchdog "
            "latches 0.5 s later",
            file=sys.stderr,
        )


# --- command --------------------------------------------------------------------------------


def verb_of(args: argparse.Namespace) -> str:
    return f"axes {args.state}" if args.verb == "axes" else str(args.verb)


def run_command(args: argparse.Namespace) -> int:
    verb = verb_of(args)
    outcome = asyncio.run(command(args.url, verb, args.connect_timeout))
    if args.json:
        print(json.dumps(outcome_json(outcome)))
    else:
        print(outcome_text(outcome))
    if outcome.ok and outcome.verb == "fault-reset":
        print(WATCHDOG_NOTE, file=sys.stderr)
    if not outcome.ok:
        raise HilError(f"{verb}: {outcome.problem}")
    return 0


async def command(url: str, verb: str, connect_timeout_s: float) -> Outcome:
    """``verb`` (a key of ``VERBS``) on the PLC at ``url``, read back. ``fault-reset`` keeps a
    heartbeat while it runs (the PLC clears faults only with a live one)."""
    beats = HeartbeatWatch() if verb == "fault-reset" else None
    async with open_plc(
        url, connect_timeout_s, heartbeat=beats is not None, on_transaction=beats
    ) as plc:
        if beats is not None:
            try:
                async with asyncio.timeout(HEARTBEAT_WAIT_S):
                    await beats.live.wait()
            except TimeoutError:
                raise HilError(
                    f"PLC {plc.endpoint}: the heartbeat could not be written within "
                    f"{HEARTBEAT_WAIT_S:g} s ({plc.health().last_error or 'no answer'})"
                ) from None
        try:
            return await perform(plc, verb)
        except DriverError as error:
            raise HilError(f"{verb}: {error}") from error


def outcome_text(outcome: Outcome) -> str:
    if outcome.changes:
        return f"{outcome.verb}: " + ", ".join(outcome.changes)
    if outcome.ok:
        return f"{outcome.verb}: nothing changed (the PLC already held it)"
    return f"{outcome.verb}: nothing changed"


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "verb": outcome.verb,
        "write": asdict(VERBS[outcome.verb]),
        "ok": outcome.ok,
        "changes": outcome.changes,
        "problem": outcome.problem or None,
        "before": snapshot_json(outcome.before),
        "after": snapshot_json(outcome.after),
    }
