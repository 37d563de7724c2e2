# tokenfab — the two commands (`make run`, `make test`) do all the set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench install clean java docs docs-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The answer first (the estimate's headline line), then its details, a plan and the catalogs.
run: $(STAMP)
	@$(BIN)/tokenfab estimate --model llama-3.1-70b --accelerator h100-sxm --accelerators 8 --precision fp8
	@echo
	@$(BIN)/tokenfab plan --model llama-3.1-70b --tokens-per-day 2e9 --ttft-slo-s 2 --tpot-slo-s 0.1 --top 8
	@echo
	@$(BIN)/tokenfab catalog
	@echo
	@echo "The tokenfab command is in $(BIN). For the README's commands, run:  . $(BIN)/activate"
	@echo "(or: export PATH=\$$PWD/$(BIN):\$$PATH)"

test: $(STAMP) java
	$(BIN)/python -m pytest src tests

# A JVM for the PySpark portability tests (Spark 4 needs Java 17+): installed only when java is
# missing and we are root; otherwise those tests are skipped and say why.
java:
	@command -v java >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
	   apt-get install -y -qq openjdk-17-jre-headless >/dev/null) || \
	  echo "java: not installed; the Spark tests will be skipped"; }

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs/readme.py
	$(BIN)/ruff format --check src tests bench docs/readme.py

# Results go to out/bench/ (ignored); `python bench/calibrate.py --write` updates the stored fit.
bench: $(STAMP)
	$(BIN)/python bench/run_all.py

# The figures README.md quotes: `docs` rewrites them, `docs-check` fails when one is stale.
docs: $(STAMP)
	$(BIN)/python docs/readme.py

docs-check: $(STAMP)
	$(BIN)/python docs/readme.py --check

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
