# vigil: `make run` starts the app on the embedded default; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check

.PHONY: run test install lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip==25.3

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/vigil serve

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_test_imports.py tests
	$(BIN)/python scripts/check_sizes.py src

typecheck: $(TEST_STAMP)
	$(BIN)/mypy src/vigil src/vigil_build

pytest: $(TEST_STAMP)
	bash scripts/ensure-system-deps.sh
	$(BIN)/pytest

test: lint typecheck pytest

bench: $(TEST_STAMP)
	for script in bench/*.py; do case $$script in bench/_*) ;; *) $(BIN)/python $$script;; esac; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache
