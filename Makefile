# Fellesjournal: `make run` serves the demo, `make test` runs the suite on SQLite and
# PostgreSQL. Everything installs into .venv from requirements.lock (pinned versions).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_BACKEND ?= all
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

export FELLESJOURNAL_TEST_DATABASE_URL ?= $(TEST_DATABASE_URL)

.PHONY: install run test test-sqlite test-postgresql bench lint lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true $(BIN)/fellesjournal db upgrade
	FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true $(BIN)/fellesjournal demo seed --if-empty
	FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true $(BIN)/fellesjournal serve

ifeq ($(TEST_BACKEND),all)
test: test-sqlite test-postgresql
else
test: test-$(TEST_BACKEND)
endif

test-sqlite: $(STAMP)
	FELLESJOURNAL_TEST_BACKEND=sqlite $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-postgresql: $(STAMP)
	FELLESJOURNAL_TEST_BACKEND=postgresql $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.population

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^fellesjournal' > requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
