"""Multi-target tracking for the fire-control loop, usable on its own like Stone Soup (the
package's README.md documents the API, with a runnable example)::

    from hil.config.tracker import TrackerConfig
    from hil.tracking.measurement import PolarSensor
    from hil.tracking.tracker import DetectionBatch, Tracker

    tracker = Tracker(TrackerConfig(motion="imm"), PolarSensor((0.0, 0.0, 2.5), 0.0))
    tracker.step(DetectionBatch(t_s, range_m, az_rad, el_rad, vr_mps))   # SI arrays, one dwell
    snapshot = tracker.tracks_at(t_s)  # confirmed: ids, ENU states, covariances, source, truth

A 2-D radar is ``PolarSensor(..., elevation=False)`` with frames of range and azimuth only;
``vr_mps`` may be ``None`` for a radar without radial velocity.

- ``motion``: constant-velocity prediction for N tracks at once (ENU, white-noise acceleration)
- ``imm``: the interacting-multiple-model set (CV + fixed-rate coordinated turns), batched
- ``measurement``: the radar's polar measurement model and a batched, iterated EKF update
- ``tracker``: the batched GNN tracker (coarse gate, χ² gate, clustered assignment with
  confirmed tracks first, M-of-N confirmation, deletion), per-dwell or whole-scan frames
- ``kernels`` (predict, gate, update, succession gate, beam visibility), ``initiation``,
  ``maintenance``: the compiled (numba) per-step kernels; ``_jit`` compiles them, caching on disk
  where it can; ``geometry``: angle wrapping and polar → ENU
- ``metrics``: GOSPA, OSPA and assigned-pair RMSE; ``scoring``: a run's scores over time
"""
