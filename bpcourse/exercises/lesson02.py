"""Checks for 02_forward_backward, easiest first: ReLU's and a Linear layer's backward, a
numerical gradient and the relative error, a residual block's backward (x used twice), a whole
two-layer network's backward, and a gradient check of a network.

Every case is drawn from ``case_rng``; every backward is verified against centred differences
computed here, never against a copy of the answer."""
__all__ = ["check_relu_backward", "check_linear_backward", "check_numerical_gradient",
           "check_rel_error", "check_residual_backward", "check_two_layer", "check_gradient_check"]

import functools

import numpy as np

from .core import Wrong, call, case_rng, exercise, expect_array, expect_number, fmt
from ..gradcheck import numerical_gradient, rel_error

LESSON = "02_forward_backward"
TOL = 1e-7                      # a float64 gradient check: above this, suspect a bug


def _result(got, n, what, names):
    """The student's tuple of ``n`` results, or Wrong saying what came back instead."""
    if got is None:
        raise Wrong(f"{what} returned None.", "add a `return` statement that gives the result.")
    if not isinstance(got, (tuple, list)) or len(got) != n:
        kind = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise Wrong(f"{what} returned {kind}, expected a tuple of {n} ({names}).",
                    f"return all {n}, in this order: return {names}")
    return got


def _away_from_kink(rng, draw, margin=0.05, tries=200):
    """Draw ``draw(rng) -> (arrays, z)`` until every ReLU input z is at least ``margin`` from 0,
    so no centred difference straddles ReLU's kink."""
    for _ in range(tries):
        arrays, z = draw(rng)
        if np.min(np.abs(z)) > margin:
            return arrays
    raise RuntimeError("could not draw a case away from ReLU's kink")   # never with these sizes


# ---- 1. ReLU backward ------------------------------------------------------------------------

ACT_SHAPES = [(3, 4), (2, 5), (6,)]


def _act_case(shape, seed):
    """x away from 0 (|x| ≥ 0.1), so ReLU's kink never sits inside a finite difference, and dout."""
    rng = case_rng(seed)
    x = rng.standard_normal(shape) * 2
    x = np.where(np.abs(x) < 0.1, np.sign(x + 1e-12) * (0.1 + np.abs(x)), x)
    return x, rng.standard_normal(shape)


@exercise("ex02_relu_backward", LESSON, "relu_backward", hints=[
    "Backward multiplies the arriving gradient dout by ReLU's local derivative, entry by entry. "
    "What is the slope of max(0, x) where x > 0, and where x < 0?",
    "The local derivative is 1 where the input x was positive and 0 elsewhere: a mask built from x "
    "(a boolean array becomes 1.0 / 0.0 when multiplied). Keep the shape of x.",
])
def check_relu_backward(relu_backward):
    """relu_backward(dout, x) -> dx, the same shape as x."""
    for i, shape in enumerate(ACT_SHAPES):
        x, dout = _act_case(shape, seed=20 + i)
        numeric = numerical_gradient(lambda v: np.sum(np.maximum(v, 0) * dout), x.copy())
        got = call(relu_backward, dout, x, what="relu_backward(dout, x)")
        expect_array(got, numeric, "dx", f"x: {shape}", tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, dout),
             "dx is wrong only where x < 0: the gradient must be blocked there — multiply dout by the mask (x > 0)."),
            (lambda g, e: np.allclose(g, x > 0),
             "that is the local derivative alone: multiply it by dout, the gradient arriving from above."),
            (lambda g, e: np.allclose(g, dout * np.maximum(x, 0)),
             "the local derivative of ReLU is 1 or 0 (the mask x > 0), not ReLU(x) itself."),
            (lambda g, e: np.allclose(g, dout * (x < 0)),
             "the mask is reversed: the gradient passes where x > 0."),
            (lambda g, e: np.allclose(g, np.maximum(dout, 0)),
             "the mask depends on the input x (where ReLU let it through), not on dout."),
        ])
    return (f"relu_backward agrees with numerical gradients on {len(ACT_SHAPES)} random arrays "
            "(every relative error below 1e-7).")


# ---- 2. Linear backward ----------------------------------------------------------------------

LINEAR_SHAPES = [(1, 2, 3), (4, 3, 2), (5, 4, 4)]   # (N, D, M); the last has a square W


def _linear_case(n, d, m, seed):
    rng = case_rng(seed)
    return (rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m),
            rng.standard_normal((n, m)))


