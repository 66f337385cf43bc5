"""Rig preflight (``hil rig check``): is every device of a rig connected and healthy?

- ``hil.config.preflight``: the ``[preflight]`` table of a rig file (every limit, defaults).
- ``hil.preflight.report``: rows (check, verdict, measured value, limit, what to do), the exit
  code, and the plain, rich and JSON renderings.
- ``hil.preflight.radar_checks`` / ``hil.preflight.plc_checks``: one device's measurements and
  their rows.
- ``hil.preflight.check``: opens a rig's devices (the emulators for ``emulate``), runs both
  devices' checks side by side and leaves the devices as found.

docs/preflight.md lists every row, its threshold and what to do when it is red.
"""
