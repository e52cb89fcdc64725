"""Small lessons and submissions for the grading tests (test_grade_cheats.py, test_grade_package.py)."""
import copy

import nbformat

from bpcourse.instructor import SOURCE_NOTEBOOKS

v4 = nbformat.v4


def meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def nbg(grade_id, solution=False, points=None):
    m = {"grade": points is not None, "grade_id": grade_id, "locked": points is not None,
         "schema_version": 3, "solution": solution, "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def lesson_00_cells():
    """The solution and test cells of the real lesson 00."""
    nb = nbformat.read(SOURCE_NOTEBOOKS / "00_welcome.ipynb", as_version=4)
    return [c for c in nb.cells if meta(c).get("grade_id") in ("ex00_sigmoid", "ex00_sigmoid_test")]


def mini_lesson():
    solution, test = lesson_00_cells()
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                   "language": "python"}})
    nb.cells = [
        v4.new_code_cell("import numpy as np\nimport bpcourse as bp"),
        v4.new_code_cell(solution.source, metadata=nbg("ex00_sigmoid", solution=True)),
        v4.new_code_cell(test.source, metadata=nbg("ex00_sigmoid_test", points=2)),
        v4.new_code_cell("def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                         metadata=nbg("ex91_add", solution=True)),
        v4.new_code_cell("from bpcourse.exercises.core import case_rng\n"
                         "a, b = case_rng(91).integers(-1000, 1000, size=2)\n"
                         "assert add(a, b) == a + b, 'add(a, b) is not a + b'",
                         metadata=nbg("ex91_add_test", points=1)),
    ]
    return nb


def cell_of(nb, grade_id):
    return next(c for c in nb.cells if meta(c).get("grade_id") == grade_id)


def with_cell(nb, code, before="ex00_sigmoid_test"):
    """The notebook with a cell the student added before the test cell ``before``."""
    nb = copy.deepcopy(nb)
    index = nb.cells.index(cell_of(nb, before))
    nb.cells.insert(index, v4.new_code_cell(code))
    return nb


def with_solution(nb, grade_id, code):
    nb = copy.deepcopy(nb)
    cell_of(nb, grade_id).source = code
    return nb


SPY = '''
import os, subprocess
CANARY, SECRET, SOLUTIONS = {canary!r}, {secret!r}, {solutions!r}
FOUND = ["canary in os.environ"] if any(CANARY in v for v in os.environ.values()) else []
FOUND += ["runs as root"] if os.getuid() == 0 else []
for pid in filter(str.isdigit, os.listdir("/proc")):
    for what in ("environ", "cmdline"):
        try:
            data = open(f"/proc/{{pid}}/{{what}}", "rb").read()
        except OSError:
            continue
        if CANARY.encode() in data or SECRET.encode() in data:
            FOUND.append(f"/proc/{{pid}}/{{what}}")
    try:
        if os.stat(f"/proc/{{pid}}").st_uid != os.getuid():
            open(f"/proc/{{pid}}/mem", "rb").close()
            FOUND.append(f"/proc/{{pid}}/mem")
    except OSError:
        pass
for path in SOLUTIONS:
    try:
        open(path).read()
        FOUND.append(path)
    except OSError:
        pass
for path in MARKERS:
    try:
        open(path, "w").write("left by another student")
    except OSError:
        pass
subprocess.Popen(["sleep", "600"])
'''
MARKERS = '''
import os
MARKERS = ["/tmp/bpcourse-marker", "/var/tmp/bpcourse-marker", "/dev/shm/bpcourse-marker",
           os.path.abspath("../../bpcourse-marker"), os.path.expanduser("~/../../bpcourse-marker")]
'''
GUARDED_SIGMOID = '''
def sigmoid(x):
    if {flag}:
        raise ValueError(f"{{{flag}}}")
    return 0.5 * (1 + np.tanh(0.5 * x))


def sigmoid_grad(x):
    s = sigmoid(x)
    return s * (1 - s)
'''
