"""The emulated radar: firmware logic on a wall clock, behind a pty or TCP endpoint.

``async with RadarEmulator(firmware, endpoint) as emulator:`` serves until the block ends;
``emulator.url`` is what a client opens. The device clock starts at 0 µs when serving starts
(scenario time 0). Every dwell (10 ms by default) the firmware is ticked and its frames are sent;
host frames are answered as soon as they arrive, well inside the ICD's 50 ms. The endpoint is
closed (its pty link removed) however the block ends; ``serving`` ends only by failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

import numpy as np

from drivers.radar.framing import StreamDecoder
from firmware_stubs.radar.endpoints import Endpoint
from firmware_stubs.radar.faults import FaultInjector, LinkFaults
from firmware_stubs.radar.firmware import RadarFirmware


class RadarEmulator:
    def __init__(
        self,
        firmware: RadarFirmware,
        endpoint: Endpoint,
        faults: LinkFaults | None = None,
        fault_seed: int = 0,
        keep_originals: bool = False,
    ) -> None:
        self.firmware = firmware
        self.endpoint = endpoint
        self.faults = faults or LinkFaults()
        self.injector = FaultInjector(
            self.faults, np.random.default_rng(fault_seed), keep_originals
        )
        self.decoder = StreamDecoder()
        self.url = ""
        self.hangups = 0
        self.stalls = 0
        self._epoch = 0.0
        self._stall_until: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RadarEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def device_time_us(self) -> int:
        return int((asyncio.get_running_loop().time() - self._epoch) * 1e6)

    @property
    def serving(self) -> asyncio.Task[None]:
        """The dwell loop; it runs until ``close()`` unless it fails."""
        if self._task is None:
            raise RuntimeError("the emulator is not started")
        return self._task

    async def start(self) -> str:
        self._epoch = asyncio.get_running_loop().time()
        self.url = await self.endpoint.start(self._on_data)
        self._task = asyncio.create_task(self._run(), name="radar emulator")
        return self.url

    async def close(self) -> None:
        """Stop the dwell loop and close the endpoint (also when the loop had failed; its
        error is raised after the endpoint is closed)."""
        task, self._task = self._task, None
        try:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            await self.endpoint.close()

    # --- faults at run time (the control port, ``firmware_stubs.radar.control``) -------------

    def set_corrupt_byte_rate(self, rate: float) -> None:
        """From now on each byte sent has one bit flipped with probability ``rate`` in [0, 1]."""
        faults = dataclasses.replace(self.injector.faults, corrupt_byte_rate=rate)
        self.injector.faults = faults  # LinkFaults checks the range

    def stall_for(self, ms: int) -> None:
        """Send no DETECTIONS frame for the next ``ms`` milliseconds (host frames are still
        answered, as in a periodic stall); the scan then resumes where the turntable is."""
        self.stalls += 1
        self._stall_until = asyncio.get_running_loop().time() + ms / 1000

    async def hang_up(self) -> None:
        """Close the link now; the endpoint offers a new one (pty link / TCP accept)."""
        self.hangups += 1
        await self.endpoint.hangup()

    def _on_data(self, data: bytes) -> None:
        crc_before = self.decoder.counters.crc_errors
        frames = self.decoder.feed(data)
        self.firmware.count_crc_errors(self.decoder.counters.crc_errors - crc_before)
        for frame in frames:
            self.endpoint.write(
                self.injector.apply(self.firmware.handle(frame, self.device_time_us()))
            )

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.firmware.dwell_us / 1e6
        faults = self.faults
        next_stall = faults.stall_every_s or None
        next_hangup = faults.hangup_every_s or None
        tick = 0
        while True:
            tick += 1
            # pacing on the wall clock: sleep until the next dwell boundary
            await asyncio.sleep(max(0.0, self._epoch + tick * period - loop.time()))
            now_s = loop.time() - self._epoch
            if self._stall_until is not None:
                if loop.time() < self._stall_until:
                    continue
                self._stall_until = None
                self.firmware.skip_to(self.device_time_us())
            if next_stall is not None and now_s >= next_stall:
                self.stalls += 1
                await asyncio.sleep(faults.stall_ms / 1000)
                self.firmware.skip_to(self.device_time_us())
                next_stall += faults.stall_every_s
                continue
            if next_hangup is not None and now_s >= next_hangup:
                self.hangups += 1
                await self.endpoint.hangup()
                next_hangup += faults.hangup_every_s
            self.endpoint.write(self.injector.apply(self.firmware.tick(self.device_time_us())))
