"""How `hil run` behaves when devices fail or the operator stops it: the figures of issue 9.

Each case runs ``hil run`` (emulated rig, armed, one injected target) as a child process in its
own process group, like a terminal job, injects one fault once both emulators are up and the run
has had ``--settle`` seconds, and measures:

- ``baseline``: no fault — the frame-to-command latency to compare the others with;
- ``plc-sigstop``: the emulated PLC stopped (SIGSTOP) for 2 s, then continued;
- ``plc-killed`` / ``radar-killed``: the emulator SIGKILLed mid-run;
- ``ctrl-c``: SIGINT to the whole process group (a terminal's Ctrl-C);
- ``kill-9``: SIGKILL of ``hil run`` itself: how long its emulators outlive it.

Printed: a table, then one JSON line with every figure. To compare with an earlier release, run
this file from a checkout of it (``git worktree add``) with this venv's python. Usage:
``.venv/bin/python benchmarks/fault_bench.py [--duration S] [--settle S] [--cases A,B]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "tests" / "data" / "scenarios" / "one-injected.toml"
CASES = ("baseline", "plc-sigstop", "plc-killed", "radar-killed", "ctrl-c", "kill-9")


def start_run(duration_s: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hil", "run", "--scenario", str(SCENARIO),
         "--duration", str(duration_s), "--seed", "5", "--arm", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        start_new_session=True,
    )  # fmt: skip


def stubs_of(run: subprocess.Popen[str]) -> dict[str, psutil.Process]:
    """The run's two emulators, once both are up (polled: they are the run's children)."""
    parent = psutil.Process(run.pid)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = {}
        for child in parent.children():
            with_args = child.cmdline()
            if "stub" in with_args:
                found["plc" if "plc" in with_args else "radar"] = child
        if len(found) == 2:
            return found
        time.sleep(0.05)
    raise RuntimeError("the emulators did not start within 30 s")


def alive(process: psutil.Process) -> bool:
    """Running and not merely a zombie waiting for PID 1 to reap it (an exited orphan)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def one_case(case: str, duration_s: float, settle_s: float) -> dict[str, Any]:
    tmp_before = set(Path(tempfile.gettempdir()).glob("hil-*"))
    run = start_run(duration_s)
    figures: dict[str, Any] = {"case": case}
    try:
        stubs = stubs_of(run)
        time.sleep(settle_s)  # the fault lands mid-run, after tracks have formed
        faulted = time.monotonic()
        if case == "plc-sigstop":
            stubs["plc"].suspend()
            time.sleep(2.0)
            stubs["plc"].resume()
        elif case in ("plc-killed", "radar-killed"):
            stubs[case.split("-")[0]].kill()
        elif case == "ctrl-c":
            os.killpg(run.pid, signal.SIGINT)
        elif case == "kill-9":
            run.kill()
            left = list(stubs.values())
            while left and time.monotonic() - faulted < 10:
                left = [p for p in left if alive(p)]
                time.sleep(0.005)  # polling strangers' processes: there is nothing to await
            figures["emulators_outlived_run_s"] = round(time.monotonic() - faulted, 3)
            figures["emulators_left"] = len(left)
        out, err = run.communicate(timeout=duration_s + 60)
        figures["exit_code"] = run.returncode
        figures["run_end_after_fault_s"] = round(time.monotonic() - faulted, 2)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    figures["temp_dirs_left"] = len(set(Path(tempfile.gettempdir()).glob("hil-*")) - tmp_before)
    if case == "kill-9":
        return figures
    lines = err.splitlines()
    figures["stderr_lines"] = len(lines)
    figures["pymodbus_dumps"] = sum(">>>>>" in line for line in lines)
    summary = json.loads(out.strip().splitlines()[-1])
    for key in ("latency_p50_ms", "latency_p99_ms", "latency_max_ms", "rig_final_state",
                "devices_lost", "launches", "stopped_early"):  # fmt: skip
        figures[key] = summary.get(key)
    # .get: the script also measures releases from before the summary carried link health
    plc_link = summary.get("links", {}).get("plc", {})
    plc = plc_link.get("driver", {})
    figures["plc_late_answers"] = plc.get("late_answers")
    figures["plc_timeouts"] = plc.get("timeouts")
    figures["plc_reconnects"] = plc.get("reconnects")
    figures["fire_dropped"] = plc_link.get("commands", {}).get("fire_dropped")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="run length (s)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before the fault")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    results = [one_case(c, args.duration, args.settle) for c in args.cases.split(",")]
    columns = ("case", "exit_code", "rig_final_state", "latency_p99_ms", "latency_max_ms",
               "stderr_lines", "pymodbus_dumps", "devices_lost", "run_end_after_fault_s",
               "emulators_outlived_run_s", "temp_dirs_left")  # fmt: skip
    print(" | ".join(columns))
    for r in results:
        print(" | ".join(str(r.get(c, "")) for c in columns))
    print(json.dumps({"benchmark": "fault_bench", "results": results}))


if __name__ == "__main__":
    main()
