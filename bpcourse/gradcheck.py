"""Gradient checking: compare backward's analytic gradients with centred differences.

    df/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h       (error O(h²))

In float64 a correct backward agrees to a relative error around 1e-10; above
1e-7 something is usually wrong. float32 reaches only about 1e-5 to 1e-3.

A centred difference is only valid where f is smooth between x - h and x + h.
Where a nudge moves an input of ReLU or LeakyReLU across its kink at 0, the
difference averages two slopes and says nothing about backward: the checker
watches every kinked layer's side of the kink and skips (and counts) such
entries instead of failing a correct layer.
"""
import numbers
import sys
import warnings
from contextlib import contextmanager

import numpy as np

from .core import Layer, as_array, describe_object, require_instance
from .layers import Sequential
from .losses import require_loss

TOLERANCE = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-2}
STEP = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-2}


def _step(x, h, who):
    """The step for ``x``: the dtype's own (1e-6 for float64, 1e-2 for float32) unless given."""
    if h is None:
        return STEP[x.dtype]
    if isinstance(h, bool) or not isinstance(h, numbers.Real) or not 0 < h < np.inf:
        raise ValueError(f"{who}: the step h must be a number > 0, got {h!r}.")
    return float(h)


def _nudgeable(x, who):
    """``x`` as an array that a gradient check can nudge in place: float32 or float64."""
    x = as_array(x, who)
    if x.dtype not in STEP:
        if x.dtype.kind in "iub":
            raise ValueError(f"{who} nudges x by a small step h, which a {x.dtype} array cannot hold "
                             f"(x + 1e-6 would be rounded back to a whole number): pass a float array, "
                             f"e.g. x.astype(np.float64).")
        raise ValueError(f"{who} needs a float64 (or float32) array, got dtype {x.dtype}: "
                         f"convert it with x.astype(np.float64).")
    if not x.flags.writeable:
        raise ValueError(f"{who} nudges x in place, but this array is read-only: pass a copy, x.copy().")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{who}: x contains NaN or inf; a gradient is only defined at finite inputs.")
    return x


def _scalar(value, who, where):
    """f's value as a Python float, or an error saying that f must return one finite number."""
    if np.ndim(value) != 0 and np.size(value) != 1:
        raise ValueError(f"{who} needs f to return one number (a scalar loss), got an array of shape "
                         f"{np.shape(value)}: reduce it, e.g. lambda v: np.sum(...).")
    try:
        value = float(np.asarray(value).reshape(()))
    except (TypeError, ValueError):
        raise ValueError(f"{who} needs f to return a number, got {type(value).__name__}.") from None
    if not np.isfinite(value):
        raise ValueError(f"{who}: f is {value} at {where}, so it has no derivative there "
                         f"(is x within h of where f is undefined? try a smaller h).")
    return value


def _centred(f_at, h, watch=None, base=None, richardson=False):
    """(f(x + h) - f(x - h)) / 2h along one nudge, where ``f_at(t)`` evaluates f at x + t·(direction).

    With ``richardson`` the steps h and h/2 are combined as (4·D(h/2) - D(h)) / 3, which cancels
    the h² term of the error (float32 needs a large h, and curvature would show). Returns None
    when ``watch()`` sees a kinked layer change sides under a nudge: f is not smooth there.
    """
    estimates = []
    for step in (h, h / 2) if richardson else (h,):
        f_plus, sides_plus = f_at(step), watch() if watch else None
        f_minus, sides_minus = f_at(-step), watch() if watch else None
        if watch and not (_same(base, sides_plus) and _same(base, sides_minus)):
            return None
        estimates.append((f_plus - f_minus) / (2 * step))
    return estimates[0] if len(estimates) == 1 else (4 * estimates[1] - estimates[0]) / 3


