"""The student version of a lesson notebook, built with the standard library alone.

No nbgrader needed: the wheel's lessons are built with this module when the wheel is built
(``setup.py`` loads it by its path), and so are the workspace and ``release``. It does what
nbgrader's own preprocessors do (``tests/test_student_form.py`` compares them cell for cell):

- ClearHiddenTests: ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` is removed;
- ClearSolutions: ``### BEGIN SOLUTION`` … ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` /
  ``raise NotImplementedError()``, indented as the marker (``YOUR ANSWER HERE`` in markdown);
  a solution cell without markers becomes the stub alone;
- ClearOutput, for solution and test cells only (the other cells keep their plots);
- LockCells: solution cells cannot be deleted; test cells can be neither deleted nor edited.

A student's own copy (``workspace_version``) differs in two ways:

- a test cell ``assert bp.exercises.check_x(...), "…"`` becomes ``bp.exercises.check_x(...)``:
  the check prints its verdict, and an unsolved exercise does not stop Run All (a graded
  release keeps the ``assert``, so its test cell fails);
- a set-up cell before the first code cell installs the course in a kernel that lacks it
  (Google Colab, VS Code): from the package set at release time, else from a checkout of the
  repository above the notebook. Where bpcourse is installed, it does nothing.
"""
import ast
import copy
import json
import re
from pathlib import Path

LESSON_GLOB = "[0-9][0-9]_*.ipynb"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
SOLUTION = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
FORM = "bpcourse_form"                           # notebook metadata: "workspace" once built
SETUP_CELL_ID = "bpcourse-setup"
# What a lesson needs in its kernel: the package's dependencies but JupyterLab (Colab and
# VS Code bring their own front end). tests/test_packaging.py keeps this equal to pyproject.toml.
KERNEL_REQUIREMENTS = ["numpy>=1.24", "matplotlib>=3.7", "ipywidgets>=8.0", "scikit-learn>=1.2",
                       "threadpoolctl>=3.1", "tqdm>=4.64"]

SETUP_CELL = '''\
# Google Colab, VS Code, or any Jupyter where the course is not installed: this cell installs
# bpcourse into this kernel (once, about a minute). Where bpcourse is installed, it does nothing.
import importlib, importlib.util, pathlib, subprocess, sys
if importlib.util.find_spec("bpcourse") is None:
    course = {spec!r}  # the package to install, set when the lessons were released
    here = pathlib.Path.cwd().resolve()
    checkout = next((p for p in (here, *here.parents) if (p / "bpcourse" / "__init__.py").is_file()), None)
    if not course and checkout is None:
        raise ModuleNotFoundError("bpcourse is not installed in this kernel: choose the kernel of the "
                                  "environment you installed the course in (e.g. .venv), or pip install the course.")
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run(pip + ["--no-deps", course or str(checkout)], check=True)
    subprocess.run(pip + {requirements}, check=True)
    importlib.invalidate_caches()
    print("bpcourse is now installed in this kernel.")'''


class NotebookError(ValueError):
    """A notebook that cannot be turned into the student version: one sentence naming the file."""


# ------------------------------------------------------------------ reading and writing

def read(path):
    """A notebook as a dict, or a NotebookError that names the file and says what to do."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise NotebookError(f"{path} is not a notebook: byte {err.start} is not UTF-8 text.") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        conflict = re.search(r"^(<<<<<<<|=======|>>>>>>>)", text, re.M)
        if conflict:
            line = text.count("\n", 0, conflict.start()) + 1
            raise NotebookError(f"{path} holds a git conflict marker ({conflict.group(1)}) at line {line}: "
                                f"finish the merge (keep one version of the notebook, e.g. "
                                f"`git checkout --theirs {path.name}`), then run this again.") from None
        raise NotebookError(f"{path} is not a notebook: invalid JSON at line {err.lineno}, "
                            f"column {err.colno} ({err.msg}).") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path} is not a notebook: it has no list of cells.")
    return nb


def dumps(nb):
    """The notebook's file contents, formatted as nbformat writes them (one source line per string)."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(keepends=True)
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def source(cell):
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


VOLATILE = "nbval-ignore-output"


def nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader") or {}


def is_solution(cell):
    return bool(nbgrader(cell).get("solution"))


def is_test(cell):
    return bool(nbgrader(cell).get("grade")) and not is_solution(cell)


# ------------------------------------------------------------------ nbgrader's preprocessors

def _cut(text, begin, end, stub=None):
    """``text`` without its ``begin`` … ``end`` regions (replaced by ``stub``, indented as the
    begin line). Returns (text, whether a region was found)."""
    out, inside, found = [], False, False
    for line in text.split("\n"):
        if begin in line:
            if inside:
                raise NotebookError(f"a second {begin} before {end}")
            inside = found = True
            if stub is not None:
                indent = re.match(r"\s*", line).group(0)
                out += [indent + s for s in stub.split("\n")]
        elif end in line:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError(f"{begin} without {end}")
    return "\n".join(out), found


def _each_cell(nb, edit):
    for index, cell in enumerate(nb["cells"]):
        try:
            edit(cell)
        except NotebookError as err:
            gid = nbgrader(cell).get("grade_id")
            raise NotebookError(f"cell {index + 1}{f' ({gid})' if gid else ''}: {err}") from None


def clear_hidden_tests(nb):
    def edit(cell):
        text, found = _cut(source(cell), *HIDDEN_TESTS)
        if found and not nbgrader(cell).get("grade"):
            raise NotebookError("hidden tests in a cell without nbgrader test metadata (grade: true).")
        cell["source"] = text
    _each_cell(nb, edit)
    nb.get("metadata", {}).pop("celltoolbar", None)