@exercise("ex02_linear_backward", LESSON, "linear_backward", hints=[
    "Each gradient has the shape of what it is the gradient of: dx like x (N, D), dW like W (D, M), "
    "db like b (M,). Write the shapes down: only one product of dout (N, M) with W, or with x, has each shape.",
    "dx comes from dout and W (which one is transposed, so that the inner sizes meet?). "
    "b is added to every sample, so each sample's dout contributes to db: the contributions add up "
    "over the batch axis.",
])
def check_linear_backward(linear_backward):
    """linear_backward(dout, x, W) -> (dx, dW, db), checked against numerical gradients."""
    for n, d, m in LINEAR_SHAPES:
        x, w, b, dout = _linear_case(n, d, m, seed=n)
        case = f"x: {x.shape}, W: {w.shape}, dout: {dout.shape}"

        def loss(x_, w_, b_):
            return np.sum((x_ @ w_ + b_) * dout)

        num_dx = numerical_gradient(lambda v: loss(v, w, b), x.copy())
        num_dw = numerical_gradient(lambda v: loss(x, v, b), w.copy())
        num_db = numerical_gradient(lambda v: loss(x, w, v), b.copy())
        dx, dw, db = _result(call(linear_backward, dout, x, w, what="linear_backward(dout, x, W)"),
                             3, "linear_backward(dout, x, W)", "dx, dW, db")
        expect_array(dx, num_dx, "dx", case, tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, dout @ w), "dx = dout @ W.T: W maps D to M, so going back needs its transpose."),
        ])
        expect_array(dw, num_dw, "dW", case, batch=n, tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, x.T @ dout / n),
             "do not divide by N here: dout already holds dL/dy, and dW = x.T @ dout sums the samples' contributions."),
        ])
        if np.shape(db) == dout.shape:               # also at N = 1, where (1, M) looks like a reshape
            raise Wrong(f"case {case}: db has shape {np.shape(db)}, expected {b.shape}.",
                        "one db per sample: b is shared by every sample, so sum over the batch axis: "
                        "dout.sum(axis=0).")
        expect_array(db, num_db, "db", case, batch=n, tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, dout.mean(axis=0)),
             "b is added to every sample, so its gradient is the SUM of dout over the batch, not the mean."),
        ])
    return (f"dx, dW, db agree with numerical gradients on {len(LINEAR_SHAPES)} random cases, "
            "including N = 1 (every relative error below 1e-7).")


# ---- 3. the numerical gradient ---------------------------------------------------------------

def _cubic(x):
    """f(x) = Σ x³ + (Σ x)². Its centred difference with step h is exactly 3x² + h² + 2Σx."""
    return float(np.sum(x ** 3) + np.sum(x) ** 2)


def _tanh_mix(x, a):
    """f(x) = Σ tanh(a @ x) + ½ Σ x², gradient aᵀ(1 − tanh²(a @ x)) + x."""
    return float(np.sum(np.tanh(a @ x)) + 0.5 * np.sum(x * x))


class NotRestored(ValueError):
    """f was called with more than one entry of x away from where it started."""


def _guarded(x, x0, h, f, **kwargs):
    """``f(x)``, after making sure that at most one entry of x differs from the original x0:
    a numerical gradient nudges one entry at a time and puts it back."""
    x = np.asarray(x, dtype=float)
    if x.shape != x0.shape:
        raise NotRestored(f"f was called with an array of shape {x.shape}; x has shape {x0.shape}: "
                          f"pass f the whole x, nudged in one entry.")
    moved = int(np.sum(np.abs(x - x0) > h / 10))
    if moved > 1:
        raise NotRestored(f"f was called with an x in which {moved} entries differ from the original x: "
                          f"nudge one entry at a time, and put it back (x[i] = old) before the next.")
    return f(x, **kwargs)


_RESTORE_HINT = ("save the entry first (old = x[i]) and set x[i] = old after the two evaluations; "
                 "np.ndindex(x.shape) visits every single entry of an array of any shape.")


def _call_numerical(numerical_gradient_fn, f, x, *h):
    what = f"numerical_gradient(f, x{', h=' + str(h[0]) if h else ''})"
    try:
        return call(numerical_gradient_fn, f, x, *h, what=what)
    except Wrong as wrong:
        if "NotRestored" in wrong.message:
            raise Wrong(wrong.message, _RESTORE_HINT) from None
        raise


