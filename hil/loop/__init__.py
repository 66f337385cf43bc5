"""The fire-control loop: frame sources, injection, tracker, fire control, launcher interfaces.

- ``injection``: the loop's tagged frame (real / injected detections) and the injector
- ``sources``: where frames come from — the in-process sensor model, or the radar driver
- ``launchers``: what commands go to — the in-process PLC model, or the PLC driver
- ``plc_launcher``: the PLC driver as the launcher: status poll and command sender beside the loop
- ``cycle``: one cycle as data — its input (everything it depends on) and its output
- ``core``: the pure core, ``LoopCore.step(CycleInput) -> CycleOutput`` (tracker, engagement)
- ``observers``: what watches each (input, output): counters, link watch, digest, scoring, timing
- ``timing``: per-stage latency histograms and cycle jitter
- ``links``: the loop's view of both device links (outages, lost at the end)
- ``shell``: the async shell — gathers the input, steps the core, applies the demand
- ``cycle_codec``: a cycle's input and output as compact, bit-exact bytes (recording)
- ``verify``: recorded cycles replayed through a fresh core, the first difference named
"""
