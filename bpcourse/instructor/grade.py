"""Grade submitted notebooks against the instructor's tests, as ``nbgrader autograde`` does,
without its database, and so that a grade means what it says.

Submissions follow nbgrader's layout, one folder per student:
``SUBMISSIONS/<student>/<lesson>.ipynb`` (a notebook one level deeper, as in
nbgrader's ``submitted/<student>/<assignment>/``, is found too).

The student's code never runs in a process that decides a score:

1. **The tests are the instructor's.** Every graded or locked non-solution cell is restored from
   the source notebook by its ``grade_id``, hidden tests included; a deleted test cell is
   re-inserted where it belongs, and the feedback says so.
2. **The notebook runs** (``kernel.py``) with nbclient in a fresh kernel, confined
   (``confine.py``: a scrubbed environment, limits, an unprivileged user when grading as root,
   no network, the source notebooks, submissions and grades out of view), in a temporary copy of
   the student's folder, importing bpcourse from a fresh copy of the package taken when grading
   started (``pristine.py``), with a per-cell timeout. This gives the cells' replies.
3. **The tests run here** (``trusted_tests.py``), in a worker that never runs student code,
   calling the student's functions in a sandbox (``sandbox.py``: another confined process that
   holds the student's solution cells and sends back plain data only), once on the public
   cases and once on instructor-only cases drawn from a secret of this run.
4. **A test cell scores** its points only if the kernel replied "ok" without an error or any
   stderr output (nbgrader's rule) AND both runs of step 3 were right.

After each notebook, the installed package is compared with the copy taken at the start; a
change is reported loudly, naming the student. Students are graded in parallel (``jobs``
workers, one confined uid each). A missing, unreadable, crashing or endless notebook scores 0
with its reason, never a crash of the grader. The result (``gradebook.py``) is
``OUT/grades.csv`` (``student,lesson,exercise,points,max_points,reason``),
``OUT/feedback/<student>.md`` and ``OUT/grading-secret.txt``.
"""
import copy
import math
import multiprocessing
import os
import pkgutil
import secrets
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import UsageError, gradebook
from .assignment import exercise_of, nbgrader_meta
from .confine import Confinement, claim_uid, environment, python_paths
from .pristine import Snapshot, Tampered
from .release import assigned_source, copy_data
from .trusted_tests import uses_package

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




# One notebook ------------------------------------------------------------------------------------

