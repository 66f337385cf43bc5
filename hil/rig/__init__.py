"""What the loop talks to in each rig mode, one module per mode, resolved by name on demand.

``RIG_BUILDERS`` maps a rig mode to ``"module:function"``, the async builder of that mode's
``hil.rig.base.Rig`` (as python-can's ``interfaces.BACKENDS``): this package's ``__init__``
imports none of them, so loading one mode never loads another's devices or files.

- ``sim`` (``hil.rig.sim``): the in-process sensor model and PLC model on a simulated clock;
  its faults applied in process (``hil.rig.sim_faults``).
- ``emulate`` and ``bench`` (``hil.rig.devices``): the radar and PLC drivers on the emulators
  (child processes, ``hil.rig.emulators``) or the bench's devices, each device opened with its
  emulator fallback in one place (also the preflight's); faults on the emulators
  (``hil.rig.fault_schedule``).
- ``replay`` (``hil.rig.replay``): a recording's cycles, with the recorded launcher or the
  in-process PLC model.

``DIRECT_RIG_BUILDERS`` names the builders of the modes that need no I/O (sim, replay), for
the loop with no event loop (``hil.loop.shell.DirectLoop``): ``direct_rig_builder``.

``hil.rig.base`` holds what they share: ``RunSettings``, ``Rig``, ``DeviceTaps``,
``build_core``; ``hil.rig.faults`` the fault definitions and their checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from hil.errors import HilError

if TYPE_CHECKING:
    from hil.rig.base import DirectRigBuilder, RigBuilder

RIG_BUILDERS: dict[str, str] = {
    "sim": "hil.rig.sim:build",
    "emulate": "hil.rig.devices:build",
    "bench": "hil.rig.devices:build",
    "replay": "hil.rig.replay:build",
}
"""Each rig mode's builder of what the loop talks to, as ``module:function``; a mode not here
cannot run the loop."""


def rig_builder(mode: str) -> RigBuilder:
    """The builder of rig ``mode``, its module imported now (``HilError`` for a mode that
    cannot run the loop)."""
    where = RIG_BUILDERS.get(mode)
    if where is None:
        raise HilError(f"rig mode {mode!r} cannot run the loop")
    module_name, function = where.split(":")
    return cast("RigBuilder", getattr(importlib.import_module(module_name), function))


DIRECT_RIG_BUILDERS: dict[str, str] = {
    "sim": "hil.rig.sim:build_now",
    "replay": "hil.rig.replay:build_now",
}
"""The rig modes whose loop needs no event loop: their builders of a ``DirectRig``."""


def direct_rig_builder(mode: str) -> DirectRigBuilder | None:
    """The builder of rig ``mode`` for the loop with no event loop, its module imported now;
    None for a mode that needs one (emulate, bench: device I/O)."""
    where = DIRECT_RIG_BUILDERS.get(mode)
    if where is None:
        return None
    module_name, function = where.split(":")
    return cast("DirectRigBuilder", getattr(importlib.import_module(module_name), function))
