"""The launcher-rig PLC's Modbus interface (ICD version 1).

- ``register_map``: the register map, loaded from ``configs/plc/launcher-plc-v1.toml``, with the
  value ↔ register codecs (float32 and u32 high word first)
- ``driver``: the async Modbus driver (TCP or RTU) on pymodbus's async clients
"""
