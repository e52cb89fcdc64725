"""Grade submitted notebooks against the instructor's tests, as ``nbgrader autograde`` does,
without its database.

Submissions follow nbgrader's layout, one folder per student:
``SUBMISSIONS/<student>/<lesson>.ipynb`` (a notebook one level deeper, as in
nbgrader's ``submitted/<student>/<assignment>/``, is found too).

For each student and assigned lesson:

1. Every graded or locked non-solution cell (the tests) is restored from the
   source notebook by its ``grade_id``, hidden tests included, so a student
   cannot weaken or delete a test. A test cell the student deleted is
   re-inserted after the nearest cell that precedes it in the source; the
   feedback says so.
2. ``ClearOutput`` (nbgrader's), then the notebook runs with nbclient in a
   temporary copy of the student's folder (``allow_errors``, kernel
   ``python3``, a per-cell timeout after which the kernel is interrupted; a
   kernel that ignores the interrupt is killed a few seconds later, and the
   cells after it score 0).
3. Each test cell is scored with ``nbgrader.utils.determine_grade`` (an error
   or any stderr output scores 0), but only if it really ran.

A missing notebook, invalid JSON, a crash, a dead kernel or a timeout gives
0 points and a reason, never a crash of the grader. The result is
``OUT/grades.csv`` (``student,lesson,exercise,points,max_points,reason``) and
``OUT/feedback/<student>.md`` with each check's verdict.

As with nbgrader, the student's code runs in the kernel before the tests, with
the grader's rights: it could tamper with the checks themselves. Grade
untrusted submissions in a container, and look at surprising full marks.
"""
import copy
import csv
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import UsageError
from .assignment import exercise_of, nbgrader_meta
from .release import assigned_source, copy_data

VERDICT_MARKS = {"✓": "right", "✗": "wrong", "…": "not attempted"}
_quiet = logging.getLogger("bpcourse.grade.nbclient")
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass
class Score:
    student: str
    lesson: str
    exercise: str
    points: float
    max_points: float
    reason: str
    details: list = field(default_factory=list)   # verdict texts and notes, for the feedback file


def protected(cell):
    """A cell a student may not change: graded or locked, and not a solution (nbgrader's rule)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade_id")) and not meta.get("solution") and bool(meta.get("grade") or meta.get("locked"))


def restore_tests(student_nb, instructor_nb):
    """The student's notebook with every protected cell taken from the instructor's version.
    Returns (notebook, {grade_id: note}) where a note says what was restored."""
    nb = copy.deepcopy(student_nb)
    notes = {}
    wanted = {nbgrader_meta(c)["grade_id"]: c for c in instructor_nb.cells if protected(c)}
    seen = set()
    for cell in nb.cells:                        # forged or duplicated test cells lose their metadata
        gid = nbgrader_meta(cell).get("grade_id")
        meta = nbgrader_meta(cell)
        if gid and (gid in seen or (gid not in wanted and (meta.get("grade") or meta.get("locked")))):
            cell.metadata.pop("nbgrader", None)
        elif gid:
            seen.add(gid)
    with_ids = nb.get("nbformat_minor", 0) >= 5
    for position, source_cell in enumerate(instructor_nb.cells):
        if not protected(source_cell):
            continue
        gid = nbgrader_meta(source_cell)["grade_id"]
        fresh = copy.deepcopy(source_cell)
        if not with_ids:
            fresh.pop("id", None)
        index = _find(nb, gid)
        if index is not None:
            old = nb.cells[index]
            if old.get("source") != source_cell.source or old.get("cell_type") != source_cell.cell_type:
                notes[gid] = "test cell changed by the student; the instructor's test was used"
            if with_ids:
                fresh["id"] = old.get("id") or fresh.get("id")
            nb.cells[index] = fresh
        else:
            anchor = _anchor(nb, instructor_nb.cells[:position])
            if with_ids and fresh.get("id") in {c.get("id") for c in nb.cells}:
                fresh["id"] = nbformat.v4.new_code_cell().id
            nb.cells.insert(anchor, fresh)
            notes[gid] = "test cell deleted by the student; re-inserted from the source"
    return nb, notes


def _find(nb, grade_id):
    return next((i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id), None)


def _anchor(nb, before):
    """Where to re-insert a deleted cell: after the student's copy of the nearest source cell
    before it (matched by grade_id, else by cell id); at the top if there is none."""
    for source_cell in reversed(before):
        gid = nbgrader_meta(source_cell).get("grade_id")
        for i, cell in enumerate(nb.cells):
            if (gid and nbgrader_meta(cell).get("grade_id") == gid) or \
                    (source_cell.get("id") and cell.get("id") == source_cell.get("id")):
                return i + 1
    return 0


def execute(nb, workdir, timeout):
    """Run every code cell in a fresh kernel in ``workdir``. Returns {cell index: problem}
    for cells that timed out, and a sentence if the kernel died (else None)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False, log=_quiet,
                            resources={"metadata": {"path": str(workdir)}})
    env = dict(os.environ, BPCOURSE_PROGRESS=str(Path(workdir) / ".grading-progress.jsonl"),
               MPLBACKEND="Agg")
    problems, died, count = {}, None, 0
    quiet = subprocess.DEVNULL                   # the kernel's own log lines are not the student's
    with client.setup_kernel(env=env, cwd=str(workdir), stdout=quiet, stderr=quiet):
        pid = getattr(client.km.provisioner, "pid", None)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            count += 1
            start = time.monotonic()
            grace = max(3.0, min(timeout, 10.0))                        # after the interrupt
            watchdog = threading.Timer(timeout + grace, _kill, args=(pid,))
            watchdog.start()
            try:
                client.execute_cell(cell, index, execution_count=count)
            except DeadKernelError:
                died = (f"the kernel died in cell {index + 1} (the interrupt after the {timeout} s "
                        f"timeout was ignored, or the code exited or ran out of memory)")
                break
            finally:
                watchdog.cancel()
            if time.monotonic() - start >= timeout:
                problems[index] = f"cell {index + 1} timed out after {timeout} s (an endless loop?)"
    return problems, died


