# The two commands of the README. Each does all of its own set-up on a fresh machine.
#   make book   build the site into _build/html (executes every chapter)
#   make test   run every test: the package's pytest suite and every chapter under nbval
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# pytest-xdist: two workers (this project's machines have two cores). --dist loadfile: each file is
# one unit on one worker, so a notebook's cells run in order in one kernel under nbval and a module's
# fixtures (the built site, the ipywidgets 7 venv) are made once; tests/conftest.py spreads a few
# files of independent minute-long tests test by test. --no-loadscope-reorder keeps conftest's
# order (longest first). JOBS=0 runs in one process.
JOBS ?= 2
XDIST := $(if $(filter 0,$(JOBS)),,-n $(JOBS) --dist loadfile --no-loadscope-reorder)

# Every kernel and test process runs PyTorch on one CPU thread unless you say otherwise
# (OMP_NUM_THREADS=2 make test). The book's networks are tiny (8x8 digits, 16-64 channels): one
# thread is as fast as two, and two threads per process on two shared cores (two pytest-xdist
# workers, or a notebook beside another program) made cells up to 15x slower. The chapters
# themselves never set threads: this lives here, not in what a learner reads.
OMP_NUM_THREADS ?= 1
export OMP_NUM_THREADS

.PHONY: help book test test-unit test-browser browser-deps student sync-repo-url spreads clean

help:
	@echo "make book          - build the book into _build/html (executes every chapter)"
	@echo "make test          - run every test: package, chapters under nbval, browser, ipywidgets 7, student copies"
	@echo "make test-unit     - only the package's fast unit tests (not slow, browser or network; about a minute)"
	@echo "make test-browser  - only the browser test of the built site (tests/test_site.py)"
	@echo "make browser-deps  - install Debian's chromium and chromium-driver for the browser test (as root)"
	@echo "make student       - write student copies of every chapter into student/ (for instructors)"
	@echo "make sync-repo-url - rewrite each chapter's install cell from repository.url in _config.yml"
	@echo "make spreads       - re-measure the seed spreads the chapters print (book/data/; many minutes)"
	@echo "make clean         - remove _build/"

# --- environment -----------------------------------------------------------------------
$(STAMP): requirements.txt pyproject.toml tools/pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: '$(PYTHON)' not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "error: Python >= 3.10 is needed (3.11 recommended), found $$($(PYTHON) --version 2>&1)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: could not create the virtualenv $(VENV) (on Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
	$(PY) -m pip install --quiet --upgrade "pip>=23"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . -e tools
	@touch $@

# --- the book --------------------------------------------------------------------------
book: $(STAMP)
	@rm -rf _build/html/reports
	@$(VENV)/bin/jupyter-book build . --builder html -W --keep-going \
	  || { echo "error: the book build failed; tracebacks of failing cells are in $(CURDIR)/_build/html/reports/" >&2; ls _build/html/reports 2>/dev/null >&2 || true; exit 1; }
	@echo "Book built: $(CURDIR)/_build/html/index.html"

# --- the tests -------------------------------------------------------------------------
test: $(STAMP) browser-deps
	$(PY) -m pytest tests book --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg $(XDIST)

# The package's unit tests alone: no notebook, nothing over about 2 s, no browser, no network.
test-unit: $(STAMP)
	$(PY) -m pytest tests -m "not slow and not browser and not network" $(XDIST)

# Student copies of every chapter (solutions stubbed, hidden tests and written solutions removed,
# outputs cleared) into student/, with nbgrader's own preprocessors.
student: $(STAMP)
	$(PY) -m book_tools.student student book student

sync-repo-url: $(STAMP)
	$(PY) -m book_tools.repo_url sync

# The spreads across seeds that chapters 1, 6 and 7 print beside their single runs (book_tools/spreads.py).
# SEEDS=0-4 make spreads runs fewer. Run it again in Colab's versions to add a second environment.
SEEDS ?= 0-9
spreads: $(STAMP)
	$(PY) -m book_tools.spreads --seeds $(SEEDS)

clean:
	rm -rf _build

# --- the browser test (tests/test_site.py; `make test` runs it too) -------------------------
# Debian's chromium and chromium-driver: installed only when missing, and only as root. Without
# root this says what is missing and goes on: the browser test is then skipped (it fails if CI is set).
browser-deps:
	@chromium=$${RESNET_EDU_CHROMIUM:-/usr/bin/chromium}; driver=$${RESNET_EDU_CHROMEDRIVER:-/usr/bin/chromedriver}; \
	if [ -x "$$chromium" ] && [ -x "$$driver" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "$${RESNET_EDU_CHROMIUM}$${RESNET_EDU_CHROMEDRIVER}" ]; then \
	  echo "installing Debian's chromium and chromium-driver for the browser test"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else \
	  echo "note: $$chromium or $$driver is missing: the browser test (tests/test_site.py) is skipped, and fails when CI is set; to install them: sudo make browser-deps (Debian/Ubuntu: apt-get install chromium chromium-driver)" >&2; \
	fi

test-browser: $(STAMP) browser-deps
	$(PY) -m pytest tests/test_site.py
