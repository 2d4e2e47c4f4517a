# The two commands: `make run` (the skill on http://127.0.0.1:5000/) and `make test`.
# Both set up everything first: system speech packages, a virtualenv and the project.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test setup

run: setup
	$(BIN)/jak-guide serve --no-verify

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/install-system-packages
	scripts/install-system-packages
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,voice,server]'
	touch $@
