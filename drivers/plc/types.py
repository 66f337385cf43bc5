"""Enumerations of the PLC ICD, shared by the driver and the emulated PLC."""

from __future__ import annotations

import enum


class ArmState(enum.IntEnum):
    SAFE = 0
    ARMING = 1
    ARMED = 2
    FIRING = 3


class Mode(enum.IntEnum):
    IDLE = 0
    POINTING = 1
    STOW = 2


class FaultCode(enum.IntEnum):
    NONE = 0
    WATCHDOG = 1
    ESTOP = 2
    INTERLOCK_OPEN = 3
    AXIS_LIMIT = 4
    FOLLOWING_ERROR = 5
    FIRE_REJECTED = 6


class Coil(enum.IntEnum):
    HEARTBEAT = 0
    ARM_REQUEST = 1
    FIRE = 2
    FAULT_RESET = 3
    AXES_ENABLE = 4


class DiscreteInput(enum.IntEnum):
    ESTOP_OK = 0
    INTERLOCK_CHAIN_OK = 1
    AXES_ENABLED = 2
    IN_POSITION = 3
    ARMED = 4
    READY_TO_FIRE = 5
    WATCHDOG_TRIPPED = 6
    FAULT = 7
