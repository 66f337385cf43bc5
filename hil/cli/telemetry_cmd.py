"""``hil telemetry watch``: a live view of a rig's telemetry for an operator at another desk.

It subscribes to ``hil/<rig>/#`` and only displays: it publishes nothing, and nothing the rig
publishes commands it. On a terminal: a live table (rich) of each rig's status, its latest
tracks and health, and the last events; otherwise one plain line per message; ``--json``: one
JSON object per message (``hil.telemetry.watch.WatchedMessage.as_json``).

``--seconds S`` bounds the whole command, connecting included (``hil.telemetry.watch.watch``).

Exit codes: 0 done (``--seconds`` elapsed); 1 no connection made: the broker refused the user
or the connection, could not be reached, or did not answer (one line); 2 bad option (one
line); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from collections import deque
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from hil.cli.arguments import positive_float
from hil.config.telemetry import TelemetryConfig, parse_broker, topic_segment_problem
from hil.errors import ConfigError
from hil.telemetry.connection import client_settings
from hil.telemetry.watch import ALL_RIGS, WatchedMessage, watch

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
EVENTS_SHOWN = 12
TRACKS_SHOWN = 15


def broker_url(text: str) -> str:
    try:
        parse_broker(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def rig_name(text: str) -> str:
    problem = "" if text == ALL_RIGS else topic_segment_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(f"{text!r} cannot be a rig's topic level: {problem}")
    return text


def register(commands: Any) -> None:
    parser = commands.add_parser("telemetry", help="live telemetry of a rig over MQTT")
    sub = parser.add_subparsers(dest="telemetry_command", required=True, metavar="COMMAND")
    watch_parser = sub.add_parser(
        "watch",
        help="show a rig's live telemetry (status, tracks, health, events); only displays",
        description="Subscribe to hil/<rig>/# and display it: a live table on a terminal, one "
        "line per message otherwise, one JSON object per message with --json. It publishes "
        "nothing. Exit codes: 0 done, 1 no connection made (the broker refused the user or "
        "the connection, could not be reached or did not answer), 2 bad option, 130 "
        "interrupted.",
    )
    watch_parser.add_argument(
        "--broker",
        type=broker_url,
        default=DEFAULT_BROKER,
        metavar="URL",
        help=f"mqtt://HOST:PORT or mqtts://HOST:PORT (default {DEFAULT_BROKER})",
    )
    watch_parser.add_argument(
        "--rig", type=rig_name, default=ALL_RIGS, metavar="NAME", help="rig to watch (default: all)"
    )
    watch_parser.add_argument(
        "--seconds",
        type=positive_float,
        default=math.inf,
        metavar="S",
        help="stop after S seconds, connecting included (default: until Ctrl-C)",
    )
    watch_parser.add_argument(
        "--json", action="store_true", help="one JSON object per message on stdout"
    )
    watch_parser.add_argument("--username", default="", metavar="USER")
    watch_parser.add_argument(
        "--password-env",
        default="",
        metavar="VAR",
        help="environment variable holding the password (needs --username)",
    )
    watch_parser.add_argument(
        "--ca-file", default="", metavar="PEM", help="mqtts: CA of the broker's certificate"
    )
    watch_parser.set_defaults(handler=watch_command)


def watch_command(args: argparse.Namespace) -> int:
    try:
        config = TelemetryConfig(
            broker=args.broker,
            username=args.username,
            password_env=args.password_env,
            ca_file=args.ca_file,
        )
    except ValueError as error:  # pydantic's ValidationError: the options do not fit together
        first = str(error).splitlines()
        raise ConfigError([f"options: {first[-1].strip() if first else error}"]) from None
    settings = client_settings(config)
    display: Display
    if args.json:
        display = JsonLines(sys.stdout)
    elif sys.stdout.isatty():
        display = LiveView()
    else:
        display = PlainLines(sys.stdout)
    with display:
        asyncio.run(watch(settings, args.rig, args.seconds, display.show))
    return 0


class Display:
    def show(self, message: WatchedMessage) -> None:
        raise NotImplementedError

    def __enter__(self) -> Display:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class JsonLines(Display):
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, message: WatchedMessage) -> None:
        print(json.dumps(message.as_json()), file=self.out, flush=True)


def describe(message: WatchedMessage) -> str:
    """One message in a few words."""
    p = message.payload
    if p is None:
        return message.problem
    name = message.name
    if name == "connection":
        return str(p.get("state"))
    if name == "status":
        links = f"radar {_up(p.get('radar_link_up'))}, PLC {_up(p.get('plc_link_up'))}"
        launcher = p.get("launcher") or {}
        return (
            f"{p.get('state')}, {p.get('mode')} {p.get('scenario')}, phase {p.get('phase')}, "
            f"{'ARMED' if p.get('armed') else 'not armed'}, launcher "
            f"{launcher.get('arm_state', '-')} fault {launcher.get('fault', '-')}, {links}"
        )
    if name == "tracks":
        tracks = p.get("tracks") or []
        shown = ", ".join(f"#{t['id']} {t['range_m'] / 1000:.1f} km" for t in tracks[:5])
        more = f" (+{len(tracks) - 5})" if len(tracks) > 5 else ""
        return f"t {p.get('t_s')} s: {p.get('count')} tracks {shown}{more}"
    if name == "health":
        return (
            f"t {p.get('t_s')} s: {_shown(p.get('cycle_rate_hz'))} cycles/s, "
            f"{_shown(p.get('frame_rate_hz'))} frames/s, radar {_up(p.get('radar_link_up'))}, "
            f"PLC {_up(p.get('plc_link_up'))}, "
            f"telemetry dropped {p.get('telemetry_dropped')}"
        )
    if name == "interlocks":
        failing = ", ".join(p.get("failing") or []) or "-"
        return f"t {p.get('t_s')} s: all hold {p.get('all_hold')}; failing: {failing}"
    if name == "events":
        what = p.get("kind")
        subject = (
            f" track {p['track_id']}"
            if p.get("track_id") is not None
            else f" {p['link']}"
            if p.get("link")
            else f" {p['fault']}"
            if p.get("fault")
            else ""
        )
        why = f" ({p['reason']})" if p.get("reason") else ""
        return f"t {p.get('t_s')} s: #{p.get('seq')} {what}{subject}{why}"
    return json.dumps(p)[:200]


def _shown(value: object) -> str:
    return "-" if value is None else str(value)


def _up(value: object) -> str:
    return "-" if value is None else "up" if value else "DOWN"


class PlainLines(Display):
    """One line per message (stdout not a terminal)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def show(self, message: WatchedMessage) -> None:
        where = f"{message.rig} {message.name}" if message.rig else message.name
        retained = " (retained)" if message.retained else ""
        print(f"{where}{retained}: {describe(message)}", file=self.out, flush=True)


