# Everything a newcomer needs: `make run` and `make test` set up the environment themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test test-unit test-integration browser contracts lint lint-imports bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	@# Debian's python3 has no venv module without python3-venv: install it when root, else say so.
	$(PYTHON) -m venv $(VENV) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-venv \
	  && $(PYTHON) -m venv --clear $(VENV); } || { echo "cannot create $(VENV): install python3-venv (sudo apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Run the whole platform (embedded Kafka and MongoDB unless KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI are set) until Ctrl-C.
## The embedded broker is tansu (Python only); `KAFKA=apache make run|demo|test|test-integration|bench` uses
## Apache Kafka from Maven Central instead (needs Java 17+ and Maven; devstack/apache_kafka.py).
run: install
	$(BIN)/python -m services.run

## Run the supply-chain scenario once and exit.
demo: install
	$(BIN)/python -m services.run --demo

## Unit, component and integration tests (integration: external servers, else Docker, else embedded).
## Installs Debian's chromium for the browser tests when it can (as root); without one they are skipped
## and the summary says so, except in CI (CI=true), where a missing browser fails them.
test: install
	@$(BIN)/python -m tests.browser ensure
	ASI_ALLOW_NO_BROWSER=1 $(BIN)/python -m pytest -q -p no:cacheprovider

test-unit: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/component

test-integration: install
	@$(BIN)/python -m tests.browser ensure
	ASI_ALLOW_NO_BROWSER=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/integration

## Debian's chromium for the browser tests (needs root: `sudo make browser`).
browser:
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }
	@command -v chromium

## Regenerate the committed JSON Schemas and AsyncAPI documents from the code.
contracts: install
	$(BIN)/python -m services.asyncapi

## ruff (lint and format, 100 columns), mypy (strict) and the import contracts, as configured in pyproject.toml.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

lint-imports: install
	$(BIN)/lint-imports

## Benchmarks (not tests): prints a table and writes bench-results/latest.md (`make bench KAFKA=apache`; both brokers in one run: `.venv/bin/python -m bench --kafka both`).
bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .run bench-results .pytest_cache .hypothesis .mypy_cache .ruff_cache
