# Every target creates .venv when missing and installs the project once (a stamp file
# remembers the install; it is redone only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: chat test run bench lint typecheck content-check browser postgres clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Editable: the checkout itself goes on sys.path, so the dev package devserver/ (the local Bot
# API emulator for chat, test and bench; not in the wheel) is importable; [test] brings [dev].
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

chat: $(STAMP)
	$(BIN)/merchant-bot chat

run: $(STAMP)
	$(BIN)/merchant-bot run

# The console's browser tests need Debian's chromium: installed when missing and possible
# (root on Debian), otherwise those tests are skipped with the reason (tests/setup_browser.sh).
browser:
	@sh tests/setup_browser.sh

# The PostgreSQL tests need Debian's postgresql: installed when missing and possible, otherwise
# those tests are skipped with the reason (tests/setup_postgres.sh).
postgres:
	@sh tests/setup_postgres.sh

# Everything that touches the store, run a second time with every store on PostgreSQL.
PG_TESTS := tests/test_e2e_*.py tests/test_webhook.py tests/test_run_command.py \
	tests/test_documents.py tests/test_reminder_properties.py tests/test_pgdb.py \
	tests/test_console*.py

test: $(STAMP) browser postgres
	$(BIN)/merchant-bot content-check
	$(BIN)/python -m bot.diagrams --check
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q
	@echo "the end-to-end suite again, on PostgreSQL (tests/pgserver.py starts a real server):"
	MERCHANT_TEST_STORE=postgresql $(BIN)/python -m pytest -q $(PG_TESTS)

bench: $(STAMP)
	$(BIN)/python -m bench

content-check: $(STAMP)
	$(BIN)/merchant-bot content-check

# flows/ strictly, bot/ in mypy's default mode (configuration: pyproject.toml [tool.mypy])
typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
