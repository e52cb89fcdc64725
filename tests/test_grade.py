"""The grader: full marks for the source, zero ("not attempted") for the fresh release, partial
marks for half a solution, the instructor's tests whatever the student did to them, and a score
with a reason (never a crash) for endless loops, dead kernels, warnings and broken files; the
grades folder written afresh. (Cheating submissions: test_grade_cheats.py, test_grade_package.py.)

Real lessons (00_welcome, and 02_forward_backward for partial marks: lessons whose checks all
run in the grader's sandbox) are graded five times in all;
the edge cases use a tiny synthetic lesson.
"""
import copy
import csv
import json
import shutil

import nbformat
import pytest

pytest.importorskip("nbgrader")
pytest.importorskip("nbclient")

from bpcourse.instructor import SOURCE_NOTEBOOKS, UsageError, assignment, grade, release
from bpcourse.__main__ import main
from grading_support import meta, nbg, v4


def toy_lesson():
    """Two exercises: add (1 point, with a hidden test) and mul (2 points)."""
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                   "language": "python"}})
    nb.cells = [
        v4.new_markdown_cell("# A toy lesson"),
        v4.new_code_cell("import time"),
        v4.new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                         metadata=nbg("ex90_add", solution=True)),
        v4.new_code_cell("assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n"
                         "### END HIDDEN TESTS", metadata=nbg("ex90_add_test", points=1)),
        v4.new_code_cell("def mul(a, b):\n    ### BEGIN SOLUTION\n    return a * b\n    ### END SOLUTION",
                         metadata=nbg("ex90_mul", solution=True)),
        v4.new_code_cell("assert mul(2, 3) == 6", metadata=nbg("ex90_mul_test", points=2)),
        v4.new_code_cell('print("done")'),
    ]
    return nb


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """(source folder, release notebook) of the toy lesson."""
    root = tmp_path_factory.mktemp("toy")
    source = root / "source"
    source.mkdir()
    nbformat.write(toy_lesson(), source / "90_toy.ipynb")
    release.release(root / "release", assignment.load(None, source))
    return source, nbformat.read(root / "release" / "90_toy.ipynb", as_version=4)


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if meta(c).get("grade_id") == grade_id)


def solve(nb, grade_id, body):
    """The student writes ``body`` as the function's code in solution cell ``grade_id``."""
    nb = copy.deepcopy(nb)
    cell = cell_of(nb, grade_id)
    cell.source = cell.source.replace("# YOUR CODE HERE\n    raise NotImplementedError()", body)
    return nb


def submit(folder, notebooks):
    for student, (name, nb) in notebooks.items():
        (folder / student).mkdir(parents=True)
        if isinstance(nb, str):
            (folder / student / name).write_text(nb)
        elif nb is not None:
            nbformat.write(nb, folder / student / name)


def rows_by_student(out):
    rows = list(csv.DictReader(open(out / "grades.csv", newline="", encoding="utf-8")))
    return {(r["student"], r["exercise"]): r for r in rows}, rows


@pytest.fixture(scope="module")
def toy_grades(toy, tmp_path_factory):
    source, fresh = toy
    good_add, good_mul = "return a + b", "return a * b"
    both = solve(solve(fresh, "ex90_add", good_add), "ex90_mul", good_mul)
    tampered = solve(fresh, "ex90_add", good_add)
    cell_of(tampered, "ex90_mul_test").source = "pass"                # weakened test
    cell_of(tampered, "ex90_mul_test").metadata["nbgrader"]["points"] = 100
    deleted = copy.deepcopy(both)
    deleted.cells = [c for c in deleted.cells if meta(c).get("grade_id") != "ex90_mul_test"]
    stubborn = solve(both, "ex90_mul", good_mul)
    cell_of(stubborn, "ex90_mul").source += ("\nwhile True:\n    try:\n        time.sleep(0.1)\n"
                                             "    except KeyboardInterrupt:\n        pass")
    dies = solve(fresh, "ex90_add", "import os; os._exit(1)")
    cell_of(dies, "ex90_add").source += "\nadd(1, 2)"
    submissions = tmp_path_factory.mktemp("subs")
    submit(submissions, {
        "full": ("90_toy.ipynb", nbformat.read(source / "90_toy.ipynb", as_version=4)),
        "fresh": ("90_toy.ipynb", fresh),
        "half": ("90_toy.ipynb", solve(fresh, "ex90_mul", good_mul)),
        "hidden": ("90_toy.ipynb", solve(solve(fresh, "ex90_add", "return 3"),   # passes the visible test
                                         "ex90_mul", "import warnings; warnings.warn('careful'); return a * b")),
        "tampered": ("90_toy.ipynb", tampered),
        "deleted": ("90_toy.ipynb", deleted),
        "loop": ("90_toy.ipynb", solve(solve(fresh, "ex90_add", "while True: pass"), "ex90_mul", good_mul)),
        "stubborn": ("90_toy.ipynb", stubborn),
        "dies": ("90_toy.ipynb", dies),
        "garbage": ("90_toy.ipynb", '{"cells": [ not json'),
        "missing": ("other.ipynb", None),
    })
    out = tmp_path_factory.mktemp("grades")
    graded = grade.grade(submissions, out, assignment.load(None, source), timeout=2, report=lambda s: None)
    return out, graded.scores


