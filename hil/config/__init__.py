"""Configuration: TOML files validated by frozen typed models (``rig``, ``scenario``,
``plc_emulator``, ``tracker``, ``fire_control``, ``telemetry``, ``preflight``), loaded with CLI
overrides and environment variables by ``loader``. Import what you need from its module: this
package's ``__init__`` loads nothing, so a module that needs one model loads only that model.
"""
