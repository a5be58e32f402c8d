# Both entry points build .venv themselves on a fresh machine (python3 >= 3.11 and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo replay test tools check lint format format-check typecheck bench bench-simulate \
	bench-worker clean

# ARGS go to the command: make demo ARGS="--duration 60", make replay ARGS="--explain".
ARGS ?=

# Quiet (@, and what it says on stderr) so that `make replay > file` holds only commands,
# on the first use too.
$(STAMP): pyproject.toml
	@echo "building $(VENV) (pip install -e '.[dev]'), once" >&2
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip >&2
	@$(BIN)/pip install --quiet -e '.[dev]' >&2
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/relance demo $(ARGS)

# The decided commands on stdout, the summary on stderr.
replay: $(STAMP)
	@$(BIN)/relance simulate --events examples/shop-events.jsonl --until 2024-05-03T00:00:00Z \
		$(ARGS)

test: $(STAMP) tools
	$(BIN)/pytest

# Debian's packages the tests use: Prometheus and promtool for the observability tests,
# stunnel4 as the TLS endpoint in front of the embedded broker.
tools:
	scripts/install-tools prometheus=prometheus,promtool stunnel4=stunnel4

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

# Not in `check` yet: the code base is reformatted once, then format-check joins it.
format-check: $(STAMP)
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: bench-simulate bench-worker

bench-simulate: $(STAMP)
	$(BIN)/python bench/simulate_throughput.py

# relance worker end to end on the embedded broker, with the plain faust agent beside it
bench-worker: $(STAMP)
	$(BIN)/python bench/worker_throughput.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