@dataclass
class Job:
    """The folders of one notebook's grading, removed afterwards: ``package`` (a fresh copy of
    bpcourse, read-only to student code when grading as root), and for the kernel and the
    sandbox each a working copy of the student's folder and a home, owned by the job's uid."""

    root: Path
    package: Path
    work: Path
    home: Path
    sandbox_work: Path
    sandbox_home: Path

    @classmethod
    def create(cls, parent, snapshot, student_dir, data_source, confinement):
        root = Path(tempfile.mkdtemp(prefix="job-", dir=parent))
        os.chmod(root, 0o711)
        job = cls(root, snapshot.copy_to(root / "pkg"), root / "work", root / "home",
                  root / "sandbox-work", root / "sandbox-home")
        for work in (job.work, job.sandbox_work):
            shutil.copytree(student_dir, work, symlinks=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            if data_source is not None:
                copy_data(data_source, work)
        for home in (job.home, job.sandbox_home):
            home.mkdir()
        for own in (job.work, job.home, job.sandbox_work, job.sandbox_home):
            confinement.give(own)
            os.chmod(own, 0o700)
        return job

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


def grade_notebook(student, lesson, path, settings, confinement):
    """[Score] of one student's notebook for one lesson; never raises (but for a tampered
    pristine copy, which stops the grading)."""
    from nbgrader.preprocessors import ClearOutput
    from .kernel import execute

    source_nb, assigned = settings.sources[lesson], settings.lessons[lesson]
    instructor = assigned_source(source_nb, assigned)
    tests = {}
    for cell in instructor.cells:
        if protected(cell) and nbgrader_meta(cell).get("grade"):
            tests.setdefault(exercise_of(nbgrader_meta(cell)["grade_id"], list(assigned)), []).append(cell)

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
    job = None
    try:
        nb, notes = restore_tests(student_nb, instructor)
        nb, _ = ClearOutput().preprocess(nb, {})
        job = Job.create(settings.jobs_dir, settings.snapshot, Path(path).parent, settings.data_source,
                         confinement)
        executed = copy.deepcopy(nb)
        run = execute(executed, job, confinement, settings.timeout)
        confinement.kill_leftovers()
        test_cells = [(nbgrader_meta(c)["grade_id"], c.source) for cells in tests.values() for c in cells]
        checked, built = check_in_sandbox(nb, source_nb, test_cells, job, confinement, settings)
    except Tampered:
        raise
    except Exception as err:                     # a kernel that does not start, a broken notebook
        return all_zero(f"grading failed ({type(err).__name__}: {str(err)[:160]})")
    finally:
        confinement.kill_leftovers()
        if job is not None:
            job.remove()
    solutions = {nbgrader_meta(c).get("grade_id"): c.source for c in source_nb.cells
                 if nbgrader_meta(c).get("solution")}
    scores = []
    for ex, pts in assigned.items():
        got, details, reasons = 0.0, [], []
        for source_cell in tests.get(ex, []):
            gid = nbgrader_meta(source_cell)["grade_id"]
            public, hidden, used = checked[gid]
            index = _find(executed, gid)
            points, reason = judge(index, executed.cells[index], run, public, hidden)
            got += points
            details += [public.text] if public.text else []
            if public.right and not hidden.right:
                details.append("On the instructor's own cases:\n" + (hidden.text or hidden.reason))
            if gid in notes:
                details.append(notes[gid] + ".")
                reason = f"{reason} ({notes[gid]})"
            if used and not uses_package(solutions.get(ex, "")):
                names = ", ".join(u.removeprefix("bpcourse.") for u in used[:3])
                reason += f" (note: this code calls the package's own {names})"
            reasons.append(reason)
        if not tests.get(ex):
            reasons.append("no test cell for this exercise in the source notebook")
        if got < pts and built:
            details += [f"Run alone in the grader's sandbox, {label[1:-1]} of your notebook: {note}"
                        for label, note in built.items()]
        scores.append(Score(student, lesson, ex, round(got, 6), float(pts),
                            "; ".join(dict.fromkeys(reasons)), details))
    return scores


def check_in_sandbox(nb, source_nb, test_cells, job, confinement, settings):
    """({grade_id: (public Outcome, hidden Outcome, [package functions the code called])},
    {cell label: what went wrong building the student's namespace})."""
    from ..exercises import core
    from .sandbox import Sandbox, SandboxFailed, student_cells
    from .trusted_tests import Outcome, namespace_for, run_test

    checked = {}
    with Sandbox(confinement, job, settings.timeout) as box:
        try:
            built = box.build(student_cells(nb, source_nb))
        except SandboxFailed as err:
            failed = Outcome(False, f"grading failed: {err}")
            return {gid: (failed, failed, []) for gid, _ in test_cells}, {}
        for gid, source in test_cells:
            box.used = set()
            label = f"<{gid}>"
            try:
                namespace = namespace_for(source, box)
                public = run_test(source, label, namespace, box)
                hidden = run_test(source, label, namespace, box, settings.secret)
            except core.RunnerError as err:
                public = hidden = Outcome(False, f"grading failed: {err}")
            except core.Wrong as err:            # the sandbox stopped before the names were found
                public = hidden = Outcome(False, f"wrong: {err.message}")
            checked[gid] = (public, hidden, sorted(box.used))
    return checked, built


def judge(index, cell, run, public, hidden):
    """(points, reason) of one test cell: ``cell`` as the kernel ran it (``run``: its replies),
    ``public``/``hidden``: the Outcomes of the trusted runs."""
    max_points = float(nbgrader_meta(cell).get("points", 0))
    reply, problem = run.replies.get(index), run.problems.get(index)
    ran = reply is not None or cell.get("execution_count") is not None
    error, stderr = _error(cell), _text(cell, "stderr").strip()
    kernel_ok = ran and reply == "ok" and not error and not stderr and not problem
    if kernel_ok and public.right and hidden.right:
        return max_points, "passed"
    silent_error = ran and reply not in (None, "ok") and not error
    if problem:
        reason = problem
    elif not ran:
        reason = f"not run: {run.died}" if run.died else "not run"
    elif not public.right:
        reason = public.reason
    elif not hidden.right:
        reason = "right on the public cases, not on the instructor's own: " + hidden.reason
    elif error:
        reason = f"the test cell failed in your notebook ({error[0]}: {error[1]})".replace(": )", ")")
    elif silent_error:
        reason = "the test cell failed in your notebook"
    else:
        reason = "the test wrote to stderr (a warning counts as a failure): " + stderr.splitlines()[0]
    if silent_error:
        reason += f" (the kernel replied {reply!r} with no error shown: an exception hook?)"
    return 0.0, reason[:400]


def _text(cell, stream="stdout"):
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == stream)


