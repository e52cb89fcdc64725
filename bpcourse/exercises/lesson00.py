"""Checks for 00_welcome: the warm-ups (the sigmoid and its derivative, a gradient-descent loop)."""
__all__ = ["check_sigmoid", "check_gradient_descent"]

import functools

import numpy as np

from .core import Wrong, bound, call, case_rng, exercise, expect_array, fmt
from ..gradcheck import numerical_gradient

LESSON = "00_welcome"


# ---- 1. the sigmoid and its derivative -----------------------------------------------------

def _sigmoid_cases():
    """Three fixed arrays (0, both signs, far into both tails) and one random array."""
    return [np.array([0.0]), np.array([-2.0, 0.5, 3.0]), np.array([[-40.0, 40.0], [1e-3, -7.5]]),
            case_rng(0).uniform(-8, 8, size=(2, 4))]


@exercise("ex00_sigmoid", LESSON, "sigmoid and its derivative", hints=[
    "σ(x) = 1 / (1 + e^(−x)) works on a whole numpy array at once; np.exp is elementwise. "
    "For the derivative, see σ as 1/u with u = 1 + e^(−x) and apply the chain rule: d(1/u)/du = −1/u².",
    "The chain rule gives e^(−x) / (1 + e^(−x))². One factor of that is σ(x) itself; write the "
    "other factor, e^(−x) / (1 + e^(−x)), with σ(x) too (add and subtract 1 in the numerator). "
    "At x = 0 the slope must come out as 0.25.",
    "For x = −40, e^(−x) is about 2e17: still fine in float64, but for x = −800 it overflows. "
    "The stable form 0.5·(1 + tanh(x/2)) never does.",
])
def check_sigmoid(sigmoid, sigmoid_grad):
    """sigmoid(x) and sigmoid_grad(x): elementwise, any shape."""
    cases = _sigmoid_cases()
    for x in cases:
        case = f"x = {fmt(x)}"
        expected = 0.5 * (1 + np.tanh(0.5 * x))
        expect_array(call(sigmoid, x, what="sigmoid(x)"), expected, "sigmoid(x)", case, diagnoses=[
            (lambda g, e: np.allclose(g, 1 / (1 + np.exp(x))), "the sign in the exponent: it is e^(−x)."),
            (lambda g, e: np.allclose(g, np.exp(-x)), "that is e^(−x); σ(x) is 1 / (1 + e^(−x))."),
        ])
    worst = 0.0
    for x in cases:
        case = f"x = {fmt(x)}"
        numeric = numerical_gradient(lambda v: np.sum(0.5 * (1 + np.tanh(0.5 * v))), x.copy())
        got = call(sigmoid_grad, x, what="sigmoid_grad(x)")
        s = 0.5 * (1 + np.tanh(0.5 * x))
        worst = max(worst, expect_array(got, numeric, "sigmoid_grad(x)", case, tol=1e-6, diagnoses=[
            (lambda g, e: np.allclose(g, s), "that is σ(x) itself; the derivative is smaller: at x = 0 it is 0.25."),
            (lambda g, e: np.allclose(g, x * (1 - x)), "apply the formula to σ(x), not to x."),
            (lambda g, e: np.allclose(g, s * (1 + s)), "it is 1 − σ(x), not 1 + σ(x)."),
            (lambda g, e: np.allclose(g, np.exp(-x) / (1 + np.exp(-x))),
             "the chain rule gives e^(−x) / (1 + e^(−x))²: the denominator is squared."),
        ]))
    return (f"sigmoid matches 1/(1+e^-x) and sigmoid_grad matches numerical gradients "
            f"on {len(cases)} arrays (max rel. error {bound(worst)}).")


# ---- 2. gradient descent -------------------------------------------------------------------

def _bowl_grad(a, c, x):
    """The gradient a·(x − c) of the bowl f(x) = ½ Σ a_i (x_i − c_i)²."""
    return a * (np.asarray(x, dtype=float) - c)


def _bowl_path(a, c, x0, lr, steps, sign=-1.0):
    """x_k = c + (1 + sign·lr·a)^k (x0 − c), k = 0..steps: descent (sign −1) or ascent (+1), in
    closed form (independent of the loop that the exercise asks for)."""
    return [c + (1 + sign * lr * a) ** k * (x0 - c) for k in range(steps + 1)]


