"""``hil campaign run --executor local-dask[:N] | dask://HOST:PORT`` (issue 13): the same results
as the process pool, a worker killed mid-run retried elsewhere (and bounded retries), Ctrl-C
keeping finished runs, an unreachable scheduler and a bad ``--executor`` as one line, exit 2.

Every cluster runs in child processes (the campaign's own ``LocalCluster``, or ``dask scheduler``
and ``dask worker`` started here), so nothing of Dask outlives a test; the worker's temporary
folder is the test's (``TMPDIR``), checked empty afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
from cli_support import hil
from conftest import CONFIGS, DATA
from test_campaign_run import results_of, sim_case, write_campaign

from hil.campaign.executor.base import ExecutorSpec, parse_executor
from hil.campaign.executor.dask_worker import TEMP_PREFIX
from hil.campaign.software import differences, identity

DEFENDED_SITE = CONFIGS / "scenarios" / "defended-site.toml"
DASK = Path(sys.executable).parent / "dask"
CRITERIA = 'criteria = ["frames >= 1"]\n'


def campaign_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a campaign (and its workers): temporary files in the test's folder."""
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(temp), **extra}


def start_campaign(path: Path, out: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hil", "campaign", "run", str(path), "--out", str(out), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip


def first_pass(campaign: subprocess.Popen[str]) -> list[str]:
    """The progress lines up to the first finished run."""
    assert campaign.stdout is not None
    lines = []
    for line in campaign.stdout:
        lines.append(line)
        if ": PASS" in line:
            return lines
    pytest.fail(f"no run finished: {lines} {campaign.stderr.read() if campaign.stderr else ''}")


def recording_open(process: psutil.Process) -> bool:
    """Whether ``process`` is writing a run's recording in its temporary folder (mid-run)."""
    try:
        return any(TEMP_PREFIX in f.path and f.path.endswith(".mcap") for f in process.open_files())
    except psutil.NoSuchProcess:
        return False


def worker_mid_run(processes: list[psutil.Process], within_s: float = 20.0) -> psutil.Process:
    """The first of ``processes`` found writing a recording (polled: a child's open files
    cannot be awaited)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for process in processes:
            if recording_open(process):
                return process
        time.sleep(0.02)
    pytest.fail("no worker was found in the middle of a run")


def dask_workers(campaign: subprocess.Popen[str]) -> list[psutil.Process]:
    """A local-dask campaign's worker processes (spawned by its nannies)."""
    children = psutil.Process(campaign.pid).children()
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def finish(campaign: subprocess.Popen[str], timeout_s: float = 90) -> tuple[str, str]:
    try:
        return campaign.communicate(timeout=timeout_s)
    finally:
        if campaign.poll() is None:
            os.killpg(campaign.pid, signal.SIGKILL)
            campaign.communicate()


def comparable(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Per run what must not depend on where it ran: seed, verdict, digest, recording, the
    measurements but the CPU-time latencies."""
    return [
        (
            run["seed"],
            run["verdict"],
            run["summary"]["digest"],
            run["recording"],
            {k: v for k, v in run["measurements"].items() if "latency" not in k},
        )
        for case in results["cases"]
        for run in case["runs"]
    ]


def junit_testcases(junit: Path) -> list[tuple[str | None, int]]:
    root = ET.parse(junit).getroot()
    return [(c.get("name"), len(list(c))) for c in root.iter("testcase")]


def test_local_dask_gives_the_pools_results_with_a_worker_killed_mid_run(tmp_path: Path) -> None:
    """3 seeds and a replay on the pool, then on a 2-worker local Dask cluster whose one worker
    is SIGKILLed while it writes a recording: its run is retried on a worker the nanny restarts
    or the other; every run passes with the pool's digests, recordings and JUnit; no temporary
    folder is left on the workers' side."""
    replay = (
        f'\n[[cases]]\nname = "again"\nmode = "replay"\nrecording = "{DATA / "golden-sim.mcap"}"'
        f"\n{CRITERIA}"
    )
    path = write_campaign(tmp_path, sim_case("sweep", "3", 8.0, CRITERIA, DEFENDED_SITE) + replay)
    pool = hil("campaign", "run", str(path), "--out", str(tmp_path / "pool"), "--jobs", "2",
               "--json")  # fmt: skip
    assert pool.returncode == 0, pool.stderr
    env = campaign_env(tmp_path)
    campaign = start_campaign(path, tmp_path / "dask", env, "--executor", "local-dask:2")
    try:
        header = first_pass(campaign)[0]
        victim = worker_mid_run(dask_workers(campaign))
        victim.kill()
    finally:
        _, err = finish(campaign)
    assert campaign.returncode == 0, err
    assert "Traceback" not in err
    assert "4 runs on local-dask:2" in header
    pool_outcome, pool_results = results_of(pool)
    (folder,) = (tmp_path / "dask").glob("*-t")
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "pass"
    assert comparable(results) == comparable(pool_results)
    assert len({run[2] for run in comparable(results)}) == 4  # the seeds differ
    for case in results["cases"]:
        for run in case["runs"]:
            assert (folder / run["recording"]).stat().st_size > 0
            assert run["error"] is None
    # the replay run played the campaign machine's recording, shipped to its worker
    (replayed,) = results["cases"][1]["runs"]
    assert replayed["replay_of"] == str(DATA / "golden-sim.mcap")
    assert replayed["recording"] == "recordings/again-golden-sim.mcap"
    assert junit_testcases(folder / "junit.xml") == junit_testcases(Path(pool_outcome["junit"]))
    assert (folder / "report.html").stat().st_size > 0
    assert list((tmp_path / "tmp").glob(f"{TEMP_PREFIX}*")) == []


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``dask scheduler`` on loopback that gives a run up after its first worker death
    (``allowed-failures`` 0; ``worker-saturation`` 1: a worker holds only the run it runs,
    as docs/scale-out.md advises), and one ``dask worker`` (nanny, one thread, the campaign's
    preload); the scheduler's address and the worker's nanny process. Both stopped at the
    end."""
    env = campaign_env(
        tmp_path,
        DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0",
        DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION="1.0",
    )
    common = ["--host", "127.0.0.1", "--no-dashboard"]
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--port", "0", *common],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    worker = None
    try:
        assert scheduler.stderr is not None
        address = ""
        for line in scheduler.stderr:  # its log says where it listens: "Scheduler at: tcp://..."
            if "Scheduler at:" in line:
                address = line.split("Scheduler at:", 1)[1].strip()
                break
        assert address.startswith("tcp://127.0.0.1:"), address
        worker = subprocess.Popen(
            [str(DASK), "worker", address, "--nthreads", "1", "--preload",
             "hil.campaign.executor.dask_worker", *common],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        assert worker.stderr is not None
        for line in worker.stderr:
            if "Registered to:" in line:
                break
        yield address, worker
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                process.communicate(timeout=30)


def test_a_run_whose_worker_dies_is_retried_only_as_the_scheduler_allows(
    tmp_path: Path, dask_cluster: tuple[str, subprocess.Popen[str]]
) -> None:
    """On a running scheduler (``dask://``) whose allowed-failures is 0, the run whose worker
    is killed is an ``error`` naming the cause; the other runs go on on the restarted worker,
    and the cluster outlives the campaign."""
    address, nanny = dask_cluster
    path = write_campaign(tmp_path, sim_case("sweep", "3", 8.0, CRITERIA, DEFENDED_SITE))
    executor = address.replace("tcp://", "dask://")
    campaign = start_campaign(path, tmp_path, campaign_env(tmp_path), "--executor", executor,
                              "--json")  # fmt: skip
    try:
        workers = psutil.Process(nanny.pid).children()
        worker_mid_run(workers).kill()
    finally:
        out, err = finish(campaign)
    assert campaign.returncode == 1, err
    results = json.loads(Path(json.loads(out.splitlines()[-1])["results"]).read_text())
    runs = results["cases"][0]["runs"]
    errors = [run for run in runs if run["verdict"] == "error"]
    assert len(errors) == 1, [(r["seed"], r["error"]) for r in errors]
    assert errors[0]["error"].startswith("1 Dask worker died running this run")
    assert "allowed-failures = 0" in errors[0]["error"]
    assert errors[0]["recording"] is None
    assert [run["verdict"] for run in runs if run not in errors] == ["pass", "pass"]
    assert nanny.poll() is None  # the campaign closed its client, not the cluster
    # the killed worker's temporary folder was removed by the next run on that machine
    assert list((tmp_path / "tmp").glob(f"{TEMP_PREFIX}*")) == []


def test_ctrl_c_on_local_dask_keeps_finished_runs(tmp_path: Path) -> None:
    """Ctrl-C at the terminal (SIGINT to the whole process group, workers included): the
    workers ignore it, the campaign stops its runs cleanly, exits 130 with finished runs kept,
    and every process it started has exited."""
    criteria = CRITERIA + 'sweep_criteria = ["fraction_passing >= 0.5"]\n'
    path = write_campaign(tmp_path, sim_case("long", "4", 24.0, criteria))
    campaign = start_campaign(path, tmp_path, campaign_env(tmp_path), "--executor",
                              "local-dask:2")  # fmt: skip
    try:
        first_pass(campaign)
        started = psutil.Process(campaign.pid).children(recursive=True)
        os.killpg(campaign.pid, signal.SIGINT)
    finally:
        out, err = finish(campaign)
    assert campaign.returncode == 130, err
    assert "INTERRUPTED" in out
    assert "Traceback" not in err
    _, alive = psutil.wait_procs(started, timeout=5)
    assert alive == []
    (folder,) = tmp_path.glob("*-t")
    results = json.loads((folder / "results.json").read_text())
    assert results["verdict"] == "interrupted"
    verdicts = [run["verdict"] for run in results["cases"][0]["runs"]]
    assert "pass" in verdicts and verdicts[-1] == "not_run", verdicts
    assert set(verdicts) == {"pass", "not_run"}
    stopped = [r for r in results["cases"][0]["runs"] if r["stopped_early"]]
    assert all(r["measurements"]["frames"] > 0 for r in stopped)  # ended cleanly, measured
    assert list((tmp_path / "tmp").glob(f"{TEMP_PREFIX}*")) == []


def test_an_unreachable_scheduler_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, sim_case("s", "[1]", 1.0, CRITERIA))
    with refusing_port() as port:  # bound, not listening: connections are refused
        done = subprocess.run(
            [sys.executable, "-m", "hil", "campaign", "run", str(path), "--out",
             str(tmp_path / "runs"), "--executor", f"dask://127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=60,
            env=campaign_env(tmp_path, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1s"),
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: --executor dask://127.0.0.1:{port}: no Dask scheduler answered")
    assert f"dask scheduler --port {port}" in line and "--executor pool" in line
    assert not (tmp_path / "runs").exists()


def test_a_bad_executor_names_the_allowed_forms(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, sim_case("s", "[1]", 1.0, CRITERIA))
    done = hil("campaign", "run", str(path), "--executor", "dask:/host:8786")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if "error:" in x]
    assert "'dask:/host:8786' is not an executor" in line
    assert "pool, local-dask, local-dask:N" in line and "dask://HOST:PORT" in line


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("pool", ExecutorSpec("pool")),
        ("local-dask", ExecutorSpec("local-dask")),
        ("local-dask:3", ExecutorSpec("local-dask", 3)),
        ("dask://10.0.0.5:8786", ExecutorSpec("dask", address="tcp://10.0.0.5:8786")),
        ("dask://sched.lab:8786", ExecutorSpec("dask", address="tcp://sched.lab:8786")),
    ],
)
def test_executor_forms(text: str, spec: ExecutorSpec) -> None:
    assert parse_executor(text) == spec
    assert str(spec) == text


@pytest.mark.parametrize("text", ["", "Pool", "local-dask:0", "local-dask:x", "dask://h",
                                  "dask://h:0", "dask://h:70000", "tcp://h:8786"])  # fmt: skip
def test_executor_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="use pool, local-dask"):
        parse_executor(text)


def test_a_worker_on_other_software_is_named_by_what_differs() -> None:
    mine = identity()
    assert differences(mine, dict(mine)) == []
    other = mine | {"source": "0123456789abcdef", "numpy": "1.26.4"}
    assert differences(mine, other) == [
        f"source 0123456789abcdef (here: {mine['source']})",
        f"numpy 1.26.4 (here: {mine['numpy']})",
    ]
    # a worker outside a checkout has no commit: its source digest still decides
    assert differences(mine, mine | {"commit": None}) == []


@contextmanager
def refusing_port() -> Iterator[int]:
    """A loopback TCP port bound but not listening (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
