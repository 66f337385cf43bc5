"""PLC control-cycle cost: the driver against raw pymodbus, same requests, same emulator.

One control cycle = read the full state (FC 04 input registers 0-19 and FC 02 discrete inputs
0-7) + write a float32 azimuth/elevation setpoint pair (FC 16, 4 registers), over loopback
Modbus TCP against `hil stub plc` running in another process. The driver also runs its 10 Hz
heartbeat meanwhile, as it always does. Requirements: the driver adds at most 20 % to the raw
cycle time and sustains at least 200 cycles/s.

Usage: python benchmarks/plc_bench.py [--seconds S] [--rounds N]
Prints a report and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable

import numpy as np
from pymodbus.client import AsyncModbusTcpClient

from drivers.plc.driver import PlcDriver, PlcEndpoint
from drivers.plc.register_map import load_register_map

MAX_OVERHEAD = 0.20
MIN_CYCLES_PER_S = 200.0


async def measure(cycle: Callable[[int], Awaitable[None]], seconds: float) -> dict[str, float]:
    for i in range(50):  # warm-up
        await cycle(i)
    durations = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        started = time.perf_counter()
        await cycle(i)
        durations.append(time.perf_counter() - started)
        i += 1
    cycle_ms = np.array(durations) * 1e3
    return {
        "cycles": len(durations),
        "cycles_per_s": len(durations) / float(np.sum(durations)),
        "p50_ms": float(np.percentile(cycle_ms, 50)),
        "p99_ms": float(np.percentile(cycle_ms, 99)),
        "mean_ms": float(cycle_ms.mean()),
    }


def setpoint(i: int) -> tuple[float, float]:
    return 1.0 + 0.001 * (i % 100), 0.3


async def raw_pymodbus(endpoint: PlcEndpoint, seconds: float) -> dict[str, float]:
    register_map = load_register_map()
    az_spec, el_spec = register_map["AZ_SETPOINT"], register_map["EL_SETPOINT"]
    client = AsyncModbusTcpClient(endpoint.host, port=endpoint.port, timeout=1.0, retries=0)
    assert await client.connect()

    async def cycle(i: int) -> None:
        registers = await client.read_input_registers(0, count=20, device_id=1)
        bits = await client.read_discrete_inputs(0, count=8, device_id=1)
        az, el = setpoint(i)
        written = await client.write_registers(
            0, az_spec.to_words(az) + el_spec.to_words(el), device_id=1
        )
        assert not (registers.isError() or bits.isError() or written.isError())

    try:
        return await measure(cycle, seconds)
    finally:
        client.close()


async def driver(endpoint: PlcEndpoint, seconds: float) -> dict[str, float]:
    async with PlcDriver(endpoint, timeout_s=1.0) as plc:
        await plc.wait_up(5.0)

        async def cycle(i: int) -> None:
            await plc.read_status()
            await plc.point(*setpoint(i))

        result = await measure(cycle, seconds)
        health = plc.health()
        result["heartbeats"] = health.heartbeats
        result["timeouts"] = health.timeouts
        return result


async def main_async(seconds: float, rounds: int) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hil",
        "stub",
        "plc",
        "--tcp",
        "127.0.0.1:0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = (await process.stdout.readline()).decode().split()
        endpoint = PlcEndpoint.parse(line[1])
        raws, drivers = [], []
        for _ in range(rounds):  # interleaved, so drift in machine load hits both alike
            raws.append(await raw_pymodbus(endpoint, seconds))
            drivers.append(await driver(endpoint, seconds))
    finally:
        process.terminate()
        await process.wait()
    raw = min(raws, key=lambda r: r["mean_ms"])
    drv = min(drivers, key=lambda r: r["mean_ms"])
    overhead = drv["mean_ms"] / raw["mean_ms"] - 1.0
    print(
        f"PLC control cycle (FC 04 + FC 02 + FC 16 float32 pair), loopback TCP, emulator in "
        f"another process; best of {rounds} x {seconds:g} s"
    )
    for label, r in (("raw pymodbus", raw), ("driver", drv)):
        print(
            f"{label:>13}: {r['cycles_per_s']:8.0f} cycles/s  p50 {r['p50_ms']:.3f} ms  "
            f"p99 {r['p99_ms']:.3f} ms  mean {r['mean_ms']:.3f} ms"
        )
    passed = overhead <= MAX_OVERHEAD and drv["cycles_per_s"] >= MIN_CYCLES_PER_S
    print(
        f"driver overhead {100 * overhead:+.1f} % (allowed ≤ {100 * MAX_OVERHEAD:.0f} %), "
        f"{drv['cycles_per_s']:.0f} cycles/s (required ≥ {MIN_CYCLES_PER_S:.0f}): "
        f"{'PASS' if passed else 'FAIL'}"
    )
    print(
        json.dumps(
            {
                "benchmark": "plc_bench",
                "raw_pymodbus": raw,
                "driver": drv,
                "overhead": overhead,
                "pass": passed,
                "raw_rounds": raws,
                "driver_rounds": drivers,
            }
        )
    )
    return 0 if passed and math.isfinite(overhead) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    return asyncio.run(main_async(args.seconds, args.rounds))


if __name__ == "__main__":
    sys.exit(main())
