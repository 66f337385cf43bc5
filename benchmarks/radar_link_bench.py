"""Radar link throughput and cost: the stream decoder in memory, and the driver end to end on a pty.

1. Stream decoder, in memory: frames/s and MB/s for DETECTIONS frames of 0, 8 and 64 detections,
   fed in 4 KiB chunks; framing alone, and framing plus decoding into numpy arrays (what the
   driver does).
2. End to end over a pseudo-terminal: a writer *process* (so its CPU is not counted) writes
   DETECTIONS frames stamped with CLOCK_MONOTONIC into the pty master; the driver reads the slave
   in this process. Reports delivered frames/s, write-to-delivery latency p50/p99 (ms), and the
   driver's CPU use as a share of one core (process CPU time / wall time) at the ICD's nominal
   100 frames/s with 20 detections each — required < 5 % — and flat out.
3. The link's physical limit for the same frames at 921600 and 3000000 baud (8N1: 10 bits/byte).

Usage: python benchmarks/radar_link_bench.py [--seconds S]
Prints a report and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pty
import sys
import time
import tty

import numpy as np

from drivers.radar.driver import RadarDriver
from drivers.radar.framing import StreamDecoder, encode
from drivers.radar.messages import Detections

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 4096
REQUIRED_CPU_SHARE = 0.05


def detections_frame(count: int, seq: int, t_us: int = 0) -> bytes:
    rng = np.random.default_rng(seq)
    message = Detections(
        t_us,
        1,
        1.0,
        0.0,
        rng.uniform(100, 20_000, count),
        rng.uniform(-3, 3, count),
        rng.uniform(0, 1, count),
        rng.uniform(-300, 300, count),
        rng.uniform(10, 40, count),
        np.zeros(count, np.uint16),
    )
    return encode(message, seq)


def decoder_throughput(count: int, frames: int) -> dict[str, float]:
    stream = b"".join(detections_frame(count, seq) for seq in range(frames))
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    results: dict[str, float] = {"detections": count, "frame_bytes": len(stream) / frames}
    for label, parse in (("framing", False), ("framing+decode", True)):
        best = float("inf")
        for _ in range(3):
            decoder = StreamDecoder()
            started = time.perf_counter()
            delivered = 0
            for chunk in chunks:
                for frame in decoder.feed(chunk):
                    if parse:
                        frame.message()
                    delivered += 1
            best = min(best, time.perf_counter() - started)
            assert delivered == frames
        results[f"{label}_frames_per_s"] = frames / best
        results[f"{label}_mb_per_s"] = len(stream) / best / 1e6
    return results


WRITER = r"""
import os, sys, time
sys.path.insert(0, {root!r})
from benchmarks.radar_link_bench import detections_frame
fd, rate, count = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
seconds = float(sys.argv[4])
period = 1.0 / rate if rate > 0 else 0.0
start = time.monotonic()
seq = 0
while time.monotonic() - start < seconds:
    if period:
        target = start + seq * period
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    frame = detections_frame(count, seq & 0xFFFF, time.monotonic_ns() // 1000)
    view = memoryview(frame)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            time.sleep(0.0005)
    seq += 1
"""


async def end_to_end(rate: float, count: int, seconds: float) -> dict[str, float]:
    master, slave = pty.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    latencies: list[float] = []
    async with RadarDriver(path, queue_size=100_000) as radar:
        await radar.wait_up(2.0)
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER.format(root=ROOT),
            str(master),
            str(rate),
            str(count),
            str(seconds),
            pass_fds=(master,),
        )
        try:
            # measured from the first frame to the last: the writer's start-up is not counted
            frame = await radar.receive(10.0)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            wall1, cpu1 = wall0, cpu0
            while True:
                latencies.append(frame.t_rx_host_s - frame.t_device_s)  # type: ignore[operator]
                wall1, cpu1 = time.perf_counter(), time.process_time()
                try:
                    frame = await radar.receive(0.5)
                except TimeoutError:
                    if writer.returncode is not None:
                        break
            wall, cpu = wall1 - wall0, cpu1 - cpu0
        finally:
            await writer.wait()
        health = radar.health()
    os.close(master)
    os.close(slave)
    lat = np.array(latencies) * 1e3
    return {
        "rate_requested": rate,
        "detections": count,
        "frames": len(latencies),
        "frames_per_s": (len(latencies) - 1) / wall,
        "latency_p50_ms": float(np.percentile(lat, 50)),
        "latency_p99_ms": float(np.percentile(lat, 99)),
        "cpu_share": cpu / wall,
        "crc_errors": health.crc_errors,
        "lost_frames": health.lost_frames,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each pty run")
    args = parser.parse_args()

    print("1. stream decoder in memory (4 KiB chunks, best of 3)")
    decoding = [decoder_throughput(n, 20_000 if n < 64 else 5_000) for n in (0, 8, 64)]
    print(
        f"{'dets':>5} {'bytes':>6} {'framing f/s':>12} {'MB/s':>7} {'+decode f/s':>12} {'MB/s':>7}"
    )
    for r in decoding:
        print(
            f"{r['detections']:>5.0f} {r['frame_bytes']:>6.0f} {r['framing_frames_per_s']:>12,.0f}"
            f" {r['framing_mb_per_s']:>7.1f} {r['framing+decode_frames_per_s']:>12,.0f}"
            f" {r['framing+decode_mb_per_s']:>7.1f}"
        )

    print("\n2. driver end to end over a pty (writer in another process)")
    nominal = asyncio.run(end_to_end(100.0, 20, args.seconds))
    flat_out = asyncio.run(end_to_end(0.0, 20, min(args.seconds, 3.0)))
    for label, r in (("nominal 100 f/s", nominal), ("flat out", flat_out)):
        print(
            f"{label:>16}: {r['frames_per_s']:8,.0f} frames/s delivered, latency p50 "
            f"{r['latency_p50_ms']:.3f} ms p99 {r['latency_p99_ms']:.3f} ms, driver CPU "
            f"{100 * r['cpu_share']:.1f} % of a core, crc errors {r['crc_errors']}, "
            f"lost {r['lost_frames']}"
        )

    frame_bytes = len(detections_frame(20, 0))
    limits = {baud: baud / 10 / frame_bytes for baud in (921600, 3000000)}
    print(
        f"\n3. physical limit for {frame_bytes}-byte frames (20 detections): "
        + ", ".join(f"{baud} baud → {fps:,.0f} frames/s" for baud, fps in limits.items())
    )
    passed = nominal["cpu_share"] < REQUIRED_CPU_SHARE and nominal["lost_frames"] == 0
    print(
        f"driver CPU at 100 frames/s x 20 detections: {100 * nominal['cpu_share']:.2f} % "
        f"(required < {100 * REQUIRED_CPU_SHARE:.0f} %): {'PASS' if passed else 'FAIL'}"
    )
    print(
        json.dumps(
            {
                "benchmark": "radar_link_bench",
                "decoder": decoding,
                "pty_nominal": nominal,
                "pty_flat_out": flat_out,
                "physical_limit_frames_per_s": limits,
                "pass": passed,
            }
        )
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
