"""Multi-target tracking for the fire-control loop (issue 5, in progress).

- ``motion``: constant-velocity prediction for N tracks at once (ENU, white-noise acceleration)
- ``measurement``: the radar's polar measurement model and a batched EKF update
- ``metrics``: GOSPA, OSPA and assigned-pair RMSE against ground truth
"""
