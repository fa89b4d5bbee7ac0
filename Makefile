# The two commands of the README. Both work on a fresh machine that has only Python 3.11+.
#   make run   - set up and run the product on its embedded default (SQLite, one process): the demo,
#                served at http://127.0.0.1:8000 (pages + API + scheduler; demo users printed at start)
#   make test  - set up and run every test (SQLite and the PostgreSQL at 127.0.0.1:5432)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/trajecten serve --demo --db demo.db

demo: run

test: $(VENV)/.installed
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed
	$(BIN)/python bench/sweep.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm
