# Two entry points (see README): `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
DATA ?= $${EDGECRAFT_DATA:-../shared/data}
OUT ?= artifacts

.PHONY: setup run run-ensemble test lint bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# the whole system in minutes: validate the data, the default experiment (walk-forward, trading
# backtest, ONNX export, report), then a reduced ensemble (every member family on 4 pairs since
# 2022), then the headline table and both reports
run: setup
	mkdir -p $(OUT)
	$(VENV)/bin/edgecraft validate $(DATA) > $(OUT)/validate.log || { tail -20 $(OUT)/validate.log; exit 1; }
	@tail -1 $(OUT)/validate.log
	$(VENV)/bin/edgecraft run --config configs/default.yaml --data $(DATA) --out $(OUT)
	@echo "reduced ensemble (configs/ensemble-quick.yaml: 4 of 17 pairs since 2022, fewer epochs;" \
	  "the full one is 'make run-ensemble', about an hour)"
	$(VENV)/bin/edgecraft run --config configs/ensemble-quick.yaml --data $(DATA) --out $(OUT)
	$(VENV)/bin/edgecraft headline "$$(ls -td $(OUT)/default-*/ | head -1)" \
	  "$$(ls -td $(OUT)/ensemble-quick-*/ | head -1)"

# the flagship ensemble: every pair since 2020 (about an hour on 2 cores)
run-ensemble: setup
	$(VENV)/bin/edgecraft run --config configs/ensemble.yaml --data $(DATA) --out $(OUT)
	$(VENV)/bin/edgecraft headline "$$(ls -td $(OUT)/ensemble-2*/ | head -1)"

test: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/python -m pytest

bench: setup
	$(VENV)/bin/python benchmarks/bench_features.py
	$(VENV)/bin/python benchmarks/bench_walk_forward.py
	$(VENV)/bin/python benchmarks/bench_executor.py