def test_toy_release_hides_solutions_and_hidden_tests(toy):
    _, fresh = toy
    text = json.dumps(fresh)
    assert "add(-1, 1)" not in text and "return a + b" not in text and "return a * b" not in text
    assert cell_of(fresh, "ex90_add_test").source == "assert add(1, 2) == 3"


def test_toy_full_zero_and_partial(toy_grades):
    out, _ = toy_grades
    rows, all_rows = rows_by_student(out)
    assert list(all_rows[0]) == ["student", "lesson", "exercise", "points", "max_points", "reason"]
    assert rows["full", "ex90_add"]["points"] == "1" and rows["full", "ex90_mul"]["points"] == "2"
    assert rows["full", "ex90_mul"]["reason"] == "passed"
    assert rows["fresh", "ex90_add"]["points"] == "0" and "NotImplementedError" in rows["fresh", "ex90_add"]["reason"]
    assert (rows["half", "ex90_add"]["points"], rows["half", "ex90_mul"]["points"]) == ("0", "2")
    assert all(rows[s, e]["max_points"] == {"ex90_add": "1", "ex90_mul": "2"}[e] for s, e in rows)


def test_hidden_tests_are_run(toy_grades):
    rows, _ = rows_by_student(toy_grades[0])
    assert rows["hidden", "ex90_add"]["points"] == "0"
    assert "AssertionError" in rows["hidden", "ex90_add"]["reason"]


def test_tampered_and_deleted_tests_are_restored(toy_grades):
    out, _ = toy_grades
    rows, _ = rows_by_student(out)
    assert rows["tampered", "ex90_mul"]["points"] == "0"                  # `pass` did not count
    assert rows["tampered", "ex90_mul"]["max_points"] == "2"              # nor did 100 points
    assert rows["tampered", "ex90_add"]["points"] == "1"
    assert rows["deleted", "ex90_mul"]["points"] == "2"
    assert "re-inserted" in rows["deleted", "ex90_mul"]["reason"]
    feedback = (out / "feedback" / "tampered.md").read_text()
    assert "test cell changed by the student; the instructor's test was used." in feedback
    assert rows["tampered", "ex90_mul"]["reason"].endswith("(test cell changed by the student; "
                                                           "the instructor's test was used)")


def test_endless_loops_and_crashes_get_a_reason(toy_grades):
    rows, _ = rows_by_student(toy_grades[0])
    loop = rows["loop", "ex90_add"]
    assert loop["points"] == "0" and "timed out after 2" in loop["reason"]
    assert rows["loop", "ex90_mul"]["points"] == "2"                      # graded after the interrupt
    assert rows["stubborn", "ex90_add"]["points"] == "1"                  # before the stuck cell
    assert rows["stubborn", "ex90_mul"]["points"] == "0"
    assert "kernel died" in rows["stubborn", "ex90_mul"]["reason"]
    assert rows["dies", "ex90_add"]["points"] == rows["dies", "ex90_mul"]["points"] == "0"
    assert "kernel died" in rows["dies", "ex90_mul"]["reason"]
    assert rows["hidden", "ex90_mul"]["points"] == "0" and "stderr" in rows["hidden", "ex90_mul"]["reason"]
    assert "could not be read" in rows["garbage", "ex90_add"]["reason"]
    assert rows["missing", "ex90_mul"]["points"] == "0"
    assert "not submitted" in rows["missing", "ex90_mul"]["reason"]


def test_every_student_has_feedback(toy_grades):
    out, scores = toy_grades
    students = {s.student for s in scores}
    assert len(students) == 11
    assert {p.stem for p in (out / "feedback").glob("*.md")} == students
    full = (out / "feedback" / "full.md").read_text()
    assert "**3 of 3 points.**" in full and "### ex90_mul: 2 / 2" in full


