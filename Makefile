# Two entry points (see README): `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(VENV)/bin/edgecraft validate $${EDGECRAFT_DATA:-../shared/data}
	$(VENV)/bin/edgecraft run --config configs/default.yaml --out artifacts
	$(VENV)/bin/edgecraft run --config configs/ensemble.yaml --out artifacts

test: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/python -m pytest

bench: setup
	$(VENV)/bin/python benchmarks/bench_features.py
	$(VENV)/bin/python benchmarks/bench_walk_forward.py
	$(VENV)/bin/python benchmarks/bench_executor.py
