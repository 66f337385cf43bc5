"""The fire-control loop: frame sources, injection, tracker, fire control, launcher interfaces.

- ``frames``: the loop's tagged frame (real / injected detections) and the injector
- ``sources``: where frames come from — the in-process sensor model, or the radar driver
- ``launchers``: what commands go to — the in-process PLC model, or the PLC driver
- ``timing``: per-stage latency histograms and cycle jitter
- ``runner``: the async loop itself
"""
