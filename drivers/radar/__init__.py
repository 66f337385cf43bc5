"""The turntable radar's serial link (ICD version 1).

- ``messages``: typed messages in SI units and their payload codecs
- ``framing``: frame encode/decode and the resynchronising ``StreamDecoder`` (pure, no I/O)
"""