class LiveView(Display):
    """A live table per rig: status, health, latest tracks, last events (on a terminal)."""

    def __init__(self) -> None:
        self.status: dict[str, WatchedMessage] = {}
        self.health: dict[str, WatchedMessage] = {}
        self.tracks: dict[str, WatchedMessage] = {}
        self.events: deque[WatchedMessage] = deque(maxlen=EVENTS_SHOWN)
        self.connection = "connecting"
        self._live = Live(self._render(), console=Console(), auto_refresh=False)

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.update(self._render(), refresh=True)
        self._live.stop()

    def show(self, message: WatchedMessage) -> None:
        kept = {"status": self.status, "health": self.health, "tracks": self.tracks}
        if message.name == "connection":
            self.connection = describe(message)
        elif message.payload is None:  # not JSON: shown, never in place of a good one
            self.events.append(message)
        elif message.name in kept:
            kept[message.name][message.rig] = message
        elif message.name in ("events", "interlocks"):
            self.events.append(message)
        self._live.update(self._render(), refresh=True)

    def _render(self) -> Group:
        rigs = Table(title=f"hil telemetry — {self.connection}", expand=True)
        for column in ("rig", "status", "health"):
            rigs.add_column(column)
        for rig in sorted(set(self.status) | set(self.health)):
            status, health = self.status.get(rig), self.health.get(rig)
            rigs.add_row(
                rig,
                describe(status) if status else "-",
                describe(health) if health else "-",
            )
        tracks = Table(title="tracks (latest)", expand=True)
        for column in ("rig", "id", "range km", "position ENU m", "velocity ENU m/s", "source"):
            tracks.add_column(column)
        for rig, message in sorted(self.tracks.items()):
            for t in ((message.payload or {}).get("tracks") or [])[:TRACKS_SHOWN]:
                tracks.add_row(
                    rig,
                    str(t["id"]),
                    f"{t['range_m'] / 1000:.2f}",
                    ", ".join(f"{v:.0f}" for v in t["position_enu_m"]),
                    ", ".join(f"{v:.0f}" for v in t["velocity_enu_mps"]),
                    "injected" if t["injected"] else "real",
                )
        events = Table(title="events and interlocks (last)", expand=True)
        for column in ("rig", "topic", "what"):
            events.add_column(column)
        for message in self.events:
            events.add_row(message.rig, message.name, describe(message))
        return Group(rigs, tracks, events)