@exercise("ex02_numerical_gradient", LESSON, "numerical_gradient (centred differences)", hints=[
    "For each entry of x, separately: nudge it up by h and evaluate f, nudge it down by h and "
    "evaluate f; the slope is the difference of the two values divided by the distance between "
    "the two points. Put the entry back before you move on to the next one.",
    "Start from grad = np.zeros_like(x) and loop `for i in np.ndindex(x.shape):` (every index of an "
    "array of any shape). Save old = x[i] first; f must always see x with only entry i moved. "
    "The two points x[i] ± h are 2h apart.",
])
def check_numerical_gradient(numerical_gradient_fn):
    """numerical_gradient(f, x, h=1e-6) -> array shaped like x; f(x) returns a float."""
    rng = case_rng(40)
    # 1. a polynomial whose centred difference is known exactly for any h: 3x² + h² + 2Σx
    x, h = rng.standard_normal((3, 4)), 0.1
    f = functools.partial(_guarded, x0=x.copy(), h=h, f=_cubic)
    got = _call_numerical(numerical_gradient_fn, f, x, h)
    s = np.sum(x)
    exact = 3 * x ** 2 + 2 * s
    expect_array(got, exact + h * h, "the gradient", f"f(x) = Σx³ + (Σx)², x: {x.shape}, h = {h}",
                 tol=1e-8, diagnoses=[
        (lambda g, e: np.allclose(g, 3 * x ** 2 + 3 * x * h + h * h + 2 * s + h, rtol=1e-6),
         "that is the one-sided difference (f(x + h) − f(x)) / h, whose error shrinks only like h. "
         "Use both sides: f(x + h) and f(x − h)."),
        (lambda g, e: np.allclose(g, 3 * x ** 2 - 3 * x * h + h * h + 2 * s - h, rtol=1e-6),
         "that is the one-sided difference (f(x) − f(x − h)) / h. Use both sides: f(x + h) and f(x − h)."),
        (lambda g, e: np.allclose(g, exact, rtol=1e-4, atol=1e-4),
         "this is the gradient at a tiny step, not at the h you were given: use the argument h "
         "(here 0.1), not a fixed number."),
        (lambda g, e: np.allclose(g, 2 * e, rtol=1e-6),
         "twice too large: the two points x + h and x − h are 2h apart, so divide by 2h."),
        (lambda g, e: np.allclose(g, e / 2, rtol=1e-6),
         "half too small: the two points x + h and x − h are 2h apart, not 4h."),
    ])
    # 2. a smooth function of a vector, the default step, against the analytic gradient
    x, a = rng.standard_normal(5), rng.standard_normal((4, 5))
    f = functools.partial(_guarded, x0=x.copy(), h=1e-6, f=_tanh_mix, a=a)
    got = _call_numerical(numerical_gradient_fn, f, x)
    analytic = a.T @ (1 - np.tanh(a @ x) ** 2) + x
    expect_array(got, analytic, "the gradient", f"f(x) = Σ tanh(A·x) + ½Σx², x: {x.shape}, default h",
                         tol=1e-7)
    return ("your centred differences give exactly 3x² + h² + 2Σx for Σx³ + (Σx)² at h = 0.1 "
            "(2-D x), and match the analytic gradient of a tanh layer at the default h "
            "(relative error below 1e-7); x was restored after every nudge.")


# ---- 4. the relative error -------------------------------------------------------------------

REL_CASES = [   # (a, b, value worked out by hand, what it shows)
    ([3.0, 4.0], [3.0, 4.0], 0.0, "equal arrays"),
    ([3.0, 4.0], [0.0, 0.0], 1.0, "against zeros"),
    ([0.0, 0.0], [3.0, 4.0], 1.0, "zeros against an array"),
    ([1.0, 2.0], [-1.0, -2.0], 1.0, "opposite arrays"),
    ([1.0, 0.0], [0.0, 1.0], np.sqrt(0.5), "orthogonal arrays of equal norm"),
    ([2.0, 0.0], [1.0, 0.0], 1 / 3, "a = 2b"),
    ([[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0], [2.0, 0.0]], 0.5, "2-D arrays: the norm of all entries"),
    ([0.0, 0.0], [0.0, 0.0], 0.0, "two zero arrays (no division by zero)"),
]


def _norm(a):
    return np.sqrt(np.sum(np.square(a)))


