"""Gradient checking: compare backward's analytic gradients with centred differences.

    df/dx_i ≈ (f(x + h e_i) - f(x - h e_i)) / 2h       (error O(h²))

In float64 a correct backward agrees to a relative error around 1e-10; above
1e-7 something is usually wrong. float32 reaches only about 1e-5 to 1e-3.
"""
from contextlib import contextmanager

import numpy as np

from .layers import Sequential

TOLERANCE = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-2}
STEP = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-2}


def numerical_gradient(f, x, h=1e-6, indices=None):
    """Centred-difference gradient of the scalar ``f(x)`` with respect to the array ``x``.

    ``x`` is nudged in place and restored. Returns an array shaped like ``x``;
    with ``indices`` (a list of index tuples) only those entries are computed
    and the rest are NaN.
    """
    x = np.asarray(x)
    grad = np.full(x.shape, np.nan) if indices is not None else np.zeros(x.shape)
    for i in (np.ndindex(x.shape) if indices is None else indices):
        old = x[i]
        x[i] = old + h
        f_plus = float(f(x))
        x[i] = old - h
        f_minus = float(f(x))
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    """‖a - b‖ / (‖a‖ + ‖b‖): 0 when equal, 1 when unrelated; 0 if both are zero."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


class Row:
    """One checked array: its name, the relative error and the worst entry."""

    def __init__(self, layer, name, analytic, numeric, tol, zero=0.0):
        known = ~np.isnan(numeric)                   # sampled checks leave NaN elsewhere
        a, n = analytic[known], numeric[known]
        self.layer, self.name, self.shape, self.tol = layer, name, analytic.shape, tol
        self.checked = int(known.sum())
        # Both below the rounding noise of the differences: the gradient is zero (e.g. a bias
        # before BatchNorm), and a relative error would only compare two roundings.
        self.zero = a.size > 0 and max(np.abs(a).max(), np.abs(n).max()) < zero
        self.error = 0.0 if self.zero else rel_error(a, n)
        worst = int(np.argmax(np.abs(a - n))) if a.size else 0
        self.worst_index = tuple(int(i) for i in np.argwhere(known)[worst]) if a.size else ()
        self.analytic = float(a[worst]) if a.size else 0.0
        self.numeric = float(n[worst]) if a.size else 0.0

    @property
    def passed(self):
        return self.error < self.tol


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
    def first_failure(self):
        """The first failing row in forward order (the layer to fix first), or None."""
        return next((r for r in self.rows if not r.passed), None)

    def __repr__(self):
        width = max([len(r.layer) for r in self.rows] + [5])
        aw = max([len(r.name) for r in self.rows] + [5])
        lines = [f"{'layer':<{width}}  {'array':<{aw}} {'shape':<10} {'rel. error':>10}  {'':4} worst entry (analytic vs numeric)"]
        for r in self.rows:
            mark = "ok" if r.passed else "FAIL"
            mark = "ok=0" if r.zero else mark
            sampled = "" if r.checked == int(np.prod(r.shape)) else f"  [{r.checked} sampled]"
            lines.append(
                f"{r.layer:<{width}}  {r.name:<{aw}} {str(r.shape):<10} {r.error:>10.1e}  {mark:<4} "
                f"{list(r.worst_index)}: {r.analytic:.6g} vs {r.numeric:.6g}{sampled}"
            )
        failure = self.first_failure
        if failure is None:
            lines.append(f"all gradients agree (max relative error {self.max_rel_error:.1e})")
        else:
            lines.append(
                f"first failure: {failure.layer}, {failure.name}: relative error {failure.error:.1e} "
                f"> {failure.tol:.0e}; at {list(failure.worst_index)} backward gives "
                f"{failure.analytic:.6g}, the numerical gradient {failure.numeric:.6g}"
            )
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
    restore gradients and running statistics afterwards, so a check changes nothing."""
    layers = list(layer.walk())
    rngs = [(l.rng, l.rng.bit_generator.state) for l in layers if isinstance(getattr(l, "rng", None), np.random.Generator)]
    saved = [(l, name, np.copy(v)) for l in layers for name, v in vars(l).items() if name.startswith("running_")]
    grads = [(p, p.grad.copy()) for p in layer.parameters()]

    def replay():
        for rng, state in rngs:
            rng.bit_generator.state = state

    try:
        yield replay
    finally:
        replay()
        for l, name, v in saved:
            setattr(l, name, v)
        for p, g in grads:
            p.grad[...] = g


def _sample(shape, sample, rng):
    """All indices, or ``sample`` of them drawn without replacement when the array is larger."""
    size = int(np.prod(shape))
    if sample is None or size <= sample:
        return None
    flat = rng.choice(size, sample, replace=False)
    return [np.unravel_index(i, shape) for i in np.sort(flat)]


def check_layer(layer, x, name=None, h=None, tol=None, sample=500, seed=0):
    """Check ``layer.backward`` against numerical gradients for its input and every parameter.

    Uses L = Σ forward(x) * dout with a random dout. Arrays larger than ``sample``
    entries are checked on that many random entries. x: the layer's input.
    """
    rng = np.random.default_rng(seed)
    x = np.array(x)                                  # a copy: the check nudges it
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(getattr(layer, "dtype", np.float64))
    dtype = x.dtype
    h = STEP.get(dtype, 1e-6) if h is None else h
    tol = TOLERANCE.get(dtype, 1e-7) if tol is None else tol
    name = name or describe(layer)
    with _frozen_state(layer) as replay:
        replay()
        out = layer.forward(x)
        dout = rng.standard_normal(out.shape).astype(out.dtype)
        # Rounding noise of a centred difference: about eps · |terms of the loss| / h.
        zero = 10 * np.finfo(dtype).eps * float(np.sum(np.abs(out * dout))) / h
        zero = zero if zero < tol else 0.0       # with too small an h the noise decides nothing
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
            numeric = numerical_gradient(loss, array, h, _sample(array.shape, sample, rng))
            rows.append(Row(name, array_name, analytic, numeric, tol, zero))
    return GradCheckReport(rows)


def check_model(model, loss_fn, x, y, h=None, tol=None, sample=200, seed=0):
    """Check every layer of a Sequential model in isolation, then the loss.

    Each layer gets the input it sees in the real forward pass. The report's
    ``first_failure`` names the first layer (in forward order) whose backward is wrong.
    """
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
    numeric = numerical_gradient(lambda p: loss_fn.forward(p, target), prediction,
                                 STEP.get(dtype, 1e-6) if h is None else h)
    return Row(repr(loss_fn), "input", analytic, numeric, TOLERANCE.get(dtype, 1e-7) if tol is None else tol)
