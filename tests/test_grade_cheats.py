"""The grader cannot be fooled: each way a student's notebook can make its own kernel print
"right" scores 0, an honest solution full marks, a blank one 0; an answer hard-coded for the
public cases fails the instructor-only ones; student code sees neither the grader's environment
nor its secret nor the source notebooks, and what it writes outside its folder (or leaves
running) does not reach the next student. (Cheat 6, the installed package: test_grade_package.py.)

One class of small submissions, graded once (module fixture), on a two-exercise lesson: the
real ``check_sigmoid`` of lesson 00, and ``add`` tested on a case drawn from ``case_rng``.
"""
import csv
import os

import nbformat
import numpy as np
import pytest

pytest.importorskip("nbgrader")
pytest.importorskip("nbclient")

from bpcourse.instructor import SOURCE_NOTEBOOKS, assignment, grade, release
from bpcourse.instructor.kernel import Run
from bpcourse.instructor.trusted_tests import Outcome
from grading_support import GUARDED_SIGMOID, MARKERS, SPY, mini_lesson, nbg, with_cell, with_solution

SEED = 20261127123                      # the run's secret, given so that the spy can look for it
CANARY = "canary-7f3a9d2e"              # in the grader's environment while it grades


def public_sum():
    a, b = np.random.default_rng(91).integers(-1000, 1000, size=2)
    return int(a + b)


@pytest.fixture(scope="module")
def cheats(tmp_path_factory):
    root = tmp_path_factory.mktemp("cheats")
    source = root / "source"
    source.mkdir()
    nbformat.write(mini_lesson(), source / "91_mini.ipynb")
    course = assignment.load(None, source)
    release.release(root / "release", course)
    fresh = nbformat.read(root / "release" / "91_mini.ipynb", as_version=4)
    honest = nbformat.read(source / "91_mini.ipynb", as_version=4)
    solutions = [str(SOURCE_NOTEBOOKS / "00_welcome.ipynb"), str(source / "91_mini.ipynb")]
    spy = SPY.format(canary=CANARY, secret=str(SEED), solutions=solutions)
    wrong = with_solution(fresh, "ex00_sigmoid", "def sigmoid(x):\n    return x * 0 + 0.5\n\n\n"
                                                 "def sigmoid_grad(x):\n    return x * 0 + 0.25")
    submissions = {
        "honest": honest,
        "=formula": fresh,
        "cheat1_check": with_cell(fresh, "def fake(*args):\n    print('✓ sigmoid and its derivative: faked')\n"
                                         "    return True\nbp.exercises.check_sigmoid = fake"),
        "cheat2_verdict": with_cell(fresh, "bp.exercises.core.Verdict.__bool__ = lambda self: True"),
        "cheat3_rel_error": with_cell(wrong, "bp.exercises.core.rel_error = lambda a, b: 0.0"),
        "cheat4_hook": with_cell(fresh, "get_ipython().set_custom_exc((BaseException,), "
                                        "lambda shell, etype, value, tb, tb_offset=None: None)"),
        "cheat5_transformer": with_cell(fresh, "get_ipython().input_transformers_post.append("
                                               "lambda lines: ['pass\\n'])"),
        "mixed": with_solution(with_solution(honest, "ex00_sigmoid",
                                             "def sigmoid(x):\n    return bp.layers.sigmoid(x)\n\n\n"
                                             "def sigmoid_grad(x):\n    s = sigmoid(x)\n    return s * (1 - s)"),
                               "ex91_add", f"def add(a, b):\n    return {public_sum()}"),
        "a_spy_writer": with_solution(with_cell(honest, MARKERS + spy, before="ex00_sigmoid"),
                                      "ex00_sigmoid", GUARDED_SIGMOID.format(flag="FOUND")),
        "zz_reader": with_solution(with_cell(honest, MARKERS + "SEEN = [p for p in MARKERS if os.path.exists(p)]",
                                             before="ex00_sigmoid"),
                                   "ex00_sigmoid", GUARDED_SIGMOID.format(flag="SEEN")),
        "big": with_solution(fresh, "ex00_sigmoid", "def sigmoid(x):\n    print('x' * 10_000_000)\n"
                                                    "    raise ValueError('y' * 10_000_000)\n\n\n"
                                                    "def sigmoid_grad(x):\n    return x"),
    }
    subs = root / "subs"
    for student, nb in submissions.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / "91_mini.ipynb")
    os.environ["BPCOURSE_CANARY"] = CANARY
    try:
        graded = grade.grade(subs, root / "out", course, timeout=30, report=lambda s: None, jobs=2, seed=SEED)
    finally:
        del os.environ["BPCOURSE_CANARY"]
    rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(open(root / "out" / "grades.csv"))}
    return root / "out", rows, graded


