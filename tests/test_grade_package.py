"""Cheat 6: a submission that appends a line to the installed package's ``exercises/core.py``
(so that every verdict is truthy) gains nothing, nor does any student graded after it, and the
grader says loudly who did it.

The worst case is staged: the grader runs as an ordinary user (not root, so student code runs
as that same user and CAN write the package), on a throw-away copy of the package that it
imports as "the installed one" — never the real install. The same run checks that student code
running as the grader's own user cannot read the grader's environment.
"""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader")
pytest.importorskip("nbclient")

import bpcourse
from bpcourse.instructor import assignment, confine, release
from grading_support import GUARDED_SIGMOID, SPY, mini_lesson, with_cell, with_solution

USER = 65100                                     # an ordinary user for the grader (a uid no account has)
CANARY = "canary-2b81c4"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or os.getuid() != 0,
                                reason="staging an ordinary user needs root on Linux")


@pytest.fixture(scope="module")
def graded_by_a_user(tmp_path_factory):
    root = tmp_path_factory.mktemp("package")
    installed = root / "installed"
    shutil.copytree(Path(bpcourse.__file__).parent, installed / "bpcourse",
                    ignore=shutil.ignore_patterns("__pycache__"))
    core = installed / "bpcourse" / "exercises" / "core.py"
    source = root / "source"
    source.mkdir()
    nbformat.write(mini_lesson(), source / "91_mini.ipynb")
    release.release(root / "release", assignment.load(None, source))
    fresh = nbformat.read(root / "release" / "91_mini.ipynb", as_version=4)
    honest = nbformat.read(source / "91_mini.ipynb", as_version=4)
    tamper = f"with open({str(core)!r}, 'a') as f:\n    f.write('\\nVerdict.__bool__ = lambda self: True\\n')"
    spy = "MARKERS = []\n" + SPY.format(canary=CANARY, secret=CANARY, solutions=[])
    submissions = {
        "a_cheat6": with_cell(fresh, tamper),
        "b_blank": fresh,
        "c_honest": honest,
        "d_spy": with_solution(with_cell(honest, spy, before="ex00_sigmoid"),
                               "ex00_sigmoid", GUARDED_SIGMOID.format(flag="FOUND")),
    }
    for student, nb in submissions.items():
        (root / "subs" / student).mkdir(parents=True)
        nbformat.write(nb, root / "subs" / student / "91_mini.ipynb")
    (root / "home").mkdir()
    for folder, _, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(name, USER, USER)
    grader = confine.Confinement(USER, [*confine.python_paths(), root])
    command = grader.command([sys.executable, "-m", "bpcourse", "grade", root / "subs", "--out", root / "out",
                              "--source", source, "--jobs", "1", "--timeout", "30"], cpu=3600, no_network=False)
    env = confine.environment(root / "home", {"PYTHONPATH": str(installed), "BPCOURSE_CANARY": CANARY})
    done = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, timeout=1800)
    rows = {(r["student"], r["exercise"]): r for r in csv.DictReader(open(root / "out" / "grades.csv"))}
    return done, rows, core


def test_the_cheat_happened_and_was_named(graded_by_a_user):
    done, _, core = graded_by_a_user
    assert "Verdict.__bool__ = lambda self: True" in core.read_text()       # the premise
    assert done.returncode == 1, done.stderr[-2000:]
    alert = [line for line in done.stderr.splitlines() if "ALERT" in line]
    assert alert and "a_cheat6 / 91_mini" in alert[0] and "exercises/core.py (changed)" in alert[0]


def test_nobody_gains_from_a_changed_package(graded_by_a_user):
    _, rows, _ = graded_by_a_user
    assert rows["a_cheat6", "ex00_sigmoid"]["points"] == "0"
    assert rows["b_blank", "ex00_sigmoid"]["points"] == "0"                 # graded after the cheat
    assert rows["b_blank", "ex00_sigmoid"]["reason"] == "not attempted"
    assert rows["c_honest", "ex00_sigmoid"]["points"] == "2"


def test_student_code_as_the_grader_user_cannot_read_its_environment(graded_by_a_user):
    _, rows, _ = graded_by_a_user
    assert rows["d_spy", "ex00_sigmoid"]["reason"] == "passed"
