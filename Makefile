# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-pg lint format bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

## run: install, migrate, load the demo, print the demo staff login, serve on 127.0.0.1:8000 with the scheduler
run: $(VENV)/.run-deps
	./scripts/run-local.sh

## test: install and run the whole test suite (SQLite unless DATABASE_URL says otherwise)
test: $(VENV)/.dev-deps
	$(PY) -m pytest $(PYTEST_ARGS)

## test-pg: the suite on the local PostgreSQL
test-pg: $(VENV)/.dev-deps
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/cartrecovery $(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff (lint and format) and the apps' layers (import-linter)
lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm
