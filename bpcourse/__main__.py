"""The course's command line: ``python -m bpcourse …`` (or the ``bpcourse`` console script).

    python -m bpcourse workspace                         # build or update your workspace/
    python -m bpcourse reset 03                          # a fresh lesson 03; your copy backed up
    python -m bpcourse release --out release/            # instructors: the student version
    python -m bpcourse grade submissions/ --out grades/  # instructors: grades.csv + feedback
"""
import argparse
import sys
import time
from pathlib import Path

DESCRIPTION = """\
bpcourse: a course on backpropagation.

Students: `workspace` builds (or updates) your workspace with your own copy of every
lesson, exercises as stubs; it never overwrites a notebook you changed.
`reset LESSON` gives you a fresh copy of a lesson and keeps yours as a backup.

Instructors: `release` writes the student version of the course (solutions
replaced by stubs, hidden tests and solution outputs removed) into a folder to
hand out; `grade` runs the students' notebooks against your tests and writes
a gradebook (CSV) and a feedback file per student. Both follow nbgrader's
conventions; an assignment file (TOML, see assignments/) picks the exercises.
"""

ASSIGNMENT_HELP = ("the assignment file (TOML) that picks lessons, exercises and points; "
                   "default: assignments/default.toml, every exercise of every lesson")
SOURCE_HELP = "the source notebooks, with solutions (default: notebooks/ of this repository)"
DIR_HELP = ("the workspace folder (default: the workspace you are in; else, in a checkout of the course, "
            "its workspace/; else workspace/ in the current folder)")
LESSONS_HELP = ("where the lessons come from (default: notebooks/ of a checkout of the course, "
                "else the lessons installed with the package)")


