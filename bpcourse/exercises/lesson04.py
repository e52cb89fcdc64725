"""Checks for 04_optimizers: the momentum update, one Adam step, a learning rate that converges."""
__all__ = ["check_momentum_step", "check_adam_step", "check_pick_lr"]

import numpy as np

from .core import Wrong, call, exercise, expect_array, fmt
from ..core import Parameter
from ..optim import SGD, Adam
from ..surfaces import make_optimizer, run

LESSON = "04_optimizers"


def _pair_or_triple(out, n, what, names):
    if out is None:
        raise Wrong(f"{what} returned None.", f"end the function with `return {', '.join(names)}`.")
    if not isinstance(out, (tuple, list)) or len(out) != n:
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise Wrong(f"{what} should return {n} arrays ({', '.join(names)}), got {got}.",
                    f"return them together: `return {', '.join(names)}`.")
    return out


def _quadratic_grad(p):
    """Gradient of ½ Σ a_i p_i² with different curvatures a = (1, 4, 0.5, 2): a small test 'loss'."""
    return np.array([1.0, 4.0, 0.5, 2.0]) * p


# ---- 1. momentum ------------------------------------------------------------------------

MOMENTUM_CASES = [
    # p, grad, buf, lr, momentum
    (np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.1, 2.0]), np.zeros(3), 0.2, 0.9),
    (np.array([0.4, 1.5, -0.7]), np.array([-1.2, 0.6, 0.25]), np.array([0.5, -0.3, 1.1]), 0.05, 0.9),
    (np.array([[2.0, -1.0], [0.0, 3.0]]), np.array([[0.5, 0.5], [-2.0, 1.0]]),
     np.array([[1.0, 0.2], [-0.4, 0.0]]), 0.2, 0.5),
]


@exercise("ex04_momentum", LESSON, "the momentum update", hints=[
    "Momentum keeps a running sum of past gradients, the buffer b (a 'velocity'), and steps along b "
    "instead of along the current gradient alone.",
    "PyTorch's convention: first b ← μ·b + g (no learning rate inside, no (1 − μ) factor), then "
    "p ← p − lr·b with the NEW b. Return both, the new p and the new b.",
])
def check_momentum_step(momentum_step):
    """momentum_step(p, grad, buf, lr, momentum) -> (new_p, new_buf)."""
    for p, g, b, lr, mu in MOMENTUM_CASES:
        case = f"p = {fmt(p)}, grad = {fmt(g)}, buf = {fmt(b)}, lr = {lr}, momentum = {mu}"
        what = "momentum_step(p, grad, buf, lr, momentum)"
        new_p, new_b = _pair_or_triple(call(momentum_step, p, g, b, lr, mu, what=what), 2, what,
                                       ["p", "buf"])
        want_b = mu * b + g
        expect_array(new_b, want_b, "the new buffer", case, diagnoses=[
            (lambda got, e: np.allclose(got, mu * b + lr * g),
             "the learning rate does not go into the buffer in PyTorch's convention: b ← μ·b + g."),
            (lambda got, e: np.allclose(got, mu * b - lr * g),
             "that is the 'velocity' convention v ← μ·v − lr·g; here use PyTorch's: b ← μ·b + g, then p ← p − lr·b."),
            (lambda got, e: np.allclose(got, mu * b + (1 - mu) * g),
             "no (1 − μ) factor: that makes the buffer an average (dampening); torch's default adds the whole g."),
            (lambda got, e: np.allclose(got, b + g), "multiply the old buffer by the momentum μ before adding g."),
            (lambda got, e: np.allclose(got, b), "the buffer has not changed: add the new gradient, b ← μ·b + g."),
            (lambda got, e: np.allclose(got, g), "the old buffer is lost: b ← μ·b + g keeps μ·b from before."),
        ])
        expect_array(new_p, p - lr * want_b, "the new p", case, diagnoses=[
            (lambda got, e: np.allclose(got, p - lr * g),
             "this is a plain gradient step: step along the buffer, p ← p − lr·b."),
            (lambda got, e: np.allclose(got, p - lr * b),
             "you stepped with the OLD buffer: update b first, then p ← p − lr·b with the new b."),
            (lambda got, e: np.allclose(got, p + lr * want_b), "the sign: move against the gradient, p − lr·b."),
            (lambda got, e: np.allclose(got, p - want_b), "multiply the buffer by the learning rate: p − lr·b."),
        ])
    # the same update repeated is bp.SGD(momentum=...) on a small quadratic
    p, buf, param = np.array([1.0, -1.0, 2.0, 0.5]), np.zeros(4), Parameter(np.array([1.0, -1.0, 2.0, 0.5]))
    opt = SGD([param], lr=0.1, momentum=0.9)
    for step in range(1, 6):
        p, buf = call(momentum_step, p, _quadratic_grad(p), buf, 0.1, 0.9, what="momentum_step")
        param.grad[...] = _quadratic_grad(param.data)
        opt.step()
        expect_array(p, param.data, f"p after {step} repeated steps", "bp.SGD(lr=0.1, momentum=0.9) on a quadratic")
    return (f"new p and buffer match b ← μ·b + g, p ← p − lr·b on {len(MOMENTUM_CASES)} cases, and 5 repeated "
            f"steps follow bp.SGD(momentum=0.9) exactly.")


