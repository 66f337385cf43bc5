"""Validated, frozen configuration: rigs and scenarios as TOML files (see ``hil.config.loader``)."""

from hil.config.loader import load_config, load_rig, load_scenario
from hil.config.rig import RigConfig
from hil.config.scenario import ScenarioConfig

__all__ = ["RigConfig", "ScenarioConfig", "load_config", "load_rig", "load_scenario"]
