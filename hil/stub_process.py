"""An emulated device (`hil stub radar|plc`) in a child process, as an operator starts one."""

from __future__ import annotations

import asyncio
import sys
from typing import ClassVar, Self


class StubProcess:
    """`hil stub <DEVICE>` in a child process; ``url`` comes from its READY line."""

    DEVICE: ClassVar[str]

    def __init__(self, process: asyncio.subprocess.Process, url: str) -> None:
        self.process = process
        self.url = url

    @classmethod
    async def start(cls, *args: str) -> Self:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hil",
            "stub",
            cls.DEVICE,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        try:
            async with asyncio.timeout(20):
                line = await process.stdout.readline()
        except BaseException:
            process.kill()
            await process.communicate()
            raise
        if not line.startswith(b"READY "):
            process.kill()
            _, err = await process.communicate()
            raise AssertionError(f"no READY line: {line!r} {err.decode()}")
        return cls(process, line.split()[1].decode())

    async def stop(self, kill: bool = False) -> tuple[int, str, str]:
        """SIGTERM (or SIGKILL) and wait: exit code, the rest of stdout, all of stderr."""
        if self.process.returncode is None:
            (self.process.kill if kill else self.process.terminate)()
        out, err = await self.process.communicate()
        assert self.process.returncode is not None
        return self.process.returncode, out.decode(), err.decode()


class RadarStubProcess(StubProcess):
    DEVICE = "radar"


class PlcStubProcess(StubProcess):
    DEVICE = "plc"
