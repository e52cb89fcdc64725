"""Run a check the way the grader runs it, inside one process: the student's code gets pickled
copies of the arguments (student objects pass by reference, as the sandbox resolves them by name)
and sends back only plain data (``bpcourse.exercises.transport``).

A check that passes here with the reference solution works in the grader's sandbox; one that
relies on a student function mutating its arguments, or on getting objects back, fails here.
"""
import contextlib
import io
import json
import pickle
from pathlib import Path

from bpcourse.exercises import core, transport

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PRELUDE = "import math\nimport numpy as np\nimport bpcourse as bp\n"


def roundtrip(fn, args):
    """Call ``fn(*args)`` on pickled copies of everything but the student's own objects."""
    mine = {id(obj): obj for obj in core.students()}
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.persistent_id = lambda obj: id(obj) if id(obj) in mine else None
    pickler.dump((fn, args))
    buffer.seek(0)
    unpickler = pickle.Unpickler(buffer)
    unpickler.persistent_load = lambda key: mine[key]
    fn, args = unpickler.load()
    try:
        result = fn(*args)
    except Exception as err:
        raise core.StudentRaised(type(err).__name__, str(err), core._student_line(err)) from None
    try:
        data = transport.encode(result)
    except transport.NotPlainData as err:           # as the grader's sandbox says it
        raise core.Wrong(f"what your code returned cannot be checked: {err}") from None
    return transport.decode(data)


@contextlib.contextmanager
def isolated():
    with core.runner(roundtrip):
        yield


def cells(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def reference_namespace(path):
    """A namespace holding every reference solution of a lesson: the prelude, then the
    notebook's solution cells in order (a solution cell depends on nothing else)."""
    namespace = {"__name__": "__student__"}
    exec(PRELUDE, namespace)
    for cell in cells(path):
        if nbgrader(cell).get("solution") and cell["cell_type"] == "code":
            exec(compile(source(cell), f"<{nbgrader(cell)['grade_id']}>", "exec"), namespace)
    return namespace


def graded_cells(path):
    """(grade_id, source) of each autograded test cell of a lesson."""
    return [(nbgrader(c)["grade_id"], source(c)) for c in cells(path)
            if nbgrader(c).get("grade") and not nbgrader(c).get("solution")]
