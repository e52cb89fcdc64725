"""The untrusted side of the grader's sandbox: a process that holds the student's code and runs
it on request. The grader (``sandbox.py``) starts it confined (``confine.py``) from a fresh copy
of the package, as ``python -I .../sandbox_server.py PACKAGE_ROOT``; it never sees a secret.

It talks over the pipes it was started with (its stdin and stdout, moved aside at once: what
the student's code prints goes to /dev/null). A message is 8 bytes of length, then the payload.
The grader sends pickles; every answer is plain data (``transport.encode``), which the grader
reads without unpickling:

    ("build", [(label, source), ...])  -> {"starting": i} before each cell, then {"built": {label: error}}
    ("names", [name, ...])             -> {"names": {name: {"kind": "callable" | "value" | "object" | "missing", ...}}}
    ("call", pickle, seconds)          -> {"returned": value} | {"raised": [type, message, line]}
                                          | {"not_plain": why} | {"timeout": seconds} | {"ended": how}
                                          each with "used": the package's functions the student's code called

Building runs the prelude (``import math``, numpy as ``np``, bpcourse as ``bp``), then each cell
in order; a cell that raises is noted and the next one runs, as in a notebook. Each call runs in
a forked child, so nothing one call changes is seen by the next; student objects in a call's
arguments arrive by name (pickle persistent ids) and are looked up in the namespace.
"""
import builtins
import io
import linecache
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time

PRELUDE = "import math\nimport numpy as np\nimport bpcourse as bp\n"
MAX_REPLY = 64 * 2**20          # bytes a call's answer may take
MAX_TEXT = 1000                 # characters of an exception message sent back
HEADER = struct.Struct("<Q")


class _NoIPython:
    """Stands for IPython here: every magic, hook and transformer the student installs does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _nothing(*args, **kwargs):
    """``display`` and friends: there is no screen in the sandbox."""


def write_message(fd, data):
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def read_exactly(fd, n):
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the grader closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class Server:
    def __init__(self, requests, answers, transport, student_line, package_dir):
        self.requests, self.answers = requests, answers
        self.transport, self.student_line, self.package_dir = transport, student_line, package_dir
        self.namespace = {"__name__": "__main__", "__builtins__": builtins,
                          "get_ipython": _NoIPython(), "display": _nothing}

    def send(self, value):
        """Send plain data, or bytes that a call's child already encoded."""
        if not isinstance(value, bytes):
            try:
                value = self.transport.encode(value)
            except Exception as err:
                value = self.transport.encode({"ended": f"the answer could not be sent ({_describe(err)})"})
        write_message(self.answers, value)

    def serve(self):
        while True:
            try:
                size, = HEADER.unpack(read_exactly(self.requests, HEADER.size))
                request = pickle.loads(read_exactly(self.requests, size))
            except EOFError:
                return
            kind, *rest = request
            self.send(getattr(self, kind)(*rest))

    def build(self, cells):
        exec(PRELUDE, self.namespace)
        errors = {}
        for index, (label, source) in enumerate(cells):
            self.send({"starting": index})
            linecache.cache[label] = (len(source), None, source.splitlines(True), label)
            try:
                exec(compile(source, label, "exec"), self.namespace)
            except BaseException as err:         # SystemExit too: the next cell runs, as in a notebook
                errors[label] = _describe(err)
        return {"built": errors}

    def names(self, wanted):
        found = {}
        for name in wanted:
            if name not in self.namespace:
                found[name] = {"kind": "missing"}
                continue
            value = self.namespace[name]
            if callable(value):
                found[name] = {"kind": "callable", "type": type(value).__name__[:100]}
                continue
            try:
                self.transport.encode(value)
                found[name] = {"kind": "value", "value": value}
            except Exception:                    # not plain data (or its own code raised)
                found[name] = {"kind": "object", "type": type(value).__name__[:100]}
        return {"names": found}

    def call(self, blob, seconds):
        """Run one call in a forked child; the answer comes back through a pipe of its own."""
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:                             # the child: it never returns
            os.close(read_end)
            os.close(self.requests)
            os.close(self.answers)
            os.setpgid(0, 0)
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            limit = int(seconds) + 1 if hard == resource.RLIM_INFINITY else min(int(seconds) + 1, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (limit, limit))
            try:
                data = self.transport.encode(self._run(blob))
            except BaseException as err:
                data = self.transport.encode({"ended": f"the answer could not be sent ({_describe(err)})"})
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(write_end, view):]
            finally:
                os._exit(0)
        os.close(write_end)
        data, timed_out = _read_until_eof(read_end, time.monotonic() + seconds)
        os.close(read_end)
        if timed_out:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        _, status = os.waitpid(pid, 0)
        if timed_out:
            return {"timeout": seconds}
        if data is None:
            return {"ended": f"its answer was larger than {MAX_REPLY // 2**20} MB"}
        if not data:
            return {"ended": _how_it_ended(status)}
        return data

    def _run(self, blob):
        unpickler = pickle.Unpickler(io.BytesIO(blob))
        unpickler.persistent_load = self.namespace.__getitem__
        fn, args = unpickler.load()
        used = set()
        sys.setprofile(self._watch(used))
        try:
            result = fn(*args)
        except BaseException as err:
            sys.setprofile(None)
            return {"raised": [type(err).__name__[:100], _text(err), self.student_line(err)[:MAX_TEXT]],
                    "used": sorted(used)}
        sys.setprofile(None)
        try:
            self.transport.encode(result)
        except Exception as err:
            return {"not_plain": _text(err), "used": sorted(used)}
        return {"returned": result, "used": sorted(used)}

    def _watch(self, used):
        """A profile hook noting each function of the package that student code calls directly
        (not the checks' own functions, which a check may hand to student code)."""
        package, checks = self.package_dir + os.sep, os.path.join(self.package_dir, "exercises") + os.sep

        def profile(frame, event, arg):
            if event == "call" and frame.f_back is not None \
                    and frame.f_back.f_code.co_filename.startswith("<cell") \
                    and frame.f_code.co_filename.startswith(package) \
                    and not frame.f_code.co_filename.startswith(checks):
                name = f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"
                used.add(name.removesuffix(".__init__"))
        return profile


def _text(err):
    try:
        return str(err)[:MAX_TEXT]
    except BaseException:
        return "(its message could not be shown)"


def _describe(err):
    return f"{type(err).__name__}: {_text(err)}"[:300]


def _read_until_eof(fd, deadline):
    """(bytes, timed out); bytes is None when larger than MAX_REPLY."""
    chunks, size = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return b"".join(chunks), True
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks), False
        size += len(chunk)
        if size > MAX_REPLY:
            return None, False
        chunks.append(chunk)


def _how_it_ended(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return "it was stopped after using its CPU time (an endless loop?)"
        return f"it crashed (signal {signal.Signals(sig).name}): did it use too much memory?"
    return f"it exited (status {os.WEXITSTATUS(status)}) before returning: does it call exit()?"


def main():
    package_root = sys.argv[1]
    sys.path[0] = package_root                   # not this script's folder
    requests, answers = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    import numpy                                 # noqa: F401  (before any student code)
    import bpcourse
    from bpcourse.exercises import core, transport
    Server(requests, answers, transport, core._student_line,
           os.path.dirname(os.path.realpath(bpcourse.__file__))).serve()


if __name__ == "__main__":
    main()
