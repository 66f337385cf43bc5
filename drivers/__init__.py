"""Wire protocols and async drivers for the bench devices. Knows protocols, nothing of tracking.

- ``drivers.radar``: the turntable radar's serial protocol (codec, stream decoder, async driver).
"""
