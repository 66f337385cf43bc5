# One place for the project's commands; `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean bytecode

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	# the compiled kernels into numba's cache once, not in every demo worker or test process
	$(BIN)/python -m hil.cli.warm
	touch $(STAMP)

## bytecode: the project's own modules compiled into Python's bytecode cache (only those changed
## since; 0.1–0.3 s), as pip does for the packages it installs. The editable install leaves them
## as source, and where PYTHONDONTWRITEBYTECODE is set (this machine's and CI's environment) every
## process compiled them again at import: 0.1 s for an emulator, 0.3–0.4 s for a run, campaign or
## campaign worker, ~600 processes in one suite (~120 of its ~1,640 CPU-seconds).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 hil drivers firmware_stubs sim

## demo: set up .venv and run the main job: the demo campaign (configs/campaigns/demo.toml) —
## the real drivers against the emulated radar and PLC (child processes, no hardware), then a
## short sim sweep; prints where results.json, junit.xml and report.html are
demo: bytecode
	$(BIN)/hil campaign run

## test: set up .venv and run every check: ruff, mypy, the full pytest suite
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## pytest: the suite; PYTEST_ARGS replaces its selection (benchmarks/suite_bench.py's smoke test).
## One xdist worker per core (PYTEST_WORKERS=N sets another count). Two per core keep an idle
## machine's cores busier (the suite waits on wall-clock emulated runs: 1,152 s → 817 s on 2
## cores) but failed 6 and 9 tests in two suites run side by side: emulated devices that get no
## CPU for half a second trip their watchdogs, as real ones would.
PYTEST_WORKERS ?= auto
pytest: bytecode
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

## bench: the speed figures the issues ask for
bench: $(STAMP)
	$(BIN)/python benchmarks/sim_bench.py
	$(BIN)/python benchmarks/radar_link_bench.py
	$(BIN)/python benchmarks/plc_bench.py
	$(BIN)/python benchmarks/tracker_bench.py
	$(BIN)/python benchmarks/fault_bench.py
	$(BIN)/python benchmarks/replay_bench.py
	$(BIN)/python benchmarks/campaign_bench.py
	$(BIN)/python benchmarks/telemetry_bench.py
	$(BIN)/python benchmarks/results_store_bench.py
	$(BIN)/python benchmarks/trend_bench.py
	$(BIN)/python benchmarks/suite_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
