"""The score's half of grading: the instructor's test cells run here, in a process that never
runs student code, against the student's code in the sandbox (``sandbox.py``).

A test cell's source (hidden tests included) runs with ``bp``, ``np`` and ``math`` real and every
other name it reads taken from the student's code: a function becomes a proxy that runs in the
sandbox (through ``core.runner``, which every ``check_*`` calls student code through), a plain
value comes as plain data. It runs twice: on the public cases, then on instructor-only cases
(``core.hidden_cases(secret)``: each check draws its random cases from ``case_rng``). A cell is
right when it raises nothing; the verdict it printed is the course's own, unpatched.
"""
import builtins
import contextlib
import io
import math
import re
from dataclasses import dataclass

import numpy as np

import bpcourse as bp
from ..exercises import core
from .sandbox import names_from_student

MAX_TEXT = 2000                 # characters of a verdict kept for the feedback file
VERDICT_MARKS = {"✓": "right", "✗": "wrong", "…": "not attempted"}


@dataclass
class Outcome:
    """How one run of a test cell went: right or not, why not, and what the check printed."""

    right: bool
    reason: str = ""
    text: str = ""


def cap(text, limit=MAX_TEXT):
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} characters cut]"


def verdict_of(text):
    """(status, message) of the first verdict printed in ``text``, or None."""
    for line in text.splitlines():
        for mark, status in VERDICT_MARKS.items():
            if line.startswith(mark + " "):
                return status, line[2:].strip()
    return None


def run_test(source, label, namespace, sandbox, secret=None):
    """Run one test cell's source here, student code in ``sandbox``; instructor-only cases when
    ``secret`` is given. Returns an Outcome; a failure of the runner itself propagates."""
    printed = io.StringIO()
    hidden = core.hidden_cases(secret) if secret is not None else contextlib.nullcontext()
    error = None
    with core.runner(sandbox.run), hidden, contextlib.redirect_stdout(printed), \
            contextlib.redirect_stderr(printed), np.errstate(all="ignore"):
        try:
            exec(compile(source, label, "exec"), dict(namespace))
        except core.RunnerError:
            raise
        except Exception as err:
            error = err
    text = cap(printed.getvalue().strip())
    if error is None:
        return Outcome(True, "", text)
    verdict = verdict_of(text)
    if verdict and verdict[0] == "not attempted":
        reason = "not attempted"
    elif verdict and verdict[0] == "wrong":
        reason = "wrong: " + verdict[1].split(":", 1)[-1].strip()
    elif isinstance(error, core.StudentRaised):
        reason = f"{error.type_name}{': ' + error.message if error.message else ''}{error.line}"
    elif isinstance(error, core.Wrong):
        reason = f"wrong: {error.message}"
    else:
        reason = f"{type(error).__name__}: {error}".strip().rstrip(":")
    return Outcome(False, cap(reason, 300), text)


def namespace_for(source, sandbox):
    """The globals a test cell runs with: the prelude, and the student's names it reads."""
    names = {"__name__": "__main__", "__builtins__": builtins, "bp": bp, "np": np, "math": math}
    names.update(sandbox.names(names_from_student(source)))
    return names


def uses_package(solution_source):
    """Whether a reference solution calls the package itself (``bp.Something``)."""
    return bool(re.search(r"\bbp\.\w", solution_source))
