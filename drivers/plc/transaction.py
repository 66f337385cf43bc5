"""One Modbus request as the PLC driver's tap sees it: what was asked, what came back, when.

``PlcDriver(on_transaction=...)`` calls its tap once for every request that reached the wire
(reads, writes and heartbeats alike; see ``drivers.plc.driver``), in the order they were sent.
Times are the driver's clock (default ``time.monotonic``), seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass


class PlcOutcome(enum.Enum):
    OK = "ok"
    """A normal answer; ``response`` holds what it carried."""
    EXCEPTION = "exception"
    """The PLC answered with a Modbus exception (``exception_code``)."""
    TIMEOUT = "timeout"
    """No answer after every attempt; the link was marked FAILED."""
    LINK_LOST = "link_lost"
    """The connection failed under the request; the link was marked FAILED."""
    MISMATCH = "mismatch"
    """An answer that belongs to another request (late RTU answer); the link resynchronises."""
    CANCELLED = "cancelled"
    """The caller gave up (or the driver closed) while the request was on the wire."""


@dataclass(frozen=True, slots=True)
class PlcTransaction:
    """One request and its result.

    ``values``: what a write sent (FC 16 register words; FC 05 the coil as 0 or 1), empty for a
    read. ``response``: what an OK read returned (FC 04 and FC 03 register words, FC 02 and
    FC 01 bits as 0 or 1, exactly as many as asked), empty for writes (their echo repeats the
    request) and for every other outcome. ``error``: why it was not OK, else None.
    """

    what: str
    """The register or range it addressed, by its register-map name."""
    function_code: int
    unit_id: int
    address: int
    count: int
    values: tuple[int, ...]
    outcome: PlcOutcome
    response: tuple[int, ...]
    exception_code: int | None
    error: str | None
    t_send_s: float
    """Host time the request went to the client (s, driver clock)."""
    t_receive_s: float
    """Host time its answer (or its failure) came back (s, driver clock)."""


TransactionTap = Callable[[PlcTransaction], object]
"""``on_transaction(transaction)``: every request on the wire, with its result."""
