"""What grading writes: ``OUT/grades.csv``, ``OUT/feedback/<student>.md`` and, for the instructor
only, ``OUT/grading-secret.txt`` (mode 0600: the seed of this run's instructor-only cases).

The folder is written afresh each time and then put in place of the old one, so no feedback of
a student who is not graded any more stays behind. A folder that already holds grades is
replaced only with ``force``; one that holds anything else is never touched.
CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are written with a leading ``'``, as OWASP advises.
"""
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

from . import UsageError

OURS = {"grades.csv", "feedback", "grading-secret.txt"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SECRET_NOTE = ("The secret this run's instructor-only test cases were drawn from. Grading again with\n"
               "`--seed {secret}` draws the same cases. Keep it from students.\n\n{secret}\n")


def check_out(out, force):
    """Refuse, before grading, to write where it would lose something."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a folder.")
    entries = set(os.listdir(out)) if out.exists() else set()
    if entries - OURS:
        raise UsageError(f"{out} holds files the grader did not write "
                         f"({', '.join(sorted(entries - OURS)[:3])}); choose another --out folder.")
    if entries and not force:
        raise UsageError(f"{out} already holds grades; pass --force to replace them (the folder is "
                         f"written afresh, so feedback of students not graded now does not stay).")


def write(out, scores, assignment, secret):
    """Write the gradebook into a fresh folder beside ``out``, then put it in place of ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    os.chmod(fresh, 0o755)
    (fresh / "feedback").mkdir()
    write_csv(fresh / "grades.csv", scores)
    for student in dict.fromkeys(s.student for s in scores):
        write_feedback(fresh / "feedback" / f"{student}.md", student,
                       [s for s in scores if s.student == student], assignment)
    secret_file = fresh / "grading-secret.txt"
    secret_file.touch(mode=0o600)
    secret_file.write_text(SECRET_NOTE.format(secret=secret), encoding="utf-8")
    old = None
    if out.exists():
        old = out.with_name(fresh.name + "-old")
        out.rename(old)
    fresh.rename(out)
    if old is not None:
        shutil.rmtree(old)


def fmt(x):
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path, scores):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "lesson", "exercise", "points", "max_points", "reason"])
        for s in scores:
            writer.writerow([safe_cell(v) for v in
                             (s.student, s.lesson, s.exercise, fmt(s.points), fmt(s.max_points), s.reason)])


def write_feedback(path, student, scores, assignment):
    got, total = sum(s.points for s in scores), sum(s.max_points for s in scores)
    lines = [f"# Feedback for {student}: {assignment.title}", "",
             f"**{fmt(got)} of {fmt(total)} points.**", ""]
    for lesson in dict.fromkeys(s.lesson for s in scores):
        lines += [f"## {lesson}", ""]
        for s in (s for s in scores if s.lesson == lesson):
            lines.append(f"### {s.exercise}: {fmt(s.points)} / {fmt(s.max_points)}")
            lines += ["", s.reason, ""]
            for text in s.details:
                lines += ["```", text, "```", ""] if "\n" in text or text[:1] in "✓✗…" else [text, ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def to_json(scores):
    return json.dumps([s.__dict__ for s in scores], ensure_ascii=False, indent=1)
