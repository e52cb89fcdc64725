"""Instructor tooling and the student workspace, built on nbgrader's conventions.

    python -m bpcourse release --out release/          # the student version, no solutions
    python -m bpcourse grade submissions/ --out grades/  # grades.csv and feedback per student
    python -m bpcourse workspace                        # the student's own copies (workspace/)
    python -m bpcourse reset 03                         # a fresh lesson, the old copy kept as a backup

One idea per module: ``assignment`` (which exercises count, for how many points),
``release`` (the student version of a notebook), ``workspace`` (a student's copies, never
overwritten), and for grading: ``grade`` (run submissions against the instructor's tests,
students in parallel), ``kernel`` (a notebook in a confined kernel), ``sandbox`` and
``sandbox_server`` (the student's functions in a confined process, plain data back),
``trusted_tests`` (the test cells, run where no student code runs), ``confine`` (limits, an
unprivileged user, files out of view), ``pristine`` (the package as it was when grading
started), ``gradebook`` (grades.csv and feedback). nbgrader is needed by ``release``,
``grade`` and ``workspace``; it is imported only when one of them runs.
"""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE_NOTEBOOKS = REPO / "notebooks"           # the instructor (source) version, with solutions
DEFAULT_ASSIGNMENT = REPO / "assignments" / "default.toml"


class UsageError(Exception):
    """A problem the user can fix (bad path, unknown exercise, ...): one sentence, no traceback."""
