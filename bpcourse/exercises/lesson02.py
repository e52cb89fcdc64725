"""Checks for 02_forward_backward: a Linear layer's forward and backward, ReLU's and sigmoid's backward."""
__all__ = ["check_linear_forward", "check_linear_backward", "check_relu_backward", "check_sigmoid_backward"]

import numpy as np

from .core import Wrong, bound, call, exercise, expect_array
from ..gradcheck import numerical_gradient
from ..layers import sigmoid

LESSON = "02_forward_backward"


def _linear_case(n, d, m, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)


LINEAR_SHAPES = [(1, 2, 3), (4, 3, 2), (5, 4, 4)]   # (N, D, M); the last has a square W


def _result(got, n, what):
    """The student's tuple of ``n`` results, or Wrong saying what came back instead."""
    if got is None:
        raise Wrong(f"{what} returned None.", "add a `return` statement that gives the result.")
    if not isinstance(got, (tuple, list)) or len(got) != n:
        kind = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise Wrong(f"{what} returned {kind}, expected a tuple of {n} arrays (dx, dW, db).",
                    "return all three, in this order: return dx, dW, db")
    return got


@exercise("ex02_linear_forward", LESSON, "linear_forward", hints=[
    "Every sample (row of x) is multiplied by the same W and shifted by the same b: y = x @ W + b.",
    "x: (N, D) @ W: (D, M) gives (N, M); adding b of shape (M,) broadcasts it to every row. "
    "Use @ (matrix product), not * (elementwise).",
])
def check_linear_forward(linear_forward):
    """linear_forward(x, W, b) -> y = x @ W + b, shape (N, M)."""
    for n, d, m in LINEAR_SHAPES:
        x, w, b = _linear_case(n, d, m, seed=n)
        case = f"x: {x.shape}, W: {w.shape}, b: {b.shape}"
        got = call(linear_forward, x, w, b, what="linear_forward(x, W, b)")
        expect_array(got, x @ w + b, "y", case, diagnoses=[
            (lambda g, e: np.allclose(g, x @ w), "the bias is missing: add b (it broadcasts over the rows)."),
            (lambda g, e: np.allclose(g, x @ w.T + b), "W is stored as (in, out) = (D, M): use x @ W, not x @ W.T."),
            (lambda g, e: np.allclose(g, x @ w - b), "add the bias, do not subtract it."),
        ])
    return f"linear_forward gives x @ W + b for {len(LINEAR_SHAPES)} shapes, including N = 1."


@exercise("ex02_linear_backward", LESSON, "linear_backward", hints=[
    "Each gradient has the shape of what it is the gradient of: dx like x (N, D), dW like W (D, M), "
    "db like b (M,). Write the shapes down and the products follow.",
    "dx = dout @ W.T ((N, M) @ (M, D)); dW = x.T @ dout ((D, N) @ (N, M): a sum over the samples); "
    "db = dout.sum(axis=0) (b is added to every sample, so their gradients add up).",
])
def check_linear_backward(linear_backward):
    """linear_backward(dout, x, W) -> (dx, dW, db), checked against numerical gradients."""
    worst = 0.0
    for n, d, m in LINEAR_SHAPES:
        x, w, b = _linear_case(n, d, m, seed=n)
        dout = np.random.default_rng(10 + n).standard_normal((n, m))
        case = f"x: {x.shape}, W: {w.shape}, dout: {dout.shape}"

        def loss(x_, w_, b_):
            return np.sum((x_ @ w_ + b_) * dout)

        num_dx = numerical_gradient(lambda v: loss(v, w, b), x.copy())
        num_dw = numerical_gradient(lambda v: loss(x, v, b), w.copy())
        num_db = numerical_gradient(lambda v: loss(x, w, v), b.copy())
        dx, dw, db = _result(call(linear_backward, dout, x, w, what="linear_backward(dout, x, W)"),
                             3, "linear_backward(dout, x, W)")
        worst = max(worst, expect_array(dx, num_dx, "dx", case, diagnoses=[
            (lambda g, e: np.allclose(g, dout @ w), "dx = dout @ W.T: W maps D to M, so going back needs its transpose."),
        ]))
        worst = max(worst, expect_array(dw, num_dw, "dW", case, batch=n, diagnoses=[
            (lambda g, e: np.allclose(g, x.T @ dout / n),
             "do not divide by N here: dout already holds dL/dy, and dW = x.T @ dout sums the samples' contributions."),
        ]))
        if np.shape(db) == dout.shape:               # also at N = 1, where (1, M) looks like a reshape
            raise Wrong(f"case {case}: db has shape {np.shape(db)}, expected {b.shape}.",
                        "one db per sample: b is shared by every sample, so sum over the batch axis: "
                        "dout.sum(axis=0).")
        worst = max(worst, expect_array(db, num_db, "db", case, batch=n, diagnoses=[
            (lambda g, e: np.allclose(g, dout.mean(axis=0)),
             "b is added to every sample, so its gradient is the SUM of dout over the batch, not the mean."),
        ]))
    return (f"dx, dW, db agree with numerical gradients on {len(LINEAR_SHAPES)} cases "
            f"(max rel. error {bound(worst)}).")


