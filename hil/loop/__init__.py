"""The fire-control loop: frame sources, injection, tracker, fire control, launcher interfaces.

- ``frames``: the loop's tagged frame (real / injected detections) and the injector
- ``sources``: where frames come from — the in-process sensor model, or the radar driver
- ``launchers``: what commands go to — the in-process PLC model, or the PLC driver
- ``timing``: per-stage latency histograms and cycle jitter
- ``plc_launcher``: the PLC driver as the launcher: status poll and command sender beside the loop
- ``links``: the loop's view of both device links (outages, lost at the end)
- ``runner``: the async loop itself
"""
