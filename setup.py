"""What pyproject.toml cannot say: the top-level ``configs/`` folder is also the package
``hil.bundled``, so the rigs, scenarios, PLC files and demo campaign ship inside the wheel (and an
editable install finds the checkout's folder) under one ``importlib.resources`` name
(``hil.config.bundled``).

``[tool.setuptools.packages.find]`` cannot add a package mapped from another folder, so the
packages are found here, as that table found them (namespace folders such as
``firmware_stubs/radar`` included); everything else stays in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

TOP_LEVEL = ("hil", "drivers", "firmware_stubs", "sim")
PACKAGES = find_namespace_packages(
    include=[pattern for name in TOP_LEVEL for pattern in (name, f"{name}.*")],
    exclude=["*.__pycache__", "hil.cli.init_template", "hil.cli.init_template.*"],  # data
)

setup(packages=[*PACKAGES, "hil.bundled"], package_dir={"hil.bundled": "configs"})
