"""The student workspace: built without nbgrader from the source notebooks or from the lessons
shipped in the wheel, never overwrites a student's change, follows course updates for
untouched lessons, a reset keeps a backup, and neither ever touches the source notebooks.

A copy of two real lessons serves as the course, so a course update can be simulated.
"""
import json
import shutil

import nbformat
import pytest

from bpcourse import paths
from bpcourse.exercises import hints
from bpcourse.instructor import SOURCE_NOTEBOOKS, UsageError, release, student_form
from bpcourse.instructor.workspace import MANIFEST, RELOAD_NOTE, Workspace, reset, sha256
from bpcourse.__main__ import main

LESSONS = [p.name for p in sorted(SOURCE_NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))][:2]


@pytest.fixture
def course(tmp_path):
    """(source folder with two lessons, workspace folder, Workspace)."""
    source = tmp_path / "notebooks"
    source.mkdir()
    for name in LESSONS:
        shutil.copy(SOURCE_NOTEBOOKS / name, source / name)
    folder = tmp_path / "workspace"
    return source, folder, Workspace(folder, source)


def change_course(path, text="A new paragraph from the instructor."):
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(text))
    nbformat.write(nb, path)


def student_edits(path):
    nb = nbformat.read(path, as_version=4)
    stub = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))
    stub.source = stub.source.replace("raise NotImplementedError()", "return 42  # my answer", 1)
    nbformat.write(nb, path)
    return path.read_bytes()


def test_first_build(course):
    source, folder, ws = course
    done = dict(ws.build())
    assert done == {name: "added" for name in LESSONS}
    manifest = json.loads((folder / MANIFEST).read_text())["files"]
    for name in LESSONS:
        text = (folder / name).read_text()
        assert "raise NotImplementedError()" in text and "### BEGIN SOLUTION" not in text
        assert manifest[name] == sha256((folder / name).read_bytes())
    assert "0.5 * (1 + np.tanh(0.5 * x))" not in (folder / "00_welcome.ipynb").read_text()   # the stub only
    assert not (folder / release.RELEASE_MARKER).exists()       # a self-learner may see solutions
    assert not hints.in_graded_release(folder)
    assert dict(ws.build()) == {name: "up to date" for name in LESSONS}


def test_student_edit_survives_rebuild_and_course_update(course):
    source, folder, ws = course
    ws.build()
    mine = student_edits(folder / LESSONS[0])
    assert dict(ws.build())[LESSONS[0]] == "kept: you changed it"
    change_course(source / LESSONS[0])                          # the course changes this lesson too
    done = dict(ws.build())
    assert done[LESSONS[0]].startswith("kept: you changed it; the course has a newer version")
    assert (folder / LESSONS[0]).read_bytes() == mine
    change_course(source / LESSONS[0], "And a second update.")
    ws.build()
    assert (folder / LESSONS[0]).read_bytes() == mine


def test_untouched_notebook_follows_the_course(course):
    source, folder, ws = course
    ws.build()
    before = (folder / LESSONS[1]).read_bytes()
    change_course(source / LESSONS[1])
    done = dict(ws.build())
    assert done[LESSONS[1]].startswith("updated")
    after = (folder / LESSONS[1]).read_bytes()
    assert after != before and b"A new paragraph from the instructor." in after
    assert json.loads((folder / MANIFEST).read_text())["files"][LESSONS[1]] == sha256(after)


def test_missing_lessons_and_data_are_added(course):
    source, folder, ws = course
    ws.build()
    (folder / LESSONS[1]).unlink()                              # deleted by the student
    shutil.copy(source / LESSONS[0], source / "09_new_lesson.ipynb")
    (source / "data").mkdir()
    (source / "data" / "points.csv").write_text("x,y\n1,2\n")
    done = dict(ws.build())
    assert done[LESSONS[1]] == "added" and done["09_new_lesson.ipynb"] == "added"
    assert done["data/points.csv"] == "added"
    assert (folder / "data" / "points.csv").read_text() == "x,y\n1,2\n"


def test_unknown_or_corrupt_manifest_keeps_differing_files(course):
    source, folder, ws = course
    ws.build()
    mine = student_edits(folder / LESSONS[0])
    (folder / MANIFEST).write_text("{ not json")
    ws2 = Workspace(folder, source)
    done = dict(ws2.build())
    assert done[LESSONS[0]] == "kept: you changed it" and (folder / LESSONS[0]).read_bytes() == mine
    assert done[LESSONS[1]] == "up to date"
    assert ws2.warnings and "unreadable" in ws2.warnings[0]


def test_a_release_marker_is_removed(course):
    source, folder, ws = course
    ws.build()
    (folder / release.RELEASE_MARKER).write_text("x")
    assert dict(ws.build())[release.RELEASE_MARKER].startswith("removed")
    assert not (folder / release.RELEASE_MARKER).exists()


def test_reset_keeps_a_backup(course):
    source, folder, ws = course
    ws.build()
    fresh = (folder / LESSONS[0]).read_bytes()
    mine = student_edits(folder / LESSONS[0])
    done = dict(reset([LESSONS[0][:2]], folder, source))
    message = done[LESSONS[0]]
    assert message.startswith("fresh; your copy is now ")
    backup = folder / message.rsplit("/", 1)[-1]
    assert backup.name.startswith(LESSONS[0][:-6] + ".backup-") and backup.suffix == ".ipynb"
    assert backup.read_bytes() == mine and (folder / LESSONS[0]).read_bytes() == fresh
    assert dict(ws.build())[LESSONS[0]] == "up to date"         # the fresh copy is ours again
    assert dict(reset([LESSONS[0]], folder, source))[LESSONS[0]].startswith("already fresh")


