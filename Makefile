# Everything a newcomer needs: `make run` and `make test` set up the environment themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test test-unit test-integration contracts contracts-check lint-imports bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Run the whole platform (embedded Kafka and MongoDB unless KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI are set) until Ctrl-C.
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

## The official AsyncAPI parser and React component (pinned in tools/asyncapi/package-lock.json), from npm.
ASYNCAPI_TOOLS := tools/asyncapi
$(ASYNCAPI_TOOLS)/node_modules/.installed: $(ASYNCAPI_TOOLS)/package-lock.json
	cd $(ASYNCAPI_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## Regenerate the committed JSON Schemas, AsyncAPI documents and their pages (the gateway's /asyncapi)
## from the code; release compatible schema changes.
contracts: install $(ASYNCAPI_TOOLS)/node_modules/.installed
	$(BIN)/python -m services.asyncapi
	node $(ASYNCAPI_TOOLS)/render.mjs

## Check the committed contracts: they match the code, the AsyncAPI documents pass the AsyncAPI parser,
## and no released topic schema changed in a way its consumers cannot read (contracts/README.md).
contracts-check: install $(ASYNCAPI_TOOLS)/node_modules/.installed
	$(BIN)/python -m services.asyncapi --check
	node $(ASYNCAPI_TOOLS)/validate.mjs
	$(BIN)/python -m services.schema_compat
	node $(ASYNCAPI_TOOLS)/render.mjs --check

lint-imports: install
	$(BIN)/lint-imports

## Benchmarks (not tests): prints a table and writes bench-results/latest.md.
bench: install
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .run bench-results .pytest_cache .hypothesis
