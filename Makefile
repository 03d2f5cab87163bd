# privpi: `make run` starts a local repository, `make test` runs every test,
# `make test-fast` the quick ones (no browser, end-to-end or slow tests; few hypothesis examples).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PYTEST_WORKERS ?= 4

.PHONY: run test test-fast lint chromium clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(PY)
	$(PIP) install -q -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

run: $(RUNTIME_STAMP)
	$(VENV)/bin/privpi serve

# Debian's chromium for the browser tests; installed when missing and apt-get is usable.
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing and cannot be installed here: browser tests will fail"; fi; \
	fi

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint privpi/aws/templates/*.yaml
	$(VENV)/bin/mypy

test: $(DEV_STAMP) chromium lint
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --timeout 600 tests

test-fast: $(DEV_STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadfile --timeout 120 -m "not browser and not e2e and not slow" \
	  --hypothesis-profile=fast tests

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