def _descent_cases():
    """(a, c, x0, lr, steps, what): a 1-D bowl, a random 3-D bowl, and a step size too large."""
    rng = case_rng(1)
    return [
        (np.array([2.0]), np.array([3.0]), np.array([0.0]), 0.1, 5, "1-D bowl, lr = 0.1"),
        (rng.uniform(0.5, 2.0, 3), rng.normal(size=3), rng.normal(size=3), 0.3, 8, "random 3-D bowl, lr = 0.3"),
        (np.array([1.0, 0.2]), np.array([0.0, 1.0]), np.array([1.0, -1.0]), 2.5, 4,
         "2-D bowl, lr = 2.5 (too large: descent diverges)"),
    ]


@exercise("ex00_gradient_descent", LESSON, "gradient descent", hints=[
    "Start a list with x0. Then, steps times, take the last point x, compute the gradient there, "
    "and append the next point: a small step of size lr in the direction that lowers f.",
    "The gradient points uphill, so the step goes against it: subtract lr times the gradient. "
    "Build a new array for each point (x = x − …), rather than changing x in place (x −= …), "
    "or every entry of your list is the same array.",
])
def check_gradient_descent(gradient_descent):
    """gradient_descent(grad, x0, lr, steps) -> [x0, x1, ..., x_steps]."""
    worst = 0.0
    for a, c, x0, lr, steps, what in _descent_cases():
        grad = functools.partial(_bowl_grad, a, c)
        got = call(gradient_descent, grad, x0, lr, steps, what=f"gradient_descent(grad, x0, {lr}, {steps})")
        expected = _bowl_path(a, c, x0, lr, steps)
        case = f"{what}, x0 = {fmt(x0)}, {steps} steps"
        if got is None:
            raise Wrong(f"case {case}: gradient_descent returned None.",
                        "return the list of points: return xs")
        if isinstance(got, np.ndarray) and got.shape == x0.shape:
            raise Wrong(f"case {case}: gradient_descent returned one point, {fmt(got)}, "
                        f"expected the list of the {steps + 1} points visited.",
                        "collect every point in a list, starting with x0, and return the list.")
        try:
            got = [np.asarray(x, dtype=float).reshape(x0.shape) for x in got]
        except (TypeError, ValueError):
            raise Wrong(f"case {case}: gradient_descent should return a list of {steps + 1} arrays "
                        f"of shape {x0.shape}.") from None
        if len(got) != steps + 1:
            hint = ("include the starting point x0 first." if len(got) == steps and
                    np.allclose(got[0], expected[1]) else
                    f"{steps} steps visit {steps + 1} points: x0, then one new point per step.")
            raise Wrong(f"case {case}: your list holds {len(got)} points, expected {steps + 1}.", hint)
        if steps > 1 and all(np.array_equal(x, got[-1]) for x in got) and not np.allclose(got[-1], x0):
            raise Wrong(f"case {case}: every point in your list is the same, {fmt(got[-1])}.",
                        "you change one array in place (x -= …) and append it each time: "
                        "build a new array for each point (x = x - …).")
        ascent = _bowl_path(a, c, x0, lr, steps, sign=+1.0)
        for k in range(steps + 1):
            worst = max(worst, expect_array(got[k], expected[k], f"point x_{k}", case, tol=1e-9, diagnoses=[
                (lambda g, e: np.allclose(g, ascent[k]),
                 "your points climb: the gradient points uphill, so step against it (minus lr times it)."),
                (lambda g, e: k >= 1 and np.allclose(g, got[k - 1] - _bowl_grad(a, c, got[k - 1])),
                 "the step ignores lr: multiply the gradient by the step size."),
                (lambda g, e: k >= 1 and np.allclose(g, expected[k - 1]),
                 "your list lags one step behind: is x0 in it twice, or is a step missing?"),
            ]))
    return (f"gradient_descent follows x ← x − lr·∇f(x) on {len(_descent_cases())} bowls, including one "
            f"where the step is too large and descent diverges (max rel. error {bound(worst)}).")