def _differences(f, x, h, indices, who, watch=None, richardson=False, relative=False):
    """Centred differences of f at the given indices (all when None); the rest stay NaN.

    Each entry is nudged by h, or by h·max(1, |x_i|) when ``relative`` (a step of 1e-6 is lost
    in rounding next to x = 1e12). ``watch()`` returns a snapshot of which side of its kink every
    kinked layer is on; an entry whose nudges change the snapshot straddles a kink and is marked
    skipped. An entry whose nudge is lost in rounding (x + h == x) gives a warning.
    Returns (gradient, skipped mask).
    """
    grad = np.full(x.shape, np.nan) if indices is not None else np.zeros(x.shape)
    skipped = np.zeros(x.shape, bool)
    lost = []
    base = watch() if watch is not None else None
    for i in (np.ndindex(x.shape) if indices is None else indices):
        old = x[i].copy()
        step = h * max(1.0, abs(float(old))) if relative else h

        def f_at(t):
            x[i] = old + t
            with np.errstate(all="ignore"):          # a NaN or inf is refused by _scalar
                return _scalar(f(x), who, f"x{list(i)} {'+' if t > 0 else '-'} h")

        try:
            value = _centred(f_at, step, watch, base, richardson)
            if old + step == old:
                lost.append(i)
        finally:
            x[i] = old
        if value is None:
            skipped[i], grad[i] = True, np.nan
        else:
            grad[i] = value
    if lost:
        entries = "1 entry" if len(lost) == 1 else f"{len(lost)} entries"
        _warn_at_caller(f"{who}: the step h = {h:g} is lost in rounding at {entries} (first x{list(lost[0])} "
                        f"= {float(x[lost[0]]):g} in {x.dtype}, so x + h == x there and the gradient reads 0): "
                        f"use a larger h.")
    return grad, skipped


class LostStepWarning(RuntimeWarning):
    """A step h so small next to an entry of x that x + h == x: that entry's difference reads 0.

    To keep it off stderr (a notebook, a grader), record it: ``with warnings.catch_warnings(record=True)
    as caught: warnings.simplefilter("always", bp.gradcheck.LostStepWarning)``, then print ``caught``.
    """


def _warn_at_caller(message):
    """Warn with the line that called into bpcourse (the student's call), not a line of this package."""
    frame, level = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("bpcourse."):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, LostStepWarning, stacklevel=level)


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def numerical_gradient(f, x, h=None, indices=None):
    """Centred-difference gradient of the scalar ``f(x)`` with respect to the array ``x``.

    ``x`` (float64 or float32) is nudged in place and restored; ``h`` defaults to the
    dtype's step: 1e-6 for float64, 1e-2 for float32. float32 keeps about 7 digits: there
    h = 1e-2 gives a relative error around 1e-5, h = 1e-6 one around 1e-2 (x + h rounds
    to the nearest float32, so the step taken is not quite h), and h = 1e-8 is lost
    outright for |x| >= 0.25 (x + h == x: the gradient reads 0, with a LostStepWarning).
    Returns a float64 array shaped like ``x``; with ``indices`` (a list of index tuples)
    only those entries are computed and the rest are NaN.
    """
    who = "numerical_gradient"
    if not callable(f):
        raise ValueError(f"{who}(f, x) needs a function f of x as its first argument, got {describe_object(f)}.")
    x = _nudgeable(x, who)
    if indices is not None:
        indices = [tuple(int(k) for k in np.atleast_1d(i)) if x.ndim else () for i in indices]
        bad = [i for i in indices if len(i) != x.ndim or not all(-n <= k < n for k, n in zip(i, x.shape))]
        if bad:
            raise ValueError(f"{who}: index {bad[0]} does not lie in an array of shape {x.shape}.")
    return _differences(f, x, _step(x, h, who), indices, who)[0]


