"""Telemetry figures: the benchmark of issue 13 (telemetry half).

Measured against a mosquitto started here (its own config in a temporary directory, a free
loopback port, ``max_queued_messages 0``, no persistence; killed at the end):

1. **Throughput**: once the publisher is connected (a status message arrived), ``--messages``
   snapshots offered at once to the publisher
   (``hil.telemetry.publisher.Publisher``, as a run uses it) on one topic, at QoS 0 (health
   snapshots) and at QoS 1 (events); a subscriber (QoS 1) in a child process (this file with
   ``--child-subscriber``: an operator's desk is another process) counts what arrives.
   Messages/s = messages received over the time from the first offer to the last arrival.
   Goal ≥ 5,000/s, and 0 lost at QoS 1.
2. **Loop latency with telemetry on vs off**: ``hil.run.perform_run`` on the emulate rig
   (real drivers, real time) over ``--scenario`` (default defended-site) for ``--seconds``,
   ``--runs`` times each way, alternating, after one uncounted warm-up run; telemetry at 10
   track pictures/s and 1 health/s; frame→command latency p99 of the runs' pooled histogram.
   Goal: on within 5 % of off.

Usage (defaults ``--messages 20000 --runs 3 --seconds 8``)::

    .venv/bin/python benchmarks/telemetry_bench.py

Printed: a table, the goals as facts (met or not, never asserted), then one JSON line with
every figure. Exit status 0; 2 with one line for a bad argument or a missing mosquitto.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hil.config.loader import load_rig, load_scenario
from hil.config.telemetry import BrokerAddress, TelemetryConfig
from hil.loop.timing import Histogram
from hil.rig.base import RunSettings
from hil.run.perform import perform_run
from hil.telemetry.connection import ClientSettings
from hil.telemetry.handoff import HandOff
from hil.telemetry.publisher import Publisher
from hil.telemetry.snapshots import EventSnapshot, HealthSnapshot, Snapshot, StatusSnapshot

REPO = Path(__file__).resolve().parents[1]
EMULATE_RIG = REPO / "configs" / "rigs" / "emulate.toml"
SCENARIO = REPO / "configs" / "scenarios" / "defended-site.toml"
WARM_UP_S = 2.0
"""A first emulate run of this many seconds, not counted (imports, caches, the stubs' start)."""
RIG = "bench"
IDLE_S = 10.0
"""The subscriber gives up after this many seconds without a message (s)."""


def mosquitto_executable() -> str:
    found = shutil.which("mosquitto", path=os.pathsep.join([os.environ["PATH"], "/usr/sbin"]))
    if found is None:
        print("error: mosquitto is not installed: apt-get install mosquitto", file=sys.stderr)
        sys.exit(2)
    return found


def start_broker(directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = directory / "mosquitto.conf"
    lines = [
        f"listener {port} 127.0.0.1",
        "allow_anonymous true",
        "persistence false",
        "max_queued_messages 0",
        "log_type error",
        f"log_dest file {directory / 'log'}",
    ]
    if os.geteuid() == 0:
        lines.append("user root")
    config.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen([mosquitto_executable(), "-c", str(config)])
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, port
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise SystemExit("error: mosquitto did not start") from None
            time.sleep(0.02)  # not listening yet: a connect attempt is the only probe


def health(i: int) -> HealthSnapshot:
    return HealthSnapshot(RIG, i * 0.01, i, i, 100.0, 100.0, 0.01, True, True, 0.02, 3, 0, 0)


def event(i: int) -> EventSnapshot:
    return EventSnapshot(RIG, i + 1, i * 0.01, "designated", track_id=i)


def subscriber(port: int, count: int) -> None:
    """The child: subscribe (QoS 1) with paho's own loop (lighter than an asyncio client: the
    subscriber must not be what is measured), say ``ready``, say ``warm`` when the publisher's
    (not retained) status arrives, count the other messages until ``count`` or ``IDLE_S``
    without one; print JSON."""
    state = {"received": 0, "first_s": 0.0, "last_s": 0.0, "subscribed": False}

    def on_subscribe(*_: Any) -> None:
        state["subscribed"] = True
        print("ready", flush=True)

    def on_message(_client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic.endswith("/status"):
            if not message.retain:  # not the last run's, kept by the broker
                print("warm", flush=True)
            return
        now = time.monotonic()
        state["received"] = int(state["received"]) + 1
        state["last_s"] = now
        state["first_s"] = state["first_s"] or now

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{os.getpid()}")
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(f"hil/{RIG}/#", qos=1)
    idle_since = time.monotonic()
    seen = 0
    while int(state["received"]) < count and time.monotonic() - idle_since < IDLE_S:
        client.loop(timeout=0.5)
        if state["received"] != seen:
            seen, idle_since = int(state["received"]), time.monotonic()
    client.disconnect()
    print(json.dumps({k: state[k] for k in ("received", "first_s", "last_s")}), flush=True)


async def throughput(port: int, count: int, make: Callable[[int], Snapshot]) -> dict[str, Any]:
    """``count`` snapshots through a publisher; what a QoS 1 subscriber in a child process
    received, and when (monotonic clock, shared by the processes)."""
    name = make(0).topic
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--child-subscriber", str(port), str(count),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    handoff: HandOff[Snapshot] = HandOff(count + 10)
    snapshots = [make(i) for i in range(count)]
    address = BrokerAddress("mqtt", "127.0.0.1", port)
    publisher = Publisher(ClientSettings(address), RIG, handoff)
    try:
        async with asyncio.timeout(30):
            assert (await child.stdout.readline()).strip() == b"ready"
            handoff.offer(StatusSnapshot(RIG, "running", "sim", "bench", 0, False, time.time()))
            publisher.start()
            assert (await child.stdout.readline()).strip() == b"warm"  # connected
        started = time.monotonic()
        for snapshot in snapshots:
            handoff.offer(snapshot)
        async with asyncio.timeout(300):
            result = json.loads(await child.stdout.readline())
    finally:
        publisher.stop()
        await asyncio.to_thread(publisher.join, 30)
        if child.returncode is None:
            child.kill()
        await child.wait()
    received = int(result["received"])
    seconds = result["last_s"] - started if received else math.nan
    return {
        "topic": name,
        "qos": 1 if name == "events" else 0,
        "offered": count,
        "published": publisher.stats.published[name],
        "received": received,
        "lost": count - received,
        "seconds": round(seconds, 3),
        "messages_per_s": round(received / seconds, 1) if received else None,
    }


async def latency(port: int | None, seconds: float, scenario: Path) -> Histogram:
    rig = load_rig(EMULATE_RIG, environ={})
    if port is not None:
        config = TelemetryConfig(broker=f"mqtt://127.0.0.1:{port}", tracks_hz=10.0)
        rig = rig.model_copy(update={"telemetry": config})
    settings = RunSettings(rig, load_scenario(scenario), scenario, seconds, 1, False)
    result = await perform_run(settings)
    return result.loop.timing.latency


def pooled(histograms: list[Histogram]) -> Histogram:
    total = Histogram()
    for h in histograms:
        total.counts += h.counts
        total.count += h.count
        total.total_s += h.total_s
        total.max_s = max(total.max_s, h.max_s)
        total.min_s = min(total.min_s, h.min_s)
    return total


def positive(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child-subscriber":
        subscriber(int(sys.argv[2]), int(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=positive(int), default=20_000)
    parser.add_argument("--runs", type=positive(int), default=3)
    parser.add_argument("--seconds", type=positive(float), default=8.0)
    parser.add_argument("--scenario", type=Path, default=SCENARIO, metavar="FILE")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    figures: dict[str, Any] = {
        "messages": args.messages,
        "runs": args.runs,
        "seconds": args.seconds,
        "scenario": args.scenario.name,
    }
    with tempfile.TemporaryDirectory() as directory:
        broker, port = start_broker(Path(directory))
        try:
            figures["qos0"] = asyncio.run(throughput(port, args.messages, health))
            figures["qos1"] = asyncio.run(throughput(port, args.messages, event))
            off: list[Histogram] = []
            on: list[Histogram] = []
            asyncio.run(latency(port, WARM_UP_S, args.scenario))
            for _ in range(args.runs):
                off.append(asyncio.run(latency(None, args.seconds, args.scenario)))
                on.append(asyncio.run(latency(port, args.seconds, args.scenario)))
        finally:
            broker.kill()
            broker.wait()
    p99_off = pooled(off).percentile_s(99) or math.nan
    p99_on = pooled(on).percentile_s(99) or math.nan
    figures["latency_p99_off_ms"] = round(p99_off * 1e3, 4)
    figures["latency_p99_on_ms"] = round(p99_on * 1e3, 4)
    figures["latency_p99_change_pct"] = round((p99_on / p99_off - 1) * 100, 2)
    for key, runs in (("off", off), ("on", on)):  # the spread: a loaded machine shows here
        figures[f"latency_p99_runs_{key}_ms"] = [
            round((h.percentile_s(99) or math.nan) * 1e3, 4) for h in runs
        ]
    figures["load_average_1min"] = round(os.getloadavg()[0], 2)
    for key in ("qos0", "qos1"):
        f = figures[key]
        print(f"{key}: {f['received']}/{f['offered']} received in {f['seconds']} s → "
              f"{f['messages_per_s']} messages/s, lost {f['lost']}")  # fmt: skip
    print(f"latency p99 (emulate, {args.scenario.name}, {args.runs}×{args.seconds} s each): "
          f"off {figures['latency_p99_off_ms']} ms, on {figures['latency_p99_on_ms']} ms "
          f"({figures['latency_p99_change_pct']:+} %); per run off "
          f"{figures['latency_p99_runs_off_ms']}, on {figures['latency_p99_runs_on_ms']} ms; "
          f"load average {figures['load_average_1min']}")  # fmt: skip
    q0, q1 = figures["qos0"]["messages_per_s"] or 0, figures["qos1"]["messages_per_s"] or 0
    print(f"goal ≥ 5000 messages/s at QoS 0 and 1: {'met' if min(q0, q1) >= 5000 else 'NOT met'}")
    print(f"goal 0 lost at QoS 1: {'met' if figures['qos1']['lost'] == 0 else 'NOT met'}")
    within = abs(figures["latency_p99_change_pct"]) <= 5
    print(f"goal latency p99 within 5 %: {'met' if within else 'NOT met'}")
    print(json.dumps({"benchmark": "telemetry", **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
