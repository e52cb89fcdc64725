"""Instructor tooling and the student workspace, built on nbgrader's conventions.

    python -m bpcourse release --out release/          # the student version, no solutions
    python -m bpcourse grade submissions/ --out grades/  # grades.csv and feedback per student
    python -m bpcourse workspace                        # the student's own copies (workspace/)
    python -m bpcourse reset 03                         # a fresh lesson, the old copy kept as a backup

One idea per module: ``assignment`` (which exercises count, for how many points),
``release`` (the student version of a notebook), ``grade`` (run submissions
against the instructor's tests), ``workspace`` (a student's copies, never
overwritten). nbgrader is needed by ``release``, ``grade`` and ``workspace``;
it is imported only when one of them runs.
"""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE_NOTEBOOKS = REPO / "notebooks"           # the instructor (source) version, with solutions
DEFAULT_ASSIGNMENT = REPO / "assignments" / "default.toml"


class UsageError(Exception):
    """A problem the user can fix (bad path, unknown exercise, ...): one sentence, no traceback."""
