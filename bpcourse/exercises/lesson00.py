"""Checks for 00_welcome: the warm-up."""
import numpy as np

from .core import Wrong, bound, call, exercise, expect_array
from ..gradcheck import numerical_gradient

CASES = [np.array([0.0]), np.array([-2.0, 0.5, 3.0]), np.array([[-40.0, 40.0], [1e-3, -7.5]])]


@exercise("ex00_sigmoid", "00_welcome", "sigmoid and its derivative", hints=[
    "σ(x) = 1 / (1 + e^(−x)) works on a whole numpy array at once; np.exp is elementwise.",
    "The derivative can reuse the forward value: σ'(x) = σ(x)·(1 − σ(x)). It is largest (0.25) at x = 0.",
    "For x = −40, e^(−x) is about 2e17: still fine in float64, but for x = −800 it overflows. "
    "The stable form 0.5·(1 + tanh(x/2)) never does.",
])
def check_sigmoid(sigmoid, sigmoid_grad):
    """sigmoid(x) and sigmoid_grad(x): elementwise, any shape."""
    for x in CASES:
        case = f"x = {np.array2string(x, separator=', ')}"
        expected = 0.5 * (1 + np.tanh(0.5 * x))
        expect_array(call(sigmoid, x, what="sigmoid(x)"), expected, "sigmoid(x)", case, diagnoses=[
            (lambda g, e: np.allclose(g, 1 / (1 + np.exp(x))), "the sign in the exponent: it is e^(−x)."),
            (lambda g, e: np.allclose(g, np.exp(-x)), "that is e^(−x); σ(x) is 1 / (1 + e^(−x))."),
        ])
    worst = 0.0
    for x in CASES:
        case = f"x = {np.array2string(x, separator=', ')}"
        numeric = numerical_gradient(lambda v: np.sum(0.5 * (1 + np.tanh(0.5 * v))), x.copy())
        got = call(sigmoid_grad, x, what="sigmoid_grad(x)")
        s = 0.5 * (1 + np.tanh(0.5 * x))
        worst = max(worst, expect_array(got, numeric, "sigmoid_grad(x)", case, tol=1e-6, diagnoses=[
            (lambda g, e: np.allclose(g, s), "that is σ(x) itself; the derivative is σ(x)·(1 − σ(x))."),
            (lambda g, e: np.allclose(g, x * (1 - x)), "apply the formula to σ(x), not to x: σ(x)·(1 − σ(x))."),
            (lambda g, e: np.allclose(g, s * (1 + s)), "it is 1 − σ(x), not 1 + σ(x)."),
        ]))
    if worst > 1e-6:
        raise Wrong("sigmoid_grad is off.")
    return (f"sigmoid matches 1/(1+e^-x) and sigmoid_grad matches numerical gradients "
            f"on {len(CASES)} arrays (max rel. error {bound(worst)}).")
