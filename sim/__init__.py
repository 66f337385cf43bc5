"""Target and radar simulation: numpy (the sensor's per-dwell arithmetic compiled with numba,
``sim._compiled``), no I/O, no asyncio, never reads the clock.

Frames and units (see ``sim.coordinates``): positions in the rig's local ENU frame in metres,
velocities in m/s, angles in radians, azimuths/bearings clockwise from north, time in seconds of
scenario time. Every random draw comes from a ``numpy.random.Generator`` passed in by the caller.
"""
