# Both entry points build .venv themselves on a fresh machine (python3 >= 3.11 and make).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The Quix Streams peer of the worker benchmark: an environment of its own (see the file).
QUIX := .venv-quix
QUIX_STAMP := $(QUIX)/.installed

.PHONY: demo replay test tools check lint format format-check typecheck bench bench-simulate \
	bench-worker clean lock test-wheel

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

$(QUIX_STAMP): bench/quix-requirements.txt
	@echo "building $(QUIX) (pip install -r bench/quix-requirements.txt), once" >&2
	@$(PYTHON) -m venv $(QUIX)
	@$(QUIX)/bin/pip install --quiet --upgrade pip >&2
	@$(QUIX)/bin/pip install --quiet -r bench/quix-requirements.txt >&2
	@touch $(QUIX_STAMP)

demo: $(STAMP)
	$(BIN)/relance demo $(ARGS)

# The decided commands on stdout, the summary on stderr.
replay: $(STAMP)
	@$(BIN)/relance simulate --events examples/shop-events.jsonl --until 2024-05-03T00:00:00Z \
		$(ARGS)

test: $(STAMP) $(QUIX_STAMP) tools
	$(BIN)/pytest

# The built wheel with its extras in a fresh environment outside the tree: the unit suite,
# the integration tests of the processes it starts, and the CLI (scripts/test-wheel).
test-wheel: $(STAMP) tools
	PYTHON=$(PYTHON) scripts/test-wheel

# Debian's packages the tests use, each installed when its command is missing: Prometheus and
# promtool for the observability tests, chromium (at the path playwright is given) for the
# gateway's page test, SpamAssassin for the test that scores the shipped templates, stunnel4
# as the TLS endpoint in front of the embedded broker.
tools:
	scripts/install-tools prometheus=prometheus,promtool chromium=/usr/bin/chromium \
		spamassassin stunnel4

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

format-check: $(STAMP)
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint format-check typecheck test

# The image's dependencies (pyproject.toml's, no extras), pinned with the hashes of every
# file PyPI has for each, for the image's Python on Linux. uv reads neither pip's
# configuration nor its constraints, and --no-config none of its own: the lock is resolved on
# uv's default index, PyPI, alone. Pins already in the file are kept while they fit;
# `make lock LOCK_FLAGS=--upgrade` moves every one to its newest release.
LOCK_FLAGS ?=
lock: $(STAMP)
	env -u UV_INDEX -u UV_INDEX_URL -u UV_DEFAULT_INDEX -u UV_EXTRA_INDEX_URL -u UV_FIND_LINKS \
		$(BIN)/uv pip compile --quiet --no-config --python-version 3.11 --python-platform linux \
		--generate-hashes --custom-compile-command 'make lock' $(LOCK_FLAGS) \
		--output-file requirements.lock pyproject.toml

bench: bench-simulate bench-worker

bench-simulate: $(STAMP)
	$(BIN)/python bench/simulate_throughput.py

# relance worker end to end on the embedded broker, with Quix Streams, a hand-written loop
# and the plain faust agent beside it
bench-worker: $(STAMP) $(QUIX_STAMP)
	$(BIN)/python bench/worker_throughput.py $(ARGS)

clean:
	rm -rf $(VENV) $(QUIX) .pytest_cache .mypy_cache .ruff_cache
