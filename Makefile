# Every target creates .venv when missing and installs the project once (a stamp file
# remembers the install; it is redone only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test run bench lint content-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

chat: $(STAMP)
	$(BIN)/merchant-bot chat

run: $(STAMP)
	$(BIN)/merchant-bot run

test: $(STAMP)
	$(BIN)/merchant-bot content-check
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

content-check: $(STAMP)
	$(BIN)/merchant-bot content-check

clean:
	rm -rf $(VENV) .pytest_cache
