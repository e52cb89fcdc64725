"""How long does grading a class take? 30 students × 3 lessons (00, 02, 04), a mix of
submissions: honest (the source notebooks), blank (the release), wrong (every stub returns 0),
half done (the first exercise of each lesson solved), and cheating (the release plus one of five
ways of making the student's own kernel print "right"). Prints the time, the workers used and
the points each kind of submission got (honest: full marks; blank, wrong, cheating: 0).

    .venv-dev/bin/python benchmarks/bench_grade.py            # every core
    .venv-dev/bin/python benchmarks/bench_grade.py --jobs 1   # to compare
"""
import argparse
import copy
import csv
import os
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import nbformat

from bpcourse.instructor import assignment, grade, release

LESSONS = ["00_welcome", "02_forward_backward", "04_optimizers"]
KINDS = ["honest"] * 10 + ["blank"] * 5 + ["wrong"] * 5 + ["half"] * 5 + ["cheating"] * 5
CHEATS = [
    "def _fake(*args):\n    print('✓ faked')\n    return True\n"
    "for _name in dir(bp.exercises):\n    if _name.startswith('check_'):\n        setattr(bp.exercises, _name, _fake)",
    "bp.exercises.core.Verdict.__bool__ = lambda self: True",
    "bp.exercises.core.rel_error = lambda a, b: 0.0",
    "get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)",
    "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])",
]


def solution_cells(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def submission(kind, number, source, fresh):
    if kind == "honest":
        return source
    nb = copy.deepcopy(fresh)
    if kind == "wrong":
        for cell in solution_cells(nb):
            cell.source = cell.source.replace("raise NotImplementedError()", "return 0.0")
    elif kind == "half":
        cell, = solution_cells(nb)[:1]
        cell.source = solution_cells(source)[0].source
    elif kind == "cheating":
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first_code + 1, nbformat.v4.new_code_cell(CHEATS[number % len(CHEATS)]))
    return nb


def cpu_seconds():
    """User and system CPU time of this process and of its children that have ended."""
    return sum(getattr(resource.getrusage(who), field) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for field in ("ru_utime", "ru_stime"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, help="workers (default: every core)")
    args = parser.parse_args()
    course = assignment.from_dict({"lessons": {name: {} for name in LESSONS}})
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        release.release(tmp / "release", course)
        kinds = {}
        for number, kind in enumerate(KINDS):
            student = f"s{number:02d}_{kind}"
            kinds[student] = kind
            (tmp / "subs" / student).mkdir(parents=True)
            for lesson in LESSONS:
                source = nbformat.read(course.source / f"{lesson}.ipynb", as_version=4)
                fresh = nbformat.read(tmp / "release" / f"{lesson}.ipynb", as_version=4)
                nbformat.write(submission(kind, number, source, fresh), tmp / "subs" / student / f"{lesson}.ipynb")
        load, cpu = os.getloadavg()[0], cpu_seconds()
        start = time.perf_counter()
        graded = grade.grade(tmp / "subs", tmp / "out", course, report=lambda line: None, jobs=args.jobs)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        got, full = defaultdict(float), defaultdict(float)
        for row in csv.DictReader(open(tmp / "out" / "grades.csv", encoding="utf-8")):
            got[kinds[row["student"]]] += float(row["points"])
            full[kinds[row["student"]]] += float(row["max_points"])
    notebooks = len(KINDS) * len(LESSONS)
    print(f"graded {len(KINDS)} students × {len(LESSONS)} lessons = {notebooks} notebooks in {seconds:.0f} s "
          f"with {graded.jobs} worker(s) on {os.cpu_count()} cores: {seconds / notebooks:.1f} s a notebook "
          f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after: other work slows it down)")
    print(f"CPU time of the grading processes: {cpu:.0f} s ({cpu / notebooks:.1f} s a notebook), so "
          f"about {cpu / os.cpu_count():.0f} s on this machine with nothing else running")
    for kind in dict.fromkeys(KINDS):
        print(f"  {kind:9s} {got[kind]:5g} of {full[kind]:g} points")
    if graded.alerts:
        print("\n".join(graded.alerts))


if __name__ == "__main__":
    main()
