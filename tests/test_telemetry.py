"""Telemetry without a broker: the ``[telemetry]`` table's checks (one line each, naming the
key and the fix), no telemetry configured → nothing started, and a full hand-off → counted
drops and one warning, never a wait or an exception in the loop."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import threading
from pathlib import Path

import pytest
from conftest import CONFIGS

from hil.cli import main
from hil.cli.telemetry_cmd import LiveView, PlainLines
from hil.config.loader import load_rig, load_scenario
from hil.config.telemetry import TelemetryConfig
from hil.errors import ConfigError
from hil.loop.cycle import CycleInput, CycleOutput
from hil.rig.base import Rig, RunSettings
from hil.run.perform import perform_run
from hil.run.summary import summarize
from hil.telemetry.connection import client_settings
from hil.telemetry.handoff import HandOff
from hil.telemetry.observer import ObserverSettings, TelemetryObserver
from hil.telemetry.session import RunIdentity, TelemetrySession
from hil.telemetry.snapshots import Snapshot, StatusSnapshot
from hil.telemetry.watch import parse

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"


def rig_file(tmp_path: Path, telemetry: str) -> Path:
    path = tmp_path / "rig.toml"
    path.write_text(SIM_RIG.read_text() + "\n[telemetry]\n" + telemetry)
    return path


def problems(path: Path, overrides: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rig(path, overrides, environ={})
    return caught.value.problems


def test_a_rig_without_telemetry_table_has_none() -> None:
    assert load_rig(SIM_RIG, environ={}).telemetry is None


def test_the_table_with_defaults(tmp_path: Path) -> None:
    rig = load_rig(rig_file(tmp_path, 'broker = "mqtt://10.0.0.5"\n'), environ={})
    assert rig.telemetry is not None
    assert str(rig.telemetry.address) == "mqtt://10.0.0.5:1883"
    assert rig.telemetry_rig_name == "sim"
    tls = TelemetryConfig(broker="mqtts://broker.lab")
    assert str(tls.address) == "mqtts://broker.lab:8883"


def test_a_literal_password_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = rig_file(tmp_path, 'broker = "mqtt://127.0.0.1"\nusername = "hil"\npassword = "x"\n')
    [line] = problems(path)
    assert line.startswith(f"{path}: telemetry: a password in the rig file is refused")
    assert 'password_env = "HIL_MQTT_PASSWORD"' in line


@pytest.mark.parametrize(
    ("telemetry", "key", "words"),
    [
        ('broker = "http://x"\n', "telemetry.broker", "mqtt:// or mqtts://"),
        ('broker = "mqtt://"\n', "telemetry.broker", "names no host"),
        ('broker = "mqtt://h:99999"\n', "telemetry.broker", "not a broker URL"),
        ('broker = "mqtt://h/topic"\n', "telemetry.broker", "no path"),
        ('broker = "mqtt://h"\ntracks_hz = 0.0\n', "telemetry.tracks_hz", "greater than"),
        ('broker = "mqtt://h"\ntracks_hz = nan\n', "telemetry.tracks_hz", "finite"),
        ('broker = "mqtt://h"\nhealth_hz = 1000.0\n', "telemetry.health_hz", "less than"),
        ('broker = "mqtt://h"\nqueue_size = 0\n', "telemetry.queue_size", "greater than"),
        ('broker = "mqtt://h"\nrig_name = "a/b"\n', "telemetry.rig_name", "'/'"),
        ('broker = "mqtt://h"\npassword_env = "P"\n', "telemetry", "set username too"),
        ('broker = "mqtt://h"\nca_file = "ca.pem"\n', "telemetry", "use mqtts://"),
        ('broker = "mqtts://h"\ncert_file = "c.pem"\n', "telemetry", "go together"),
        ('brokr = "mqtt://h"\n', "telemetry.brokr", "allowed here: broker"),
    ],
)
def test_bad_tables_are_one_line_naming_the_key(
    tmp_path: Path, telemetry: str, key: str, words: str
) -> None:
    lines = problems(rig_file(tmp_path, telemetry))
    prefix = f"{tmp_path / 'rig.toml'}: {key}: "
    assert [line for line in lines if line.startswith(prefix) and words in line], lines


def test_a_rig_name_that_cannot_be_a_topic_needs_rig_name(tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    text = SIM_RIG.read_text().replace('name = "sim"', 'name = "bench/1"')
    path.write_text(text + '\n[telemetry]\nbroker = "mqtt://h"\n')
    [line] = problems(path)
    assert "set telemetry.rig_name" in line
    path.write_text(text + '\n[telemetry]\nbroker = "mqtt://h"\nrig_name = "bench-1"\n')
    assert load_rig(path, environ={}).telemetry_rig_name == "bench-1"


def test_missing_tls_files_and_password_variable_are_named() -> None:
    config = TelemetryConfig(broker="mqtts://127.0.0.1", ca_file="/nonexistent/ca.pem")
    with pytest.raises(ConfigError) as caught:
        client_settings(config)
    assert caught.value.problems == [
        "telemetry.ca_file: /nonexistent/ca.pem: file not found; give the path of a PEM file"
    ]
    config = TelemetryConfig(broker="mqtt://127.0.0.1", username="hil", password_env="HIL_PW_X")
    with pytest.raises(ConfigError, match="HIL_PW_X is not set"):
        client_settings(config, environ={})
    assert client_settings(config, environ={"HIL_PW_X": "s3cret"}).password == "s3cret"


def test_hil_run_names_the_rig_file_and_exits_2_for_a_missing_ca_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rig_file(tmp_path, 'broker = "mqtts://127.0.0.1"\nca_file = "/nonexistent/ca.pem"\n')
    code = main(["run", "--rig", str(path), "--scenario", str(SCENARIO), "--no-record"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: telemetry.ca_file: /nonexistent/ca.pem: file not found; "
                   "give the path of a PEM file"]  # fmt: skip


class ThreadWatch:
    """Every thread alive during any cycle of the run."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self.names.update(t.name for t in threading.enumerate())