def rel_error(a, b):
    """‖a - b‖ / (‖a‖ + ‖b‖) for two arrays of the same shape; 0 if both are zero.

    0 when equal; about 0.7 for two independent random vectors of similar norm;
    1 only for opposite vectors (a = -b) or when one of them is zero.
    """
    arrays = []
    for v in (a, b):
        try:
            arr = np.asarray(v)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.dtype.kind not in "biuf":
            raise ValueError(f"rel_error compares two arrays of numbers, got {describe_object(a)} "
                             f"and {describe_object(b)}.")
        arrays.append(arr.astype(np.float64))
    a, b = arrays
    if a.shape != b.shape:
        raise ValueError(f"rel_error compares arrays of the same shape, got {a.shape} and {b.shape} "
                         f"(numpy would broadcast them into a meaningless number): reshape one, "
                         f"e.g. b.reshape{a.shape}.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("nan")                          # NaN or inf: no error can be measured (NaN < tol is False)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


class Row:
    """One checked array: its name, the relative error, the worst entry, and how many
    entries were checked and skipped (their finite difference straddles a kink).

    ``noise``: each entry's expected rounding error of the numerical gradient. A row whose
    every discrepancy lies within it, yet above ``tol``, is *inconclusive* (not failed): the
    check cannot resolve this gradient at this input (e.g. 1e12 next to 0.5 in one batch).
    """

    def __init__(self, layer, name, analytic, numeric, tol, zero=0.0, skipped=0, directions=(), noise=None):
        known = ~np.isnan(numeric)                   # sampled and skipped entries stay NaN
        a, n = analytic[known], numeric[known]
        self.layer, self.name, self.shape, self.tol = layer, name, analytic.shape, tol
        self.checked, self.skipped = int(known.sum()), int(skipped)
        # Both below the rounding noise of the differences: the gradient is zero (e.g. a bias
        # before BatchNorm), and a relative error would only compare two roundings.
        self.zero = a.size > 0 and max(np.abs(a).max(), np.abs(n).max()) < zero
        self.error = 0.0 if self.zero or not a.size else rel_error(a, n)
        # random directions (for arrays checked on a sample only): a bug in one unsampled entry
        # still changes the derivative along a direction that moves every entry
        self.direction_error = max((e for e in directions), default=0.0)
        if not self.zero:
            self.error = max(self.error, self.direction_error)
        self.inconclusive = bool(not self.zero and self.error >= tol and a.size and noise is not None
                                 and self.direction_error < tol and np.all(np.abs(a - n) <= noise[known]))
        worst = int(np.argmax(np.abs(a - n))) if a.size else 0
        self.worst_index = tuple(int(i) for i in np.argwhere(known)[worst]) if a.size else ()
        self.analytic = float(a[worst]) if a.size else 0.0
        self.numeric = float(n[worst]) if a.size else 0.0

    @property
    def passed(self):
        return self.error < self.tol or self.inconclusive


class GradCheckReport:
    """The rows of a gradient check. Truthy when every row passed; prints as a table."""

    def __init__(self, rows):
        self.rows = rows

    def __bool__(self):
        return all(r.passed for r in self.rows)

    passed = property(__bool__)

    @property
    def max_rel_error(self):
        return max((r.error for r in self.rows), default=0.0)

    @property
    def skipped(self):
        """How many entries were not compared because their finite difference straddles a kink."""
        return sum(r.skipped for r in self.rows)

    @property
    def first_failure(self):
        """The first failing row in forward order (the layer to fix first), or None."""
        return next((r for r in self.rows if not r.passed), None)

    def __repr__(self):
        width = max([len(r.layer) for r in self.rows] + [5])
        aw = max([len(r.name) for r in self.rows] + [5])
        lines = [f"{'layer':<{width}}  {'array':<{aw}} {'shape':<10} {'rel. error':>10}  {'':4} worst entry (analytic vs numeric)"]
        for r in self.rows:
            mark = "ok" if r.passed else "FAIL"
            mark = "ok=0" if r.zero else "??" if r.inconclusive else mark
            notes = "" if r.checked + r.skipped == int(np.prod(r.shape)) else f"  [{r.checked + r.skipped} sampled]"
            notes += f"  [{r.skipped} skipped at a kink]" if r.skipped else ""
            worst = f"{list(r.worst_index)}: {r.analytic:.6g} vs {r.numeric:.6g}" if r.checked else "no entry left to compare"
            lines.append(f"{r.layer:<{width}}  {r.name:<{aw}} {str(r.shape):<10} {r.error:>10.1e}  {mark:<4} {worst}{notes}")
        failure = self.first_failure
        decided = max((r.error for r in self.rows if not r.inconclusive), default=0.0)
        if failure is None and any(r.inconclusive for r in self.rows):
            lines.append(f"no gradient disagrees (max relative error {decided:.1e} where the check can decide)")
        elif failure is None:
            lines.append(f"all gradients agree (max relative error {self.max_rel_error:.1e})")
        else:
            lines.append(
                f"first failure: {failure.layer}, {failure.name}: relative error {failure.error:.1e} "
                f"> {failure.tol:.0e}; at {list(failure.worst_index)} backward gives "
                f"{failure.analytic:.6g}, the numerical gradient {failure.numeric:.6g}"
            )
        unsure = [f"{r.layer} {r.name}" for r in self.rows if r.inconclusive]
        if unsure:
            lines.append(f"?? inconclusive: {', '.join(unsure)}: the differences lie within the rounding noise of "
                         f"the loss (inputs of very different scales?); rescale the input to check these")
        if self.skipped:
            entries = "1 entry" if self.skipped == 1 else f"{self.skipped} entries"
            lines.append(f"{entries} skipped: a nudge of ±h moves a ReLU/LeakyReLU input across "
                         f"its kink at 0, where a finite difference averages two slopes (not a failure)")
        return "\n".join(lines)


def describe(layer):
    """A one-line name: ``Residual(Sequential(Linear(7 → 7), ReLU()))``."""
    children = layer.children()
    if not children:
        return repr(layer)
    return f"{type(layer).__name__}({', '.join(describe(c) for c in children)})"


@contextmanager
def _frozen_state(layer):
    """Replay the same random numbers on every forward (Dropout masks stay fixed), and
    restore gradients and buffers (running statistics) afterwards, so a check changes nothing."""
    layers = list(layer.walk())
    rngs = [(l.rng, l.rng.bit_generator.state) for l in layers if isinstance(getattr(l, "rng", None), np.random.Generator)]
    buffers = {name: np.copy(b) for name, b in layer.named_buffers()}
    grads = [(p, p.grad.copy()) for p in layer.parameters()]

    def replay():
        for rng, state in rngs:
            rng.bit_generator.state = state

    try:
        yield replay
    finally:
        replay()
        for name, b in layer.named_buffers():        # forward may have replaced the arrays
            b[...] = buffers[name]
        for p, g in grads:
            p.grad[...] = g


def _kink_watch(layer):
    """A function returning which side of its kink each kinked layer's last input lies on."""
    kinked = [l for l in layer.walk() if callable(getattr(l, "kink_sides", None))]
    return lambda: [l.kink_sides() for l in kinked]


def _sample(shape, sample, rng):
    """All indices, or ``sample`` of them drawn without replacement when the array is larger."""
    size = int(np.prod(shape))
    if sample is None or size <= sample:
        return None
    flat = rng.choice(size, sample, replace=False)
    return [np.unravel_index(i, shape) for i in np.sort(flat)]


def _directional_errors(loss, array, analytic, h, rng, watch, richardson, count=2):
    """Relative errors of the derivative along ``count`` random unit directions, each measured
    against ‖analytic‖ (so a wrong entry shows even where the sample missed it); a direction
    whose nudges cross a kink is left out."""
    errors, base, old = [], watch(), array.copy()
    scale = float(np.linalg.norm(analytic))
    h = h * max(1.0, float(np.abs(old).max()))      # relative to the array's scale, as for entries
    for _ in range(count):
        v = rng.standard_normal(array.shape)
        v /= np.linalg.norm(v)

        def f_at(t):
            array[...] = old + t * v
            return float(loss(None))

        try:
            numeric = _centred(f_at, h, watch, base, richardson)
        finally:
            array[...] = old
        if numeric is not None:
            expected = float(np.sum(analytic * v))
            denom = scale + abs(numeric)
            errors.append(abs(expected - numeric) / denom if denom > 0 else 0.0)
    return errors


def _check_arguments(who, h, tol, sample):
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol > 0):
        raise ValueError(f"{who}: tol must be a number > 0, got {tol!r}.")
    if sample is not None and (not isinstance(sample, numbers.Integral) or sample < 1):
        raise ValueError(f"{who}: sample must be a whole number >= 1 (or None for every entry), got {sample!r}.")
    if h is not None:
        _step(np.zeros(1), h, who)


