"""The grader's side of the sandbox: the student's code runs in another process, confined
(``confine.py``), and the checks run here, in a process that never runs student code.

    with Sandbox(confinement, job, timeout) as box:
        notes = box.build(student_cells(student_nb, source_nb))     # {cell label: what went wrong}
        found = box.names(["sigmoid", "sigmoid_grad"])               # proxies, or plain values
        with core.runner(box.run):
            bp.exercises.check_sigmoid(found["sigmoid"], found["sigmoid_grad"])

A function or class of the student's becomes a ``StudentFunction`` here: calling it, or passing it
to ``core.call``, runs it in the sandbox (a forked child per call). What a call sends there is
pickled, the student's objects by name; what comes back is plain data (``transport``), never
unpickled. A call that runs too long is stopped; a result that is not plain data, or a process
that dies, becomes a ``core.Wrong`` with a sentence the student understands.
"""
import ast
import builtins
import io
import os
import pickle
import select
import subprocess
import sys
import time

from ..exercises import core, transport
from .assignment import nbgrader_meta
from .confine import environment
from .sandbox_server import HEADER, MAX_REPLY

STARTUP = 120           # seconds a sandbox may take to import numpy and bpcourse on a busy machine
GRACE = 10              # seconds beyond a call's own limit before the sandbox itself is stopped
PASS_THROUGH_MAGICS = {"time", "timeit", "capture", "prun"}   # %%magics whose body is the cell's code


class _Late(Exception):
    """The sandbox did not answer in time."""


class _Gone(Exception):
    """The sandbox ended, or sent something that is not an answer."""


class SandboxFailed(RuntimeError):
    """The sandbox could not be started at all (a problem of the grading machine, not the student)."""


class StudentCode:
    """Something the student's notebook defined (an object that is not plain data), living in the
    sandbox. A check can pass it back into student code; it travels by name."""

    def __init__(self, sandbox, name, kind):
        self.sandbox, self.name, self.kind = sandbox, name, kind
        self.__name__ = self.__qualname__ = name

    def __repr__(self):
        return f"<your {self.kind} {self.name}>"


class StudentFunction(StudentCode):
    """A function or class of the student's: calling it runs it in the sandbox."""

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise core.RunnerError("the grader passes arguments by position only.")
        return self.sandbox.run(self, list(args))


