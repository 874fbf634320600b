# Two commands that work on a fresh machine with Python 3.11+ and make:
#   make demo   - meter a sample workload against a local fake provider (no key, no network)
#   make test   - lint, type-check and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml integrations/langchain/pyproject.toml requirements-dev.txt
	$(BIN)/python -m pip install --quiet -e '.[httpx2,compression,export]' -e integrations/langchain -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/llmmeter demo

lint: $(STAMP)
	$(BIN)/ruff check llmmeter integrations tests benchmarks examples
	$(BIN)/ruff format --check llmmeter integrations tests benchmarks examples

# The package, then user code as users write it: the examples and a program using every README
# pattern (tests/typing/user_program.py, outside the tests.* relaxation), both under --strict.
typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict examples tests/typing/user_program.py

unit: $(STAMP)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV)
