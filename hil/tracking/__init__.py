"""Multi-target tracking for the fire-control loop (issue 5, in progress).

- ``motion``: constant-velocity prediction for N tracks at once (ENU, white-noise acceleration)
- ``measurement``: the radar's polar measurement model and a batched EKF update
- ``metrics``: GOSPA, OSPA and assigned-pair RMSE against ground truth
- ``tracker``: the batched GNN tracker (coarse k-d-tree gate, χ² gate, clustered assignment,
  iterated-EKF update, M-of-N confirmation within one illumination, deletion)
"""
