"""Instructor tooling and the student workspace, built on nbgrader's conventions.

    python -m bpcourse release --out release/          # the student version, no solutions
    python -m bpcourse grade submissions/ --out grades/  # grades.csv and feedback per student
    python -m bpcourse workspace                        # the student's own copies (workspace/)
    python -m bpcourse reset 03                         # a fresh lesson, the old copy kept as a backup

One idea per module: ``student_form`` (the student version of a notebook, standard library
only), ``assignment`` (which exercises count, for how many points), ``release`` (the student
version of an assignment), ``workspace`` (a student's copies, never overwritten), and for
grading: ``grade`` (run submissions against the instructor's tests, students in parallel),
``kernel`` (a notebook in a confined kernel), ``sandbox`` and ``sandbox_server`` (the
student's functions in a confined process, plain data back), ``trusted_tests`` (the test
cells, run where no student code runs), ``confine`` (limits, an unprivileged user, files out
of view), ``pristine`` (the package as it was when grading started), ``gradebook``
(grades.csv and feedback). ``release`` and ``grade`` work from the source notebooks of a
repository checkout; ``workspace`` and ``reset`` also from the lessons shipped in the wheel.
Only ``grade`` needs nbgrader.
"""
from ..paths import REPO, SOURCE_NOTEBOOKS

DEFAULT_ASSIGNMENT = REPO / "assignments" / "default.toml"


class UsageError(Exception):
    """A problem the user can fix (bad path, unknown exercise, ...): one sentence, no traceback."""
