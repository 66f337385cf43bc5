"""Telemetry against a real mosquitto (``tests/mosquitto.py``): every QoS 1 event of a run
arrives exactly as the run produced it and every message fits its docs/ schema; the publisher
never subscribes; its last will marks the rig offline when it dies; a broker killed and
restarted mid-run costs counted drops and telemetry resumes while the loop never waits; a wrong
password is one error line and the run goes on; TLS with a CA of our own."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import aiomqtt
import jsonschema
import pytest
import pytest_asyncio
from conftest import CONFIGS, REPO
from mosquitto import Broker, make_tls_files

from hil.config.loader import load_rig, load_scenario
from hil.config.rig import RigConfig
from hil.config.telemetry import TelemetryConfig
from hil.loop.cycle import CycleInput, CycleOutput, EngagementEvent
from hil.rig.base import RunSettings
from hil.run.perform import perform_run
from hil.run.summary import summarize

SIM_RIG = CONFIGS / "rigs" / "sim.toml"
EMULATE_RIG = CONFIGS / "rigs" / "emulate.toml"
SCENARIO = CONFIGS / "scenarios" / "defended-site.toml"
SCHEMAS = {
    name: json.loads((REPO / "docs" / "telemetry" / f"{name}.schema.json").read_text())
    for name in ("status", "tracks", "health", "interlocks", "events")
}
HIL = [sys.executable, "-m", "hil"]


@pytest_asyncio.fixture(autouse=True)
async def default_executor_shut_down() -> AsyncIterator[None]:
    """aiomqtt connects (and a run joins its publisher) in the test loop's default executor:
    its thread ends with the test, not with the loop's teardown after the leak guard."""
    yield
    await asyncio.get_running_loop().shutdown_default_executor()


class Collector:
    """A subscriber to ``hil/<rig>/#`` (QoS 1) keeping every message: (topic name, payload,
    retained)."""

    def __init__(self, broker: Broker, rig: str, tls: ssl.SSLContext | None = None) -> None:
        self.client = aiomqtt.Client(
            "127.0.0.1", broker.port, identifier=f"test-collector-{os.getpid()}", tls_context=tls
        )
        self.rig = rig
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self._arrived = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        await self.client.__aenter__()
        await self.client.subscribe(f"hil/{self.rig}/#", qos=1)
        self._pump = asyncio.create_task(self._take())
        return self

    async def _take(self) -> None:
        async for message in self.client.messages:
            assert isinstance(message.payload, bytes)
            name = str(message.topic).rsplit("/", 1)[-1]
            self.messages.append((name, json.loads(message.payload), bool(message.retain)))
            self._arrived.set()

    async def wait_for(
        self, wanted: Callable[[str, dict[str, Any]], bool], timeout_s: float = 10.0
    ) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                for name, payload, _ in self.messages:
                    if wanted(name, payload):
                        return payload
                self._arrived.clear()
                await self._arrived.wait()

    def payloads(self, name: str) -> list[dict[str, Any]]:
        return [p for n, p, _ in self.messages if n == name]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        await self.client.__aexit__(exc_type, exc, tb)


def with_telemetry(path: Path, broker: Broker, **keys: Any) -> RigConfig:
    rig = load_rig(path, environ={})
    config = TelemetryConfig(broker=broker.url, **keys)
    return rig.model_copy(update={"telemetry": config})


class EventLog:
    """The run's own engagement events, as the loop produced them."""

    def __init__(self) -> None:
        self.events: list[EngagementEvent] = []
        self.start_s: float | None = None

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self.events.extend(cycle_output.events)


for _schema in SCHEMAS.values():
    jsonschema.Draft202012Validator.check_schema(_schema)
VALIDATORS = {name: jsonschema.Draft202012Validator(schema) for name, schema in SCHEMAS.items()}
"""Each schema checked and compiled once (``jsonschema.validate`` does both on every call)."""


def validate(name: str, payload: dict[str, Any]) -> None:
    VALIDATORS[name].validate(payload)


