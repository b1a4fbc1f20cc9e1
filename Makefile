# The two commands in the README: `make run` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check install system-deps node-deps bench instructions lint format clean soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests drive: Chromium (browser tests), docker-compose (compose file check),
# Node.js and npm (Ory's sample login and consent app).
SYSTEM_PACKAGES := chromium docker-compose
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing Debian packages:$$missing -- run: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

# npm packages the tests run (Ory's sample login and consent app), pinned by the lock file.
NODE_STAMP := tests/npm/node_modules/.installed-$(shell cat tests/npm/package-lock.json | sha1sum | cut -c1-12)
$(NODE_STAMP): tests/npm/package.json tests/npm/package-lock.json
	cd tests/npm && npm ci --no-audit --no-fund --loglevel=error
	rm -f tests/npm/node_modules/.installed-*
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

## make run: install, migrate the embedded SQLite database, create the demo admin, serve on :8000
run: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py rotate_keys --if-missing
	$(BIN)/python manage.py ensure_demo_admin
	@echo "Serving on http://localhost:$(PORT)  (discovery: http://localhost:$(PORT)/.well-known/openid-configuration)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## make test: install what the tests need, check the layers, the types and the style, and run the
## whole suite (SQLite, or DATABASE_URL)
# Connections are not kept between requests in tests, so live-server threads release the test
# database and pytest-django can drop it.
test: install system-deps node-deps check
	DATABASE_CONN_MAX_AGE=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

## make check: the dependency layers (DESIGN.md, import-linter), the types (mypy), the style (ruff)
check: install
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## make soak: minutes of mixed load with faults (SIGKILLed workers, a database outage); bench/SOAK.md
soak: install
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

## make bench: the benchmark harness (PostgreSQL on 127.0.0.1, wrk, node); writes bench/REPORT.md
bench: install
	$(BIN)/pip install --quiet -e ".[test,bench]"
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; }
	cd bench && ../$(BIN)/python run.py $(BENCH_ARGS)

## make instructions: instructions per request under valgrind (repeatable, unlike timings on a shared VM)
instructions: install
	@command -v valgrind >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq valgrind >/dev/null; }
	$(BIN)/python bench/instructions.py $(INSTRUCTIONS_ARGS)

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var/*.sqlite3* var/staticfiles .pytest_cache
