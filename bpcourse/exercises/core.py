"""The machinery behind every ``check_*``: verdicts, safe calls, comparisons that diagnose.

A check is a function decorated with ``@exercise(...)``. Its body calls the
student's code through ``call`` and compares through ``expect_array``; the
first problem raises ``Wrong`` (or ``NotAttempted``), which the decorator turns
into a printed verdict. The body returns a sentence saying what was verified.

    @exercise("ex00_sigmoid", "00_welcome", "sigmoid", hints=[...])
    def check_sigmoid(sigmoid):
        got = call(sigmoid, x, what="sigmoid(x)")
        expect_array(got, 1 / (1 + np.exp(-x)), what="sigmoid(x)", case="x = [-2, 0, 3]")
        return "sigmoid agrees with 1/(1+e^-x) on 1 case"
"""
import contextlib
import functools
import traceback
from dataclasses import dataclass, field

import numpy as np

from .. import progress_log
from ..gradcheck import rel_error

MARKS = {"right": "✓", "wrong": "✗", "not attempted": "…"}
_hidden_seed = None                              # set by the grader only: instructor-only cases


def case_rng(seed):
    """The generator a check draws its random cases from (shapes, inputs, dout).

    A student gets the same cases on every run. Under the grader (``hidden_cases``)
    the same seed is mixed with a secret, so the cases are ones the student never
    saw and an answer hard-coded for the public cases fails.
    """
    if _hidden_seed is None:
        return np.random.default_rng(seed)
    return np.random.default_rng([_hidden_seed, seed])


@contextlib.contextmanager
def hidden_cases(secret):
    """Run checks on instructor-only cases drawn from ``secret`` (a non-negative int)."""
    global _hidden_seed
    previous, _hidden_seed = _hidden_seed, int(secret)
    try:
        yield
    finally:
        _hidden_seed = previous


class StudentRaised(Exception):
    """The student's code raised where a runner ran it: the exception's type name, message and
    the student's line (the runner could not send the exception object itself)."""

    def __init__(self, type_name, message, line=""):
        super().__init__(f"{type_name}: {message}")
        self.type_name, self.message, self.line = type_name, message, line


class RunnerError(Exception):
    """The runner itself failed (not the student's code): the check stops without a verdict."""


_runner = None                                   # None: student code runs right here
_students = ()                                   # the objects a running check received from the student


@contextlib.contextmanager
def runner(run):
    """Run student code through ``run(fn, args)`` instead of calling it here: the grader's sandbox
    (a separate process) does this. ``run`` returns the result as plain data (see ``transport``),
    or raises ``StudentRaised`` (the student's code raised), ``Wrong`` (a verdict of its own, e.g.
    a result that is not plain data) or ``RunnerError`` (the runner failed: no verdict);
    ``students()`` tells it which objects are the student's."""
    global _runner
    previous, _runner = _runner, run
    try:
        yield
    finally:
        _runner = previous


def students():
    """The objects the running check received from the student's notebook (functions, classes)."""
    return _students


class Verdict:
    """The outcome of a check: "right", "wrong" or "not attempted". Truthy only when right,
    so an autograder cell can ``assert`` it. The check has already printed it."""

    def __init__(self, exercise, status, message, hint=None, exercise_id=None):
        self.exercise, self.status, self.message, self.hint = exercise, status, message, hint
        self.exercise_id = exercise_id

    def __bool__(self):
        return self.status == "right"

    def __str__(self):
        text = f"{MARKS[self.status]} {self.exercise}: {self.message}"
        if self.hint:
            text += f"\n  Hint: {self.hint}"
        if self.status != "right" and self.exercise_id:
            text += f'\n  More help, one step at a time: bp.exercises.hint("{self.exercise_id}")'
        return text

    def __repr__(self):
        return f"Verdict({self.status!r}, {self.exercise!r})"

    def _ipython_display_(self):
        """Shown once already (printed by the check), so a cell ending in a check adds nothing."""


class Wrong(Exception):
    """Raised inside a check at the first failing case; ``hint`` names the likely mistake."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.message, self.hint = message, hint


class NotAttempted(Exception):
    """The student's stub still raises NotImplementedError."""


@dataclass
class Exercise:
    """One exercise: its nbgrader ``grade_id``, lesson, title, hint ladder and check."""

    id: str
    lesson: str
    title: str
    hints: list
    check: callable = field(repr=False, default=None)


EXERCISES = {}


def exercise(id, lesson, title, hints):
    """Register a check function under the grade_id of its solution cell, with its hints."""
    if len(hints) < 2:
        raise ValueError(f"exercise {id} needs at least two hints (the idea, then the details).")

    def decorate(body):
        @functools.wraps(body)
        def check(*args, **kwargs):
            global _students
            previous, _students = _students, (*args, *kwargs.values())
            try:
                verdict = _run(title, body, args, kwargs)
            finally:
                _students = previous
            verdict.exercise_id = id
            progress_log.record("check", lesson, id, status=verdict.status)
            print(verdict)
            return verdict

        EXERCISES[id] = Exercise(id, lesson, title, list(hints), check)
        check.exercise_id = id
        return check

    return decorate


def _run(title, body, args, kwargs):
    try:
        with np.errstate(all="ignore"):
            return Verdict(title, "right", body(*args, **kwargs))
    except RunnerError:
        raise
    except NotAttempted:
        return Verdict(title, "not attempted",
                       "not attempted yet. Replace `raise NotImplementedError` with your code, "
                       "run that cell, then run this check again.")
    except Wrong as wrong:
        return Verdict(title, "wrong", wrong.message, wrong.hint)
    except Exception as err:                     # what the student returned confused the check itself
        return Verdict(title, "wrong", f"the check could not use what your code returned "
                                       f"({type(err).__name__}: {err}).")