async def test_every_event_arrives_as_published_and_fits_its_schema(mosquitto: Broker) -> None:
    rig = with_telemetry(SIM_RIG, mosquitto, rig_name="bench-a")
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 20.0, 0, True)
    log = EventLog()
    async with Collector(mosquitto, "bench-a") as collector:
        result = await perform_run(settings, lambda built: [log])
        await collector.wait_for(lambda n, p: n == "status" and p["state"] == "ended")
        summary = summarize(result)["telemetry"]
        published = summary["published"]
        await collector.wait_for(  # QoS 0 may lag behind the final status on the wire
            lambda n, p: len(collector.payloads("tracks")) >= published["tracks"], 5.0
        )
    assert summary["dropped"] == 0 and summary["state"] == "stopped"
    start = result.loop.start_s
    expected = [(e.kind, e.track_id, round(e.t_s - start, 6), e.reason) for e in log.events]
    got = [(p["kind"], p["track_id"], p["t_s"], p["reason"]) for p in collector.payloads("events")]
    assert len(expected) == 6 and got == expected  # designated, fire_requested, launched × 2
    assert [p["seq"] for p in collector.payloads("events")] == list(range(1, 7))
    for name in ("events", "interlocks", "status", "tracks", "health"):
        assert len(collector.payloads(name)) == published[name], name
    for name, payload, _ in collector.messages:
        validate(name, payload)
    assert max(len(p["tracks"]) for p in collector.payloads("tracks")) >= 1
    # the publisher never subscribed; the collector did (so the log would show it)
    broker_log = mosquitto.log_text()
    subscribers = set(re.findall(r"Received SUBSCRIBE from (\S+)", broker_log))
    assert subscribers == {f"test-collector-{os.getpid()}"}
    assert re.search(r"New client connected .* as hil-bench-a-", broker_log)


async def test_the_last_will_marks_the_rig_offline_when_the_publisher_dies(
    mosquitto: Broker,
) -> None:
    command = [*HIL, "run", "--rig", str(SIM_RIG), "--scenario", str(SCENARIO), "--no-record",
               "--duration", "100000", "--telemetry", mosquitto.url]  # fmt: skip
    async with Collector(mosquitto, "sim") as collector:
        child = await asyncio.create_subprocess_exec(
            *command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            await collector.wait_for(lambda n, p: n == "status" and p["state"] == "running", 30)
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
        offline = await collector.wait_for(lambda n, p: n == "status" and p["state"] == "offline")
    validate("status", offline)
    assert offline == {
        "rig": "sim",
        "state": "offline",
        "reason": "the publisher's connection was lost",
    }


async def test_a_broker_killed_and_restarted_mid_run(mosquitto: Broker) -> None:
    """emulate rig, real time: the broker dies 1 s into the loop and is back 1 s later."""
    rig = with_telemetry(EMULATE_RIG, mosquitto, tracks_hz=20.0, health_hz=5.0)
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 5.0, 0, False)
    run = asyncio.create_task(perform_run(settings))
    try:
        async with Collector(mosquitto, "emulate") as collector:
            await collector.wait_for(lambda n, p: n == "health" and p["t_s"] >= 1.0, 30)
        mosquitto.kill()
        await asyncio.sleep(1.0)  # the outage's length, not a wait for a condition
        mosquitto.start()
        async with Collector(mosquitto, "emulate") as collector:
            resumed = await collector.wait_for(lambda n, p: n == "tracks", 10)
            result = await run
            await collector.wait_for(lambda n, p: n == "status" and p["state"] == "ended")
    finally:
        if not run.done():
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
    summary = summarize(result)
    telemetry = summary["telemetry"]
    assert result.loop.duration_s >= 4.9 and not result.loop.stopped_early
    assert telemetry["reconnects"] >= 1 and telemetry["dropped"] > 0
    assert resumed["t_s"] > 1.0  # not retained, broker restarted: published after the restart
    # the loop never waited on the broker: it kept its 100 frames/s through the outage, and
    # the observer's time per cycle stayed that of appending to a queue (generous bound: a
    # loaded machine preempts; waiting on a broker would cost a connect timeout, seconds)
    assert summary["frames"] >= 400, summary["frames"]
    assert telemetry["observe_p99_us"] < 20_000.0, telemetry