# ---- 2. one Adam step ---------------------------------------------------------------------

ADAM_CASES = [
    # p, grad, m, v, t, lr, beta1, beta2, eps
    (np.array([0.5, -1.0, 2.0]), np.array([0.2, -3.0, 0.01]), np.zeros(3), np.zeros(3), 1, 0.1, 0.9, 0.999, 1e-8),
    (np.array([1.0, 0.3, -0.2]), np.array([-0.5, 0.4, 1.5]), np.array([0.1, -0.2, 0.3]),
     np.array([0.02, 0.05, 0.1]), 3, 0.01, 0.9, 0.999, 1e-8),
    (np.array([[0.2, -0.4], [1.0, 0.0]]), np.array([[1.0, 0.5], [0.0, -2.0]]),
     np.array([[0.3, 0.1], [0.0, -0.5]]), np.array([[0.5, 0.1], [0.01, 1.0]]), 50, 0.05, 0.8, 0.99, 1e-3),
]


def _adam(p, g, m, v, t, lr, b1, b2, eps, correct_m=True, correct_v=True, t_used=None, eps_inside=False):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    tt = t if t_used is None else t_used
    m_hat = m / (1 - b1 ** tt) if correct_m else m
    v_hat = v / (1 - b2 ** tt) if correct_v else v
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    return p - lr * m_hat / denom, m, v


@exercise("ex04_adam_step", LESSON, "one Adam step with bias correction", hints=[
    "Adam keeps two running averages: m of the gradient and v of the squared gradient. Both start at 0, "
    "so early on they are too small — bias correction divides by 1 − β^t to undo that.",
    "m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  m̂ = m/(1−β₁ᵗ);  v̂ = v/(1−β₂ᵗ);  "
    "p ← p − lr·m̂/(√v̂ + ε). t is the number of THIS step (1 for the first). Return the new p, m and v "
    "(the uncorrected ones: m̂ and v̂ are recomputed at every step).",
])
def check_adam_step(adam_step):
    """adam_step(p, grad, m, v, t, lr, beta1, beta2, eps) -> (new_p, new_m, new_v)."""
    for p, g, m, v, t, lr, b1, b2, eps in ADAM_CASES:
        case = f"t = {t}, lr = {lr}, betas = ({b1}, {b2}), eps = {eps}, p = {fmt(p)}, grad = {fmt(g)}"
        what = "adam_step(p, grad, m, v, t, lr, beta1, beta2, eps)"
        out = call(adam_step, p, g, m, v, t, lr, b1, b2, eps, what=what)
        new_p, new_m, new_v = _pair_or_triple(out, 3, what, ["p", "m", "v"])
        want_p, want_m, want_v = _adam(p, g, m, v, t, lr, b1, b2, eps)
        expect_array(new_m, want_m, "the new m", case, diagnoses=[
            (lambda got, e: np.allclose(got, (1 - b1) * m + b1 * g), "β₁ and 1 − β₁ are swapped: m ← β₁·m + (1 − β₁)·g."),
            (lambda got, e: np.allclose(got, want_m / (1 - b1 ** t)),
             "return the raw average m, not the corrected m̂ (m̂ is recomputed from m at every step)."),
        ])
        expect_array(new_v, want_v, "the new v", case, diagnoses=[
            (lambda got, e: np.allclose(got, b2 * v + (1 - b2) * g), "v averages the SQUARED gradient: (1 − β₂)·g²."),
            (lambda got, e: np.allclose(got, (1 - b2) * v + b2 * g * g), "β₂ and 1 − β₂ are swapped: v ← β₂·v + (1 − β₂)·g²."),
            (lambda got, e: np.allclose(got, want_v / (1 - b2 ** t)),
             "return the raw average v, not the corrected v̂."),
        ])
        if t == 1 and new_p is not None and not np.all(np.isfinite(np.asarray(new_p, dtype=float))):
            raise Wrong(f"case {case}: the new p contains NaN or inf.",
                        "at t = 1 the correction is 1 − β¹ = 1 − β; with t − 1 you would divide by 1 − β⁰ = 0.")
        expect_array(new_p, want_p, "the new p", case, diagnoses=[
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, False, False)[0]),
             "no bias correction: divide m by 1 − β₁ᵗ and v by 1 − β₂ᵗ before the step."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, True, False)[0]),
             "v needs its bias correction too: v̂ = v / (1 − β₂ᵗ)."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, False, True)[0]),
             "m needs its bias correction too: m̂ = m / (1 − β₁ᵗ)."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, t_used=t + 1)[0]),
             "t is already the number of this step (1 for the first): use β^t, not β^(t+1)."),
            (lambda got, e: t > 1 and np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, t_used=t - 1)[0]),
             "t is already the number of this step (1 for the first): use β^t, not β^(t−1)."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, eps_inside=True)[0]),
             "ε goes outside the square root: √v̂ + ε (as PyTorch does)."),
            (lambda got, e: np.allclose(got, p - lr * g),
             "that is a plain gradient step: Adam steps along m̂ / (√v̂ + ε)."),
            (lambda got, e: np.allclose(got, 2 * p - want_p), "the sign: p ← p − lr·m̂/(√v̂ + ε)."),
        ])
    # repeated steps from zero state follow bp.Adam
    p, m, v = np.array([1.0, -1.0, 2.0, 0.5]), np.zeros(4), np.zeros(4)
    param = Parameter(p.copy())
    opt = Adam([param], lr=0.1)
    for t in range(1, 6):
        p, m, v = call(adam_step, p, _quadratic_grad(p), m, v, t, 0.1, 0.9, 0.999, 1e-8, what="adam_step")
        param.grad[...] = _quadratic_grad(param.data)
        opt.step()
        expect_array(p, param.data, f"p after {t} repeated steps", "bp.Adam(lr=0.1) on a quadratic")
    return (f"p, m and v match Adam's update with bias correction on {len(ADAM_CASES)} cases (t = 1, 3, 50), "
            f"and 5 repeated steps follow bp.Adam exactly.")