def _error(cell):
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return o.get("ename", "Error"), str(o.get("evalue", ""))[:200]
    return None


# Workers: trusted processes, one grading job each ----------------------------------------------

@dataclass
class Settings:
    """What every worker needs, handed over when it starts (never in an environment variable
    or a file student code could read: ``secret`` is there)."""

    sources: dict
    lessons: dict
    data_source: Path
    timeout: int
    secret: int
    snapshot: Snapshot
    jobs_dir: Path
    hide: list


@dataclass
class Result:
    index: int
    scores: list
    seconds: float
    tampered: str = None


WORKER_ENV = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME"}
_worker = None                   # in a worker: (settings, confinement, why it cannot grade or None)


def _start_worker(settings, uids, barrier):
    """Import all of bpcourse from the pristine copy before any student code runs anywhere."""
    global _worker
    problem = None
    try:
        import bpcourse
        os.environ["BPCOURSE_PROGRESS"] = os.devnull        # the checks' progress log: nowhere
        _dumpable(False)
        if Path(bpcourse.__file__).resolve().parent != (settings.snapshot.root / "bpcourse").resolve():
            problem = f"the worker imported bpcourse from {bpcourse.__file__}, not the pristine copy"
        for module in pkgutil.walk_packages(bpcourse.__path__, "bpcourse."):
            if not module.name.endswith("__main__"):
                __import__(module.name)
    except Exception as err:                     # (a worker that raises here is restarted forever)
        problem = f"the worker could not start ({type(err).__name__}: {err})"
    try:
        uid = uids.get(timeout=60)
    except Exception:                            # a worker started again after one died
        uid, problem = None, "no confined user left for this worker"
    _worker = (settings, Confinement(uid, python_paths(), settings.hide), problem)
    try:
        barrier.wait(timeout=600)
    except Exception:
        pass


def _grade_task(task):
    index, student, lesson, path = task
    settings, confinement, problem = _worker
    start = time.perf_counter()
    tampered = None
    try:
        if problem:
            raise RuntimeError(problem)
        scores = grade_notebook(student, lesson, path, settings, confinement)
    except Exception as err:
        tampered = str(err) if isinstance(err, Tampered) else None
        scores = [Score(student, lesson, ex, 0.0, float(p), f"not graded: {err}")
                  for ex, p in settings.lessons[lesson].items()]
    return Result(index, scores, time.perf_counter() - start, tampered)


def _dumpable(flag):
    """Whether processes of the same user may read this one's memory and environment (Linux:
    off while grading, so student code running as the grader's own user cannot)."""
    if sys.platform == "linux":
        import ctypes
        ctypes.CDLL(None).prctl(4, int(flag), 0, 0, 0)      # PR_SET_DUMPABLE = 4


