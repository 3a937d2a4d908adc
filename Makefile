# The two commands: `make run` (the whole platform, offline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install clean-data

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

%.mo: %.po
	msgfmt --check -o $@ $<

# The console's front-end packages (htmx, ECharts, SortableJS), from the npm registry at
# build time; settings.STATICFILES_DIRS serves them from node_modules.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed node_modules/.installed $(MO_FILES)

run: install
	$(BIN)/python -m control_plane.devserver

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

clean-data:
	rm -rf .data
