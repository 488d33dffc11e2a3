# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs techscore and runs the main job on the embedded synthetic world
#   make test   creates .venv, installs techscore with its test dependencies and runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-deps

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Chromium (PDF reports, browser tests) and a CJK font, from the system's packages; skipped with a message
# where it cannot install (not root): reports still render as HTML and the browser tests say why they skip.
system-deps:
	-bash scripts/install-system-deps.sh

demo: $(STAMP) system-deps
	$(BIN)/techscore demo

test: $(STAMP) system-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check techscore features tests benchmarks

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo-output mlruns .pytest_cache