@exercise("ex02_rel_error", LESSON, "rel_error", hints=[
    "One number for two whole arrays: the size of their difference, measured relative to their own "
    "sizes. The size (norm) of an array of any shape is np.linalg.norm(a), one number.",
    "Both norms belong in the denominator: with only one of them the result would depend on the order "
    "of a and b and could exceed 1. And two all-zero arrays make the denominator 0: handle that case "
    "before you divide.",
])
def check_rel_error(rel_error_fn):
    """rel_error(a, b) -> ‖a − b‖ / (‖a‖ + ‖b‖), a float; 0.0 when both are zero."""
    for a, b, value, shows in REL_CASES:
        a, b = np.array(a), np.array(b)
        case = f"a = {fmt(a)}, b = {fmt(b)} ({shows})"
        got = call(rel_error_fn, a, b, what="rel_error(a, b)")
        if got is not None and np.ndim(got) != 0:
            raise Wrong(f"case {case}: rel_error returned an array of shape {np.shape(got)}, expected one number.",
                        "take the norm of the whole array (np.linalg.norm), which is one number, "
                        "not an entry-by-entry ratio.")
        if got is not None and not np.isfinite(float(got)):
            raise Wrong(f"case {case}: rel_error returned {got}.",
                        "divide by the sum of both norms, and when both arrays are zero return 0.0 "
                        "instead of dividing 0 by 0.")
        dn = _norm(a - b)
        expect_number(got, value, "rel_error(a, b)", case, tol=1e-9, diagnoses=[
            (lambda g, e: dn > 0 and np.isclose(g, dn / max(_norm(a), _norm(b))),
             "the denominator is the SUM of both norms, ‖a‖ + ‖b‖, not the larger one."),
            (lambda g, e: dn > 0 and (np.isclose(g, dn / _norm(a)) or np.isclose(g, dn / _norm(b))),
             "divide by ‖a‖ + ‖b‖, both norms: then the error is symmetric and never above 1."),
            (lambda g, e: np.isclose(g, np.sum(np.abs(a - b)) / (np.sum(np.abs(a)) + np.sum(np.abs(b)))),
             "that is the sum of absolute values; use the Euclidean norm (np.linalg.norm)."),
        ])
    rng = case_rng(45)
    a = rng.standard_normal((4, 3))
    b = a + 1e-3 * rng.standard_normal((4, 3))
    e1 = call(rel_error_fn, a, b, what="rel_error(a, b)")
    e2 = call(rel_error_fn, 1e6 * b, 1e6 * a, what="rel_error(1e6·b, 1e6·a)")
    expect_number(e1, _norm(a - b) / (_norm(a) + _norm(b)), "rel_error(a, b)", "random (4, 3) arrays", tol=1e-9)
    expect_number(e2, e1, "rel_error(1e6·b, 1e6·a)", "the same arrays swapped and scaled by 1e6", tol=1e-9)
    return ("rel_error gives 0 for equal arrays, 1 against zeros or for opposite arrays, √½ ≈ 0.71 "
            "for orthogonal arrays of equal norm, 0 for two zero arrays, and is symmetric and "
            "independent of scale on random arrays.")


# ---- 5. a residual block: x used twice -------------------------------------------------------

RESIDUAL_SHAPES = [(1, 3), (4, 3), (6, 5)]          # (N, D); W is (D, D)


def _residual_case(n, d, seed):
    def draw(rng):
        x, w = rng.standard_normal((n, d)), rng.standard_normal((d, d)) / np.sqrt(d)
        return (x, w), x @ w
    rng = case_rng(seed)
    x, w = _away_from_kink(rng, draw)
    return x, w, rng.standard_normal((n, d))