def _student_line(err):
    """Where in the student's own code (a notebook cell) the exception happened."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if "bpcourse" not in f.filename and "site-packages" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    return f" (in `{f.name}`, line {f.lineno}: `{(f.line or '').strip()}`)"


def call(fn, *args, what="your function"):
    """Run the student's ``fn`` on copies of ``args``; turn its exceptions into feedback."""
    if not callable(fn):
        raise Wrong(f"expected a function for {what}, got {type(fn).__name__}.",
                    "pass the function itself, without calling it: check(f), not check(f(x)).")
    args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]     # (keeps array subclasses)
    try:
        return fn(*args) if _runner is None else _runner(fn, args)
    except NotImplementedError:
        raise NotAttempted() from None
    except StudentRaised as err:
        if err.type_name == "NotImplementedError":
            raise NotAttempted() from None
        raise Wrong(f"{what} raised {err.type_name}: {err.message}{err.line}") from None
    except (Wrong, RunnerError):
        raise
    except Exception as err:
        raise Wrong(f"{what} raised {type(err).__name__}: {err}{_student_line(err)}") from None


NOISE = 1e-7     # below this, a relative error's digits are rounding noise that differs between CPUs


def bound(error):
    """An error as the next power of ten above it ("< 1e-5"), and all rounding noise as
    "< 1e-7", so that a message reads the same on every CPU."""
    if error < NOISE:
        return "< 1e-7"
    return f"< 1e{int(np.floor(np.log10(error))) + 1}"


def fmt(a, digits=4):
    """A short, rounded rendering of a number or array for a message."""
    a = np.asarray(a, dtype=float)
    if a.size > 12:
        return f"array of shape {a.shape} [{', '.join(f'{v:.{digits}g}' for v in a.ravel()[:4])}, …]"
    return np.array2string(a, precision=digits, separator=", ", suppress_small=True)


def expect_array(got, expected, what, case, tol=1e-6, diagnoses=(), batch=None):
    """Compare the student's array with the expected one; raise Wrong with a diagnosis if they differ.

    ``diagnoses``: (predicate(got, expected), hint) pairs tried in order for wrong values.
    ``batch``: the batch size N, to recognise a missing or extra division by N.
    Returns the relative error.
    """
    expected = np.asarray(expected, dtype=float)
    where = f"case {case}: " if case else ""
    if got is None:
        raise Wrong(f"{where}{what} returned None.", "add a `return` statement that gives the result.")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Wrong(f"{where}{what} returned a {type(got).__name__}, expected numbers "
                    f"of shape {expected.shape}.") from None
    if got.shape != expected.shape:
        raise Wrong(f"{where}{what} has shape {got.shape}, expected {expected.shape}.",
                    _shape_hint(got.shape, expected.shape))
    if not np.all(np.isfinite(got)):
        raise Wrong(f"{where}{what} contains NaN or inf: {fmt(got)}.",
                    "look for an overflow (exp of a large number) or a division by zero.")
    error = rel_error(got, expected)
    if error > tol:
        hint = next((h for test, h in diagnoses if _holds(test, got, expected)), None)
        raise Wrong(f"{where}{what} expected {fmt(expected)}, got {fmt(got)} (relative error {error:.1e}).",
                    hint or _value_hint(got, expected, batch))
    return error


def expect_number(got, expected, what, case="", tol=1e-6, diagnoses=()):
    """Like ``expect_array`` for one number."""
    if got is not None and np.ndim(got) != 0:
        raise Wrong(f"{what} should be a single number, got an array of shape {np.shape(got)}.",
                    "reduce it to one number, e.g. with .sum() or .mean() — which one does the formula say?")
    return expect_array(got, expected, what, case, tol, diagnoses)


def _holds(test, got, expected):
    try:
        return bool(test(got, expected))
    except Exception:
        return False


def _shape_hint(got, expected):
    if len(got) == 2 and got[::-1] == expected:
        return "the shape is transposed: check the order of the factors (x.T @ dout, not dout.T @ x)."
    if int(np.prod(got)) == int(np.prod(expected)):
        return "the same number of values in a different arrangement: reshape, or drop the axis of length 1."
    if len(got) == len(expected) + 1 and got[1:] == expected:
        return "one value per sample instead of one in all: sum over the batch axis (axis=0)."
    if len(got) == len(expected) + 1 and got[:-1] == expected:
        return "one axis too many: reduce over the last axis (axis=1), or did you keep it with keepdims?"
    return None


def _value_hint(got, expected, batch):
    if rel_error(got, -expected) < 1e-6:
        return "the sign is flipped."
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1] and rel_error(got, expected.T) < 1e-6:
        return "your result is the transpose of the expected one: check the order of the matrix product."
    norm = float(np.sum(expected * expected))
    if norm > 0:
        ratio = float(np.sum(got * expected)) / norm
        if abs(ratio) > 1e-12 and rel_error(got, ratio * expected) < 1e-6:
            if batch and np.isclose(ratio, batch):
                return f"your result is {batch} (the batch size) times too large: divide by N (a mean, not a sum)."
            if batch and np.isclose(ratio, 1 / batch):
                return f"your result is the batch size ({batch}) times too small: you divide by N once too often."
            return f"your result is {ratio:.3g} × the expected one: look for a missing or extra constant factor."
    return None