ACT_SHAPES = [(3, 4), (2, 5), (6,)]


def _act_case(shape, seed):
    """x away from 0 (|x| ≥ 0.1), so ReLU's kink never sits inside a finite difference, and dout."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    x = np.where(np.abs(x) < 0.1, 0.1 + np.abs(x), x)
    return x, rng.standard_normal(shape)


@exercise("ex02_relu_backward", LESSON, "relu_backward", hints=[
    "ReLU passes the gradient through unchanged where it let the input through (x > 0) and blocks it (0) elsewhere.",
    "dx = dout * (x > 0): the boolean mask becomes 1.0 / 0.0 when multiplied. Keep the shape of x.",
])
def check_relu_backward(relu_backward):
    """relu_backward(dout, x) -> dx, the same shape as x."""
    worst = 0.0
    for i, shape in enumerate(ACT_SHAPES):
        x, dout = _act_case(shape, seed=20 + i)
        numeric = numerical_gradient(lambda v: np.sum(np.maximum(v, 0) * dout), x.copy())
        got = call(relu_backward, dout, x, what="relu_backward(dout, x)")
        worst = max(worst, expect_array(got, numeric, "dx", f"x: {shape}", diagnoses=[
            (lambda g, e: np.allclose(g, dout),
             "dx is wrong only where x < 0: the gradient must be blocked there — multiply dout by the mask (x > 0)."),
            (lambda g, e: np.allclose(g, x > 0),
             "that is the local derivative alone: multiply it by dout, the gradient arriving from above."),
            (lambda g, e: np.allclose(g, dout * np.maximum(x, 0)),
             "the local derivative of ReLU is 1 or 0 (the mask x > 0), not ReLU(x) itself."),
            (lambda g, e: np.allclose(g, dout * (x < 0)),
             "the mask is reversed: the gradient passes where x > 0."),
            (lambda g, e: np.allclose(g, np.maximum(dout, 0)),
             "the mask depends on the input x, not on dout: dout * (x > 0)."),
        ]))
    return (f"relu_backward agrees with numerical gradients on {len(ACT_SHAPES)} arrays "
            f"(max rel. error {bound(worst)}).")


@exercise("ex02_sigmoid_backward", LESSON, "sigmoid_backward", hints=[
    "The local derivative of σ can be written with σ's own output y: σ'(x) = y·(1 − y). "
    "Backward multiplies it by the arriving gradient dout.",
    "y is the forward OUTPUT σ(x), so do not apply σ again: dx = dout * y * (1 - y).",
])
def check_sigmoid_backward(sigmoid_backward):
    """sigmoid_backward(dout, y) -> dx, where y = σ(x) is the output saved by forward."""
    worst = 0.0
    for i, shape in enumerate(ACT_SHAPES):
        x, dout = _act_case(shape, seed=30 + i)
        y = sigmoid(x)
        numeric = numerical_gradient(lambda v: np.sum(sigmoid(v) * dout), x.copy())
        got = call(sigmoid_backward, dout, y, what="sigmoid_backward(dout, y)")
        sy = sigmoid(y)
        worst = max(worst, expect_array(got, numeric, "dx", f"x: {shape}", diagnoses=[
            (lambda g, e: np.allclose(g, dout * sy * (1 - sy)),
             "y is already σ(x): use y * (1 - y), without applying σ to it again."),
            (lambda g, e: np.allclose(g, y * (1 - y)),
             "that is the local derivative alone: multiply it by dout."),
            (lambda g, e: np.allclose(g, dout * y * (1 + y)), "it is 1 − y, not 1 + y."),
            (lambda g, e: np.allclose(g, dout * y), "σ'(x) = y·(1 − y): the factor (1 − y) is missing."),
        ]))
    return (f"sigmoid_backward agrees with numerical gradients on {len(ACT_SHAPES)} arrays "
            f"(max rel. error {bound(worst)}).")
