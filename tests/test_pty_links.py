"""Emulated ptys are published through a symlink to /dev/pts/N. The link must not outlive its
emulator, and a driver must not follow a stale one: once that pty has hung up, its number can
be reused by any other program, whose terminal would then receive the driver's bytes.

(The exit paths "parent closed stdin", "parent killed" and "SIGKILL, then the parent cleans up"
are in test_processes.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from pathlib import Path

import pytest
from conftest import CONFIGS

from drivers.errors import DriverError, LinkDownError
from drivers.plc.driver import PlcDriver, PlcEndpoint, PlcLinkState
from drivers.plc.register_map import load_register_map
from drivers.radar.framing import StreamDecoder, encode
from drivers.radar.messages import Ping, Status
from drivers.serial_transport import HungUpPtys, PtyRoute, SerialTransport
from firmware_stubs.plc.server import PlcEmulator
from firmware_stubs.ptys import open_raw_pty
from firmware_stubs.radar.emulator import RadarEmulator
from firmware_stubs.radar.endpoints import PtyEndpoint
from hil.config.loader import load_scenario
from hil.rig.emulators import PlcStubProcess, RadarStubProcess, StubProcess, build_radar_firmware

SCENARIO = str(CONFIGS / "scenarios" / "single-cv.toml")
BAUD = 921600
PTY_STUBS = {
    "radar": (RadarStubProcess, ["--scenario", SCENARIO, "--pty", "--rotate", "12"]),
    "plc": (PlcStubProcess, ["--rtu-pty"]),
}


def link_of(url: str) -> Path:
    """The pty link in a READY URL (the radar's is a path, the PLC's ``rtu://path?…``)."""
    return Path(url.removeprefix("rtu://").split("?")[0])


def points_at_a_pty(link: Path) -> bool:
    return link.is_symlink() and os.readlink(link).startswith("/dev/pts/")


def link_gone(link: Path) -> bool:
    """Neither the link nor its temporary directory is left."""
    return not link.is_symlink() and not link.parent.exists()


# --- the emulator removes its link on every exit path ---------------------------------------


@pytest.mark.parametrize(
    "signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name
)
@pytest.mark.parametrize("device", PTY_STUBS)
async def test_a_stopping_signal_removes_the_link(device: str, signum: signal.Signals) -> None:
    kind, args = PTY_STUBS[device]
    stub = await kind.start(*args)
    link = link_of(stub.url)
    try:
        assert points_at_a_pty(link)
        stub.process.send_signal(signum)
        async with asyncio.timeout(10):
            code = await stub.process.wait()
        assert code == 0
        assert link_gone(link)
    finally:
        _, _, err = await stub.stop()
    assert "stub stopped" in err


@pytest.mark.parametrize("device", PTY_STUBS)
async def test_an_exception_in_the_emulators_block_removes_the_link(device: str) -> None:
    emulator: RadarEmulator | PlcEmulator
    if device == "radar":
        firmware = build_radar_firmware(load_scenario(SCENARIO), 0)
        emulator = RadarEmulator(firmware, PtyEndpoint())
    else:
        emulator = PlcEmulator(load_register_map(), rtu_pty=True)
    links: list[Path] = []

    async def serve_then_fail() -> None:
        async with emulator:
            links.append(link_of(emulator.url))
            assert points_at_a_pty(links[0])
            raise RuntimeError("the block failed")

    with pytest.raises(RuntimeError, match="the block failed"):
        await serve_then_fail()
    assert link_gone(links[0])


async def test_an_emulator_that_fails_while_serving_exits_with_one_line(tmp_path: Path) -> None:
    """It used to go on running with a dead dwell loop (READY, then nothing). Here the next
    hangup cannot re-point the link: its directory has become a file."""
    links = tmp_path / "links"
    links.mkdir()
    stub = await RadarStubProcess.start(
        "--scenario", SCENARIO, "--pty", "--pty-link", str(links / "radar"),
        "--hangup-every", "0.2",
    )  # fmt: skip
    try:
        shutil.rmtree(links)
        links.write_text("not a directory any more")
        async with asyncio.timeout(10):
            await stub.process.wait()
    finally:
        code, _, err = await stub.stop()
    assert code == 1
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith(f"error: pty link {links / 'radar'}: ")


# --- a driver never follows a stale link into a stranger's terminal -------------------------


def take_pty_number(number: int) -> tuple[int, int] | None:
    """A new pty pair (master, slave) whose slave is /dev/pts/<number>, or None if another
    process holds that number. The kernel hands out the lowest free number, so ptys are opened
    (and the lower ones held, then closed) until that one comes."""
    held: list[int] = []
    try:
        while True:
            master, slave = open_raw_pty()
            got = int(os.ttyname(slave).rsplit("/", 1)[1])
            if got == number:
                return master, slave
            held += [master, slave]
            if got > number:
                return None
    finally:
        for fd in held:
            os.close(fd)


def unread(master: int) -> bytes:
    """Everything waiting on a pty master (non-blocking)."""
    data = b""
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(master, 65536):
            data += chunk
    return data


async def kill_emulator_under_a_transport(
    link: Path, via: str, hung_up: HungUpPtys
) -> tuple[StubProcess, str]:
    """A radar stub publishing ``link``, a transport opened on it (through the link or on the
    device) with a driver's record ``hung_up``, the stub SIGKILLed, the hangup seen and the
    transport closed: the pty is free. Returns the dead stub (not yet stopped: its stale link
    is still there) and the path."""
    stub = await RadarStubProcess.start("--scenario", SCENARIO, "--pty", "--pty-link", str(link))
    path = str(link) if via == "link" else os.readlink(link)
    try:
        transport = await SerialTransport.open(path, BAUD, lambda data: None, hung_up)
        try:
            stub.process.kill()
            await stub.process.wait()
            async with asyncio.timeout(5):
                assert isinstance(await transport.lost, LinkDownError)  # the hangup
        finally:
            await transport.close()
    except BaseException:
        await stub.stop()
        raise
    return stub, path


@pytest.mark.parametrize("via", ["link", "device"])
async def test_a_pty_that_hung_up_is_not_reopened_when_its_number_is_reused(
    via: str, tmp_path: Path
) -> None:
    """The emulator is SIGKILLed; its link stays (nobody has cleaned up yet) and another
    program gets its /dev/pts number. Reopening the same path must not reach that program.
    Deterministic: the stranger is this test, taking exactly that number (retried with a new
    emulator in the rare case another process grabs it first)."""
    for attempt in range(3):
        link = tmp_path / f"radar-{attempt}"
        hung_up = HungUpPtys()  # the driver's memory of its own connections
        stub, path = await kill_emulator_under_a_transport(link, via, hung_up)
        try:
            with pytest.raises(LinkDownError):  # a reconnect while the link dangles
                await SerialTransport.open(path, BAUD, lambda data: None, hung_up)
            number = int(os.readlink(link).rsplit("/", 1)[1])
            stranger = take_pty_number(number)
            if stranger is None:
                continue
            master, slave = stranger
            try:
                try:
                    intruder = await SerialTransport.open(path, BAUD, lambda data: None, hung_up)
                except LinkDownError as error:
                    refusal = str(error)
                else:
                    refusal = ""
                    try:
                        await intruder.write(encode(Ping(0xDEAD), 1))
                    finally:
                        await intruder.close()
                heard = unread(master)
            finally:
                os.close(master)
                os.close(slave)
        finally:
            await stub.stop()
        assert heard == b"", "a radar PING went into another program's terminal"
        assert f"/dev/pts/{number}, the pty that hung up" in refusal
        return
    pytest.fail(f"another process kept taking the freed /dev/pts number {number}")


async def read_until_it_fails(driver: PlcDriver) -> None:
    """Status requests until one fails (raises ``DriverError``), within 5 s."""
    async with asyncio.timeout(5):
        while True:
            await driver.read_status()


async def test_the_plc_rtu_driver_does_not_reopen_a_pty_that_hung_up(tmp_path: Path) -> None:
    """The PLC's RTU link reconnects through pymodbus, not SerialTransport; the same rule holds:
    its emulator SIGKILLed, the link left behind and the /dev/pts number taken by another
    program, the driver keeps refusing the path and writes nothing into that terminal."""
    for attempt in range(3):
        link = tmp_path / f"plc-{attempt}"
        stub = await PlcStubProcess.start("--rtu-pty", "--pty-link", str(link))
        try:
            driver = PlcDriver(PlcEndpoint.parse(stub.url), timeout_s=0.1, retries=0)
            async with driver:
                await driver.wait_up(5)
                number = int(os.readlink(link).rsplit("/", 1)[1])
                stub.process.kill()
                await stub.process.wait()
                with pytest.raises(DriverError):  # the link gone: a request fails
                    await read_until_it_fails(driver)
                stranger = take_pty_number(number)
                if stranger is None:
                    continue
                master, slave = stranger
                try:
                    async with asyncio.timeout(10):  # a few reconnect attempts, each refused
                        # no event says it: the driver's last error is polled
                        while "not reopened" not in (driver.health().last_error or ""):  # noqa: ASYNC110
                            await asyncio.sleep(0.02)
                    assert driver.link_state is not PlcLinkState.UP
                    heard = unread(master)
                finally:
                    os.close(master)
                    os.close(slave)
        finally:
            await stub.stop()
        assert heard == b"", "a Modbus request went into another program's terminal"
        return
    pytest.fail(f"another process kept taking the freed /dev/pts number {number}")


async def test_only_the_driver_that_saw_the_hangup_refuses_the_reused_number() -> None:
    """The refusal is the memory of one driver's own connections, not a process-wide list:
    an operator (or another driver) opening a live pty that now has a dead one's number is
    served. (A process-wide list refused the next test's fresh pty in the same run.)"""
    hung_up = HungUpPtys()
    for _attempt in range(3):
        master, slave = open_raw_pty()
        path = os.ttyname(slave)
        number = int(path.rsplit("/", 1)[1])
        transport = await SerialTransport.open(path, BAUD, lambda data: None, hung_up)
        try:
            os.close(master)  # the pty is gone for good
            async with asyncio.timeout(5):
                assert isinstance(await transport.lost, LinkDownError)
        finally:
            await transport.close()
            os.close(slave)
        reused = take_pty_number(number)
        if reused is None:
            continue
        master, slave = reused
        try:
            with pytest.raises(LinkDownError, match="the pty that hung up"):
                await SerialTransport.open(path, BAUD, lambda data: None, hung_up)
            fresh = await SerialTransport.open(path, BAUD, lambda data: None, HungUpPtys())
            try:
                await fresh.write(b"hello")
            finally:
                await fresh.close()
            heard = await read_exactly(master, 5)
        finally:
            os.close(master)
            os.close(slave)
        assert heard == b"hello"
        return
    pytest.fail(f"another process kept taking the freed /dev/pts number {number}")


async def read_exactly(master: int, count: int) -> bytes:
    """``count`` bytes from a pty master, awaited through the event loop's reader."""
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()
    loop.add_reader(master, arrived.set)
    data = b""
    try:
        async with asyncio.timeout(5):
            while len(data) < count:
                await arrived.wait()
                arrived.clear()
                data += unread(master)
    finally:
        loop.remove_reader(master)
    return data


async def test_a_re_pointed_link_opens_after_a_hangup(tmp_path: Path) -> None:
    """The other half of the rule: an emulator restarted at the same link path re-points it
    (a new symlink), and the driver reaches the new emulator through it."""
    link = tmp_path / "radar"
    hung_up = HungUpPtys()
    dead, _ = await kill_emulator_under_a_transport(link, "link", hung_up)
    try:
        assert points_at_a_pty(link)  # stale, still there
        restarted = await RadarStubProcess.start(
            "--scenario", SCENARIO, "--pty", "--pty-link", str(link)
        )
    finally:
        await dead.stop()
    try:
        received: asyncio.Queue[bytes] = asyncio.Queue()
        transport = await SerialTransport.open(str(link), BAUD, received.put_nowait, hung_up)
        try:
            decoder = StreamDecoder()
            async with asyncio.timeout(5):  # a STATUS every second
                while not any(
                    isinstance(f.message(), Status) for f in decoder.feed(await received.get())
                ):
                    pass
        finally:
            await transport.close()
    finally:
        await restarted.stop()


def test_a_pty_is_gone_once_its_master_closes_and_not_before() -> None:
    """What the refusal rests on. A read can fail on a live pty (pyserial reports "multiple
    access" when another reader took the bytes: a stranger following a stale link into *our*
    pty), and such a pty must be reopened; only a closed master makes its number reusable.
    The kernel removes the /dev/pts node when the master closes, even while a slave is open."""
    master, slave = open_raw_pty()
    route = PtyRoute.of(os.ttyname(slave))
    assert route is not None and route.device == os.ttyname(slave)
    try:
        assert not route.device_gone()
        os.close(master)
        assert route.device_gone()  # our slave fd still holds the number: not reused yet
    finally:
        os.close(slave)
