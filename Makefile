# deepmix: two commands for users (make lab, make test), plus figures and bench.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test figures bench pretrained lint clean

# Create the virtual environment and install the package with notebook and test extras.
# Re-runs only when pyproject.toml changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[notebooks,dev]"
	@touch $(STAMP)

lab: $(STAMP)  ## open JupyterLab on the tutorials
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)  ## unit tests, then every notebook in quick mode under nbval
	$(BIN)/ruff check .
	$(BIN)/python -m pytest tests
	DEEPMIX_QUICK=1 $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 \
		-p no:cacheprovider notebooks/

figures: $(STAMP)  ## execute every notebook (full budgets) and write HTML + PNG gallery to build/
	$(BIN)/python scripts/make_figures.py

pretrained: $(STAMP)  ## retrain the IK and DCGMM models shipped in deepmix_core/pretrained/ (~30 min on a CPU)
	$(BIN)/python scripts/train_pretrained.py

bench: $(STAMP)  ## print the benchmark figures
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build/html .pytest_cache