def test_reset_all_and_a_course_update_after_reset(course):
    source, folder, ws = course
    ws.build()
    for name in LESSONS:
        student_edits(folder / name)
    done = dict(reset(None, folder, source))
    assert all(done[name].startswith("fresh; your copy is now") for name in LESSONS)
    assert len(list(folder.glob("*.backup-*.ipynb"))) == len(LESSONS)
    change_course(source / LESSONS[0])
    assert dict(ws.build())[LESSONS[0]].startswith("updated")


def test_reset_mistakes(course, tmp_path):
    source, folder, ws = course
    with pytest.raises(UsageError, match="no workspace"):
        reset(["00"], folder, source)
    ws.build()
    with pytest.raises(UsageError, match="no lesson '42'"):
        reset(["42"], folder, source)


def test_cli_workspace_and_reset(course, capsys):
    source, folder, ws = course
    assert main(["workspace", "--dir", str(folder), "--source", str(source)]) == 0
    out = capsys.readouterr().out
    assert f"{LESSONS[0]}: added" in out and "done in" in out
    student_edits(folder / LESSONS[0])
    assert main(["reset", LESSONS[0][:2], "--dir", str(folder), "--source", str(source)]) == 0
    out = capsys.readouterr().out
    assert "your copy is now" in out and RELOAD_NOTE in out     # the open lesson's kernel: restart it
    assert main(["reset", "42", "--dir", str(folder), "--source", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpcourse reset: error: no lesson '42'") and "Traceback" not in err


def test_empty_source_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no lesson notebooks"):
        Workspace(tmp_path / "ws", tmp_path).build()


# ------------------------------------------------------------------ the source notebooks are not a workspace

def test_reset_never_touches_a_source_notebook(course, capsys):
    """`reset 03 --dir notebooks` used to replace the instructor's notebook by the stub version."""
    source, folder, ws = course
    before = {p.name: p.read_bytes() for p in source.iterdir()}
    assert main(["reset", LESSONS[0][:2], "--dir", str(source), "--source", str(source)]) == 2
    err = capsys.readouterr().err
    assert "holds the course's source notebooks" in err and err.count("\n") == 1
    copy = folder.parent / "copy-of-the-notebooks"               # the same, somewhere else, with a manifest
    shutil.copytree(source, copy)
    (copy / MANIFEST).write_text('{"files": {}}')
    assert main(["reset", LESSONS[0][:2], "--dir", str(copy), "--source", str(source)]) == 2
    assert "holds solutions: it is a source notebook" in capsys.readouterr().err
    assert main(["workspace", "--dir", str(source), "--source", str(source)]) == 2
    assert {p.name: p.read_bytes() for p in source.iterdir()} == before
    assert (copy / LESSONS[0]).read_bytes() == before[LESSONS[0]]


def test_a_git_conflict_in_a_source_notebook_is_one_sentence_naming_it(course, capsys):
    source, folder, ws = course
    path = source / LESSONS[1]
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5] + ["<<<<<<< HEAD\n"] + lines[5:9] + ["=======\n", ">>>>>>> lesson\n"] + lines[9:]))
    assert main(["workspace", "--dir", str(folder), "--source", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path} holds a git conflict marker (<<<<<<<) at line 6" in err
    assert not folder.exists()                                   # nothing half-built


def test_a_workspace_from_the_wheels_lessons(course, tmp_path):
    """The wheel ships the lessons already in their student form: taken as they are."""
    source, folder, ws = course
    shipped = tmp_path / "site-packages" / "bpcourse" / "lessons"
    shipped.mkdir(parents=True)
    for name, data in student_form.lesson_files(source).items():
        (shipped / name).write_bytes(data)
    done = dict(Workspace(folder, shipped).build())
    assert done == {name: "added" for name in LESSONS}
    for name in LESSONS:
        assert (folder / name).read_bytes() == (shipped / name).read_bytes()
    assert dict(Workspace(folder, source).build()) == {name: "up to date" for name in LESSONS}


def test_commands_find_the_workspace_they_run_in(tmp_path, monkeypatch):
    folder = tmp_path / "my-course"
    (folder / "sub").mkdir(parents=True)
    (folder / MANIFEST).write_text('{"files": {}}')
    assert paths.default_workspace(folder / "sub") == folder        # JupyterLab's terminal, in the workspace
    assert paths.default_workspace(tmp_path) == tmp_path / "workspace"
    assert paths.default_workspace(SOURCE_NOTEBOOKS) == paths.REPO / "workspace"   # anywhere in a checkout
    monkeypatch.chdir(folder / "sub")
    assert Workspace().folder == folder


def test_run_all_goes_through_a_fresh_lesson(course, monkeypatch):
    """Every exercise a stub: each check says "not attempted", Run All reaches the last cell, and
    the progress log, in the workspace, counts the stubs as not attempted."""
    pytest.importorskip("nbclient")
    from nbclient import NotebookClient
    from bpcourse import progress_log
    source, folder, ws = course
    ws.build()
    monkeypatch.delenv("BPCOURSE_PROGRESS")                       # the kernel finds its own log
    nb = nbformat.read(folder / "00_welcome.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()   # raises at the first error
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell in tests:
        assert [o.get("name") for o in cell.outputs] == ["stdout"]
        assert "not attempted" in cell.outputs[0].text
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip())
    checks = [e for e in progress_log.events(folder / "progress.jsonl") if e["kind"] == "check"]
    assert [e["status"] for e in checks] == ["not attempted"] * len(tests)
    statuses = progress_log.summary(folder / "progress.jsonl")["exercises"]["00_welcome"]
    assert statuses and set(statuses.values()) == {""}                  # not attempted, not "tried"
