# tokenfab — the two commands (`make run`, `make test`) do all the set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean java system axe docs docs-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

PORT ?= 8000

# The answer first (the estimate's headline line) and its details, then the calculator and its
# HTTP API on this machine only (127.0.0.1:$(PORT), API docs at /docs) until Ctrl-C.
run: $(STAMP)
	@$(BIN)/tokenfab estimate --model llama-3.1-70b --accelerator h100-sxm --accelerators 8 --precision fp8
	@echo
	@echo "The tokenfab command is in $(BIN). For the README's commands, run:  . $(BIN)/activate"
	@echo "(or: export PATH=\$$PWD/$(BIN):\$$PATH)"
	@echo
	@$(BIN)/tokenfab serve --host 127.0.0.1 --port $(PORT)

test: $(STAMP) system axe
	$(BIN)/python -m pytest src tests

# System packages the tests use, installed when missing and we are root (one quiet apt-get
# update): a JVM for the PySpark portability tests (Spark 4 needs Java 17+), Debian's chromium
# for the browser tests (tests/web), pango for WeasyPrint (report --pdf) and npm for axe-core.
# Without them those tests are skipped and say why.
system:
	@missing=""; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "apt-get install:$$missing"; \
	    (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
	     apt-get install -y -qq $$missing >/dev/null 2>&1) || \
	    echo "apt-get failed for:$$missing; their tests will be skipped"; \
	  else echo "not root, missing:$$missing; their tests will be skipped"; fi; \
	fi

java: system

# axe-core (the accessibility engine the browser tests run in the page), from npm into an
# ignored folder; pinned so that a new rule cannot turn the suite red on its own.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
AXE_VERSION := 4.14.1

$(AXE):
	@command -v npm >/dev/null 2>&1 && \
	  npm install --prefix .cache/axe --no-save --no-audit --no-fund --silent axe-core@$(AXE_VERSION) \
	  >/dev/null 2>&1 || echo "axe-core: not installed; the accessibility test will be skipped"

axe: $(AXE)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs/readme.py docs/screenshot.py
	$(BIN)/ruff format --check src tests bench docs/readme.py docs/screenshot.py

# Results go to out/bench/ (ignored); `python bench/bench_accuracy.py --write` updates the stored fit
# (data/efficiency.csv, data/error_bands.csv) and bench/results/accuracy.md.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# The figures README.md quotes: `docs` rewrites them, `docs-check` fails when one is stale.
docs: $(STAMP)
	$(BIN)/python docs/readme.py
	$(BIN)/python docs/screenshot.py

docs-check: $(STAMP)
	$(BIN)/python docs/readme.py --check

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
