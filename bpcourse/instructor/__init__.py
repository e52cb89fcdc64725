"""Instructor tooling and the student workspace, built on nbgrader's conventions.

    python -m bpcourse release --out release/          # the student version, no solutions
    python -m bpcourse grade submissions/ --out grades/  # grades.csv and feedback per student
    python -m bpcourse workspace                        # the student's own copies (workspace/)
    python -m bpcourse reset 03                         # a fresh lesson, the old copy kept as a backup

One idea per module: ``student_form`` (the student version of a notebook, standard library
only), ``assignment`` (which exercises count, for how many points), ``release`` (the student
version of an assignment), ``grade`` (run submissions against the instructor's tests),
``workspace`` (a student's copies, never overwritten). ``release`` and ``grade`` work from
the source notebooks of a repository checkout; ``workspace`` and ``reset`` also from the
lessons shipped in the wheel. Only ``grade`` needs nbgrader.
"""
from ..paths import REPO, SOURCE_NOTEBOOKS

DEFAULT_ASSIGNMENT = REPO / "assignments" / "default.toml"


class UsageError(Exception):
    """A problem the user can fix (bad path, unknown exercise, ...): one sentence, no traceback."""