def test_no_telemetry_configured_starts_nothing() -> None:
    watch = ThreadWatch()
    settings = RunSettings(load_rig(SIM_RIG, environ={}), load_scenario(SCENARIO), SCENARIO, 3.0)
    result = asyncio.run(perform_run(settings, lambda rig: [watch]))
    assert result.telemetry is None and summarize(result)["telemetry"] is None
    assert watch.names and not [n for n in watch.names if "telemetry" in n]


def test_no_telemetry_overrides_the_rig_file(tmp_path: Path) -> None:
    path = rig_file(tmp_path, 'broker = "mqtts://127.0.0.1"\nca_file = "/nonexistent/ca.pem"\n')
    code = main(
        ["run", "--rig", str(path), "--scenario", str(SCENARIO), "--no-record",
         "--duration", "1", "--no-telemetry"]
    )  # fmt: skip
    assert code == 0  # the table (and its missing CA file) was never used


def test_a_full_queue_drops_counts_and_warns_once_without_stopping_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No publisher takes from the hand-off: the loop fills it, then every further snapshot is
    dropped and counted; one warning; the run ends as it would without telemetry."""
    rig = load_rig(SIM_RIG, environ={})
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 20.0, 0, True)
    handoff: HandOff[Snapshot] = HandOff(16)
    status = StatusSnapshot("sim", "starting", "sim", "defended-site", 0, True, 0.0)
    observers: list[TelemetryObserver] = []

    def with_telemetry(built: Rig) -> list[TelemetryObserver]:
        observer = TelemetryObserver(
            handoff,
            status,
            ObserverSettings(50.0, 10.0, (0.0, 0.0, 0.0), 0.5, 0.5),
            built.source.now_s(),
            "mqtt://nowhere:1883",
        )
        observers.append(observer)
        return observers

    with caplog.at_level(logging.WARNING, logger="hil.telemetry"):
        result = asyncio.run(perform_run(settings, with_telemetry))
    plain = asyncio.run(perform_run(settings))
    warnings = [r for r in caplog.records if r.name.startswith("hil.telemetry")]
    assert len(warnings) == 1 and "queue to the publisher is full" in warnings[0].getMessage()
    assert len(handoff) >= 16  # full (statuses are always queued)
    assert handoff.dropped > 20.0 * 50 * 0.9  # most track pictures at 50 Hz over 20 s
    assert result.loop.digest == plain.loop.digest  # telemetry changed no decision
    assert result.loop.engagement.launches == plain.loop.engagement.launches == 2
    assert observers[0].observe_time.count == result.loop.counters.cycles


def test_snapshots_are_copies_the_loop_cannot_change_later() -> None:
    status = StatusSnapshot("r", "running", "sim", "s", 0, False, 0.0)
    assert dataclasses.replace(status, state="ended").payload()["state"] == "ended"
    assert status.payload()["state"] == "running"


def test_a_replay_never_publishes(tmp_path: Path) -> None:
    rig = load_rig(rig_file(tmp_path, 'broker = "mqtt://127.0.0.1"\n'), environ={})
    live = TelemetrySession.for_run(rig, RunIdentity("sim", "s", 0, False))
    assert live is not None and live.rig_name == "sim"
    assert TelemetrySession.for_run(rig, RunIdentity("replay", "s", 0, False)) is None


def test_watch_shows_one_plain_line_per_message_and_keeps_good_tracks() -> None:
    tracks = {"rig": "r", "t_s": 1.0, "count": 1, "tracks": [
        {"id": 3, "position_enu_m": [1, 2, 3], "velocity_enu_mps": [4, 5, 6],
         "range_m": 1234.5, "injected": True}]}  # fmt: skip
    event = {"rig": "r", "seq": 1, "t_s": 2.0, "kind": "link_lost", "track_id": None,
             "reason": "no frame for 0.6 s", "link": "radar", "fault": None}  # fmt: skip
    out = io.StringIO()
    plain = PlainLines(out)
    plain.show(parse("hil/r/tracks", json.dumps(tracks).encode(), False))
    plain.show(parse("hil/r/events", json.dumps(event).encode(), True))
    plain.show(parse("hil/r/tracks", b"\xff not json", False))
    assert out.getvalue().splitlines() == [
        "r tracks: t 1.0 s: 1 tracks #3 1.2 km",
        "r events (retained): t 2.0 s: #1 link_lost radar (no frame for 0.6 s)",
        "r tracks: not JSON: 'utf-8' codec can't decode byte 0xff in position 0: invalid "
        "start byte",
    ]
    view = LiveView()
    view.show(parse("hil/r/tracks", json.dumps(tracks).encode(), False))
    view.show(parse("hil/r/tracks", b"garbage", False))
    shown = view.tracks["r"].payload
    assert shown is not None and shown["count"] == 1
