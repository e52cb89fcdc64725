"""Shared test set-up: a non-interactive matplotlib whose figures are closed after each test,
and throw-away progress logs, so tests never touch a student's log. Each notebook's kernel (started by nbval) gets a fresh log,
so what a lesson shows of the student's progress is the same on every run."""
import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
LOGS = Path(tempfile.mkdtemp(prefix="bpcourse-logs-"))
os.environ["BPCOURSE_PROGRESS"] = str(LOGS / "tests.jsonl")
_notebooks_started = set()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before the first cell of a notebook (when nbval starts its kernel): a new, empty log."""
    if item.path.suffix == ".ipynb" and item.path not in _notebooks_started:
        _notebooks_started.add(item.path)
        os.environ["BPCOURSE_PROGRESS"] = str(LOGS / f"{item.path.stem}.jsonl")


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """A widget test's figures are closed after it, so they never pile up across tests."""
    import matplotlib.pyplot as plt
    plt.close("all")
