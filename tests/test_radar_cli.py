"""`hil stub radar`, `hil radar monitor` and `hil radar command` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS

from hil.stub_process import RadarStubProcess as StubProcess

SCENARIO = str(CONFIGS / "scenarios" / "crossing-pair.toml")


async def hil(*args: str, timeout_s: float = 30.0) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hil",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(timeout_s):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.communicate()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def link_points_at_a_pty(link: Path) -> bool:
    return link.is_symlink() and str(link.resolve()).startswith("/dev/pts/")


@pytest.mark.parametrize("where", [["--pty"], ["--tcp", "127.0.0.1:0"]], ids=["pty", "tcp"])
async def test_stub_prints_ready_and_cleans_up_on_sigterm(where: list[str]) -> None:
    stub = await StubProcess.start("--scenario", SCENARIO, *where)
    link = Path(stub.url)
    if where == ["--pty"]:
        assert link_points_at_a_pty(link)
    else:
        assert stub.url.startswith("socket://127.0.0.1:") and not stub.url.endswith(":0")
    code, out, err = await stub.stop()
    assert code == 0
    assert out == ""  # the READY line was the only stdout, already read
    assert "radar stub stopped" in err
    if where == ["--pty"]:
        assert not link_points_at_a_pty(link) and not link.parent.exists()


async def test_monitor_json_lines_and_health() -> None:
    stub = await StubProcess.start("--scenario", SCENARIO, "--pty", "--rotate", "60")
    try:
        code, out, err = await hil("radar", "monitor", stub.url, "--count", "150", "--json")
    finally:
        await stub.stop()
    assert code == 0, err
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 150
    detections = [o for o in objects if o["type"] == "DETECTIONS"]
    assert len(detections) >= 148
    assert {
        "type",
        "seq",
        "t_device_s",
        "t_host_s",
        "scan_id",
        "antenna_az_rad",
        "antenna_el_rad",
        "detections",
    } == set(detections[0])
    records = [d for o in detections for d in o["detections"]]
    if records:
        assert set(records[0]) == {"range_m", "az_rad", "el_rad", "vr_mps", "snr_db", "flags"}
    health = json.loads(err.strip().splitlines()[-1])["health"]
    assert health["frames"] >= 150 and health["commands"] == 0  # the monitor only listens


async def test_command_round_trip_and_rejection() -> None:
    stub = await StubProcess.start("--scenario", SCENARIO, "--tcp", "127.0.0.1:0")
    try:
        assert (await hil("radar", "command", stub.url, "set-rpm", "12"))[0] == 0
        assert (await hil("radar", "command", stub.url, "set-mode", "rotating"))[0] == 0
        code, out, _ = await hil("radar", "command", stub.url, "status")
        assert code == 0 and "STATUS ROTATING 12.00 rpm" in out
        code, out, _ = await hil("radar", "command", stub.url, "ping", "--count", "3")
        assert code == 0 and out.count("rtt") == 3
        code, _, err = await hil("radar", "command", stub.url, "set-rpm", "75")
        assert code == 1 and "BAD_ARGUMENT" in err
    finally:
        await stub.stop()


async def test_monitor_of_a_missing_port_fails_cleanly() -> None:
    code, _, err = await hil(
        "radar", "monitor", "/dev/nonexistent-radar", "--connect-timeout", "0.5"
    )
    assert code == 1
    assert "not connected after 0.5 s" in err and "Traceback" not in err
