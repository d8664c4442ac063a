# Two commands for a new user (Python 3.11 and Java 17 present, nothing else):
#   make demo   set up, generate a synthetic warehouse (with a known -4% change of cost in
#               the pilot regions from 2023), validate it, compute the Atlas catalogue
#               into it, export the published values, run the financing scenarios and
#               compare two of their variants, and write the HTML Atlas (report/index.html)
#   make test   set up (and, as root on Debian, install Chromium for the browser test),
#               lint (ruff check, ruff format --check), type-check the pure core (mypy
#               --strict) and run the test suite
# Both are idempotent: the virtual environment (.venv/) and the Delta jars
# (.cache/ivy) are created once and reused.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WAREHOUSE ?= warehouse
PERSONS ?= 20000
YEARS ?= 2022-2024
SEED ?= 42
PILOT_EFFECT ?= pilot_regions:2023:-4
# pytest-xdist workers (each its own local Spark, 3 GB driver); 0 runs the suite serially
TEST_WORKERS ?= 2

export PHM_IVY_DIR ?= $(CURDIR)/.cache/ivy

.PHONY: setup demo test test-crash bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/phm setup
	touch $(STAMP)

demo: setup
	$(BIN)/phm generate --persons $(PERSONS) --years $(YEARS) --seed $(SEED) --warehouse $(WAREHOUSE) --defects --pilot-effect $(PILOT_EFFECT)
	$(BIN)/phm validate --warehouse $(WAREHOUSE)
	$(BIN)/phm describe --warehouse $(WAREHOUSE)
	$(BIN)/phm check
	$(BIN)/phm run --warehouse $(WAREHOUSE)
	$(BIN)/phm export --warehouse $(WAREHOUSE) --out $(WAREHOUSE)/export
	$(BIN)/phm simulate --warehouse $(WAREHOUSE)
	$(BIN)/phm simulate --warehouse $(WAREHOUSE) --compare \
		"budget_guarantee_2017@rule:none,risk_model.family=ols" \
		"budget_guarantee_2017@0.995,risk_model.family=ols"
	$(BIN)/phm report --warehouse $(WAREHOUSE) --out $(WAREHOUSE)/report

test: setup
	bash .ci/install-chromium
	$(BIN)/ruff check lib tests benchmarks jobs
	$(BIN)/ruff format --check lib tests benchmarks jobs
	$(BIN)/mypy
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25

# the kill -9 crash tests of runs and ingests (real subprocesses; ~7 min, not in `make test`)
test-crash: setup
	PHM_CRASH_TESTS=1 $(BIN)/python -m pytest tests/runs/test_crash.py

bench: setup
	$(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf $(WAREHOUSE) spark-warehouse metastore_db derby.log
