# The two commands: `make lab` (open the course) and `make test` (run every test).
# Two environments, each made on first use and reused after:
#   .venv/      the student's: the course and JupyterLab, nothing for tests or instructors;
#   .venv-dev/  tests and instructor tools (pytest, nbval, nbgrader, Playwright), for `make test`.
PYTHON ?= python3
VENV   := .venv
DEV    := .venv-dev
PY     := $(VENV)/bin/python
DEVPY  := $(DEV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEVSTAMP := $(DEV)/.installed-stamp
TERMINAL_RC := $(abspath $(VENV))/bin/bpcourse-terminal.rc
# JupyterLab runs in the folder it shows, so that its terminals open there too; as root (in a
# container) it needs --allow-root.
LAB    := $(abspath $(VENV))/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test setup workspace reset solutions notebooks benchmark wheel clean-venv

# The course opens on your own copies in workspace/ (git-ignored; your changes are never overwritten).
lab: workspace
	cd workspace && $(LAB)

# Build or update workspace/: adds missing lessons, updates the ones you have not touched.
workspace: $(STAMP)
	$(PY) -m bpcourse workspace --dir workspace

# A fresh copy of one lesson (`make reset LESSON=03`, or LESSON=all); yours is kept as a backup.
reset: $(STAMP)
	@test -n "$(LESSON)" || { echo "say which lesson: make reset LESSON=03 (or LESSON=all)"; exit 2; }
	$(PY) -m bpcourse reset $(if $(filter all,$(LESSON)),--all,$(LESSON)) --dir workspace

# The source notebooks, with every solution: to compare afterwards (and for instructors).
solutions: $(STAMP)
	cd notebooks && $(LAB)

# Every test, then the lessons once more as if on another CPU (no top SIMD level, another
# BLAS kernel): a committed output must not depend on the machine that printed it.
# The browser tests open the course in the student's own JupyterLab (.venv).
test: $(STAMP) $(DEVSTAMP)
	BPCOURSE_STUDENT_PYTHON=$(abspath $(PY)) $(DEVPY) -m pytest
	$(DEVPY) tools/other_cpu.py -- $(DEVPY) -m pytest notebooks/

setup: $(STAMP) $(DEVSTAMP)

# The course on a real JupyterHub (README: On a JupyterHub): the recipe in deploy/jupyterhub/ with
# a dummy login, local servers run as system users (so as root), three students, one instructor.
# The hub's environment (also the users' one) and configurable-http-proxy (from npm) are pinned by
# requirements-hub.txt and tests/hub/package*.json; the course's own dependencies go in too, so
# that the test itself needs no network. The users run that environment's Python, so it is made
# from one that every user can run (HUB_PYTHON, not one in root's home), in a folder every user can
# reach whatever the checkout's own permissions (/tmp/bpcourse-hub-<hash of its pins>, reused
# while the pins stay the same).
.PHONY: test-hub
HUB_PYTHON ?= /usr/bin/python3
HUB      := /tmp/bpcourse-hub-$(shell cat requirements-hub.txt tests/hub/package.json tests/hub/package-lock.json pyproject.toml | sha256sum | cut -c1-12)
HUBPY    := $(HUB)/venv/bin/python
HUBSTAMP := $(HUB)/.installed-stamp
test-hub: $(DEVSTAMP) $(HUBSTAMP)
	BPCOURSE_HUB_PYTHON=$(abspath $(HUBPY)) BPCOURSE_HUB_PROXY=$(abspath $(HUB))/node_modules/.bin/configurable-http-proxy \
	    $(DEVPY) -m pytest tests/hub/test_hub.py

$(HUBSTAMP): requirements-hub.txt tests/hub/package.json tests/hub/package-lock.json pyproject.toml
	rm -rf $(HUB)/venv && mkdir -p $(HUB) && chmod 755 $(HUB) && $(HUB_PYTHON) -m venv $(HUB)/venv
	$(HUBPY) -m pip install --quiet --upgrade pip
	$(HUBPY) -m pip install --quiet -r requirements-hub.txt '.[instructor]'
	cp tests/hub/package.json tests/hub/package-lock.json $(HUB)/
	cd $(HUB) && npm ci --no-audit --no-fund --loglevel=error
	touch $(HUBSTAMP)

# Re-execute the source notebooks in place after editing them (instructors; see CONTRIBUTING.md).
notebooks: $(DEVSTAMP)
	$(DEVPY) tools/execute_notebooks.py

benchmark: $(DEVSTAMP)
	$(DEVPY) benchmarks/bench_mlp.py
	$(DEVPY) benchmarks/bench_widgets.py

# The wheel to hand out: the package with every lesson in its student form (dist/).
wheel: $(DEVSTAMP)
	$(DEVPY) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/bpcourse-*.whl

# The student's environment. One left by an older Makefile with the test tools in it is made
# anew. JupyterLab's terminal gets this environment (its `python` is .venv/bin/python).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "bpcourse needs Python 3.10 or newer; found " + sys.version.split()[0])'
	if [ -e $(VENV)/bin/nbgrader ]; then rm -rf $(VENV); fi
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	printf '%s\n' '[ -f ~/.bashrc ] && . ~/.bashrc' '. "$(abspath $(VENV))/bin/activate"' > $(TERMINAL_RC)
	mkdir -p $(VENV)/etc/jupyter
	printf '{"ServerApp": {"terminado_settings": {"shell_command": ["bash", "--rcfile", "%s"]}}}\n' \
	    "$(TERMINAL_RC)" > $(VENV)/etc/jupyter/jupyter_server_config.json
	touch $(STAMP)

# Tests and instructor tools: never in the student's environment.
$(DEVSTAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "bpcourse needs Python 3.10 or newer; found " + sys.version.split()[0])'
	test -x $(DEVPY) || $(PYTHON) -m venv $(DEV)
	$(DEVPY) -m pip install --quiet --upgrade pip
	$(DEVPY) -m pip install --quiet -e '.[dev]'
	touch $(DEVSTAMP)

clean-venv:
	rm -rf $(VENV) $(DEV)
