# One task runner. `make run` starts the app with embedded defaults; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

# Reflex and bun keep their files inside the project; bun comes from the npm registry.
export PATH := $(CURDIR)/.tools/node_modules/.bin:$(CURDIR)/$(BIN):$(PATH)
export REFLEX_DIR := $(CURDIR)/.reflex-home
export BUN_INSTALL := $(CURDIR)/.bun-home
export BUN_INSTALL_CACHE_DIR := $(CURDIR)/.bun-cache
export REFLEX_TELEMETRY_ENABLED := false
export REFLEX_CHECK_LATEST_VERSION := false
export PYTHONPATH := $(CURDIR)
# The registry npm uses (the one that works here): Reflex otherwise times its own choice of
# two registries on every fresh REFLEX_DIR ("Failed to connect to registry.npmmirror.com").
ifndef NPM_CONFIG_REGISTRY
NPM_CONFIG_REGISTRY := $(shell npm config get registry 2>/dev/null)
endif
export NPM_CONFIG_REGISTRY

# Where `make run` serves; links in emails follow it while PUBLIC_URL is unset.
PORT ?= 3000
export PORT

.PHONY: install run demo prod test test-unit test-integration test-browser typecheck test-fast test-e2e lint format bench migrate clean

install: $(VENV)/.installed .tools/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

.tools/.installed:
	mkdir -p .tools
	npm install --silent --no-audit --no-fund --prefix .tools bun@1.4.5
	touch $@

migrate: install
	$(PY) -m scripts.prestart

run: install migrate
	$(BIN)/reflex run --env prod --frontend-port $(PORT) --backend-port $(PORT) --loglevel warning

# A machine without internet: the project's sample events, dated in the coming two weeks,
# in the embedded database (New York shows them), then the app as `make run` serves it,
# without the first-run scrape of every city (AUTOFILL): the sources are out of reach.
demo: install migrate
	$(PY) -m scripts.demo
	AUTOFILL=false $(BIN)/reflex run --env prod --frontend-port $(PORT) --backend-port $(PORT) --loglevel warning

# Production mode on one machine: PostgreSQL, Redis, 2 app processes, 2 arq workers, nginx.
prod: install
	bash scripts/prod

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Lint and types, then the unit, integration and real-fixture tiers (real PostgreSQL and
# Redis), then the browser tier in its own run: Playwright's event loop clashes with
# pytest-asyncio.
test: install
	bash scripts/ensure-system-packages
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/reflex compile --no-rich --loglevel warning
	$(PY) -m pytest -m "not browser" tests
	bash scripts/run-browser-tests

# One tier at a time. tests/shared runs the parsers over real saved pages.
test-unit: install
	$(PY) -m pytest -m "not browser" tests/unit tests/shared

test-integration: install
	bash scripts/ensure-system-packages
	$(PY) -m pytest -m "not browser" tests/integration

test-browser: install
	bash scripts/ensure-system-packages
	bash scripts/run-browser-tests

test-fast: install
	$(PY) -m pytest -m "not browser" tests/unit

# mypy over scrapers/, workers/ and nocturne/; what it checks is set in pyproject.toml.
typecheck: install
	$(BIN)/mypy

bench: install
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .web .states nocturne.db outbox test-artifacts