# A class -----------------------------------------------------------------------------------------

@dataclass
class Graded:
    scores: list
    alerts: list
    seconds: float
    jobs: int


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


def default_jobs():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def grade(submissions, out, assignment, timeout=60, report=print, jobs=None, seed=None, force=False):
    """Grade every student folder in ``submissions`` with ``jobs`` workers (default: every core);
    write OUT/grades.csv, OUT/feedback/ and OUT/grading-secret.txt. ``seed`` repeats the
    instructor-only cases of an earlier run (its grading-secret.txt). Returns a Graded."""
    start = time.perf_counter()
    submissions, out = Path(submissions).resolve(), Path(out).resolve()
    if out == submissions or submissions in out.parents:
        raise UsageError("write the grades outside the submissions folder (--out), so they are "
                         "not taken for a student's folder.")
    if not timeout or timeout <= 0:
        raise UsageError("the timeout must be a positive number of seconds.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise UsageError("the seed must be a whole number ≥ 0 (from an earlier run's grading-secret.txt).")
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1.")
    gradebook.check_out(out, force)
    timeout = int(math.ceil(timeout))            # nbclient counts whole seconds
    students = students_in(submissions)
    sources = {lesson: nbformat.read(assignment.source / f"{lesson}.ipynb", as_version=4)
               for lesson in assignment.lessons}
    lessons = {lesson: assigned for lesson, assigned in assignment.lessons.items() if assigned}
    tasks = [(i, s.name, lesson, None if p is None else str(p))
             for i, (s, lesson, p) in enumerate((s, lesson, find_submission(s, lesson))
                                                 for s in students for lesson in lessons)]
    secret = secrets.randbelow(2**63) if seed is None else seed
    import bpcourse
    installed = Path(bpcourse.__file__).resolve().parent
    root = Path(tempfile.mkdtemp(prefix="bpcourse-grade-"))
    results, alerts, seen, uids = {}, [], set(), []
    _dumpable(False)
    try:
        os.chmod(root, 0o711)
        (root / "jobs").mkdir(mode=0o711)
        os.chmod(root / "jobs", 0o711)
        snapshot = Snapshot.take(installed, root / "pristine")
        hide = hidden_folders(submissions, out, assignment.source, installed, root)
        settings = Settings(sources, lessons, assignment.source, timeout, secret, snapshot,
                            root / "jobs", hide)
        jobs = max(1, min(jobs, len(tasks)))
        uids = [claim_uid(tempfile.gettempdir()) for _ in range(jobs)]
        report(describe_confinement(probe(uids[0][0], hide, root), uids, jobs))
        for result in run_workers(tasks, settings, [u for u, _ in uids], jobs):
            results[result.index] = result
            _, student, lesson, _ = tasks[result.index]
            got = sum(s.points for s in result.scores)
            total = sum(s.max_points for s in result.scores)
            report(f"{student} / {lesson}: {gradebook.fmt(got)} of {gradebook.fmt(total)} points "
                   f"({result.seconds:.1f} s)")
            for alert in tamper_alerts(result, student, lesson, snapshot, installed, jobs, seen):
                alerts.append(alert)
                report(alert)
    finally:
        _dumpable(True)
        for uid, lock in uids:
            Confinement(uid).kill_leftovers()
            if lock is not None:
                lock.close()
        _remove(root)
    scores = [s for i in sorted(results) for s in results[i].scores]
    gradebook.write(out, scores, assignment, secret)
    return Graded(scores, alerts, time.perf_counter() - start, jobs)


def run_workers(tasks, settings, uids, jobs):
    """Results of ``tasks``, as they finish, from ``jobs`` spawned workers that import bpcourse
    from the pristine copy (first on their sys.path) and wait for each other before grading."""
    context = multiprocessing.get_context("spawn")
    saved_path, saved_env = list(sys.path), dict(os.environ)
    sys.path.insert(0, str(settings.snapshot.root))
    os.environ.clear()                           # the workers (and multiprocessing's helper process)
    os.environ.update({k: v for k, v in saved_env.items() if k in WORKER_ENV})   # get none of our secrets
    try:
        barrier, free = context.Barrier(jobs), context.Queue()
        for uid in uids:
            free.put(uid)
        pool = context.Pool(jobs, _start_worker, (settings, free, barrier))
    finally:
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_env)
    with pool:
        yield from pool.imap_unordered(_grade_task, tasks, chunksize=1)


def tamper_alerts(result, student, lesson, snapshot, installed, jobs, seen):
    """Loud sentences when the installed package (or the pristine copy) changed during this task."""
    alerts = []
    if result.tampered and "pristine" not in seen:
        seen.add("pristine")
        alerts.append(f"!! ALERT: {result.tampered} (noticed while grading {student} / {lesson}). "
                      f"Notebooks graded after it score 0; look at that submission.")
    changed = tuple(snapshot.changes(installed))
    if changed and changed not in seen:
        seen.add(changed)
        also = f" (with up to {jobs - 1} other notebook(s) running at the same time: --jobs 1 " \
               f"tells which)" if jobs > 1 else ""
        alerts.append(f"!! ALERT: the installed package changed while grading {student} / {lesson}"
                      f"{also}: {', '.join(changed[:5])}. Every notebook was graded against the "
                      f"copy taken at the start; look at that submission (unless someone edited "
                      f"the package meanwhile), and reinstall the package before grading again.")
    return alerts


def hidden_folders(submissions, out, source, installed, root):
    """Folders student code must not see: the source notebooks (with solutions) and their git
    repository, the package's repository, the submissions, the grades (and earlier ones beside
    them), the grader's home, and the grading folder itself (the job's own folder is bound back)."""
    folders = {submissions, out, Path(source).resolve(), installed, Path.home(), root}
    folders |= {out.parent} - {Path("/")}
    for folder in (Path(source).resolve(), installed, Path(sys.prefix).resolve()):
        repo = next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)
        if repo is not None and repo != Path("/"):
            folders.add(repo)
    return sorted(str(f) for f in folders if f.exists() or f == out)


