"""Emulated bench devices speaking the same wire protocols as the real ones.

- ``firmware_stubs.radar``: the turntable radar firmware (serial ICD) on a pty or TCP.
"""