# ---- 3. a learning rate that converges ----------------------------------------------------

PICK_SURFACE, PICK_STEPS, PICK_TOL = "bowl", 25, 1e-3


def converges(lr, steps=PICK_STEPS, tol=PICK_TOL):
    """Plain GD on the elongated bowl from its default start: (success, trajectory)."""
    path = run(PICK_SURFACE, make_optimizer("GD", lr), steps)
    return (not path.diverged and path.final_value < tol), path


@exercise("ex04_pick_lr", LESSON, "a learning rate that converges in 25 steps", hints=[
    "On f = ½(x² + 10y²) one GD step multiplies x by (1 − lr) and y by (1 − 10·lr). Both factors "
    "must be smaller than 1 in size, and small enough that 25 steps shrink f below 10⁻³.",
    "|1 − 10·lr| < 1 needs lr < 0.2 (beyond it the steep y direction diverges); a tiny lr leaves x "
    "almost where it started. The best lr makes both factors equally small: 1 − lr = 10·lr − 1.",
])
def check_pick_lr(choose_lr):
    """choose_lr() -> a learning rate (a number) for plain GD on the bowl, 25 steps, f < 1e-3."""
    lr = call(choose_lr, what="choose_lr()")
    if lr is None:
        raise Wrong("choose_lr() returned None.", "return your learning rate, e.g. `return 0.05`.")
    if np.ndim(lr) != 0 or not np.isfinite(float(lr)) or float(lr) <= 0:
        raise Wrong(f"choose_lr() should return one positive number, got {lr!r}.",
                    "a learning rate is a single number > 0, e.g. 0.05.")
    lr = float(lr)
    ok, path = converges(lr)
    if path.diverged or (len(path.values) > 1 and path.values[-1] > path.values[0]):
        raise Wrong(f"with lr = {lr:g}, GD diverges: f grows from {path.values[0]:.3g} "
                    f"{'to infinity' if path.diverged else f'to {path.values[-1]:.3g}'} in the steep y direction "
                    f"(each step multiplies y by 1 − 10·lr = {1 - 10 * lr:.3g}).",
                    "the step is too large for the steep direction: |1 − 10·lr| must be < 1, so lr < 0.2.")
    if not ok:
        zig = abs(1 - 10 * lr) > abs(1 - lr)
        raise Wrong(f"with lr = {lr:g}, f is still {path.final_value:.3g} after {PICK_STEPS} steps "
                    f"(target < {PICK_TOL:g}): per step x shrinks by {abs(1 - lr):.3g} and y by {abs(1 - 10 * lr):.3g}.",
                    "y zigzags and shrinks too slowly: lr is a bit too large." if zig else
                    "x (the flat direction) shrinks too slowly: lr is too small, take a larger one (but < 0.2).")
    return (f"lr = {lr:g} takes GD from f = {path.values[0]:.3g} to {path.final_value:.2e} in {PICK_STEPS} steps "
            f"on ½(x² + 10y²) (x shrinks by {abs(1 - lr):.3g}, y by {abs(1 - 10 * lr):.3g} per step).")
