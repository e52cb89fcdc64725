"""The student version without nbgrader is nbgrader's own: for every lesson, the standard-library
``student_form`` gives, cell for cell, what nbgrader's preprocessors give (the pipeline
``release`` used to run), and clears the volatile outputs (cells tagged nbval-ignore-output) too.
A student's copy differs from it only as documented: checks that do not stop Run All, and the
set-up cell.
"""
import json
from pathlib import Path

import nbformat
import pytest

from bpcourse.instructor import SOURCE_NOTEBOOKS, assignment, release, student_form
from bpcourse.instructor.assignment import exercise_of, exercises_in, nbgrader_meta

NOTEBOOKS = sorted(SOURCE_NOTEBOOKS.glob(student_form.LESSON_GLOB))


def nbgrader_version(nb, assigned):
    """The student version as nbgrader's preprocessors make it (a NotebookNode)."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions, LockCells

    ids = list(exercises_in(nb))
    nb = nbformat.from_dict(release.assigned_source(nb, assigned))
    resources = {}
    for pp in (ClearHiddenTests(), ClearSolutions()):
        nb, resources = pp.preprocess(nb, resources)
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and not meta.get("solution") and exercise_of(meta["grade_id"], ids) not in assigned:
            del cell.metadata["nbgrader"]
        elif meta.get("solution") or meta.get("grade"):
            ClearOutput().preprocess_cell(cell, resources, index)
        elif student_form.VOLATILE in cell.metadata.get("tags", []):     # ours, documented: the
            ClearOutput().preprocess_cell(cell, resources, index)        # author's timings, progress
    nb, resources = LockCells().preprocess(nb, resources)
    return nb


def as_written(nb):
    """A notebook as nbformat reads it back from what student_form writes."""
    return nbformat.reads(student_form.dumps(nb), as_version=4)


def assert_same(mine, theirs):
    assert len(mine.cells) == len(theirs.cells)
    for i, (a, b) in enumerate(zip(mine.cells, theirs.cells)):
        assert a == b, f"cell {i} differs:\n{a}\n---\n{b}"
    assert mine.metadata == theirs.metadata


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_lesson_is_what_nbgraders_preprocessors_make(path):
    pytest.importorskip("nbgrader")
    nb = nbformat.read(path, as_version=4)
    every = assignment.exercises_in(nb)
    theirs = nbgrader_version(nb, every)
    mine = as_written(release.student_version(student_form.read(path), every))
    nbformat.validate(mine)
    assert_same(mine, theirs)
    assert as_written(student_form.student_version(student_form.read(path))) == mine


def test_a_partial_assignment_is_what_nbgraders_preprocessors_make():
    pytest.importorskip("nbgrader")
    path = next(p for p in NOTEBOOKS if len(assignment.exercises_in(json.loads(p.read_text()))) >= 2)
    nb = nbformat.read(path, as_version=4)
    second = list(assignment.exercises_in(nb))[1]
    theirs = nbgrader_version(nb, {second: 7.0})
    mine = as_written(release.student_version(student_form.read(path), {second: 7.0}))
    assert_same(mine, theirs)
    assert any(nbgrader_meta(c).get("points") == 7 for c in mine.cells)


def cell(source, cell_type="code", **nbgrader):
    meta = {"nbgrader": {"grade_id": "x", "schema_version": 3, **nbgrader}} if nbgrader else {}
    out = {"cell_type": cell_type, "metadata": meta, "source": source}
    if cell_type == "code":
        out.update(outputs=[], execution_count=None)
    return out


def notebook(*cells):
    return {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.mark.parametrize("bad, words", [
    (cell("x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION"), "solution region in a cell without"),
    (cell("### BEGIN SOLUTION\nx = 2", solution=True, grade=False), "BEGIN SOLUTION without END SOLUTION"),
    (cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", solution=True, grade=False),
     "a second BEGIN SOLUTION"),
    (cell("assert f()\n### BEGIN HIDDEN TESTS\nassert g()\n### END HIDDEN TESTS"), "hidden tests in a cell without"),
])
def test_a_malformed_notebook_is_refused_as_nbgrader_refuses_it(bad, words):
    nb = notebook(cell("# intro", "markdown"), bad)
    with pytest.raises(student_form.NotebookError, match=f"cell 2.*{words}"):
        student_form.student_version(nb)
    pytest.importorskip("nbgrader")
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    node = nbformat.from_dict(nb)
    with pytest.raises(RuntimeError):
        for pp in (ClearHiddenTests(), ClearSolutions()):
            node, _ = pp.preprocess(node, {})


@pytest.mark.parametrize("test_cell, expected", [
    ('assert bp.exercises.check_sigmoid(sigmoid, sigmoid_grad), "not right yet"',
     "bp.exercises.check_sigmoid(sigmoid, sigmoid_grad)"),
    ('assert check_relu(relu)  # the verdict says why', "check_relu(relu)  # the verdict says why"),
    ('x = 3\nassert bp.exercises.check_thing(\n    f,\n    x,\n), "msg"\nprint(x)',
     "x = 3\nbp.exercises.check_thing(\n    f,\n    x,\n)\nprint(x)"),
    ("assert x == 1, 'not a check: stays'", "assert x == 1, 'not a check: stays'"),
    ("%time assert check_x(f)", "%time assert check_x(f)"),             # not Python: left alone
    ("y = 1; assert check_x(f)", "y = 1; assert check_x(f)"),           # shares its line: left alone
])
def test_checks_that_do_not_stop(test_cell, expected):
    assert student_form.checks_that_do_not_stop(test_cell) == expected


def test_a_workspace_copy_differs_only_as_documented():
    path = SOURCE_NOTEBOOKS / "00_welcome.ipynb"
    graded = as_written(student_form.student_version(student_form.read(path)))
    mine = as_written(student_form.workspace_version(student_form.read(path)))
    setup = [i for i, c in enumerate(mine.cells) if c.get("id") == student_form.SETUP_CELL_ID]
    first_code = next(i for i, c in enumerate(graded.cells) if c.cell_type == "code")
    assert setup == [first_code]
    del mine.cells[first_code]
    assert mine.metadata.pop(student_form.FORM) == "workspace" and mine.metadata == graded.metadata
    for a, b in zip(mine.cells, graded.cells):
        if student_form.is_test(b):
            assert b.source.startswith("assert bp.exercises.check_") and not a.source.startswith("assert")
            assert a.source == student_form.checks_that_do_not_stop(b.source)
            a.source = b.source
        assert a == b


def test_the_set_up_cell_installs_the_released_package_and_only_what_a_kernel_needs():
    text = student_form.setup_cell("bpcourse @ git+https://example.org/course@v1")["source"]
    compile(text, "setup-cell", "exec")
    assert "course = 'bpcourse @ git+https://example.org/course@v1'" in text
    assert "jupyterlab" not in text and all(r in text for r in student_form.KERNEL_REQUIREMENTS)


@pytest.mark.parametrize("text, words", [
    ('{"cells": [\n<<<<<<< HEAD\n{}\n=======\n{}\n>>>>>>> theirs\n]}', "a git conflict marker (<<<<<<<) at line 2"),
    ('{"cells": [', "invalid JSON at line 1"),
    ('[1, 2]', "no list of cells"),
])
def test_an_unreadable_notebook_is_one_sentence_naming_the_file(tmp_path, text, words):
    path = tmp_path / "03_loss_functions.ipynb"
    path.write_text(text)
    with pytest.raises(student_form.NotebookError) as caught:
        student_form.read(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


def test_not_utf8_is_named_too(tmp_path):
    path = tmp_path / "00_x.ipynb"
    path.write_bytes(b'{"cells": ["\xff"]}')
    with pytest.raises(student_form.NotebookError, match="byte 12 is not UTF-8"):
        student_form.read(path)


def test_the_module_needs_only_the_standard_library():
    """setup.py loads it in a build environment that has setuptools and nothing else."""
    import ast
    import sys
    tree = ast.parse(Path(student_form.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.level == 0}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))
    assert imported <= sys.stdlib_module_names, imported - sys.stdlib_module_names
