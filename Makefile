# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv and installs what it needs (idempotent: a stamp file per pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: install demo test lint fast-test bench demo-data clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[local,dev,ray,hf]"
	$(BIN)/python -m ipykernel install --sys-prefix --name voicelab --display-name voicelab >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/voicelab run --pipeline chained-local --dataset data/support --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff format --check voicelab tests benchmarks
	$(BIN)/ruff check voicelab tests benchmarks
	$(BIN)/mypy

# The browser tests drive Debian's chromium (never a downloaded one); installed when missing.
browser:
	command -v chromium >/dev/null || (export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends chromium)

test: lint browser
	$(BIN)/python -m pytest -q

fast-test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/chained_local.py

demo-data: $(STAMP)
	$(BIN)/voicelab datasets render --script data/support/script.jsonl --out data/support

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