def probe(uid, hide, root):
    """Start Python confined as the workers will, and say what was in effect."""
    import json
    import subprocess
    confinement = Confinement(uid, python_paths(), hide)
    command = confinement.command([sys.executable, "-I", "-c", "import numpy, ipykernel"], cpu=120,
                                  keep=[root / "jobs"], report=True)
    done = subprocess.run(command, capture_output=True, text=True, env=environment(root / "jobs"),
                          cwd=root / "jobs", timeout=300)
    if done.returncode != 0:
        raise UsageError(f"Python cannot run confined as uid {uid} ({done.stderr.strip()[-300:]}). "
                         f"Grade as an ordinary user, or install Python where every user can read it.")
    return json.loads(done.stdout.splitlines()[0])


def describe_confinement(done, uids, jobs):
    who = (f"as uid {uids[0][0]}" + (f"-{uids[-1][0]}" if jobs > 1 else "") + " (one per worker)"
           if done.get("root") else "as you (grade as root to run it as an unprivileged user)")
    if done.get("isolation_error"):
        view = (f"WARNING: no private mount namespace ({done['isolation_error']}): student code can "
                f"read every file open to all users, your source notebooks included")
    elif done.get("covered"):
        view = "out of view: " + ", ".join(done["covered"])
    else:
        view = "WARNING: nothing hidden: student code can read what you can"
    network = "no network" if not done.get("network", True) else "with network"
    return f"grading with {jobs} worker(s); student code runs {who}, {network}; {view}."


def _remove(root):
    for folder, dirs, _ in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(folder, d), 0o755)
    shutil.rmtree(root, ignore_errors=True)
