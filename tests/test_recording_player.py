"""Pacing recorded messages with an injected clock: recorded speed, ×N, as fast as possible,
--from/--to and single steps, all instant (ManualClock never sleeps)."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from hil.recording.channels import binary_channel
from hil.recording.player import ManualClock, MonotonicClock, Player, window_ns
from hil.recording.reader import RecordedMessage, Recording
from hil.recording.writer import Recorder

T0_NS = 1_790_000_000 * 10**9
# recorded at 0, 0.1, 0.25, 1.0 and 3.0 s
OFFSETS_S = (0.0, 0.1, 0.25, 1.0, 3.0)


def recorded() -> list[RecordedMessage]:
    return [
        RecordedMessage("/cycle", T0_NS + round(s * 1e9), struct.pack("<Q", n), "hil.cycle.v1")
        for n, s in enumerate(OFFSETS_S)
    ]


async def play(player: Player) -> list[RecordedMessage]:
    return [message async for message in player]


async def test_rate_one_waits_until_each_recorded_moment() -> None:
    clock = ManualClock(start_s=100.0)
    played = await play(Player(recorded(), clock, rate=1.0))
    assert played == recorded()
    assert clock.waits == pytest.approx([100.0 + s for s in OFFSETS_S])


async def test_rate_ten_plays_ten_times_faster() -> None:
    clock = ManualClock(start_s=5.0)
    await play(Player(recorded(), clock, rate=10.0))
    assert clock.waits == pytest.approx([5.0 + s / 10 for s in OFFSETS_S])


async def test_max_rate_never_waits() -> None:
    clock = ManualClock()
    assert await play(Player(recorded(), clock, rate=None)) == recorded()
    assert clock.waits == []


async def test_a_slow_consumer_makes_playback_late_not_lossy() -> None:
    clock = ManualClock()
    player = Player(recorded(), clock, rate=1.0)
    played = []
    async for message in player:
        played.append(message)
        clock.advance(0.5)  # each message takes the consumer half a second
    assert played == recorded()
    # due 0.0 at 0.0; due 0.1 at 0.5; due 0.25 at 1.0 (0.75 late); due 1.0 at 1.5; 3.0 on time
    assert player.late_s == pytest.approx(0.75)


async def test_single_step_waits_for_each_step_and_restarts_timing() -> None:
    clock = ManualClock()
    steps: asyncio.Queue[None] = asyncio.Queue()
    stepped: list[int] = []

    async def step(message: RecordedMessage) -> None:
        await steps.get()
        stepped.append(struct.unpack("<Q", message.payload)[0])

    player = Player(recorded(), clock, rate=1.0, step=step)
    played: list[RecordedMessage] = []
    arrived: asyncio.Queue[None] = asyncio.Queue()

    async def consume() -> None:
        async for message in player:
            played.append(message)
            arrived.put_nowait(None)

    async with asyncio.TaskGroup() as group:
        group.create_task(consume())
        for expected in range(len(OFFSETS_S)):
            for _ in range(5):  # every chance to run ahead: without a step nothing comes out
                await asyncio.sleep(0)
            assert len(played) == expected
            clock.advance(60.0)  # the operator takes a minute between steps
            steps.put_nowait(None)
            await arrived.get()
    assert stepped == list(range(len(OFFSETS_S)))
    assert played == recorded()
    assert player.late_s == 0.0  # each step re-anchors timing: a pause is not lateness


def test_from_to_select_a_window_of_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "run.mcap"
    with Recorder(path, [binary_channel("/cycle", "hil.cycle.v1")]) as recorder:
        for message in recorded():
            recorder.record(message.topic, message.log_time_ns, message.payload)
    start_ns, end_ns = window_ns(T0_NS, 0.1, 1.0)
    clock = ManualClock()
    with Recording(path) as recording:
        messages = recording.messages(None, start_ns, end_ns)
        played = asyncio.run(play(Player(messages, clock, rate=2.0)))
    assert [struct.unpack("<Q", m.payload)[0] for m in played] == [1, 2]  # 0.1 ≤ t < 1.0
    assert clock.waits == pytest.approx([0.0, 0.075])  # from the window's first message, ×2


def test_window_and_rate_refuse_nonsense() -> None:
    assert window_ns(T0_NS, None, None) == (None, None)
    with pytest.raises(ValueError, match=r"--to 1\.0 s comes before --from 2\.0 s"):
        window_ns(T0_NS, 2.0, 1.0)
    with pytest.raises(ValueError, match="--from nan"):
        window_ns(T0_NS, float("nan"), None)
    for rate in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="rate"):
            Player([], ManualClock(), rate=rate)


async def test_monotonic_clock_waits_until_the_moment() -> None:
    clock = MonotonicClock()
    due = clock.now_s() + 0.02
    await clock.wait_until(due)
    assert clock.now_s() >= due
