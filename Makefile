# Two commands for a new user (Python 3.11 and Java 17 present, nothing else):
#   make demo   set up, generate a synthetic warehouse, validate it, compute the Atlas
#               catalogue into it and export the published values
#   make test   set up, lint (ruff) and run the test suite
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

export PHM_IVY_DIR ?= $(CURDIR)/.cache/ivy

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/phm setup
	touch $(STAMP)

demo: setup
	$(BIN)/phm generate --persons $(PERSONS) --years $(YEARS) --seed $(SEED) --warehouse $(WAREHOUSE) --defects
	$(BIN)/phm validate --warehouse $(WAREHOUSE)
	$(BIN)/phm describe --warehouse $(WAREHOUSE)
	$(BIN)/phm check
	$(BIN)/phm run --warehouse $(WAREHOUSE)
	$(BIN)/phm export --warehouse $(WAREHOUSE) --out $(WAREHOUSE)/export

test: setup
	$(BIN)/ruff check lib tests benchmarks jobs
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf $(WAREHOUSE) spark-warehouse metastore_db derby.log
