# The README's two commands: `make run` (the demo) and `make test` (the whole suite). On a fresh
# machine with python3 and make they set everything up: the virtualenv with requirements-dev.txt,
# and what must come from the system (python3-venv, and Chromium for the browser tests), which
# scripts/need-package installs with apt-get as root, or names the command to run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint bench screenshots clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
	  { scripts/need-package python3-venv "$(PYTHON) -m venv needs it" && $(PYTHON) -m venv --clear $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

# Debian's Chromium, which the browser tests drive (`playwright install` cannot download one here).
$(CHROMIUM):
	scripts/need-package chromium "the browser tests drive it"

run: $(STAMP)
	$(BIN)/python manage.py migrate --verbosity 0
	$(BIN)/python manage.py demo --host $(HOST) --port $(PORT)

# Chromium first: the virtualenv's install takes a while, and the machine's other users of
# Chromium should not wait on it.
test: $(CHROMIUM) $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python manage.py bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis db.sqlite3 staticfiles
