# Convene: `make run` sets up everything and serves the demo; `make test` sets up and runs the suite.
SHELL := /bin/bash
.DEFAULT_GOAL := run

VENV      := .venv
PY        := $(VENV)/bin/python
FLASK     := $(VENV)/bin/flask --app wsgi
ASSETS    := app/static/nhsuk/nhsuk-frontend.min.css

.PHONY: run test test-sqlite test-postgres setup prereqs assets db bench topology lint clean

prereqs:
	@scripts/check-prereqs.sh
	@scripts/system-packages.sh

# The locks pin every package, dependencies included, with hashes (regenerate: see requirements.txt).
$(VENV)/.installed: requirements.lock requirements-dev.lock | prereqs
	@test -d $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $@

$(ASSETS): package.json package-lock.json scripts/copy-assets.sh | prereqs
	npm ci --no-audit --no-fund --loglevel=error
	scripts/copy-assets.sh

assets: $(ASSETS)

setup: $(VENV)/.installed assets

db: setup
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty

run: db
	@echo "Convene is starting on http://127.0.0.1:5000 (press Ctrl+C to stop)."
	$(FLASK) run --host 127.0.0.1 --port 5000

# SQLite (with coverage of app/, floor in .coveragerc), the browser journeys, then PostgreSQL (installed with
# apt where it can be). Without PostgreSQL it fails; CONVENE_SKIP_POSTGRES=1 runs SQLite only on purpose (not in CI).
test: setup
	scripts/run-tests.sh

test-sqlite: setup
	$(VENV)/bin/pytest -q

# Every benchmark, load and fault test (about 25 minutes on 2 cores); each prints its table; fails if any target is missed.
LOAD_SECONDS ?= 300
bench: setup
	@status=0; \
	$(PY) bench/kill_scheduler.py 2>/dev/null || status=1; \
	$(PY) bench/kill_web.py 2>/dev/null || status=1; \
	$(PY) bench/kill_web.py --postgres 2>/dev/null || status=1; \
	$(PY) bench/load.py --seconds $(LOAD_SECONDS) 2>/dev/null || status=1; \
	$(PY) bench/run.py 2>/dev/null || status=1; \
	$(PY) bench/registration.py 2>/dev/null || status=1; \
	exit $$status

# Convene on several hosts (network namespaces; root): nginx with TLS, two web hosts, PostgreSQL, Redis,
# two schedulers and an SMTP host, from the files in deploy/. About 3 minutes; prints its figures.
topology: setup
	$(PY) bench/topology.py

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules app/static/nhsuk .pytest_cache
