# The two commands: `make lab` (open the course) and `make test` (run every test).
# Both create .venv and install the package with its extras on first use; later runs reuse it.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: lab test setup benchmark clean-venv workspace solutions notebooks

# The course opens on your own copies in workspace/ (git-ignored; your changes are never overwritten).
lab: workspace
	$(VENV)/bin/jupyter lab workspace/

# Build or update workspace/: adds missing lessons, updates the ones you have not touched.
workspace: $(STAMP)
	$(PY) -m bpcourse workspace

# The source notebooks, with every solution: for instructors, and to compare afterwards.
solutions: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# Every test, then the lessons once more as if on another CPU (no top SIMD level, another
# BLAS kernel): a committed output must not depend on the machine that printed it.
test: $(STAMP)
	$(PY) -m pytest
	$(PY) tools/other_cpu.py -- $(PY) -m pytest notebooks/

setup: $(STAMP)

# Re-execute the source notebooks in place after editing them (instructors; see CONTRIBUTING.md).
notebooks: $(STAMP)
	$(PY) tools/execute_notebooks.py

benchmark: $(STAMP)
	$(PY) benchmarks/bench_mlp.py
	$(PY) benchmarks/bench_widgets.py

# Reinstall only when the dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "bpcourse needs Python 3.10 or newer; found " + sys.version.split()[0])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