def run_cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HIL, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


async def test_a_wrong_password_is_one_line_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = Broker(tmp_path / "broker", passwords={"hil": "right"})
    broker.start()
    try:
        rig = tmp_path / "rig.toml"
        rig.write_text(
            SIM_RIG.read_text()
            + f'\n[telemetry]\nbroker = "{broker.url}"\nusername = "hil"\n'
            + 'password_env = "HIL_TEST_MQTT_PASSWORD"\n'
        )
        args = ["run", "--rig", str(rig), "--scenario", str(SCENARIO), "--no-record",
                "--duration", "2", "--json"]  # fmt: skip
        wrong = await asyncio.to_thread(run_cli, args, {"HIL_TEST_MQTT_PASSWORD": "wrong"})
        monkeypatch.setenv("HIL_TEST_MQTT_PASSWORD", "right")
        settings = RunSettings(load_rig(rig, environ={}), load_scenario(SCENARIO), SCENARIO, 2.0)
        right = summarize(await perform_run(settings))
    finally:
        broker.kill()
    assert wrong.returncode == 0, wrong.stderr
    lines = wrong.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: telemetry: broker {broker.url} as user 'hil' refused")
    assert "telemetry.password_env" in lines[0]
    summary = json.loads(wrong.stdout.strip().splitlines()[-1])
    assert summary["telemetry"]["state"] == "refused" and summary["frames"] >= 190
    # what the run offered once telemetry was off is dropped, and not for a full queue
    refused = summary["telemetry"]
    assert refused["dropped_queue_full"] == 0, refused
    assert refused["dropped"] == refused["dropped_disconnected"] > 0, refused
    published = right["telemetry"]["published"]
    assert right["telemetry"]["state"] == "stopped"
    assert published["status"] >= 2 and published["tracks"] >= 10


async def test_tls_with_our_own_ca(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    broker = Broker(tmp_path / "broker", tls=tls)
    broker.start()
    try:
        rig = with_telemetry(SIM_RIG, broker, ca_file=str(tls.ca_file))
        settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 5.0)
        context = ssl.create_default_context(cafile=str(tls.ca_file))
        async with Collector(broker, "sim", tls=context) as collector:
            result = await perform_run(settings)
            await collector.wait_for(lambda n, p: n == "status" and p["state"] == "ended")
        untrusted = with_telemetry(SIM_RIG, broker)  # the system's CAs do not know ours
        refused = summarize(await perform_run(RunSettings(untrusted, *settings_tail(settings))))
    finally:
        broker.kill()
    assert summarize(result)["telemetry"]["published"]["tracks"] >= 20
    assert refused["telemetry"]["published"]["tracks"] == 0
    assert refused["telemetry"]["state"] == "refused"
    assert "CERTIFICATE_VERIFY_FAILED" in refused["telemetry"]["error"]


def settings_tail(settings: RunSettings) -> tuple[Any, ...]:
    return (settings.scenario, settings.scenario_file, settings.duration_s)


