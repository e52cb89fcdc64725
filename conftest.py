"""Shared test set-up: a non-interactive matplotlib, and a throw-away progress log
(inherited by the kernels nbval starts), so tests never touch a student's log."""
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("BPCOURSE_PROGRESS", os.path.join(tempfile.mkdtemp(prefix="bpcourse-"), "progress.jsonl"))