def clear_solutions(nb):
    def edit(cell):
        stub = CODE_STUB if cell["cell_type"] == "code" else TEXT_STUB
        text, found = _cut(source(cell), *SOLUTION, stub=stub)
        if found and not is_solution(cell):
            raise NotebookError("a solution region in a cell without nbgrader solution metadata.")
        cell["source"] = text if found or not is_solution(cell) else stub
    language = nb.get("metadata", {}).get("kernelspec", {}).get("language", "python")
    if language != "python":
        raise NotebookError(f"the notebook's language is {language!r}; the course's stubs are Python.")
    _each_cell(nb, edit)
    nb.get("metadata", {}).pop("celltoolbar", None)


def clear_output(cell):
    if cell["cell_type"] == "code":
        cell["outputs"], cell["execution_count"] = [], None
        for key in ("collapsed", "scrolled"):
            cell.get("metadata", {}).pop(key, None)


def lock_cells(nb):
    for cell in nb["cells"]:
        meta = nbgrader(cell)
        if is_solution(cell):
            cell["metadata"]["deletable"] = False
        elif meta.get("grade") or meta.get("locked"):
            cell["metadata"]["deletable"] = False
            cell["metadata"]["editable"] = False


def student_version(nb, worked_examples=()):
    """The student version of a notebook (a new dict; ``nb`` is left as it was).

    ``worked_examples``: grade_ids of test cells that are not graded here (their exercise is
    not assigned): they lose their nbgrader metadata and keep their outputs. Volatile outputs
    (cells tagged ``nbval-ignore-output``: timings, widgets, the author's progress) are cleared:
    the student's own run makes them.
    """
    nb = copy.deepcopy(nb)
    clear_hidden_tests(nb)
    clear_solutions(nb)
    for cell in nb["cells"]:
        meta = nbgrader(cell)
        if is_test(cell) and meta.get("grade_id") in worked_examples:
            del cell["metadata"]["nbgrader"]
        elif meta.get("solution") or meta.get("grade") or VOLATILE in cell.get("metadata", {}).get("tags", []):
            clear_output(cell)
    lock_cells(nb)
    return nb


# ------------------------------------------------------------------ the student's own copy

def _is_check(node):
    func = getattr(node, "func", None)
    name = getattr(func, "attr", None) or getattr(func, "id", None) or ""
    return isinstance(node, ast.Call) and name.startswith("check_")


def checks_that_do_not_stop(text):
    """``assert check_x(...), "…"`` statements become ``check_x(...)``: the verdict is printed
    either way, and an unsolved exercise no longer raises. Other code is left as it is."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.split("\n")
    for node in reversed(tree.body):
        if not (isinstance(node, ast.Assert) and _is_check(node.test)):
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        before, after = lines[first][:node.col_offset], lines[last][node.end_col_offset:]
        if before.strip() or (after.strip() and not after.strip().startswith("#")):
            continue                             # shares its line with other code: leave it
        call = ast.get_source_segment(text, node.test, padded=True).lstrip()
        lines[first:last + 1] = (before + call + after).split("\n")
    return "\n".join(lines)


def setup_cell(spec=""):
    """The first code cell of a student's lesson: installs bpcourse where it is missing."""
    return {"cell_type": "code", "execution_count": None, "id": SETUP_CELL_ID, "outputs": [],
            "metadata": {"tags": ["bpcourse-setup"]},
            "source": SETUP_CELL.format(spec=spec, requirements=_wrapped(KERNEL_REQUIREMENTS))}


def _wrapped(strings, indent=" " * 24, width=100):
    lines, line = [], "["
    for text in map(repr, strings):
        if len(indent) + len(line) + len(text) + 2 > width:
            lines.append(line.rstrip())
            line = indent
        line += text + ", "
    return "\n".join(lines + [line[:-2] + "]"])


def with_setup_cell(nb, spec=""):
    """``nb`` with the set-up cell before its first code cell (in place; returns nb)."""
    first = next((i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"), len(nb["cells"]))
    nb["cells"].insert(first, setup_cell(spec))
    return nb


def workspace_version(nb, spec=""):
    """A student's own copy: the student version, checks that never stop Run All, the set-up cell."""
    nb = student_version(nb)
    for cell in nb["cells"]:
        if is_test(cell):
            cell["source"] = checks_that_do_not_stop(source(cell))
    nb.setdefault("metadata", {})[FORM] = "workspace"
    return with_setup_cell(nb, spec)


def lesson_files(folder):
    """{relative path: bytes} of a student's copy of every lesson in ``folder`` and its ``data/``.

    A folder of source notebooks is turned into the workspace version; lessons already in that
    form (the wheel's) are taken as they are.
    """
    folder = Path(folder)
    files = {}
    for path in sorted(folder.glob(LESSON_GLOB)):
        nb = read(path)
        if nb.get("metadata", {}).get(FORM) == "workspace":
            files[path.name] = path.read_bytes()
            continue
        try:
            files[path.name] = dumps(workspace_version(nb)).encode("utf-8")
        except NotebookError as err:
            raise NotebookError(f"{path}: {err}") from None
    data = folder / "data"
    if data.is_dir():
        for p in sorted(data.rglob("*")):
            if p.is_file() and ".ipynb_checkpoints" not in p.parts:
                files[p.relative_to(folder).as_posix()] = p.read_bytes()
    return files