def _kill(pid):
    if pid:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _text(cell, stream="stdout"):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == stream)


def _error(cell):
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return o.get("ename", "Error"), o.get("evalue", "")
    return None


def _verdict(text):
    """(status, first line) of the check's printed verdict in a test cell's stdout, or None."""
    for line in text.splitlines():
        for mark, status in VERDICT_MARKS.items():
            if line.startswith(mark + " "):
                return status, line[2:].strip()
    return None


def judge(cell, problem=None):
    """(points, max_points, reason, verdict text) of one executed test cell."""
    from nbgrader.utils import determine_grade

    max_points = float(nbgrader_meta(cell).get("points", 0))
    if cell.get("execution_count") is None:
        return 0.0, max_points, "not run", ""
    points, max_points = determine_grade(cell)
    points = float(points or 0)
    stdout, stderr, error = _text(cell), _text(cell, "stderr"), _error(cell)
    verdict = _verdict(stdout)
    if problem:
        reason = problem
    elif points >= max_points:
        reason = "passed"
    elif verdict and verdict[0] == "not attempted":
        reason = "not attempted"
    elif verdict and verdict[0] == "wrong":
        reason = "wrong: " + verdict[1].split(":", 1)[-1].strip()
    elif error and error[0] == "ModuleNotFoundError" and "bpcourse" in error[1]:
        reason = "bpcourse is not installed in the grading kernel: install it, then grade again"
    elif error:
        reason = f"{error[0]}: {error[1]}".strip().rstrip(":")
    elif stderr.strip():
        reason = "the test wrote to stderr (a warning counts as a failure): " + stderr.strip().splitlines()[0]
    else:
        reason = "partial credit" if points else "failed"
    return points, max_points, reason[:300], stdout.strip()


