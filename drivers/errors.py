"""Exceptions of the ``drivers`` package: every exception class it defines is in this tree
(``tests/test_exception_roots.py`` holds it so).

    DriverError
    ├── LifecycleError             a driver method called in the wrong lifecycle state
    ├── LinkDownError              the device link is down (reconnecting); nothing was sent
    ├── DriverTimeoutError         (also TimeoutError) no answer in time, retries exhausted
    ├── RequestExpiredError        a request's deadline passed before it reached the wire;
    │                              nothing was sent (not a TimeoutError: no answer was awaited)
    ├── ProtocolError              bytes or a payload that do not follow the ICD
    │   └── PayloadError           a frame's payload outside its ICD (``fault`` says how)
    ├── CommandRejectedError       the radar answered a command with a non-OK result
    ├── PlcExceptionError          the PLC answered a request with a Modbus exception
    └── RegisterMapError           the PLC register map file is missing or invalid

pyserial, pymodbus, pydantic and OS errors are translated at the boundary with ``raise ... from``.
(``ValueError`` is raised, not translated, for a caller's bad argument, e.g. a write outside
a register's range.)
"""

from __future__ import annotations

import enum


class DriverError(Exception):
    """Root of every error raised by ``drivers``."""


class LifecycleError(DriverError):
    """A method was called in a lifecycle state that does not allow it."""


class LinkDownError(DriverError):
    """The link to the device is down; the driver is reconnecting."""


class DriverTimeoutError(DriverError, TimeoutError):
    """The device did not answer in time, after every retry."""


class ProtocolError(DriverError):
    """Bytes or a payload that do not follow the interface control document."""


class PayloadFault(enum.Enum):
    """How a (CRC-valid) payload breaks its ICD."""

    LENGTH = "length"
    """Wrong size for its type, or a record count that is too large or does not match it."""
    RANGE = "range"
    """A field holds a value outside its ICD range or enumeration."""
    RESERVED = "reserved"
    """A reserved field or an undefined flag bit is not zero."""


class PayloadError(ProtocolError):
    """A payload that breaks its ICD; ``fault`` is the kind of breach (counted per kind)."""

    def __init__(self, message: str, fault: PayloadFault) -> None:
        super().__init__(message)
        self.fault = fault


class CommandRejectedError(DriverError):
    """The device refused a command (``result`` is the ICD's ACK result code)."""

    def __init__(self, command: str, result: int, result_name: str) -> None:
        super().__init__(f"{command} rejected by the device: {result_name} ({result})")
        self.command = command
        self.result = result
        self.result_name = result_name


MODBUS_EXCEPTION_NAMES = {
    1: "ILLEGAL FUNCTION",
    2: "ILLEGAL DATA ADDRESS",
    3: "ILLEGAL DATA VALUE",
    4: "SERVER DEVICE FAILURE",
    6: "SERVER DEVICE BUSY",
}
"""Modbus exception code → its name in the Modbus specification."""


class PlcExceptionError(DriverError):
    """The PLC answered with a Modbus exception."""

    def __init__(self, register: str, function_code: int, exception_code: int) -> None:
        name = MODBUS_EXCEPTION_NAMES.get(exception_code, "UNKNOWN")
        super().__init__(
            f"PLC refused FC {function_code:02d} on {register}: exception "
            f"{exception_code:02d} ({name})"
        )
        self.register = register
        self.function_code = function_code
        self.exception_code = exception_code


class RequestExpiredError(DriverError):
    """A request with a deadline could not go on the wire before it; nothing was sent."""


class RegisterMapError(DriverError):
    """The register map file is missing or invalid."""
