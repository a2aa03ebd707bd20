# The two commands of the README. Each does all of its own set-up on a fresh machine.
#   make book   build the site into _build/html (executes every chapter)
#   make test   run every test: the package's pytest suite and every chapter under nbval
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: book test test-package test-notebooks test-browser student sync-repo-url clean help

help:
	@echo "make book   - build the book into _build/html (executes every chapter)"
	@echo "make test   - run every test (package, notebooks under nbval, browser)"

# --- environment -----------------------------------------------------------------------
$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: '$(PYTHON)' not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "error: Python >= 3.10 is needed (3.11 recommended), found $$($(PYTHON) --version 2>&1)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: could not create the virtualenv $(VENV) (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
	$(PY) -m pip install --quiet --upgrade "pip>=23"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

# --- the book --------------------------------------------------------------------------
book: $(STAMP)
	@rm -rf _build/html/reports
	@$(VENV)/bin/jupyter-book build . --builder html -W --keep-going \
	  || { echo "error: the book build failed; tracebacks of failing cells are in $(CURDIR)/_build/html/reports/" >&2; ls _build/html/reports 2>/dev/null >&2 || true; exit 1; }
	@echo "Book built: $(CURDIR)/_build/html/index.html"

# --- the tests -------------------------------------------------------------------------
test: $(STAMP)
	$(PY) -m pytest tests book --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

sync-repo-url: $(STAMP)
	$(PY) -m resnet_edu.colab sync

clean:
	rm -rf _build
