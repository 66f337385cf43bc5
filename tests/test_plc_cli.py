"""`hil stub plc` as an operator runs it: READY line, clean shutdown, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import hil
from plc_support import plc_driver

from hil.rig.emulators import PlcStubProcess


def pty_link_exists(link: Path) -> bool:
    return link.is_symlink() and str(link.resolve()).startswith("/dev/pts/")


@pytest.mark.parametrize("where", [["--tcp", "127.0.0.1:0"], ["--rtu-pty"]], ids=["tcp", "rtu"])
async def test_stub_prints_ready_and_cleans_up_on_sigterm(where: list[str]) -> None:
    stub = await PlcStubProcess.start(*where)
    if where[0] == "--tcp":
        assert stub.url.startswith("tcp://127.0.0.1:") and not stub.url.endswith(":0")
    else:
        link = Path(stub.url.removeprefix("rtu://").split("?")[0])
        assert stub.url.endswith("?baud=115200&parity=N") and pty_link_exists(link)
    code, _, err = await stub.stop()  # SIGTERM right after READY
    assert code == 0, err
    assert "plc stub stopped" in err
    if where[0] == "--rtu-pty":
        assert not pty_link_exists(link) and not link.parent.exists()


async def test_stub_serves_the_driver() -> None:
    stub = await PlcStubProcess.start("--tcp", "127.0.0.1:0")
    try:
        async with plc_driver(stub.url) as plc:
            status = await plc.read_status()
            assert (status.icd_version, status.rounds_ready) == (1, 4)
    finally:
        code, _, err = await stub.stop()
    assert code == 0 and "requests" in err


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("baud=12", "baud '12' is not a rate a serial port runs at"),
        ("baud=fast", "baud 'fast' is not a rate a serial port runs at"),
        ("baud=115200&parity=X", "parity 'X' is not one of N, E, O, M, S"),
    ],
    ids=["baud-12", "baud-word", "parity"],
)
def test_an_rtu_url_a_serial_port_cannot_do_is_one_line(query: str, says: str) -> None:
    url = f"rtu:///dev/ttyUSB0?{query}"
    done = hil("plc", "status", url)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: PLC URL {url!r}: {says}"), line
    if "baud" in says:
        assert "allowed: 300, 600, 1200" in line and "460800, 500000, 576000, 921600" in line
