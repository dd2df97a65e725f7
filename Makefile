# Everything a newcomer needs: `make run` and `make test` set up the environment themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test test-unit test-integration contracts lint lint-imports bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
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
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-unit: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit tests/component

test-integration: install
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/integration

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
