# Two commands for a new user:  `make run` (set up + open the app)  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_DB := var/demo.duckdb

.PHONY: run live test setup demo data model messages lint typecheck bench browser clean

run: setup demo  ## set everything up and open the app on http://127.0.0.1:8501
	$(VENV)/bin/streamlit run app.py

live: setup demo  ## the live centre on the demo data: receiver :8600, owner + app :8501, workers
	$(PY) -m tracing serve --db $(DEMO_DB)

test: lint typecheck browser  ## install test tools and run lint, types and the test suite
	$(PY) -m pytest

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.dev-installed
	$(VENV)/bin/mypy

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: $(DEMO_DB)  ## the demo database (reused by later runs)

$(DEMO_DB): $(VENV)/.installed data/cameras/thuduc_cameras.csv
	$(PY) -m tracing demo --db $(DEMO_DB) || { rm -f $(DEMO_DB) $(DEMO_DB).wal $(DEMO_DB).audit-anchor; exit 1; }

data: setup  ## rebuild data/ from ../shared/data (developers only; the result is committed)
	$(PY) -m tracing build-data

messages: setup  ## refresh locale/*/LC_MESSAGES/messages.po from the code (then translate what it lists)
	$(PY) -m tracing.i18n_catalogs

model: setup  ## retrain the recogniser on synthetic plates (~30 min on 2 cores; the result is committed)
	$(PY) -m recognition train

browser:  ## Chromium for the real-browser test (installed when missing and we are root)
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  echo "could not install chromium: the browser test will be skipped outside CI"

bench: setup  ## every benchmark; each prints a final `RESULT <name> key=value …` line
	$(PY) bench/network.py
	$(PY) bench/store.py
	$(PY) bench/ingest_ceiling.py
	$(PY) bench/simulate.py
	$(PY) bench/search.py
	$(PY) bench/route.py
	$(PY) bench/coverage.py
	$(PY) bench/alerts.py
	$(PY) bench/retention.py
	$(PY) bench/hardening.py
	$(PY) bench/live.py
	$(PY) bench/recognition.py

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