def check_layer(layer, x, name=None, h=None, tol=None, sample=500, seed=0):
    """Check ``layer.backward`` against numerical gradients for its input and every parameter.

    Uses L = Σ forward(x) * dout with a random dout drawn from ``seed`` (independently of x,
    even when x was drawn from the same seed). Each entry is nudged by h·max(1, |entry|).
    Arrays larger than ``sample`` entries are checked on that many random entries and along
    random directions. Entries whose nudges cross a ReLU/LeakyReLU kink are skipped and
    counted. x: the layer's input.
    """
    require_instance(layer, Layer, "check_layer", "the layer to check, e.g. bp.Linear(4, 3, rng=rng)")
    _check_arguments("check_layer", h, tol, sample)
    rng = np.random.default_rng([seed, 0x6b9c])      # a stream of its own: never the stream x came from
    x = np.array(as_array(x, "check_layer"))        # a copy: the check nudges it
    if x.dtype.kind in "iub":
        x = x.astype(getattr(layer, "dtype", np.float64))
    x = _nudgeable(x, "check_layer")
    dtype = x.dtype
    h = STEP[dtype] if h is None else float(h)
    tol = TOLERANCE[dtype] if tol is None else tol
    richardson = dtype == np.float32                 # its large step would show the curvature
    name = name or describe(layer)
    watch = _kink_watch(layer)
    with _frozen_state(layer) as replay:
        replay()
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape).astype(out.dtype)
        # Rounding noise of a centred difference: about eps · |terms of the loss| / h.
        spread = 10 * np.finfo(dtype).eps * float(np.sum(np.abs(out * dout), dtype=np.float64))
        zero = spread / h if spread / h < tol else 0.0   # with too small an h the noise decides nothing
        layer.zero_grad()
        dx = layer.backward(dout)
        arrays = [("input", x, np.asarray(dx))] + [
            (pname, p.data, p.grad.copy()) for pname, p in layer.named_parameters()
        ]

        def loss(_):
            replay()
            return np.sum(layer.forward(x) * dout, dtype=np.float64)

        rows = []
        for array_name, array, analytic in arrays:
            indices = _sample(array.shape, sample, rng)
            numeric, skipped = _differences(loss, array, h, indices, "check_layer", watch, richardson, relative=True)
            directions = ()
            if indices is not None:                  # sampled: add random directions
                directions = _directional_errors(loss, array, analytic, h, rng, watch, richardson)
            noise = spread / (h * np.maximum(1.0, np.abs(array.astype(np.float64))))
            rows.append(Row(name, array_name, analytic, numeric, tol, zero, skipped.sum(), directions, noise))
    return GradCheckReport(rows)