def test_grade_refuses_bad_folders(toy, tmp_path):
    source, _ = toy
    course = assignment.load(None, source)
    subs = tmp_path / "subs"
    with pytest.raises(UsageError, match="does not exist"):
        grade.grade(subs, tmp_path / "out", course)
    subs.mkdir()
    with pytest.raises(UsageError, match="no student folders"):
        grade.grade(subs, tmp_path / "out", course)
    (subs / "alice").mkdir()
    with pytest.raises(UsageError, match="outside the submissions folder"):
        grade.grade(subs, subs / "grades", course)
    with pytest.raises(UsageError, match="positive number of seconds"):
        grade.grade(subs, tmp_path / "out", course, timeout=0)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("an instructor's own file")
    with pytest.raises(UsageError, match="holds files the grader did not write"):
        grade.grade(subs, tmp_path / "mine", course, force=True)


def test_cli_grade_writes_the_grades_folder_afresh(toy, toy_grades, tmp_path, capsys):
    source, fresh = toy
    out = tmp_path / "out"
    shutil.copytree(toy_grades[0], out)                                  # 11 students' grades
    submit(tmp_path / "subs", {"ann": ("90_toy.ipynb", solve(fresh, "ex90_mul", "return a * b"))})
    args = ["grade", str(tmp_path / "subs"), "--out", str(out), "--source", str(source), "--timeout", "20"]
    assert main(args) == 2 and "already holds grades; pass --force" in capsys.readouterr().err
    assert main(args + ["--force", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "ann / 90_toy: 2 of 3 points" in printed and "graded 1 student(s), 2 exercise(s), in " in printed
    assert {p.name for p in (out / "feedback").iterdir()} == {"ann.md"}      # no stale feedback
    rows, _ = rows_by_student(out)
    assert rows["ann", "ex90_mul"]["points"] == "2" and set(rows) == {("ann", "ex90_add"), ("ann", "ex90_mul")}


# The real lessons -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_grades(tmp_path_factory):
    lessons = ["00_welcome", "02_forward_backward"]
    course = assignment.from_dict({"lessons": {name: {} for name in lessons}})
    rel = tmp_path_factory.mktemp("release")
    release.release(rel, course)
    subs = tmp_path_factory.mktemp("subs")
    source = {n: nbformat.read(SOURCE_NOTEBOOKS / f"{n}.ipynb", as_version=4) for n in lessons}
    fresh = {n: nbformat.read(rel / f"{n}.ipynb", as_version=4) for n in lessons}
    tamper = copy.deepcopy(fresh["00_welcome"])             # a stub, and a test that always passes
    cell_of(tamper, "ex00_sigmoid_test").source = "assert True"
    subs_spec = {("source", n): source[n] for n in lessons}
    subs_spec.update({("fresh", "00_welcome"): fresh["00_welcome"], ("tamper", "00_welcome"): tamper})
    half = copy.deepcopy(fresh["02_forward_backward"])       # half solved: the first exercise only
    first = list(course.lessons["02_forward_backward"])[0]
    cell_of(half, first).source = cell_of(source["02_forward_backward"], first).source
    subs_spec[("half", "02_forward_backward")] = half
    for (student, lesson), nb in subs_spec.items():
        (subs / student).mkdir(exist_ok=True)
        nbformat.write(nb, subs / student / f"{lesson}.ipynb")
    out = tmp_path_factory.mktemp("grades")
    grade.grade(subs, out, course, timeout=120, report=lambda s: None)
    return out, course


def test_real_source_gets_full_marks_and_release_zero(real_grades):
    out, course = real_grades
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    source = [r for r in rows if r["student"] == "source"]
    assert source and all(r["points"] == r["max_points"] and r["reason"] == "passed" for r in source), source
    fresh = [r for r in rows if r["student"] == "fresh" and r["lesson"] == "00_welcome"]
    assert fresh and all(r["points"] == "0" and r["reason"] == "not attempted" for r in fresh)
    feedback = (out / "feedback" / "fresh.md").read_text()
    assert "not attempted yet" in feedback                   # the check's own verdict, for the student


def test_real_tampered_test(real_grades):
    out, _ = real_grades
    rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))}
    assert rows["tamper", "ex00_sigmoid"]["points"] == "0"
    assert rows["tamper", "ex00_sigmoid"]["reason"].startswith("not attempted (test cell changed")


def test_real_half_solved_gets_partial_marks(real_grades):
    out, course = real_grades
    rows = [r for r in csv.DictReader(open(out / "grades.csv", encoding="utf-8"))
            if r["student"] == "half" and r["lesson"] == "02_forward_backward"]
    got = [float(r["points"]) for r in rows]
    assert got[0] == float(rows[0]["max_points"]) > 0 and sum(got[1:]) == 0
    assert all(r["reason"] == "not attempted" for r in rows[1:])