def student_cells(student_nb, source_nb):
    """[(label, code)] the sandbox builds the namespace from, in notebook order: the student's
    solution cells (worked examples included) and the code cells the student added; lesson cells
    and tests are left out. IPython magics become harmless calls."""
    sources = [c for c in source_nb.cells if c.cell_type == "code"]
    solution_ids = {c.get("id") for c in sources if nbgrader_meta(c).get("solution")} - {None}
    solution_gids = {nbgrader_meta(c).get("grade_id") for c in sources if nbgrader_meta(c).get("solution")}
    source_ids = {c.get("id") for c in sources} - {None}
    lesson_texts = {c.source for c in sources if not nbgrader_meta(c).get("solution")}
    cells = []
    for index, cell in enumerate(student_nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        meta = nbgrader_meta(cell)
        solution = meta.get("solution") and meta.get("grade_id") in solution_gids or cell.get("id") in solution_ids
        added = cell.get("id") not in source_ids and not meta.get("grade") and cell.source not in lesson_texts
        if solution or added:
            cells.append((f"<cell {index + 1}>", without_magics(cell.source)))
    return cells


def without_magics(source):
    """The cell as Python: ``%%time`` and the like keep their body, other cell magics drop the
    cell, line magics and ``!shell`` become ``get_ipython()`` calls (a no-op in the sandbox)."""
    if source.lstrip().startswith("%%"):
        first, _, body = source.lstrip().partition("\n")
        return body if first[2:].split()[0:1] and first[2:].split()[0] in PASS_THROUGH_MAGICS else ""
    from IPython.core.inputtransformer2 import TransformerManager
    try:
        return TransformerManager().transform_cell(source)
    except Exception:                            # a syntax error: the sandbox reports it
        return source


def names_from_student(source):
    """The names a test cell reads that it does not define itself and that are not builtins or
    the prelude's (``bp``, ``np``, ``math``): the grader takes these from the student's code."""
    tree = ast.parse(source)
    read, defined = set(), {"bp", "np", "math", *dir(builtins)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    return sorted(read - defined)


class Sandbox:
    """One student's code for one lesson, in a confined process of its own."""

    def __init__(self, confinement, job, timeout):
        self.confinement, self.job, self.timeout = confinement, job, timeout
        self.process, self.cells, self.used, self.restarts = None, [], set(), 0
        self.gone = None                         # why the sandbox is no longer there, once it is not

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # starting and stopping ---------------------------------------------------------------------

    def _start(self):
        server = self.job.package / "bpcourse" / "instructor" / "sandbox_server.py"
        cpu = self.timeout * 20 + STARTUP
        command = self.confinement.command([sys.executable, "-I", server, self.job.package],
                                           cpu=cpu, keep=[self.job.root])
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, cwd=self.job.sandbox_work,
                                        env=environment(self.job.sandbox_home), start_new_session=True)
        for pipe in (self.process.stdin, self.process.stdout):
            os.set_blocking(pipe.fileno(), False)

    def stop(self):
        if self.process is not None:
            try:
                os.killpg(self.process.pid, 9)
            except OSError:
                pass
            self.process.wait()
            self.process.stdin.close()
            self.process.stdout.close()
            self.process = None
        self.confinement.kill_leftovers()

    def build(self, cells):
        """Start the sandbox and run the cells in it. Returns {label: note} for each cell that
        raised, did not finish in time (left out, the sandbox restarted) or ended the process."""
        self.cells, notes = list(cells), {}
        while True:
            self._start()
            index, deadline = None, time.monotonic() + STARTUP
            try:
                self._send(("build", self.cells), deadline)
                while True:
                    message = self._receive(deadline)
                    if isinstance(message, dict) and isinstance(message.get("starting"), int):
                        index, deadline = message["starting"], time.monotonic() + self.timeout
                    elif isinstance(message, dict) and isinstance(message.get("built"), dict):
                        notes.update({str(k): str(v)[:300] for k, v in message["built"].items()})
                        return notes
                    else:
                        raise _Gone("it sent something that is not an answer")
            except (_Late, _Gone) as problem:
                self.stop()
                if index is None or not 0 <= index < len(self.cells):
                    raise SandboxFailed(f"the sandbox did not start ({problem})") from None
                label, _ = self.cells.pop(index)
                notes[label] = (f"did not finish within {self.timeout} s; left out" if isinstance(problem, _Late)
                                else f"ended the process ({problem}); left out")

    # the namespace and calls -------------------------------------------------------------------

    def names(self, wanted):
        """{name: plain value, or StudentFunction / StudentCode} for each name the student defined."""
        if not wanted:
            return {}
        answer = self._ask(("names", list(wanted)), self.timeout)
        found = answer.get("names") if isinstance(answer, dict) else None
        if not isinstance(found, dict):
            raise core.Wrong("the process running your code sent something that is not an answer.")
        result = {}
        for name in wanted:
            entry = found.get(name)
            if not isinstance(entry, dict):
                continue
            if entry.get("kind") == "callable":
                result[name] = StudentFunction(self, name, "function")
            elif entry.get("kind") == "value":
                result[name] = entry.get("value")
            elif entry.get("kind") == "object":
                result[name] = StudentCode(self, name, str(entry.get("type", "object"))[:100])
        return result

    def run(self, fn, args):
        """Run ``fn(*args)`` in the sandbox (the runner of ``core.call``): plain data back, or
        core.StudentRaised / core.Wrong."""
        try:
            blob = self._pickle((fn, list(args)))
        except Exception as err:
            raise core.RunnerError(f"the grader could not send {fn!r} and its arguments to the "
                                   f"sandbox ({type(err).__name__}: {err}).") from None
        return self._result(self._ask(("call", blob, self.timeout), self.timeout + GRACE))

    def _result(self, answer):
        if not isinstance(answer, dict):
            raise core.Wrong("the process running your code sent something that is not an answer.")
        used = answer.get("used", [])
        self.used.update(str(u)[:200] for u in used if isinstance(u, str)) if isinstance(used, list) else None
        if "returned" in answer:
            return answer["returned"]
        raised = answer.get("raised")
        if isinstance(raised, list) and len(raised) == 3 and all(isinstance(r, str) for r in raised):
            raise core.StudentRaised(*raised)
        if isinstance(answer.get("not_plain"), str):
            raise core.Wrong(f"what your code returned cannot be checked: {answer['not_plain']}",
                             "return numbers or numpy arrays (or tuples, lists and dicts of these), "
                             "not objects.")
        if "timeout" in answer:
            raise core.Wrong(f"your code did not finish within {self.timeout} s (an endless loop?).")
        if isinstance(answer.get("ended"), str):
            raise core.Wrong(f"the process running your code ended: {answer['ended']}")
        raise core.Wrong("the process running your code sent something that is not an answer.")

    def _ask(self, request, seconds):
        """The sandbox's answer; core.Wrong if it does not come (the sandbox is then stopped,
        and started again once for the next request)."""
        if self.process is None:
            if self.gone and self.restarts >= 1:
                raise core.Wrong(self.gone)
            self.restarts += 1
            try:
                self.build(self.cells)
            except SandboxFailed as err:
                raise core.RunnerError(str(err)) from None
        deadline = time.monotonic() + seconds
        try:
            self._send(request, deadline)
            return self._receive(deadline)
        except _Late:
            self.gone = f"your code did not finish within {self.timeout} s (an endless loop?)."
        except _Gone as problem:
            self.gone = f"the process running your code stopped ({problem})."
        self.stop()
        raise core.Wrong(self.gone)

    def _pickle(self, value):
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.persistent_id = lambda obj: obj.name if isinstance(obj, StudentCode) and obj.sandbox is self else None
        pickler.dump(value)
        return buffer.getvalue()

    # the pipes, with deadlines -----------------------------------------------------------------

    def _send(self, request, deadline):
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(HEADER.pack(len(data)) + data)
        fd = self.process.stdin.fileno()
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise _Late()
            try:
                view = view[os.write(fd, view):]
            except BrokenPipeError:
                raise _Gone(self._ending()) from None

    def _receive(self, deadline):
        size, = HEADER.unpack(self._read(HEADER.size, deadline))
        if size > MAX_REPLY + 2**20:
            raise _Gone(f"its answer was larger than {MAX_REPLY // 2**20} MB")
        try:
            return transport.decode(self._read(size, deadline))
        except Exception:
            raise _Gone("it sent something that is not an answer") from None

    def _read(self, n, deadline):
        fd, chunks, left = self.process.stdout.fileno(), [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise _Late()
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise _Gone(self._ending())
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _ending(self):
        try:
            code = self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "it closed its pipe"
        return f"it ended with status {code}" if code >= 0 else f"it was killed by signal {-code}"
