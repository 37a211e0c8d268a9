# The README's two commands: `make demo` and `make test`. Each builds .venv when missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
CONSTRAINTS := requirements/constraints.txt

.PHONY: demo test test-fast lint format bench clean

# The demo needs the runtime only; the tests also train tiny models (TensorFlow).
$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[dev,train]"
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/pixelopolis demo

# MicroPython's WebAssembly port runs the firmware's protocol tests (skipped without npm).
WASM := firmware_bridge/wasm/node_modules/.package-lock.json
$(WASM): firmware_bridge/wasm/package-lock.json
	if command -v npm >/dev/null; then npm ci --prefix firmware_bridge/wasm --no-audit --no-fund --silent; fi

# Debian's Chromium (and Thai/Japanese fonts) for the station's browser tests; Playwright
# drives it, never `playwright install`. Installed once, when /usr/bin/chromium is missing.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium fonts-ipafont-gothic fonts-thai-tlwg

test: $(TEST_STAMP) $(WASM) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/server.py

clean:
	rm -rf $(VENV) .pytest_cache
