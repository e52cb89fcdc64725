"""A lesson's measured claims, held to the numbers that back them.

A sentence in a lesson that states a measured result is backed, in the cell
that measures it, by

    bp.claim(ratio > 10, "Adam reaches the minimum more than 10× sooner than SGD", ratio=ratio)

It passes silently. When a re-execution (another CPU, another library
version, a changed experiment) stops backing the sentence, it raises
``ClaimError`` quoting the sentence and the measured numbers, so strict nbval
fails in CI instead of a false sentence reaching a student.
"""
import numbers

import numpy as np


class ClaimError(AssertionError):
    """A lesson's sentence that its own measurement no longer backs."""


def _show(value):
    """A measured number (or a few) rounded for the message."""
    array = np.asarray(value)
    if array.dtype.kind in "biuf" and array.size <= 12:
        return np.array2string(array, precision=4, separator=", ") if array.ndim else f"{array.item():.4g}"
    return repr(value)[:200]


def claim(condition, sentence, **measured):
    """Pass silently if ``condition`` holds, else raise ClaimError quoting ``sentence``.

    condition: a bool (or numpy bool) computed from the measurement.
    sentence: the lesson's words that the condition backs.
    measured: the numbers the condition was computed from, named, shown on failure.
    """
    if not isinstance(sentence, str) or not sentence.strip():
        raise TypeError("claim needs the sentence it backs as its second argument, e.g. "
                        'bp.claim(err < 1e-7, "the check passes below 1e-7", err=err).')
    if not isinstance(condition, (bool, np.bool_)):
        if isinstance(condition, np.ndarray) or not isinstance(condition, numbers.Integral):
            raise TypeError(f"claim needs a single True/False condition, got {type(condition).__name__} "
                            f"for the sentence {sentence!r}: reduce an array with .all() or .any().")
    if bool(condition):
        return None
    numbers_ = ", ".join(f"{name} = {_show(value)}" for name, value in measured.items())
    raise ClaimError(
        f'This lesson says: "{sentence}" — but this run measured '
        f"{numbers_ or 'numbers that do not back it'}. The sentence and its measurement have drifted "
        f"apart (another machine, another library version, or a changed experiment): re-word the "
        f"sentence to what is measured, or fix the experiment.")