def check_model(model, loss_fn, x, y, h=None, tol=None, sample=200, seed=0):
    """Check every layer of a Sequential model in isolation, then the loss.

    Each layer gets the input it sees in the real forward pass. The report's
    ``first_failure`` names the first layer (in forward order) whose backward is wrong.
    """
    require_instance(model, Layer, "check_model", "the model, e.g. bp.Sequential(...)")
    require_loss(loss_fn, "check_model")
    _check_arguments("check_model", h, tol, sample)
    if not isinstance(model, Sequential):
        model = Sequential(model)
    rows = []
    with _frozen_state(model) as replay:
        replay()
        inputs = []
        for layer in model:
            inputs.append(x)
            x = layer.forward(x)
    for i, (layer, layer_input) in enumerate(zip(model, inputs)):
        name = f"({i}) {describe(layer)}"
        rows += check_layer(layer, layer_input, name=name, h=h, tol=tol, sample=sample, seed=seed).rows
    rows.append(_check_loss(loss_fn, x, y, h, tol))
    return GradCheckReport(rows)


def _check_loss(loss_fn, prediction, target, h, tol):
    prediction = np.array(prediction)
    dtype = prediction.dtype
    loss_fn.forward(prediction, target)
    analytic = np.asarray(loss_fn.backward())
    numeric = numerical_gradient(lambda p: loss_fn.forward(p, target), prediction, h)
    return Row(repr(loss_fn), "input", analytic, numeric, TOLERANCE[dtype] if tol is None else tol)
