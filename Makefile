# Two entry points for a fresh clone: `make run` serves, `make test` checks everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test quick lint typecheck bench-api clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sagelite serve

lint: $(STAMP)
	$(BIN)/ruff check app tests bench migrations examples
	$(BIN)/ruff format --check app tests bench migrations examples

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

# The inner loop: unit, API and integration tests (no server processes), about a minute.
quick: $(STAMP)
	$(BIN)/pytest tests/unit tests/api tests/integration tests/test_architecture.py

bench-api: $(STAMP)
	$(BIN)/python bench/api_throughput.py

clean:
	rm -rf $(VENV) .sagelite .pytest_cache .mypy_cache .ruff_cache