async def test_watch_prints_one_json_line_per_message(mosquitto: Broker) -> None:
    rig = with_telemetry(SIM_RIG, mosquitto)
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 5.0)
    watch = await asyncio.create_subprocess_exec(
        *HIL, "telemetry", "watch", "--broker", mosquitto.url, "--rig", "sim", "--json",
        "--seconds", "60", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert watch.stdout is not None
    try:
        async with asyncio.timeout(30):
            first = json.loads(await watch.stdout.readline())
            assert first["name"] == "connection"
            # subscribed once the first message of a run arrives; start it after that
            async with Collector(mosquitto, "sim") as collector:
                result = await perform_run(settings)
                await collector.wait_for(lambda n, p: n == "status" and p["state"] == "ended")
            lines = []
            while not lines or lines[-1]["payload"].get("state") != "ended":
                lines.append(json.loads(await watch.stdout.readline()))
    finally:
        watch.send_signal(signal.SIGINT)
        await watch.communicate()
    names = [line["name"] for line in lines]
    published = summarize(result)["telemetry"]["published"]
    assert names.count("events") == published["events"]
    assert names.count("status") >= 2
    for line in lines:
        assert line["topic"] == f"hil/sim/{line['name']}"
        validate(line["name"], line["payload"])


class LastCycle:
    """When (monotonic s) the loop's last cycle was observed."""

    def __init__(self) -> None:
        self.at_s = 0.0

    def observe(self, cycle_input: CycleInput, cycle_output: CycleOutput) -> None:
        self.at_s = time.monotonic()


async def test_a_stalled_broker_costs_a_short_flush_one_warning_and_true_counters(
    mosquitto: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """emulate rig, real time: the broker is SIGSTOPped 1 s into the loop and stays stopped
    past the run's end. The connection stays up (the kernel takes the bytes) and nothing is
    acknowledged: the end waits at most FLUSH_S for the final flush, what was not delivered is
    counted and said in one warning, and what the summary calls published did arrive."""
    assert mosquitto.process is not None
    rig = with_telemetry(EMULATE_RIG, mosquitto)
    settings = RunSettings(rig, load_scenario(SCENARIO), SCENARIO, 3.0, 0, False)
    last = LastCycle()
    caplog.set_level(logging.WARNING, logger="hil")
    async with Collector(mosquitto, "emulate") as collector:
        run = asyncio.create_task(perform_run(settings, lambda built: [last]))
        try:
            await collector.wait_for(lambda n, p: n == "health" and p["t_s"] >= 1.0, 30)
            mosquitto.process.send_signal(signal.SIGSTOP)
            try:
                result = await run
                ended_s = time.monotonic()
            finally:
                mosquitto.process.send_signal(signal.SIGCONT)
            # what the kernel had taken reaches the collector once the broker runs again
            await collector.wait_for(lambda n, p: n == "status" and p["state"] == "ended")
        finally:
            if not run.done():
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
    telemetry = summarize(result)["telemetry"]
    assert not result.loop.stopped_early
    # the end waited for the flush (FLUSH_S, 1 s), not 5 s; the rest is the emulators' stop,
    # which took 2.1 s at a load of 10 on 2 cores (3.0 failed once there)
    assert ended_s - last.at_s < 4.5, ended_s - last.at_s
    assert telemetry["dropped"] >= 1 and telemetry["dropped_queue_full"] == 0, telemetry
    assert telemetry["state"] == "stopped", telemetry
    # telemetry's warnings: on a loaded machine the emulated links may have their own to say
    # (a PLC status late by 0.6 s), which are not this test's subject
    warnings = [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name.startswith("hil.telemetry")
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    dropped = telemetry["dropped"]
    said = f": {dropped} message{'' if dropped == 1 else 's'} not delivered: "
    assert said in warnings[0].getMessage()
    # true counters: everything called published arrived, and nothing arrived uncounted
    published = telemetry["published"]
    for name in published:
        assert len(collector.payloads(name)) >= published[name], name
    assert len(collector.messages) <= sum(published.values()) + telemetry["dropped"]


def test_a_broker_port_taken_before_mosquitto_binds_it_is_traded_for_another(
    tmp_path: Path,
) -> None:
    """``tests/mosquitto.py``: a port picked free can be taken before mosquitto binds it (other
    test processes pick ports too); the first start then moves to another free port, and is
    ready only once mosquitto itself listens — never on the process that took the port."""
    broker = Broker(tmp_path / "broker")
    with socket.socket() as taker:
        taker.bind(("127.0.0.1", 0))
        taker.listen()
        broker.port = taker.getsockname()[1]
        broker.start()
        try:
            assert broker.port != taker.getsockname()[1]
            assert broker.url == f"mqtt://127.0.0.1:{broker.port}"
            assert "Address already in use" in broker.log_text()
            with socket.create_connection(("127.0.0.1", broker.port), timeout=5.0):
                pass
        finally:
            broker.kill()