def build_parser():
    from .paths import SOURCE_NOTEBOOKS

    parser = argparse.ArgumentParser(prog="bpcourse", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("workspace", help="build or update your workspace/ (never overwrites your changes)",
                       description="Build or update the student workspace: the student version of every "
                       "lesson (exercises as stubs). Adds lessons that are missing, updates the ones you "
                       "have not changed (decided by content: a manifest keeps the hash of what was "
                       "written), and never overwrites a notebook you changed. `make lab` runs this first.")
    p.add_argument("--dir", type=Path, help=DIR_HELP)
    p.add_argument("--source", type=Path, help=LESSONS_HELP)
    p.set_defaults(func=cmd_workspace)

    p = sub.add_parser("reset", help="restore a fresh copy of a lesson in your workspace, keeping a backup",
                       description="Restore the fresh student version of a lesson in the workspace. "
                       "Your copy is first moved to a timestamped backup beside it "
                       "(e.g. workspace/03_loss_functions.backup-20261122-113012.ipynb).")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("lesson", nargs="?", metavar="LESSON",
                       help='the lesson: its number ("03") or name ("03_loss_functions")')
    which.add_argument("--all", action="store_true", help="reset every lesson")
    p.add_argument("--dir", type=Path, help=DIR_HELP)
    p.add_argument("--source", type=Path, help=LESSONS_HELP)
    p.set_defaults(func=cmd_reset)

    p = sub.add_parser("release", help="instructors: write the student version of the course into a folder",
                       description="Write the student version of the assigned lessons into --out, "
                       "with nbgrader's preprocessors: solutions replaced by stubs raising "
                       "NotImplementedError ('YOUR CODE HERE'), hidden tests removed, outputs of "
                       "solution and test cells cleared, test cells locked. Exercises the assignment "
                       "does not hold stay solved (worked examples). The folder gets a "
                       ".bpcourse-release marker, so hints there never show solutions.")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="an empty folder for the release (not notebooks/)")
    p.add_argument("--assignment", type=Path, metavar="FILE", help=ASSIGNMENT_HELP)
    p.add_argument("--force", action="store_true", help="write into a folder that is not empty "
                   "(overwrites the lesson notebooks in it)")
    p.add_argument("--pip-spec", metavar="SPEC", help="give each lesson a first cell that installs the "
                   "course where it is missing (Google Colab, VS Code), with `pip install SPEC`, "
                   "e.g. 'bpcourse @ git+https://github.com/ORG/REPO@v0.1.0'")
    p.add_argument("--practice", action="store_true", help="for self-study, not grading: checks print "
                   "their verdict without failing their cell (Run All never stops), no release marker")
    p.add_argument("--source", type=Path, default=SOURCE_NOTEBOOKS, help=SOURCE_HELP)
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("grade", help="instructors: grade submitted notebooks, write grades.csv and feedback",
                       description="Grade SUBMISSIONS_DIR/<student>/<lesson>.ipynb for every student "
                       "folder, students in parallel. The tests are restored from the source notebooks "
                       "(a student cannot weaken or delete them); each notebook runs in a fresh, confined "
                       "kernel with a per-cell timeout; the tests themselves run in a process that never "
                       "runs student code, calling the student's functions in a sandbox, on the public "
                       "cases and on instructor-only cases drawn from a secret of this run. A test cell "
                       "scores when the kernel replied 'ok' without errors or stderr and both runs were "
                       "right. Writes DIR/grades.csv (student,lesson,exercise,points,max_points,reason), "
                       "DIR/feedback/<student>.md and DIR/grading-secret.txt (for you only). A missing, "
                       "broken, crashing or endless notebook scores 0 with a reason. See the README's "
                       "'For instructors' for what this protects against.")
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                   help="a folder with one folder per student, each holding <lesson>.ipynb files")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="where grades.csv and feedback/ go (written afresh each time)")
    p.add_argument("--assignment", type=Path, metavar="FILE", help=ASSIGNMENT_HELP)
    p.add_argument("--timeout", type=int, default=60, metavar="SECONDS",
                   help="the longest a cell or a call of student code may run (default: 60)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="notebooks graded at once (default: one per core)")
    p.add_argument("--seed", type=int, metavar="N",
                   help="draw the instructor-only cases from N, to repeat an earlier run (its "
                   "DIR/grading-secret.txt); default: a new random secret")
    p.add_argument("--force", action="store_true",
                   help="replace the grades already in DIR (the whole folder is rewritten)")
    p.add_argument("--source", type=Path, default=SOURCE_NOTEBOOKS, help=SOURCE_HELP)
    p.set_defaults(func=cmd_grade)
    return parser


def _show(done, folder):
    for name, what in done:
        print(f"  {name}: {what}")


def cmd_workspace(args):
    from .instructor import workspace

    start = time.perf_counter()
    ws = workspace.Workspace(args.dir, args.source)
    result = ws.build()
    print(f"workspace {ws.folder}:")
    _show(result, ws.folder)
    for warning in ws.warnings:
        print(f"  note: {warning}")
    print(f"done in {time.perf_counter() - start:.1f} s. Open it with `jupyter lab {ws.folder}` "
          f"(in a checkout of the course: `make lab`).")


def cmd_reset(args):
    from .instructor import workspace

    ws = workspace.Workspace(args.dir, args.source)
    result = ws.reset(None if args.all else [args.lesson])
    print(f"workspace {ws.folder}:")
    _show(result, ws.folder)
    if any(not what.startswith("already") for _, what in result):
        print(f"Note: {workspace.RELOAD_NOTE}")


def cmd_release(args):
    from .instructor import assignment, release

    start = time.perf_counter()
    course = assignment.load(args.assignment, args.source)
    written = release.release(args.out, course, force=args.force, graded=not args.practice,
                              pip_spec=args.pip_spec)
    for lesson, n, points in written:
        print(f"  {lesson}.ipynb: {n} exercise(s) assigned, {points:g} points")
    print(f"released {len(written)} lesson(s), {course.total():g} points in all, into {args.out} "
          f"in {time.perf_counter() - start:.1f} s.")


def cmd_grade(args):
    from .instructor import assignment, grade

    course = assignment.load(args.assignment, args.source)
    graded = grade.grade(args.submissions, args.out, course, timeout=args.timeout, jobs=args.jobs,
                         seed=args.seed, force=args.force)
    print(f"graded {len({s.student for s in graded.scores})} student(s), {len(graded.scores)} "
          f"exercise(s), in {graded.seconds:.1f} s with {graded.jobs} worker(s): "
          f"{args.out / 'grades.csv'} and {args.out / 'feedback'}/")
    for alert in graded.alerts:
        print(alert, file=sys.stderr)
    return 1 if graded.alerts else 0


def main(argv=None):
    from .instructor import UsageError
    from .instructor.student_form import NotebookError

    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
    except (UsageError, NotebookError) as err:
        print(f"bpcourse {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as err:
        print(f"bpcourse {args.command}: error: this command needs {err.name}, which is not installed; "
              f"install the instructor tools with `pip install -e '.[instructor]'`.", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"bpcourse {args.command}: error: {err.strerror or err} ({err.filename}).", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bpcourse {args.command}: interrupted.", file=sys.stderr)
        return 130
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
