# Two commands on a fresh machine: `make run` (portal with demo data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app

.PHONY: setup run test browser lint bench

setup: $(VENV)/.installed static/vendor/htmx.min.js

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

static/vendor/htmx.min.js: node_modules/.package-lock.json
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed: the browser tests will be skipped (sudo apt-get install chromium)"; fi; }

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load
	$(BIN)/flask clocks recompute
	@echo ""
	@echo "  Support portal: http://$(HOST):$(PORT)/"
	@echo "  Demo logins (password: demo): ana@acme.example (customer, Acme), bo@globex.example (customer, Globex),"
	@echo "  agent@support.example, tam@support.example, admin@support.example"
	@echo ""
	@echo "  The background worker (clock sweeps, outbox) runs beside it and stops with it."
	BIN=$(BIN) bin/run-with-worker --host $(HOST) --port $(PORT)

test: setup browser
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check .
