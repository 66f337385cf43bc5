# One place for the project's commands; `make test` is what CI runs (.ci/run).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	# the compiled kernels into numba's cache once, not in every demo worker or test process
	$(BIN)/python -m hil.cli.warm
	touch $(STAMP)

## demo: set up .venv and run the main job: the demo campaign (configs/campaigns/demo.toml) —
## the real drivers against the emulated radar and PLC (child processes, no hardware), then a
## short sim sweep; prints where results.json, junit.xml and report.html are
demo: $(STAMP)
	$(BIN)/hil campaign run

## test: set up .venv and run every check: ruff, mypy, the full pytest suite
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## pytest: the suite; PYTEST_ARGS replaces its selection (benchmarks/suite_bench.py's smoke test).
## Two workers per core: a third of the suite's wall time is tests waiting on emulators, wall-clock
## runs and child processes (CPU 50-80 % idle with one worker per core); with two per core the
## cores stay busy (2-core machine: 1,152 s → 834 s). PYTEST_WORKERS=N sets another count.
PYTEST_WORKERS ?= $(shell echo $$((2 * $$(nproc))))
pytest: $(STAMP)
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