@exercise("ex02_residual_backward", LESSON, "residual_backward: x used twice", hints=[
    "x reaches y along two paths: the skip path (y = x + …) and the branch x → z = x @ W → ReLU. "
    "As in lesson 01, a variable used twice gets the SUM of the gradients along both paths.",
    "Go backwards along the branch: first ReLU (exercise 1) on dout, with the mask of the branch's "
    "own input z = x @ W; then the Linear layer without a bias (exercise 2) gives dW and the branch's dx. "
    "And the skip path: what is its local derivative?",
])
def check_residual_backward(residual_backward):
    """residual_backward(dout, x, W) -> (dx, dW) for y = x + ReLU(x @ W); x: (N, D), W: (D, D)."""
    for i, (n, d) in enumerate(RESIDUAL_SHAPES):
        x, w, dout = _residual_case(n, d, seed=50 + i)
        case = f"x: {x.shape}, W: {w.shape}"

        def loss(x_, w_):
            return np.sum((x_ + np.maximum(x_ @ w_, 0)) * dout)

        num_dx = numerical_gradient(lambda v: loss(v, w), x.copy())
        num_dw = numerical_gradient(lambda v: loss(x, v), w.copy())
        dx, dw = _result(call(residual_backward, dout, x, w, what="residual_backward(dout, x, W)"),
                         2, "residual_backward(dout, x, W)", "dx, dW")
        mask = (x @ w) > 0
        branch = (dout * mask) @ w.T
        expect_array(dx, num_dx, "dx", case, tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, branch),
             "only the branch reached x: the skip path y = x + … also carries dout to x — add it."),
            (lambda g, e: np.allclose(g, dout),
             "only the skip path reached x: add the branch's share, back through ReLU and then W."),
            (lambda g, e: np.allclose(g, dout + dout @ w.T),
             "the branch goes through ReLU: block the gradient where z = x @ W ≤ 0 before going back through W."),
            (lambda g, e: np.allclose(g, dout + (dout * (x > 0)) @ w.T),
             "ReLU's mask belongs to ReLU's own input z = x @ W, not to x."),
            (lambda g, e: np.allclose(g, dout + (dout * mask) @ w),
             "back through W needs its transpose: (…) @ W.T."),
        ])
        expect_array(dw, num_dw, "dW", case, tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, x.T @ dout),
             "dW must see ReLU's mask too: the gradient reaching z = x @ W is dout where z > 0, 0 elsewhere."),
            (lambda g, e: np.allclose(g, (dout * mask).T @ x),
             "the shape rule: dW is (D, D) like W, and the product that gives it is xᵀ · (gradient at z)."),
        ])
    return (f"dx and dW agree with numerical gradients on {len(RESIDUAL_SHAPES)} random cases "
            "(every relative error below 1e-7): both paths reach x.")


# ---- 6. a whole two-layer network ------------------------------------------------------------

PARAM_NAMES = ("W1", "b1", "W2", "b2")
TWO_LAYER_SHAPES = [(1, 3, 4, 2), (5, 4, 6, 3), (8, 3, 5, 1)]   # (N, D, H, M)


def _two_layer_case(n, d, hidden, m, seed):
    """params, x, t: inputs away from ReLU's kink, and some hidden units switched off."""
    def draw(rng):
        params = {"W1": rng.standard_normal((d, hidden)) / np.sqrt(d), "b1": 0.3 * rng.standard_normal(hidden),
                  "W2": rng.standard_normal((hidden, m)) / np.sqrt(hidden), "b2": 0.3 * rng.standard_normal(m)}
        x = rng.standard_normal((n, d))
        return (params, x), x @ params["W1"] + params["b1"]
    rng = case_rng(seed)
    params, x = _away_from_kink(rng, draw, margin=0.02)
    return params, x, rng.standard_normal((n, m))


def _two_layer_loss(params, x, t):
    """L = mean((ReLU(x W1 + b1) W2 + b2 − t)²) over all N·M entries (the forward pass only)."""
    h = np.maximum(x @ params["W1"] + params["b1"], 0)
    return float(np.mean((h @ params["W2"] + params["b2"] - t) ** 2))


def _numerical_grads(loss, params):
    """{name: centred-difference gradient of loss(params) with respect to params[name]}."""
    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    return {k: numerical_gradient(lambda _: loss(params), params[k]) for k in params}


def _grads_dict(grads, what):
    if grads is None:
        raise Wrong(f"{what} returned None for the gradients.", "return loss, grads with grads a dict.")
    if not isinstance(grads, dict):
        raise Wrong(f"{what} returned gradients as a {type(grads).__name__}, expected a dict "
                    f"with keys {', '.join(PARAM_NAMES)}.",
                    'build it as grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}.')
    missing = [k for k in PARAM_NAMES if k not in grads]
    if missing:
        raise Wrong(f"{what}: the gradients have no {', '.join(missing)} (keys: {', '.join(map(str, grads))}).",
                    "one gradient per parameter, under the parameter's own name.")
    return grads


