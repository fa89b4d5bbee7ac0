# The two commands of the README. Both work on a fresh machine that has only Python 3.11+.
#   make run   - set up and run the product on its embedded default (SQLite, one process): the demo,
#                served at http://127.0.0.1:8000 (pages + API + scheduler; demo users printed at start)
#   make test  - set up and run every test (SQLite and the PostgreSQL at 127.0.0.1:5432)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run demo test bench clean chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/trajecten serve --demo --db demo.db

demo: run

test: $(VENV)/.installed chromium
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The browser tests (tests/browser) drive the system Chromium through Playwright, which never downloads a
# browser here: install Chromium with apt when it is missing (as root, or through sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "Chromium ontbreekt: installeren met apt-get"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; }

bench: $(VENV)/.installed
	$(BIN)/python bench/sweep.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm
