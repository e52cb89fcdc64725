"""The student version of an assignment: solutions replaced by stubs, nothing leaked.

Each assigned lesson goes through ``student_form`` (what nbgrader's ``ClearHiddenTests``,
``ClearSolutions``, ``ClearOutput`` and ``LockCells`` do, without nbgrader): hidden tests
removed, solution regions replaced by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``,
outputs of solution and test cells cleared (other cells keep theirs, so students see the
plots), test cells read-only and solution cells undeletable.

Exercises that the assignment does not hold stay solved: their markers and nbgrader
metadata are dropped, so they are worked examples that run ungraded. A graded release
also holds the ``.bpcourse-release`` marker, so the hint ladder there refuses to show
solutions. ``pip_spec`` adds the set-up cell that installs the course where it is missing
(Google Colab); ``graded=False`` (self-study) makes checks print their verdict without
failing their cell, as in a student's workspace.
"""
import copy
import shutil
from pathlib import Path

from ..exercises.hints import RELEASE_MARKER
from . import SOURCE_NOTEBOOKS, UsageError, student_form
from .assignment import exercise_of, exercises_in, nbgrader_meta

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
MARKER_TEXT = ("This folder is a bpcourse release for a graded class: the hint ladder does not "
               "show reference solutions here.\n")


def _strip_solution_markers(source):
    return "\n".join(line for line in source.split("\n")
                     if not any(m in line for m in SOLUTION_MARKERS))


def assigned_source(nb, assigned):
    """The instructor's version of one notebook for this assignment (solutions and hidden tests
    kept): assigned test cells carry the assignment's points; the exercises not assigned become
    worked examples (no markers, no nbgrader metadata). ``assigned``: {exercise id: points}."""
    nb = copy.deepcopy(nb)
    ids = list(exercises_in(nb))
    tests = {}
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            tests.setdefault(exercise_of(meta["grade_id"], ids), []).append(cell)
    for exercise, cells in tests.items():
        if exercise in assigned:
            for cell in cells:                   # the points of an exercise, shared by its test cells
                cell["metadata"]["nbgrader"]["points"] = _number(assigned[exercise] / len(cells))
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and meta.get("grade_id") not in assigned:
            cell["source"] = _strip_solution_markers(student_form.source(cell))
            del cell["metadata"]["nbgrader"]
    return nb


def _number(x):
    return int(x) if float(x).is_integer() else round(float(x), 6)


def student_version(nb, assigned, pip_spec=None, graded=True):
    """The student's version of one notebook (a new dict; the input is left as it was)."""
    ids = list(exercises_in(nb))
    worked = [meta["grade_id"] for meta in map(nbgrader_meta, nb["cells"])
              if meta.get("grade") and not meta.get("solution") and exercise_of(meta["grade_id"], ids) not in assigned]
    nb = student_form.student_version(assigned_source(nb, assigned), worked_examples=worked)
    if not graded:
        for cell in nb["cells"]:
            if student_form.is_test(cell):
                cell["source"] = student_form.checks_that_do_not_stop(student_form.source(cell))
    if pip_spec is not None:
        student_form.with_setup_cell(nb, pip_spec)
    return nb


def check_out_dir(out, source=SOURCE_NOTEBOOKS, force=False):
    """Refuse to write into the source notebooks, or into a folder that already holds files."""
    out, source = Path(out).resolve(), Path(source).resolve()
    if out == source or source in out.parents:
        raise UsageError(f"refusing to write a release into the source notebooks ({source}); "
                         f"choose another --out folder.")
    if out in source.parents and out.exists() and any(out.iterdir()) and not force:
        raise UsageError(f"{out} holds the course itself; choose an empty --out folder.")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder.")
    if out.exists() and any(out.iterdir()) and not force:
        raise UsageError(f"{out} is not empty; choose an empty folder, or pass --force to "
                         f"overwrite the notebooks in it.")
    return out


def copy_data(source, out):
    """Copy the data folder the notebooks read (notebooks/data/), if there is one."""
    data = Path(source) / "data"
    if data.is_dir():
        shutil.copytree(data, Path(out) / "data", dirs_exist_ok=True)
        return True
    return False


def release(out, assignment, force=False, graded=True, pip_spec=None):
    """Write the student version of every assigned lesson into ``out``.

    Returns [(lesson, number of assigned exercises, points)]. ``graded=False`` (self-study)
    leaves out the release marker and lets checks print their verdict without failing.
    """
    out = check_out_dir(out, assignment.source, force)
    notebooks = {lesson: student_form.read(Path(assignment.source) / f"{lesson}.ipynb")
                 for lesson in assignment.lessons}
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson, assigned in assignment.lessons.items():
        try:
            nb = student_version(notebooks[lesson], assigned, pip_spec, graded)
        except student_form.NotebookError as err:
            raise UsageError(f"{Path(assignment.source) / lesson}.ipynb: {err}") from None
        (out / f"{lesson}.ipynb").write_text(student_form.dumps(nb), encoding="utf-8")
        written.append((lesson, len(assigned), sum(assigned.values())))
    copy_data(assignment.source, out)
    if graded:
        (out / RELEASE_MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return written
