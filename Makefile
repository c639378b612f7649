# deepmix: two commands for users (make lab, make test), plus sync, notebooks, figures and bench.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BROWSER_STAMP := $(VENV)/.browser-installed
# Offline data sets sit beside the repository in this workplace (a user's clone has none): the test set-up
# points DEEPMIX_DATA at them when they are there. The package itself never looks for that folder.
OFFLINE_DATA := $(wildcard $(abspath ../shared/data))
DATA_ENV := $(if $(DEEPMIX_DATA),DEEPMIX_DATA=$(DEEPMIX_DATA),$(if $(OFFLINE_DATA),DEEPMIX_DATA=$(OFFLINE_DATA)))

.PHONY: lab test test-browser sync notebooks figures bench pretrained lint clean

# Create the virtual environment and install the package with notebook and test extras.
# Re-runs only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[notebooks,dev]"
	@touch $(STAMP)

lab: $(STAMP)  ## open JupyterLab on the tutorials (start with 00_start_here)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)  ## lint, unit tests, then every notebook in quick mode under nbval
	$(BIN)/ruff check .
	$(DATA_ENV) $(BIN)/python -m pytest tests --ignore=tests/browser
	$(DATA_ENV) DEEPMIX_QUICK=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
		-p no:cacheprovider notebooks/

$(BROWSER_STAMP): $(STAMP)
	$(BIN)/python -m pip install -e ".[browser]"
	@touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)  ## every explorer in JupyterLab in headless Chromium (apt-get install chromium first)
	$(DATA_ENV) $(BIN)/python -m pytest tests/browser

sync: $(STAMP)  ## carry edits between each notebook and its paired .py (the newer file wins)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.ipynb

notebooks: $(STAMP)  ## re-run every notebook with full budgets and save its outputs (ONLY=02 for one)
	$(DATA_ENV) $(BIN)/python scripts/run_notebooks.py $(if $(ONLY),--only $(ONLY))

figures: $(STAMP)  ## execute every notebook (full budgets) and write HTML + PNG gallery to build/
	$(DATA_ENV) $(BIN)/python scripts/make_figures.py

pretrained: $(STAMP)  ## retrain the IK and DCGMM models shipped in deepmix_core/pretrained/ (~30 min on a CPU)
	$(DATA_ENV) $(BIN)/python scripts/train_pretrained.py

bench: $(STAMP)  ## print the benchmark figures
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(DATA_ENV) $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build/html .pytest_cache
