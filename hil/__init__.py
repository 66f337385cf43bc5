"""hil-testbed: the radar/launcher hardware-in-the-loop bench.

``hil`` composes the other packages: configuration, the fire-control loop, campaigns and the
``hil`` command line. It is the only package that knows ``sim``, ``drivers`` and
``firmware_stubs`` all at once.
"""

__version__ = "0.1.0"
