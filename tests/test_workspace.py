"""The student workspace: built from the release code, never overwrites a student's change,
follows course updates for untouched lessons, and a reset keeps a backup.

A copy of two real lessons serves as the course, so a course update can be simulated.
"""
import json
import shutil

import nbformat
import pytest

pytest.importorskip("nbgrader")

from bpcourse.exercises import hints
from bpcourse.instructor import SOURCE_NOTEBOOKS, UsageError, release
from bpcourse.instructor.workspace import MANIFEST, Workspace, reset, sha256
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
    assert "your copy is now" in capsys.readouterr().out
    assert main(["reset", "42", "--dir", str(folder), "--source", str(source)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bpcourse reset: error: no lesson '42'") and "Traceback" not in err


def test_empty_source_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="no lesson notebooks"):
        Workspace(tmp_path / "ws", tmp_path).build()
