# Fellesjournal: `make run` serves the demo, `make test` runs the suite on SQLite and
# PostgreSQL. Everything installs into .venv from requirements.lock (pinned versions).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Front-end packages of the browser tests (axe-core), pinned in package-lock.json.
NODE_STAMP := node_modules/.installed
TEST_BACKEND ?= all
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

export FELLESJOURNAL_TEST_DATABASE_URL ?= $(TEST_DATABASE_URL)

.PHONY: install run test test-sqlite test-postgresql bench lint lock catalogs clean screenshots

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	tools/ensure-node
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: $(STAMP)
	FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true $(BIN)/fellesjournal db upgrade
	FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true $(BIN)/fellesjournal demo seed --if-empty
	FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true $(BIN)/fellesjournal serve

ifeq ($(TEST_BACKEND),all)
test: test-sqlite test-postgresql
else
test: test-$(TEST_BACKEND)
endif

test-sqlite: $(STAMP) $(NODE_STAMP)
	tools/ensure-chromium
	FELLESJOURNAL_TEST_BACKEND=sqlite $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

test-postgresql: $(STAMP) $(NODE_STAMP)
	tools/ensure-chromium
	FELLESJOURNAL_TEST_BACKEND=postgresql $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# PNGs of the main pages for the README (docs/screenshots/), from a fresh demo database.
screenshots: $(STAMP)
	tools/ensure-chromium
	$(BIN)/python -m tools.screenshots

bench: $(STAMP)
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.population
	$(BIN)/python -m bench.workflows

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^fellesjournal' > requirements.lock

# Extract the UI's msgids into the .pot and merge them into both catalogs (new ones come
# untranslated, and the suite fails until they are translated). Nothing is compiled: the
# application compiles the .po files in memory (fellesjournal.web.i18n).
LOCALE_DIR := src/fellesjournal/web/locale
catalogs: $(STAMP)
	mkdir -p $(LOCALE_DIR)
	$(BIN)/pybabel --quiet extract -F babel.cfg -k NP_:1c,2 --add-comments=Translators: \
		--project=Fellesjournal --copyright-holder="Fellesjournal contributors" \
		-o $(LOCALE_DIR)/messages.pot .
	for locale in nb nn; do \
		$(BIN)/pybabel --quiet update --init-missing -D messages -i $(LOCALE_DIR)/messages.pot \
			-d $(LOCALE_DIR) -l $$locale || exit 1; \
	done

clean:
	rm -rf $(VENV) var node_modules .pytest_cache .mypy_cache .ruff_cache
