"""The student version of the course: solutions replaced by stubs, nothing leaked.

For each assigned lesson, nbgrader's own preprocessors run in turn, as
``nbgrader generate_assignment`` runs them (without its database):

- ``ClearHiddenTests`` removes ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS``;
- ``ClearSolutions`` replaces ``### BEGIN SOLUTION`` … ``### END SOLUTION`` by
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()``;
- ``ClearOutput`` clears the outputs of solution and test cells only (other
  cells keep theirs, so students see the plots);
- ``LockCells`` makes test cells read-only and solution cells undeletable.

Exercises that the assignment does not hold stay solved: their markers and
nbgrader metadata are dropped, so they are worked examples that run ungraded.
A graded release also holds the ``.bpcourse-release`` marker, so the hint
ladder there refuses to show solutions.
"""
import copy
import shutil
from pathlib import Path

import nbformat

from ..exercises.hints import RELEASE_MARKER
from . import SOURCE_NOTEBOOKS, UsageError
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
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution"):
            tests.setdefault(exercise_of(meta["grade_id"], ids), []).append(cell)
    for exercise, cells in tests.items():
        if exercise in assigned:
            for cell in cells:                   # the points of an exercise, shared by its test cells
                cell.metadata.nbgrader["points"] = _number(assigned[exercise] / len(cells))
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and meta.get("grade_id") not in assigned:
            cell.source = _strip_solution_markers(cell.source)
            del cell.metadata["nbgrader"]
    return nb


def _number(x):
    return int(x) if float(x).is_integer() else round(float(x), 6)


def student_version(nb, assigned):
    """The student's version of one notebook (a NotebookNode; the input is left as it was)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    ids = list(exercises_in(nb))
    nb = assigned_source(nb, assigned)
    resources = {}
    for pp in (ClearHiddenTests(), ClearSolutions()):
        nb, resources = pp.preprocess(nb, resources)
    clear = ClearOutput()
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and exercise_of(meta["grade_id"], ids) not in assigned:
            del cell.metadata["nbgrader"]        # the test of a worked example: runs, is not graded
        elif meta.get("solution") or meta.get("grade"):
            clear.preprocess_cell(cell, resources, index)
    nb, resources = LockCells().preprocess(nb, resources)
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


def release(out, assignment, force=False, graded=True):
    """Write the student version of every assigned lesson into ``out``.

    Returns [(lesson, number of assigned exercises, points)]. ``graded=False`` leaves out the
    release marker (the self-learner's workspace, where the last hint rung may show solutions).
    """
    out = check_out_dir(out, assignment.source, force)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for lesson, assigned in assignment.lessons.items():
        nb = nbformat.read(Path(assignment.source) / f"{lesson}.ipynb", as_version=4)
        nbformat.write(student_version(nb, assigned), out / f"{lesson}.ipynb")
        written.append((lesson, len(assigned), sum(assigned.values())))
    copy_data(assignment.source, out)
    if graded:
        (out / RELEASE_MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return written