@exercise("ex02_two_layer", LESSON, "a two-layer network's forward and backward", hints=[
    "Forward, keeping what backward needs: z1 = x W1 + b1, h = ReLU(z1), y = h W2 + b2, "
    "L = mean((y − t)²). Backward visits the same steps in reverse: the loss, Linear 2, ReLU, Linear 1 — "
    "each turns the gradient of its output into the gradient of its input (your exercises 1 and 2).",
    "The mean runs over all N·M entries of y, and the square brings a factor 2: that fixes dL/dy. "
    "Linear 2's input was h (not z1); between the two Linear layers, ReLU's mask is the one of z1.",
])
def check_two_layer(two_layer):
    """two_layer(params, x, t) -> (loss, grads) for Linear → ReLU → Linear and the mean squared error.

    params and grads: dicts with W1 (D, H), b1 (H,), W2 (H, M), b2 (M,); x: (N, D), t: (N, M).
    """
    for i, (n, d, hidden, m) in enumerate(TWO_LAYER_SHAPES):
        params, x, t = _two_layer_case(n, d, hidden, m, seed=60 + i)
        case = f"x: {x.shape}, W1: {params['W1'].shape}, W2: {params['W2'].shape}"
        what = "two_layer(params, x, t)"
        loss, grads = _result(call(two_layer, params, x, t, what=what), 2, what, "loss, grads")
        z1 = x @ params["W1"] + params["b1"]
        h = np.maximum(z1, 0)
        err = h @ params["W2"] + params["b2"] - t
        expect_number(loss, _two_layer_loss(params, x, t), "the loss", case, tol=1e-9, diagnoses=[
            (lambda g, e: np.isclose(g, np.sum(err ** 2)) and n == 1,
             f"the loss is the mean over all N·M = {m} entries of y: divide the sum of squared errors by N·M."),
            (lambda g, e: np.isclose(g, np.sum(err ** 2) / n) and m > 1,
             f"the mean runs over all N·M = {n * m} entries of y, not over the N samples only."),
            (lambda g, e: np.isclose(g, np.sum(err ** 2)),
             f"that is the sum; the loss is the mean over all N·M = {n * m} entries of y."),
            (lambda g, e: np.isclose(g, np.mean((z1 @ params["W2"] + params["b2"] - t) ** 2)),
             "the forward pass skipped ReLU: h = max(0, z1) goes into the second layer."),
        ])
        grads = _grads_dict(grads, what)
        numeric = _numerical_grads(lambda p: _two_layer_loss(p, x, t), params)
        dy = 2 * err / err.size
        no_mask = dy @ params["W2"].T
        for name in PARAM_NAMES:
            hints = [
                (lambda g, e: np.allclose(g, e / 2), "half the right gradient: the square's derivative brings a factor 2."),
                (lambda g, e: np.allclose(g, e * m) and m > 1,
                 f"M = {m} times too large: the mean runs over all N·M entries of y, not over the N samples only."),
                (lambda g, e: np.allclose(g, e * n * m) and n * m > 1,
                 f"N·M = {n * m} times too large: the loss is a mean, so dL/dy = 2(y − t)/(N·M)."),
            ]
            if name == "W2":
                hints.append((lambda g, e: np.allclose(g, z1.T @ dy),
                              "the input of the second layer was h = ReLU(z1), not z1: dW2 uses h."))
            if name in ("W1", "b1"):
                unmasked = x.T @ no_mask if name == "W1" else no_mask.sum(axis=0)
                hints.append((lambda g, e, u=unmasked: np.allclose(g, u),
                              "between the two layers sits ReLU: zero the gradient where z1 ≤ 0 before Linear 1."))
            if name in ("b1", "b2") and np.shape(grads[name]) == (n, *params[name].shape):
                raise Wrong(f"case {case}: grads['{name}'] has shape {np.shape(grads[name])}, expected "
                            f"{params[name].shape}.",
                            f"{name} is shared by every sample: sum its gradient over the batch axis.")
            expect_array(grads[name], numeric[name], f"grads['{name}']", case, batch=n, tol=TOL,
                         diagnoses=hints)
    return (f"the loss and all four gradients agree with numerical gradients on {len(TWO_LAYER_SHAPES)} "
            "random networks, including N = 1 and M = 1 (every relative error below 1e-7).")


# ---- 7. a gradient check of a whole network --------------------------------------------------

