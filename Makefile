# Everything a newcomer needs: `make run` and `make test` set up the environment themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test test-unit test-integration browser contracts contracts-check lint lint-imports bench bench-growth mutation clean

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
## Apache Kafka from Maven Central instead (needs Java 17+ and Maven; devstack/apache_kafka/).
run: install
	$(BIN)/python -m devstack.run

## Run the supply-chain scenario once and exit.
demo: install
	$(BIN)/python -m devstack.run --demo

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

## The official AsyncAPI parser and React component (pinned in tools/asyncapi/package-lock.json), from npm.
ASYNCAPI_TOOLS := tools/asyncapi
$(ASYNCAPI_TOOLS)/node_modules/.installed: $(ASYNCAPI_TOOLS)/package-lock.json
	cd $(ASYNCAPI_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

## Regenerate the committed JSON Schemas, AsyncAPI documents and their pages (the gateway's /asyncapi)
## from the code; release compatible schema changes.
contracts: install $(ASYNCAPI_TOOLS)/node_modules/.installed
	$(BIN)/python -m devstack.asyncapi
	node $(ASYNCAPI_TOOLS)/render.mjs

## Check the committed contracts: they match the code, the AsyncAPI documents pass the AsyncAPI parser,
## and no released topic schema changed in a way its consumers cannot read (contracts/README.md).
contracts-check: install $(ASYNCAPI_TOOLS)/node_modules/.installed
	$(BIN)/python -m devstack.asyncapi --check
	node $(ASYNCAPI_TOOLS)/validate.mjs
	$(BIN)/python -m devstack.schema_compat
	node $(ASYNCAPI_TOOLS)/render.mjs --check

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

## Growth (issue 20): 1,000,000 plant events through intake and accounting on one stack, in windows of
## 100,000; each window's rate, CPU and memory, and whether the last windows keep the first ones' pace.
## Writes bench-results/growth.md; 25-30 minutes and up to 12 GB of memory per broker (README, "Growth").
## `make bench-growth KAFKA=apache`; both brokers: `.venv/bin/python -m bench.growth --kafka both`.
bench-growth: install
	$(BIN)/python -m bench.growth

## Mutation testing (mutmut, pyproject's [tool.mutmut]) of every service's domain with its own unit tests,
## one service at a time, two workers; prints a table per module, survivors in .mutation/<service>.md.
## Not run in CI (too slow for every submission). One service: `make mutation SERVICE=claims`;
## some of its modules: `make mutation SERVICE=accounting MODULE="freezing chain"`; one worker on a
## shared machine: `WORKERS=1`.
## `EXAMPLES=10`: property tests draw at most 10 examples per mutant (about half the time on accounting).
WORKERS ?= 2
EXAMPLES ?= 0
mutation: install
	$(BIN)/python -m devstack.mutation $(SERVICE) $(foreach m,$(MODULE),--module=$(m)) --workers=$(WORKERS) --examples=$(EXAMPLES)

clean:
	rm -rf $(VENV) mutants .mutation .run bench-results .pytest_cache .hypothesis .mypy_cache .ruff_cache
