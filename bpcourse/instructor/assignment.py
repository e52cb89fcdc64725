"""Which lessons and exercises an assignment holds, and for how many points.

An assignment file is TOML. The default (``assignments/default.toml``) is

    title = "Every exercise of every lesson"
    lessons = "all"

and an instructor's own file picks lessons (by name or number) and exercises
(by their nbgrader ``grade_id``), optionally with their own points:

    title = "Week 1"
    [lessons.00_welcome]                                  # every exercise, the notebook's points
    [lessons.02]
    exercises = ["ex02_linear_forward", "ex02_relu_backward"]
    [lessons.04]
    exercises = { ex04_momentum = 3, ex04_adam_step = 5 }  # your own points

An exercise of a listed lesson that is not assigned stays solved in the
release: it is a worked example there, and it is not graded.

In the notebooks, an exercise is a solution cell (nbgrader ``solution: true``,
``grade_id`` = the exercise id) and its test cells (``grade: true``, ``grade_id``
starting with the exercise id, e.g. ``ex00_sigmoid_test``). A test cell whose
grade_id starts with no exercise id is an exercise of its own.
"""
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import DEFAULT_ASSIGNMENT, SOURCE_NOTEBOOKS, UsageError
from .student_form import LESSON_GLOB, nbgrader as nbgrader_meta, read as read_notebook


def lesson_notebooks(source=SOURCE_NOTEBOOKS):
    """{lesson name: path} of every lesson notebook in ``source``, in course order."""
    return {p.stem: p for p in sorted(Path(source).glob(LESSON_GLOB))}


def exercise_of(grade_id, exercise_ids):
    """The exercise a test cell belongs to: the longest exercise id its grade_id starts with."""
    owners = [e for e in exercise_ids if grade_id == e or grade_id.startswith(e + "_")]
    return max(owners, key=len) if owners else grade_id


def exercises_in(nb):
    """{exercise id: points} of a notebook (dict or NotebookNode), in the order they appear."""
    cells = nb["cells"]
    ids = [nbgrader_meta(c)["grade_id"] for c in cells
           if nbgrader_meta(c).get("solution") and nbgrader_meta(c).get("grade_id")]
    points = {i: 0.0 for i in ids}
    for cell in cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            owner = exercise_of(meta["grade_id"], ids)
            points[owner] = points.get(owner, 0.0) + float(meta.get("points", 0))
    return points


@dataclass
class Assignment:
    """``lessons``: {lesson name: {exercise id: points}} for the assigned exercises only."""

    title: str
    lessons: dict
    source: Path = SOURCE_NOTEBOOKS
    path: Path = None
    available: dict = field(default_factory=dict, repr=False)   # lesson -> {exercise: notebook points}

    def points(self, lesson, exercise):
        return self.lessons[lesson][exercise]

    def total(self):
        return sum(p for exercises in self.lessons.values() for p in exercises.values())


def load(path=None, source=SOURCE_NOTEBOOKS):
    """Read an assignment file (default: assignments/default.toml) against the source notebooks."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                        # pragma: no cover - Python 3.10
        import tomli as tomllib
    source = Path(source)
    notebooks = lesson_notebooks(source)
    if not notebooks:
        raise UsageError(f"no lesson notebooks (NN_name.ipynb) found in {source}.")
    if path is None and not DEFAULT_ASSIGNMENT.exists():
        spec = {"title": "Every exercise of every lesson", "lessons": "all"}
    else:
        path = Path(path or DEFAULT_ASSIGNMENT)
        try:
            spec = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"the assignment file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as err:
            raise UsageError(f"the assignment file {path} is not valid TOML ({err}).") from None
    return from_dict(spec, source, path, notebooks)


def from_dict(spec, source=SOURCE_NOTEBOOKS, path=None, notebooks=None):
    """An Assignment from the parsed TOML (see the module's docstring for the format)."""
    notebooks = notebooks or lesson_notebooks(source)
    if not notebooks:
        raise UsageError(f"no lesson notebooks (NN_name.ipynb) found in {source}.")
    where = f"in {path}" if path else "in the assignment"
    unknown = set(spec) - {"title", "lessons"}
    if unknown:
        raise UsageError(f"unknown key(s) {', '.join(sorted(unknown))} {where}: "
                         f"an assignment has a title and lessons.")
    available = {name: exercises_in(read_notebook(p)) for name, p in notebooks.items()}
    chosen = spec.get("lessons", "all")
    if chosen == "all":
        chosen = {name: {} for name in notebooks}
    elif isinstance(chosen, list):
        chosen = {str(name): {} for name in chosen}
    elif not isinstance(chosen, dict):
        raise UsageError(f'"lessons" {where} must be "all", a list of lessons or a table of lessons.')
    lessons = {}
    for key, table in chosen.items():
        lesson = resolve_lesson(key, notebooks, where)
        if not isinstance(table, dict) or set(table) - {"exercises"}:
            raise UsageError(f"lesson {key} {where}: only `exercises = ...` may be given.")
        lessons[lesson] = _exercises(table.get("exercises", "all"), available[lesson], lesson, where)
    lessons = {name: lessons[name] for name in notebooks if name in lessons}   # course order
    if not lessons:
        raise UsageError(f"no lessons are assigned {where}.")
    return Assignment(spec.get("title", "bpcourse"), lessons, Path(source), path, available)


def resolve_lesson(key, notebooks, where="", allow_all=False):
    """A lesson name from its full name ("03_loss_functions"), number ("03", "3") or topic."""
    key = str(key).strip().removesuffix(".ipynb")
    if key in notebooks:
        return key
    matches = [n for n in notebooks if key.isdigit() and n.split("_", 1)[0] == key.zfill(2)
               or n.split("_", 1)[-1] == key]
    if len(matches) == 1:
        return matches[0]
    where = f" {where}" if where else ""
    raise UsageError(f"no lesson {key!r}{where}; the lessons are: {', '.join(notebooks)}.")


def _exercises(chosen, available, lesson, where):
    if chosen == "all":
        return dict(available)
    if isinstance(chosen, list):
        chosen = {e: None for e in chosen}
    if not isinstance(chosen, dict):
        raise UsageError(f'exercises of {lesson} {where} must be "all", a list of ids or a table id = points.')
    out = {}
    for ex, points in chosen.items():
        if ex not in available:
            known = ", ".join(available) or "none"
            raise UsageError(f"lesson {lesson} has no exercise {ex!r} ({where}); its exercises: {known}.")
        if points is None:
            points = available[ex]
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise UsageError(f"points of {ex} {where} must be a number ≥ 0, got {points!r}.")
        out[ex] = float(points)
    return {ex: out[ex] for ex in available if ex in out}          # notebook order
