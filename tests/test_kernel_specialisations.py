"""A run calls only the compiled kernels' specialisations that were compiled before it began.

numba compiles one specialisation per argument layout: a kernel that meets a new one inside the
loop compiles it there — seconds on an empty cache, with the radar and PLC links waiting (a fresh
install's first ``hil run`` lost its radar link that way, the emulated radar's row-major truth
against the sim's column-major one). ``python -m hil.cli.warm``, the tracker's ``prime`` and
the sensor's and the engagement's constructors compile what the loop will call; this holds them
to it over CV and IMM tracking, the fire-control screen and both sensor callers.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import CONFIGS

COUNT_SPECIALISATIONS = f"""
import json, sys
from numba.core.registry import CPUDispatcher
from hil.cli.warm import warm
import hil.fire_control.screen, hil.tracking.initiation, hil.tracking.kernels
import hil.tracking.maintenance, sim._compiled
from hil.cli import main
from hil.config.loader import load_scenario
from hil.rig.emulators import build_radar_firmware

MODULES = (hil.tracking.kernels, hil.tracking.initiation, hil.tracking.maintenance,
           hil.fire_control.screen, sim._compiled)

def specialisations():
    return {{f"{{m.__name__}}.{{name}}": len(o.signatures) for m in MODULES
            for name, o in vars(m).items() if isinstance(o, CPUDispatcher)}}

warm()
scenarios = "{CONFIGS / "scenarios"}"
build_radar_firmware(load_scenario(scenarios + "/defended-site.toml"), 0, 20.0)
before = specialisations()
for scenario, extra in (("defended-site", []), ("raid-100", ["--set", "tracker.motion=imm"])):
    try:
        main(["run", "--rig", "{CONFIGS / "rigs" / "sim.toml"}", "--scenario",
              f"{{scenarios}}/{{scenario}}.toml", "--duration", "4", "--seed", "2", "--arm",
              "--no-record", "--quiet", *extra])
    except SystemExit as end:
        assert end.code == 0, end.code
firmware = build_radar_firmware(load_scenario(scenarios + "/defended-site.toml"), 0, 20.0)
for t_us in range(0, 2_000_000, 50_000):  # the emulated radar's dwells: row-major truth
    firmware.tick(t_us)
print(json.dumps({{"before": before, "after": specialisations()}}))
"""


def test_runs_call_only_specialisations_compiled_before_the_loop() -> None:
    done = subprocess.run(
        [sys.executable, "-c", COUNT_SPECIALISATIONS],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = counts["before"], counts["after"]
    assert before, "no compiled kernels found"
    compiled_late = {
        name: (before.get(name, 0), n) for name, n in after.items() if n != before.get(name, 0)
    }
    assert not compiled_late, compiled_late