def points(rows, student, exercise="ex00_sigmoid"):
    return float(rows[student, exercise]["points"])


def test_honest_full_marks_blank_zero(cheats):
    _, rows, _ = cheats
    assert points(rows, "honest") == 2 and points(rows, "honest", "ex91_add") == 1
    assert rows["honest", "ex00_sigmoid"]["reason"] == "passed"
    assert cheats[2].jobs == 2 and not cheats[2].alerts
    assert points(rows, "'=formula") == 0 and points(rows, "'=formula", "ex91_add") == 0
    assert rows["'=formula", "ex00_sigmoid"]["reason"] == "not attempted"


@pytest.mark.parametrize("student", ["cheat1_check", "cheat2_verdict", "cheat3_rel_error",
                                     "cheat4_hook", "cheat5_transformer"])
def test_a_kernel_that_prints_right_scores_nothing(cheats, student):
    _, rows, _ = cheats
    assert points(rows, student) == 0, rows[student, "ex00_sigmoid"]
    expected = "wrong" if student == "cheat3_rel_error" else "not attempted"
    assert rows[student, "ex00_sigmoid"]["reason"].startswith(expected)


def test_an_exception_hook_shows_in_the_reason(cheats):
    _, rows, _ = cheats
    assert "exception hook" in rows["cheat4_hook", "ex00_sigmoid"]["reason"]


def test_a_silent_error_reply_scores_nothing_even_with_right_checks():
    cell = nbformat.from_dict({"cell_type": "code", "source": "", "execution_count": 1, "outputs": [],
                               "metadata": nbg("ex00_sigmoid_test", points=2)})
    right = Outcome(True)
    assert grade.judge(0, cell, Run(replies={0: "error"}), right, right)[0] == 0
    assert grade.judge(0, cell, Run(replies={0: "ok"}), right, right) == (2.0, "passed")


def test_hard_coded_answer_fails_instructor_only_cases(cheats):
    out, rows, _ = cheats
    assert points(rows, "mixed", "ex91_add") == 0
    assert rows["mixed", "ex91_add"]["reason"].startswith("right on the public cases, not on the instructor's own")
    assert (out / "grading-secret.txt").read_text().strip().endswith(str(SEED))
    assert (out / "grading-secret.txt").stat().st_mode & 0o777 == 0o600


def test_calling_the_package_is_flagged_not_refused(cheats):
    _, rows, _ = cheats
    assert points(rows, "mixed") == 2
    assert "note: this code calls the package's own layers.sigmoid" in rows["mixed", "ex00_sigmoid"]["reason"]
    assert "note" not in rows["honest", "ex00_sigmoid"]["reason"]


def test_student_code_sees_no_secret_nor_solutions(cheats):
    _, rows, _ = cheats
    assert rows["a_spy_writer", "ex00_sigmoid"]["reason"] == "passed"        # FOUND stayed empty


def test_what_a_student_leaves_behind_reaches_nobody(cheats):
    _, rows, _ = cheats
    assert rows["zz_reader", "ex00_sigmoid"]["reason"] == "passed"           # no marker reached it
    for marker in ("/tmp/bpcourse-marker", "/var/tmp/bpcourse-marker", "/dev/shm/bpcourse-marker"):
        assert not os.path.exists(marker)
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and _uid(pid) and _uid(pid) >= 65000
            and b"sleep" in _read(f"/proc/{pid}/cmdline")]
    assert not left, "a student's background process outlived the grading"


def _uid(pid):
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def _read(path):
    try:
        return open(path, "rb").read()
    except OSError:
        return b""


def test_huge_outputs_stay_out_of_the_feedback(cheats):
    out, rows, _ = cheats
    assert points(rows, "big") == 0 and rows["big", "ex00_sigmoid"]["reason"].startswith("wrong: sigmoid(x) raised ValueError")
    assert len(rows["big", "ex00_sigmoid"]["reason"]) <= 400
    assert (out / "feedback" / "big.md").stat().st_size < 20_000


def test_csv_cells_never_start_a_formula(cheats):
    out, rows, _ = cheats
    text = (out / "grades.csv").read_text()
    assert "\n'=formula,91_mini,ex00_sigmoid,0,2," in text and "\n=formula" not in text
    assert (out / "feedback" / "=formula.md").exists()
