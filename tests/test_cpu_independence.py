"""The loop's bits do not depend on which x86-64 CPU it runs on.

A recording replays bit for bit on any machine, and CI's golden-recording test is green or red
for the software, not for the CPU the job lands on. numpy and its bundled OpenBLAS choose their
machine code at run time: the BLAS kernels behind ``@``, ``einsum`` and ``linalg`` (Haswell,
SkylakeX, Zen …) sum in different orders, and on AVX-512 machines numpy's ``sin``, ``cos``,
``exp``, ``arctan2`` … are SVML's, not the C library's, and differ from them in the last bits.
Before the compiled kernels (issue 24) a sim run's digest changed with ``OPENBLAS_CORETYPE``
alone, and the golden recording made on an AVX-512 machine failed ``--verify`` on an AVX2 one.

Each run below is made twice in child processes: on this CPU's own dispatch, and with numpy held
to its x86-64-v2 baseline and OpenBLAS to its Nehalem (SSE) kernels — the oldest code paths
either has. On an AVX-512 machine this compares AVX-512 with SSE; here, whatever it has.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS

DATA = Path(__file__).parent / "data"
OLDEST_CODE_PATHS = {
    "NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",
    "OPENBLAS_CORETYPE": "Nehalem",
}
"""numpy at its baseline SIMD (x86-64-v2: no AVX2, no AVX-512, so no SVML) and OpenBLAS on its
SSE kernels."""

SIM_RUNS = {
    # the golden recording's run: one real and two injected targets, armed, CV tracker
    "defended-site": ("defended-site.toml", 12.0, 3, ()),
    # a hundred targets on the IMM tracker (coordinated turns): clusters, engagements, a launch
    "raid-100-imm": ("raid-100.toml", 12.0, 5, ("--set", "tracker.motion=imm")),
}


def hil_json(args: list[str], env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "hil", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("run", sorted(SIM_RUNS))
def test_a_sim_run_has_the_same_digest_on_the_oldest_and_the_newest_code_paths(run: str) -> None:
    scenario, duration_s, seed, extra = SIM_RUNS[run]
    args = [
        "run",
        "--rig",
        str(CONFIGS / "rigs" / "sim.toml"),
        "--scenario",
        str(CONFIGS / "scenarios" / scenario),
        "--duration",
        str(duration_s),
        "--seed",
        str(seed),
        "--arm",
        "--no-record",
        "--quiet",
        *extra,
    ]
    here = hil_json(args, {})
    oldest = hil_json(args, OLDEST_CODE_PATHS)
    assert here["digest"] == oldest["digest"]
    assert here["tracks_confirmed"] == oldest["tracks_confirmed"]


def test_the_golden_recording_verifies_on_the_oldest_code_paths() -> None:
    verified = subprocess.run(
        [sys.executable, "-m", "hil", "replay", str(DATA / "golden-sim.mcap"), "--verify"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **OLDEST_CODE_PATHS},
    )
    assert verified.returncode == 0, verified.stderr
