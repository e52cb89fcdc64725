"""The student release: nothing of a solution survives, stubs and tests are in place, the
other outputs are kept, unassigned exercises stay solved, the release runs up to the first stub.

The leak test covers every lesson notebook there is; executing releases costs a kernel each,
so that is done for 00_welcome and one more small lesson only.
"""
import json
import re
from pathlib import Path

import nbformat
import pytest

from bpcourse.exercises import hints
from bpcourse.instructor import SOURCE_NOTEBOOKS, UsageError, assignment, release, student_form

NOTEBOOKS = sorted(SOURCE_NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
LESSONS = [p.stem for p in NOTEBOOKS]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HBEGIN, HEND = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
TRIVIAL = {"pass", "return", "else:", "try:", "finally:", "break", "continue", "return None", "...",
           "raise NotImplementedError", "raise NotImplementedError()", '"""', "'''"}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    out = tmp_path_factory.mktemp("release")
    release.release(out, assignment.load(None))
    return out


def meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def regions(source, begin, end):
    """(inside lines, outside lines) of the marked regions of a cell's source."""
    inside, outside, on = [], [], False
    for line in source.split("\n"):
        if begin in line:
            on = True
        elif end in line:
            on = False
        else:
            (inside if on else outside).append(line)
    return inside, outside


def strings(obj):
    """Every string anywhere in a JSON document (sources, outputs, metadata)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def output_text(cell):
    return [s for o in cell.get("outputs", []) for s in strings(o)]


def secrets_and_public(nb):
    """The lines a student must not see (solution regions, hidden tests, outputs of solution and
    test cells) and the text that is public anyway (everything else in the source)."""
    secret, public = [], []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        m = meta(cell)
        if m.get("solution"):
            inside, outside = regions(source, BEGIN, END)
            if BEGIN not in source:              # a whole-cell solution
                inside, outside = outside, []
        else:
            inside, outside = regions(source, HBEGIN, HEND)
        secret += inside
        public += outside
        if m.get("solution") or m.get("grade"):
            secret += [line for text in output_text(cell) for line in text.split("\n")]
        else:
            public += output_text(cell)
        public += list(strings(cell.get("metadata", {})))
    public_text = "\n".join(public)
    found = {s.strip() for s in secret}
    return sorted(s for s in found if not trivial(s) and s not in public_text), public_text


def trivial(line):
    return line in TRIVIAL or not re.search(r"[A-Za-z0-9]", line) or len(line) < 4


def released_text(folder):
    texts = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes().decode("utf-8", errors="replace")
        texts.append(raw)
        if path.suffix == ".ipynb":
            texts += list(strings(json.loads(raw)))
    return "\n".join(texts)


def test_there_is_something_to_release():
    assert "00_welcome" in LESSONS
    assert assignment.exercises_in(json.loads(NOTEBOOKS[0].read_text()))


@pytest.fixture(scope="module")
def public_text():
    """What any source notebook shows outside solutions: a line found there is no secret."""
    return "\n".join(secrets_and_public(json.loads(p.read_text(encoding="utf-8")))[1] for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=LESSONS)
def test_no_solution_text_survives(path, released, public_text):
    nb = json.loads(path.read_text(encoding="utf-8"))
    secrets = [s for s in secrets_and_public(nb)[0] if s not in public_text]
    if assignment.exercises_in(nb):
        assert secrets, "a lesson with exercises has solution lines to look for"
    everything = released_text(released)
    leaks = [s for s in secrets if s in everything]
    assert not leaks, f"solution text of {path.name} found in the release: {leaks[:5]}"


def test_the_leak_search_finds_a_planted_leak(released, tmp_path):
    """The leak test can fail: a release with one solution line pasted into a markdown cell."""
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    secrets, _ = secrets_and_public(nb)
    planted = nbformat.read(released / NOTEBOOKS[0].name, as_version=4)
    planted.cells.append(nbformat.v4.new_markdown_cell("Spoiler:\n    " + secrets[0]))
    nbformat.write(planted, tmp_path / NOTEBOOKS[0].name)
    assert secrets[0] in released_text(tmp_path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=LESSONS)
def test_stubs_tests_and_outputs(path, released):
    source = nbformat.read(path, as_version=4)
    student = nbformat.read(released / path.name, as_version=4)
    assert len(student.cells) == len(source.cells)
    for src, stu in zip(source.cells, student.cells):
        m = meta(src)
        if m.get("solution") and src.cell_type == "markdown":
            assert stu.source == "YOUR ANSWER HERE" and stu.metadata["deletable"] is False
        elif m.get("solution"):
            assert "# YOUR CODE HERE" in stu.source and "raise NotImplementedError()" in stu.source
            assert BEGIN not in stu.source and END not in stu.source
            assert stu.metadata["deletable"] is False
            assert stu.get("outputs", []) == []
        elif m.get("grade"):
            assert stu.source == "\n".join(regions(src.source, HBEGIN, HEND)[1])
            assert stu.metadata["editable"] is False and stu.metadata["deletable"] is False
            assert stu.outputs == [] and stu.execution_count is None
            assert meta(stu)["points"] == m["points"]
        elif "nbval-ignore-output" in src.metadata.get("tags", []):   # volatile: the author's timings, progress
            assert stu.source == src.source and stu.outputs == [] and stu.execution_count is None
        else:                                    # everything else as in the source: plots stay
            assert stu.source == src.source
            assert stu.get("outputs") == src.get("outputs")


def test_release_marker_makes_hints_refuse(released):
    assert (released / release.RELEASE_MARKER).exists()
    assert release.RELEASE_MARKER == hints.RELEASE_MARKER
    assert hints.in_graded_release(released)
    refusal = hints.solution("ex00_sigmoid", start=released)
    assert "not part of this release" in refusal
    assert "tanh" in hints.solution("ex00_sigmoid", start=SOURCE_NOTEBOOKS)   # the repository: shown


def test_without_the_source_notebooks_the_last_rung_says_where_the_solutions_are(tmp_path):
    """Installed from a wheel (no notebooks/ beside the package), outside a graded release."""
    text = hints.solution("ex00_sigmoid", notebooks=tmp_path / "site-packages" / "notebooks", start=tmp_path)
    assert "cell 'ex00_sigmoid' of notebooks/00_welcome.ipynb in the course's repository" in text
    assert "make solutions" in text and "tanh" not in text


def test_unassigned_exercises_stay_solved(tmp_path):
    course = assignment.from_dict({"lessons": {"00_welcome": {"exercises": []}}})
    assert course.lessons == {"00_welcome": {}}
    release.release(tmp_path, course)
    source = nbformat.read(NOTEBOOKS[0], as_version=4)
    student = nbformat.read(tmp_path / "00_welcome.ipynb", as_version=4)
    for src, stu in zip(source.cells, student.cells):
        if meta(src).get("solution"):
            inside, outside = regions(src.source, BEGIN, END)
            assert stu.source == "\n".join(line for line in src.source.split("\n")
                                           if BEGIN not in line and END not in line)
            assert "nbgrader" not in stu.metadata and "NotImplementedError" not in stu.source
        elif meta(src).get("grade"):                 # the test runs as an example: output kept
            assert "nbgrader" not in stu.metadata
            assert stu.outputs == src.outputs and "✓" in "".join(output_text(stu))


def _lesson_with_exercises(n):
    for path in NOTEBOOKS:
        exercises = assignment.exercises_in(json.loads(path.read_text(encoding="utf-8")))
        if len(exercises) >= n:
            return path, list(exercises)
    pytest.fail(f"no lesson has {n} exercises: the test needs one")


def test_partial_assignment_and_own_points(tmp_path):
    path, exercises = _lesson_with_exercises(2)
    first, second = exercises[:2]
    course = assignment.from_dict({"lessons": {path.stem[:2]: {"exercises": {second: 7}}}})
    assert course.lessons == {path.stem: {second: 7.0}}
    release.release(tmp_path, course)
    student = nbformat.read(tmp_path / path.name, as_version=4)
    by_id = {meta(c).get("grade_id"): c for c in student.cells if meta(c)}
    assert first not in by_id                          # a worked example, solution kept
    assert "NotImplementedError" in by_id[second].source
    tests = [c for c in student.cells if meta(c).get("grade")]
    assert tests and sum(meta(c)["points"] for c in tests) == 7
    assert all(meta(c)["grade_id"].startswith(second) for c in tests)


@pytest.mark.parametrize("spec, message", [
    ({"lessons": {"42": {}}}, "no lesson '42'"),
    ({"lessons": {"00": {"exercises": ["ex00_nope"]}}}, "has no exercise 'ex00_nope'"),
    ({"lessons": {"00": {"exercises": {"ex00_sigmoid": -1}}}}, "must be a number ≥ 0"),
    ({"lessons": {"00": {"exercise": "all"}}}, "only `exercises = ...`"),
    ({"lesons": "all"}, "unknown key(s) lesons"),
    ({"lessons": 3}, '"lessons" in the assignment must be'),
])
def test_assignment_mistakes_are_one_clear_sentence(spec, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        assignment.from_dict(spec)


def test_assignment_files_parse():
    default = assignment.load(Path("assignments/default.toml").resolve())
    assert list(default.lessons) == LESSONS                     # every lesson, every exercise
    for lesson, path in zip(LESSONS, NOTEBOOKS):
        assert default.lessons[lesson] == assignment.exercises_in(json.loads(path.read_text()))
    example = Path(__file__).resolve().parents[1] / "assignments" / "example-week1.toml"
    week1 = assignment.load(example)
    assert week1.title.startswith("Week 1") and week1.total() > 0


def test_refuses_source_and_non_empty_folders(tmp_path):
    course = assignment.load(None)
    with pytest.raises(UsageError, match="source notebooks"):
        release.release(SOURCE_NOTEBOOKS, course)
    (tmp_path / "student_work.ipynb").write_text("{}")
    with pytest.raises(UsageError, match="not empty"):
        release.release(tmp_path, course)
    release.release(tmp_path, course, force=True)
    assert (tmp_path / "student_work.ipynb").read_text() == "{}"      # untouched even with --force
    assert (tmp_path / "00_welcome.ipynb").exists()


def test_a_colab_release_installs_the_course_in_its_first_code_cell(tmp_path):
    """`release --pip-spec SPEC`: each lesson opened where bpcourse is missing installs SPEC first."""
    spec = "bpcourse @ git+https://example.org/course@v0.1.0"
    course = assignment.from_dict({"lessons": ["00"]})
    release.release(tmp_path / "plain", course)
    release.release(tmp_path / "colab", course, pip_spec=spec)
    plain = nbformat.read(tmp_path / "plain" / "00_welcome.ipynb", as_version=4)
    colab = nbformat.read(tmp_path / "colab" / "00_welcome.ipynb", as_version=4)
    first = next(i for i, c in enumerate(plain.cells) if c.cell_type == "code")
    setup = colab.cells.pop(first)
    assert setup.id == student_form.SETUP_CELL_ID and f"course = {spec!r}" in setup.source
    assert colab == plain                                         # nothing else differs
    assert (tmp_path / "colab" / release.RELEASE_MARKER).exists()


def test_a_practice_release_never_stops_run_all(tmp_path, capsys):
    from bpcourse.__main__ import main
    assert main(["release", "--out", str(tmp_path), "--practice", "--assignment",
                 str(Path("assignments/default.toml").resolve())]) == 0
    assert not (tmp_path / release.RELEASE_MARKER).exists()
    nb = nbformat.read(tmp_path / "00_welcome.ipynb", as_version=4)
    tests = [c for c in nb.cells if meta(c).get("grade")]
    assert tests and all(c.source.startswith("bp.exercises.check_") for c in tests)


def _first_error(path, timeout=120):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for i, cell in enumerate(nb.cells):
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors:
            return i, cell, errors[0]
    return None, None, None


@pytest.mark.parametrize("lesson", ["00_welcome", "01_chain_rule"])
def test_release_runs_up_to_the_first_stub(lesson, released):
    path = released / f"{lesson}.ipynb"
    index, cell, error = _first_error(path)
    assert index is not None, "a release with stubs cannot run through"
    assert meta(cell), f"cell {index + 1} failed before any exercise: {error.ename}: {error.evalue}"
    if meta(cell).get("grade"):                                    # the check says: not attempted
        assert error.ename == "AssertionError"
        assert "not attempted" in "".join(o.get("text", "") for o in cell.outputs)
    else:
        assert error.ename == "NotImplementedError" and meta(cell).get("solution")
