"""Multi-target tracking for the fire-control loop (issue 5, in progress).

- ``metrics``: GOSPA, OSPA and assigned-pair RMSE against ground truth
"""