def _two_layer_with_bug(params, x, t, bug=None):
    """(loss, grads) of the two-layer network, backward written out; ``bug`` plants a known mistake:
    "no_mask" (ReLU's mask forgotten: W1 and b1 wrong) or "db2_half" (b2's gradient halved)."""
    z1 = x @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0)
    y = h @ params["W2"] + params["b2"]
    dy = 2 * (y - t) / y.size
    dh = dy @ params["W2"].T
    dz1 = dh if bug == "no_mask" else dh * (z1 > 0)
    grads = {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "W2": h.T @ dy,
             "b2": dy.sum(axis=0) / (2 if bug == "db2_half" else 1)}
    return float(np.mean((y - t) ** 2)), grads


BUGS = {None: "a correct network", "no_mask": "ReLU's mask forgotten in backward",
        "db2_half": "b2's gradient halved"}


@exercise("ex02_gradient_check", LESSON, "gradient_check: check a whole network", hints=[
    "For each parameter name: the analytic gradient is grads[name] from one call of loss_and_grads; "
    "the numerical one is your numerical_gradient of the loss as a function of that parameter. "
    "Compare them with your rel_error.",
    "numerical_gradient nudges the very array it is given, in place. If that array is params[name] "
    "itself, every call of loss_and_grads(params) made during the nudging sees the nudged value. "
    "So what should the f you pass return, and does it need its argument?",
])
def check_gradient_check(gradient_check):
    """gradient_check(loss_and_grads, params, h=1e-6) -> {name: relative error}.

    loss_and_grads(params) -> (loss, grads), grads a dict with params' keys.
    """
    params, x, t = _two_layer_case(6, 4, 5, 3, seed=71)
    lines = []
    for bug, description in BUGS.items():
        fn = functools.partial(_two_layer_with_bug, x=x, t=t, bug=bug)
        numeric = _numerical_grads(lambda p: fn(p)[0], params)
        analytic = fn(params)[1]
        expected = {k: rel_error(analytic[k], numeric[k]) for k in PARAM_NAMES}
        what = f"gradient_check(loss_and_grads, params) for {description}"
        got = call(gradient_check, fn, {k: v.copy() for k, v in params.items()}, what=what)
        if not isinstance(got, dict):
            raise Wrong(f"{what} returned a {type(got).__name__}, expected a dict {{name: relative error}}.",
                        "return one relative error per parameter name, e.g. {'W1': 3e-10, 'b1': …}.")
        missing = [k for k in PARAM_NAMES if k not in got]
        if missing:
            raise Wrong(f"{what}: no relative error for {', '.join(missing)}.",
                        "loop over every name in params.")
        values = {k: got[k] for k in PARAM_NAMES}
        for k, v in values.items():
            if np.ndim(v) != 0 or not np.isfinite(float(v)):
                raise Wrong(f"{what}: the error for {k} is {fmt(v)}, expected one finite number.",
                            "use your rel_error: one number per parameter.")
        if all(abs(float(v) - 1) < 1e-6 for v in values.values()):
            raise Wrong(f"{what}: every relative error is 1 — your numerical gradients are all zero.",
                        "nudge params[name] itself, in place: loss_and_grads reads that very array.")
        for k in PARAM_NAMES:
            v, e = float(values[k]), expected[k]
            wrong_grad = e > 1e-3
            if wrong_grad and v < 1e-3:
                raise Wrong(f"{what}: you report {v:.1e} for {k}, but its analytic gradient is wrong "
                            f"(relative error {e:.2f}).",
                            "compare grads[name] with the numerical gradient of the SAME parameter, both "
                            "taken at the original params.")
            if not wrong_grad and v > 1e-6:
                raise Wrong(f"{what}: you report {v:.1e} for {k}, whose analytic gradient is right "
                            f"(expected below 1e-7).",
                            "check that f evaluates the loss at params with only params[name] nudged, "
                            "that the step is the h you were given, and that you compare grads[name] "
                            "with the numerical gradient of the same name.")
            if wrong_grad and abs(v - e) > 1e-3 * e:
                raise Wrong(f"{what}: you report {v:.3g} for {k}, expected {e:.3g}.",
                            "use your rel_error on grads[name] and the numerical gradient of params[name].")
        flagged = [k for k in PARAM_NAMES if expected[k] > 1e-3]
        lines.append(f"{description}: " + (f"{', '.join(flagged)} flagged" if flagged else "every error below 1e-7"))
    return "your gradient check reports " + "; ".join(lines) + "."
