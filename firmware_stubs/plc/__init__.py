"""The emulated launcher PLC: the scan logic (``model``) and its Modbus server (``server``)."""
