# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/omniweave demo --out-dir demo-out

test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/pytest -q  # tiny models: one thread per process is faster

test-all: $(STAMP)
	OMNIWEAVE_SLOW=1 $(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check omniweave tests bench

bench: $(STAMP)
	$(BIN)/python bench/build_cost.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache
