"""How long ``make test`` takes: the figure of issue 22 (goal: under 8 minutes on a 2-core machine).

By default it clones this checkout's HEAD into a temporary folder (a *clean clone*: no ``.venv``,
no caches) and runs ``make test`` there, as a new user and CI do, so the figure includes making
the venv and installing everything. Each of make's steps is timed on its own, in the order
``make test`` runs them: the install (``make .venv/.installed``), ``make lint``, ``make
typecheck`` and ``make pytest``. Per step: wall time and the CPU time of everything it ran
(``getrusage(RUSAGE_CHILDREN)``: user + system of every process it waited for), and for the
suite how many tests passed, failed and were skipped and its 15 slowest tests as pytest printed
them. The machine's load average before and after is printed beside them: a busy machine makes
every figure longer.

Usage::

    .venv/bin/python benchmarks/suite_bench.py                  # a clean clone of HEAD
    .venv/bin/python benchmarks/suite_bench.py --here           # this checkout as it is
    .venv/bin/python benchmarks/suite_bench.py --here --steps pytest \\
        --pytest-args tests/test_suite_distribution.py          # the smoke test's size

``--pytest-args`` replaces the suite's test selection (make's ``PYTEST_ARGS``). Printed: a table,
the goal as a fact (met or not, never asserted), then one JSON line with every figure. Exit
status 0, even when a step failed (its exit status is a figure); 2 with one line for a bad
argument.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 8 * 60.0
"""Issue 22: the whole ``make test`` under 8 minutes on this 2-core machine."""
STEPS = ("install", "lint", "typecheck", "pytest")
TARGETS = {"install": ".venv/.installed", "lint": "lint", "typecheck": "typecheck",
           "pytest": "pytest"}  # fmt: skip
SUMMARY = re.compile(r"=+ (?P<body>.*?) in (?P<seconds>[\d.]+)s")
COUNT = re.compile(r"(?P<n>\d+) (?P<what>passed|failed|skipped|errors?|xfailed|xpassed)")


@dataclass
class Step:
    """One make target: wall time (s), CPU time of what it ran (s), exit status."""

    name: str
    wall_s: float
    cpu_s: float
    status: int
    counts: dict[str, int] = field(default_factory=dict)
    slowest: list[str] = field(default_factory=list)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_step(name: str, folder: Path, pytest_args: str | None) -> Step:
    command = ["make", "--no-print-directory", TARGETS[name]]
    if pytest_args is not None and name == "pytest":
        command.append(f"PYTEST_ARGS={pytest_args}")
    cpu_before, started = children_cpu_s(), time.monotonic()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    step = Step(name, time.monotonic() - started, children_cpu_s() - cpu_before, done.returncode)
    if name == "pytest":
        step.counts, step.slowest = suite_figures(done.stdout)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
        print(f"make {TARGETS[name]} exited {done.returncode}:", *tail, sep="\n  ", file=sys.stderr)
    return step


def suite_figures(out: str) -> tuple[dict[str, int], list[str]]:
    """Counts from pytest's last summary line, and the lines of its slowest-durations table."""
    counts: dict[str, int] = {}
    summaries = [m for m in SUMMARY.finditer(out)]
    if summaries:
        for match in COUNT.finditer(summaries[-1].group("body")):
            counts[match.group("what")] = int(match.group("n"))
    lines = out.splitlines()
    slowest: list[str] = []
    for index, line in enumerate(lines):
        if "slowest" in line and "durations" in line:
            slowest = [t.strip() for t in lines[index + 1 :] if re.match(r"^\d+\.\d+s ", t)][:15]
    return counts, slowest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--here", action="store_true", help="this checkout, not a clean clone")
    parser.add_argument(
        "--steps",
        default=",".join(STEPS),
        help=f"comma-separated, of {', '.join(STEPS)} (default: all, make test's order)",
    )
    parser.add_argument("--pytest-args", default=None, help="the suite's selection instead")
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        print(f"error: --steps {args.steps}: each one of {', '.join(STEPS)}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hil-suite-bench-") as temp:
        folder = ROOT
        if not args.here:
            folder = Path(temp) / "clone"
            subprocess.run(["git", "clone", "-q", str(ROOT), str(folder)], check=True)
        try:
            results = [run_step(name, folder, args.pytest_args) for name in steps]
        finally:
            if not args.here:
                shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    total_wall = sum(s.wall_s for s in results)
    whole = steps == list(STEPS) and args.pytest_args is None
    print(f"{'step':10} {'wall s':>8} {'CPU s':>8} status")
    for s in results:
        print(f"{s.name:10} {s.wall_s:8.1f} {s.cpu_s:8.1f} {s.status}")
    print(f"{'total':10} {total_wall:8.1f} {sum(s.cpu_s for s in results):8.1f}")
    suite = next((s for s in results if s.name == "pytest"), None)
    if suite is not None:
        print("pytest:", ", ".join(f"{n} {what}" for what, n in suite.counts.items()))
        print("slowest:", *suite.slowest, sep="\n  ")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    if whole:
        verdict = "met" if total_wall < GOAL_S else "not met"
        print(f"goal: make test under {GOAL_S / 60:g} min on a clean clone: {verdict} "
              f"({total_wall / 60:.1f} min)")  # fmt: skip
    print(
        json.dumps(
            {
                "clean_clone": not args.here,
                "steps": [asdict(s) for s in results],
                "total_wall_s": round(total_wall, 1),
                "cpus": os.cpu_count(),
                "load_before": load_before[0],
                "load_after": load_after[0],
                "goal_s": GOAL_S if whole else None,
                "goal_met": (total_wall < GOAL_S) if whole else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
