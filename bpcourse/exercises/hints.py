"""Hint ladders: each call to ``hint`` shows the next rung, from the idea to the details;
the last rung shows the reference solution, read from the source notebook.

No solution text lives in the package. In a release folder handed to a graded
class (it holds a ``.bpcourse-release`` marker) the last rung says that solutions
are not part of this release; where the course was installed without its source
notebooks (from a wheel), it says where they are.
"""
import json
from pathlib import Path

from .. import progress_log
from ..paths import SOURCE_NOTEBOOKS
from .core import EXERCISES, Exercise

RELEASE_MARKER = ".bpcourse-release"
_shown = {}                                      # exercise id -> rungs shown so far


def find(exercise):
    """An Exercise from its grade_id, its title, or its check function."""
    if isinstance(exercise, Exercise):
        return exercise
    key = getattr(exercise, "exercise_id", exercise)
    if key in EXERCISES:
        return EXERCISES[key]
    for ex in EXERCISES.values():
        if key in (ex.title, ex.id.split("_", 1)[-1]):
            return ex
    raise ValueError(f"no exercise called {exercise!r}; known: {', '.join(sorted(EXERCISES))}.")


def in_graded_release(start=None):
    """True inside a folder built for a graded class (a release marker here or above)."""
    here = Path(start or Path.cwd()).resolve()
    return any((folder / RELEASE_MARKER).exists() for folder in (here, *here.parents))


def solution(exercise, notebooks=None, start=None):
    """The reference solution's code, read from the source notebook, or a refusal."""
    ex = find(exercise)
    path = Path(notebooks or SOURCE_NOTEBOOKS) / f"{ex.lesson}.ipynb"
    if in_graded_release(start):
        return "Solutions are not part of this release: ask your instructor, or compare after grading."
    if not path.exists():
        return (f"Solutions are not part of this release of the course (an installed wheel holds the "
                f"student version only): this one is in the cell {ex.id!r} of notebooks/{ex.lesson}.ipynb "
                f"in the course's repository; in a checkout of it, `make solutions` opens them.")
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == ex.id and meta.get("solution"):
            return _solution_region("".join(cell["source"]))
    return f"The source notebook {path.name} has no solution cell {ex.id!r}."


def _solution_region(source):
    lines, inside, out = source.splitlines(), False, []
    for line in lines:
        if "### BEGIN SOLUTION" in line:
            inside = True
        elif "### END SOLUTION" in line:
            inside = False
        elif inside:
            out.append(line)
    return "\n".join(out) if out else source


def hint(exercise, rung=None):
    """Print the next rung of the exercise's hint ladder (or rung number ``rung``, from 1)."""
    ex = find(exercise)
    ladder = len(ex.hints) + 1                   # the hints, then the solution
    n = _shown.get(ex.id, 0) + 1 if rung is None else rung
    n = max(1, min(n, ladder))
    _shown[ex.id] = max(_shown.get(ex.id, 0), n)
    progress_log.record("hint", ex.lesson, ex.id, rung=n)
    if n <= len(ex.hints):
        after = "the next hint" if n < len(ex.hints) else "the reference solution"
        print(f"Hint {n} of {len(ex.hints)} for {ex.title}: {ex.hints[n - 1]}\n(run hint again for {after})")
    else:
        print(f"Reference solution for {ex.title}:\n{solution(ex)}")