def grade_notebook(student, lesson, path, source_nb, assigned, timeout, data_source=None):
    """[Score] of one student's notebook for one lesson; never raises."""
    instructor = assigned_source(source_nb, assigned)
    tests = {}
    ids = list(assigned)
    for cell in instructor.cells:
        if protected(cell) and nbgrader_meta(cell).get("grade"):
            tests.setdefault(exercise_of(nbgrader_meta(cell)["grade_id"], ids), []).append(cell)

    def all_zero(reason):
        return [Score(student, lesson, ex, 0.0, float(pts), reason) for ex, pts in assigned.items()]

    if path is None:
        return all_zero(f"not submitted ({lesson}.ipynb is missing)")
    try:
        student_nb = nbformat.reads(Path(path).read_text(encoding="utf-8"), as_version=4)
        if not isinstance(student_nb.get("cells"), list):
            raise ValueError("it has no cells")
    except Exception as err:                     # invalid JSON, not a notebook, unreadable file
        return all_zero(f"the notebook could not be read ({type(err).__name__}: {str(err)[:120]})")
    try:
        nb, notes = restore_tests(student_nb, instructor)
        from nbgrader.preprocessors import ClearOutput
        nb, _ = ClearOutput().preprocess(nb, {})
        with tempfile.TemporaryDirectory(prefix="bpcourse-grade-") as tmp:
            workdir = Path(tmp) / "work"
            shutil.copytree(Path(path).parent, workdir, symlinks=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            if data_source is not None:
                copy_data(data_source, workdir)
            problems, died = execute(nb, workdir, timeout)
    except Exception as err:                     # a kernel that does not start, a broken notebook
        return all_zero(f"grading failed ({type(err).__name__}: {str(err)[:160]})")
    scores = []
    for ex, pts in assigned.items():
        cells = tests.get(ex, [])
        got, details, reasons = 0.0, [], []
        own_problems = [p for i, p in problems.items()
                        if nbgrader_meta(nb.cells[i]).get("grade_id") == ex]
        for source_cell in cells:
            gid = nbgrader_meta(source_cell)["grade_id"]
            index = _find(nb, gid)
            cell = nb.cells[index]
            points, _, reason, text = judge(cell, problems.get(index))
            if cell.get("execution_count") is None and died:
                reason = f"not run: {died}"
            if reason != "passed" and own_problems:
                reason = f"{own_problems[0]}; {reason}"
            got += points
            reasons.append(reason)
            details += [text] if text else []
            if gid in notes:
                details.append(notes[gid] + ".")
                reasons[-1] = f"{reason} ({notes[gid]})"
        if not cells:
            reasons.append("no test cell for this exercise in the source notebook")
        reason = "; ".join(dict.fromkeys(reasons))
        scores.append(Score(student, lesson, ex, round(got, 6), float(pts), reason, details))
    return scores


def find_submission(student_dir, lesson):
    direct = Path(student_dir) / f"{lesson}.ipynb"
    if direct.exists():
        return direct
    deeper = sorted(p for p in Path(student_dir).glob(f"*/{lesson}.ipynb")
                    if ".ipynb_checkpoints" not in p.parts)
    return deeper[0] if deeper else None


def students_in(submissions):
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise UsageError(f"the submissions folder {submissions} does not exist.")
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not students:
        raise UsageError(f"{submissions} holds no student folders (expected "
                         f"{submissions}/<student>/<lesson>.ipynb).")
    return students


def grade(submissions, out, assignment, timeout=60, report=print):
    """Grade every student folder in ``submissions``; write OUT/grades.csv and OUT/feedback/."""
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if out == submissions or submissions in out.parents:
        raise UsageError("write the grades outside the submissions folder (--out), so they are "
                         "not taken for a student's folder.")
    if not timeout or timeout <= 0:
        raise UsageError("the timeout must be a positive number of seconds.")
    timeout = int(math.ceil(timeout))            # nbclient counts whole seconds
    students = students_in(submissions)
    sources = {lesson: nbformat.read(assignment.source / f"{lesson}.ipynb", as_version=4)
               for lesson in assignment.lessons}
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    scores = []
    for student_dir in students:
        mine = []
        for lesson, assigned in assignment.lessons.items():
            if not assigned:                     # only worked examples: nothing to grade
                continue
            start = time.perf_counter()
            path = find_submission(student_dir, lesson)
            result = grade_notebook(student_dir.name, lesson, path, sources[lesson], assigned,
                                    timeout, assignment.source)
            mine += result
            got, total = sum(s.points for s in result), sum(s.max_points for s in result)
            report(f"{student_dir.name} / {lesson}: {_fmt(got)} of {_fmt(total)} points "
                   f"({time.perf_counter() - start:.1f} s)")
        write_feedback(out / "feedback" / f"{student_dir.name}.md", student_dir.name, mine, assignment)
        scores += mine
    write_csv(out / "grades.csv", scores)
    return scores


def _fmt(x):
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def write_csv(path, scores):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lesson", "exercise", "points", "max_points", "reason"])
        for s in scores:
            writer.writerow([s.student, s.lesson, s.exercise, _fmt(s.points), _fmt(s.max_points), s.reason])


def write_feedback(path, student, scores, assignment):
    got, total = sum(s.points for s in scores), sum(s.max_points for s in scores)
    lines = [f"# Feedback for {student}: {assignment.title}", "",
             f"**{_fmt(got)} of {_fmt(total)} points.**", ""]
    for lesson in dict.fromkeys(s.lesson for s in scores):
        lines += [f"## {lesson}", ""]
        for s in (s for s in scores if s.lesson == lesson):
            lines.append(f"### {s.exercise}: {_fmt(s.points)} / {_fmt(s.max_points)}")
            lines += ["", s.reason, ""]
            for text in s.details:
                lines += ["```", text, "```", ""] if "\n" in text or text[:1] in VERDICT_MARKS else [text, ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def to_json(scores):
    return json.dumps([s.__dict__ for s in scores], ensure_ascii=False, indent=1)
