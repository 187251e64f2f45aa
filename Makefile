# Two entry points: `make app` (install + start the dashboard) and `make test` (install + run all tests);
# `make test-fast` skips the tests marked slow or browser.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PORT   ?= 8501

.PHONY: app test test-fast install install-dev checks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e ".[dev,scale]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

app: $(VENV)/.installed
	$(BIN)/streamlit run app.py --server.port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# the quick loop while editing: everything but the tests marked slow or browser (CI runs `make test`)
test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow and not browser"

checks: $(VENV)/.installed
	../shared/checks/run-all

clean:
	rm -rf $(VENV) .pytest_cache
