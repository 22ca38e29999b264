# GridLink — the README's commands. Everything is installed by scripts/provision.
SHELL := /bin/bash
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test bench lint db-stop clean

setup:  ## provision, migrate, load the demo sub-district (no server)
	@scripts/provision

run: setup  ## the running system on http://$(HOST):$(PORT)/
	@scripts/run-server $(HOST) $(PORT)

test:  ## provision (with Chromium), then ruff, mypy, the import layers, the browser modules' eslint, type check and node --test, and the whole suite against real PostGIS
	@scripts/provision --test
	@.venv/bin/ruff check .
	@.venv/bin/mypy .
	@.venv/bin/lint-imports --no-cache
	@npm --prefix frontend run check
	@$(PY) -m pytest

bench: setup  ## benchmarks on the demo data of the development database, each beside its floor
	@for f in tests/bench/bench_*.py; do $(PY) $$f || exit 1; done

lint:
	@.venv/bin/ruff check .
	@.venv/bin/mypy .
	@.venv/bin/lint-imports --no-cache
	@npm --prefix frontend run lint
	@npm --prefix frontend run types && npm --prefix frontend run typecheck

db-stop:  ## stop the project-local PostgreSQL cluster
	@scripts/pg-local stop

clean: db-stop  ## remove everything generated (database, venv, node_modules)
	rm -rf var .venv frontend/node_modules test-artifacts
