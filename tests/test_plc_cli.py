"""`hil stub plc` as an operator runs it: READY line, clean shutdown, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from plc_support import plc_driver

from hil.stub_process import PlcStubProcess


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
