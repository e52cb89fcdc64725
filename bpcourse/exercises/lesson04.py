"""Checks for 04_optimizers, in the lesson's order of difficulty: the momentum update, a learning rate
for an elongated bowl, one RMSprop step, the gradient of Himmelblau's function, one Adam step.

Random cases come from ``case_rng``. Updates are checked against their formulas case by case and,
repeated, against the package's own optimizers; the gradient against centred differences; the
learning rate by what it does to gradient descent, in closed form.
"""
__all__ = ["check_momentum_step", "check_pick_lr", "check_rmsprop_step", "check_himmelblau_grad",
           "check_adam_step"]

import numpy as np

from .core import Wrong, bound, call, case_rng, exercise, expect_array, fmt
from ..core import Parameter
from ..gradcheck import numerical_gradient
from ..optim import SGD, Adam, RMSprop

LESSON = "04_optimizers"


def _unpack(out, n, what, names):
    """The student's returned tuple of ``n`` results, or a Wrong that says what to return."""
    if out is None:
        raise Wrong(f"{what} returned None.", f"end the function with `return {', '.join(names)}`.")
    if not isinstance(out, (tuple, list)) or len(out) != n:
        got = f"a {type(out).__name__}" + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
        raise Wrong(f"{what} should return {n} arrays ({', '.join(names)}), got {got}.",
                    f"return them together: `return {', '.join(names)}`.")
    return out


def _curvatures(rng):
    """Curvatures of a small test 'loss' ½ Σ a_i p_i², different per coordinate."""
    return rng.uniform(0.5, 4.0, size=4)


def _repeated(step_fn, what, names, make_opt, extra, state, rng, steps=5):
    """Run the student's ``step_fn`` ``steps`` times on ½ Σ a_i p_i² beside the package's optimizer,
    from the same random start. ``names``: what step_fn returns (p first, then the state);
    ``state``: the initial state arrays; ``extra(t)``: the arguments after the state at step t.
    Raises Wrong at the first step where the two differ."""
    a = _curvatures(rng)
    p = rng.uniform(-2, 2, size=4)
    param = Parameter(p.copy())
    opt = make_opt([param])
    for t in range(1, steps + 1):
        out = _unpack(call(step_fn, p, a * p, *state, *extra(t), what=what), len(names), what, names)
        p, state = np.asarray(out[0], dtype=float), [np.asarray(s, dtype=float) for s in out[1:]]
        param.grad[...] = a * param.data
        opt.step()
        expect_array(p, param.data, f"p after {t} repeated steps",
                     f"{type(opt).__name__} on ½ Σ a·p² with a = {fmt(a, 3)}")


# ---- 1. momentum ------------------------------------------------------------------------

def _momentum_cases():
    rng = case_rng(400)
    return [
        # p, grad, buf, lr, momentum
        (np.array([1.0, -2.0, 0.5]), np.array([0.3, -0.1, 2.0]), np.array([0.5, -0.3, 1.1]), 0.2, 0.9),
        (rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4),
         round(float(rng.uniform(0.01, 0.3)), 3), round(float(rng.uniform(0.5, 0.95)), 2)),
        (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3)),
         round(float(rng.uniform(0.01, 0.3)), 3), round(float(rng.uniform(0.5, 0.95)), 2)),
    ]


@exercise("ex04_momentum", LESSON, "the momentum update", hints=[
    "Momentum keeps a running sum of past gradients, the buffer b (a 'velocity'), and steps along b "
    "instead of along the current gradient alone.",
    "Two lines, in this order: fold the new gradient into the buffer, then step with the buffer you "
    "have just updated. In PyTorch's convention (section 4) the learning rate appears only in the "
    "second line. Return both results.",
])
def check_momentum_step(momentum_step):
    """momentum_step(p, grad, buf, lr, momentum) -> (new_p, new_buf)."""
    what = "momentum_step(p, grad, buf, lr, momentum)"
    cases = _momentum_cases()
    for p, g, b, lr, mu in cases:
        case = f"p = {fmt(p)}, grad = {fmt(g)}, buf = {fmt(b)}, lr = {lr}, momentum = {mu}"
        new_p, new_b = _unpack(call(momentum_step, p, g, b, lr, mu, what=what), 2, what, ["p", "buf"])
        want_b = mu * b + g
        expect_array(new_b, want_b, "the new buffer", case, diagnoses=[
            (lambda got, e: np.allclose(got, mu * b + lr * g),
             "the learning rate does not go into the buffer in PyTorch's convention."),
            (lambda got, e: np.allclose(got, mu * b - lr * g),
             "that is the 'velocity' convention v ← μ·v − lr·g; here use PyTorch's (section 4)."),
            (lambda got, e: np.allclose(got, mu * b + (1 - mu) * g),
             "no (1 − μ) factor: that makes the buffer an average (dampening); torch's default adds the whole g."),
            (lambda got, e: np.allclose(got, b + g), "multiply the old buffer by the momentum μ before adding g."),
            (lambda got, e: np.allclose(got, b), "the buffer has not changed: fold the new gradient into it."),
            (lambda got, e: np.allclose(got, g), "the old buffer is lost: the new buffer keeps μ·b from before."),
        ])
        expect_array(new_p, p - lr * want_b, "the new p", case, diagnoses=[
            (lambda got, e: np.allclose(got, p - lr * g),
             "this is a plain gradient step: step along the buffer, not along the gradient."),
            (lambda got, e: np.allclose(got, p - lr * b),
             "you stepped with the OLD buffer: update the buffer first, then step with the new one."),
            (lambda got, e: np.allclose(got, p + lr * want_b), "the sign: move against the gradient."),
            (lambda got, e: np.allclose(got, p - want_b), "multiply the buffer by the learning rate."),
        ])
    rng = case_rng(401)
    lr, mu = round(float(rng.uniform(0.05, 0.2)), 3), round(float(rng.uniform(0.8, 0.95)), 2)
    _repeated(momentum_step, what, ["p", "buf"], lambda ps: SGD(ps, lr=lr, momentum=mu), lambda t: (lr, mu),
              [np.zeros(4)], rng)
    return (f"new p and buffer match b ← μ·b + g, p ← p − lr·b on {len(cases)} cases, and 5 repeated "
            f"steps follow bp.SGD(lr={lr}, momentum={mu}) exactly.")


# ---- 2. a learning rate that converges on an elongated bowl -------------------------------

PICK_START, PICK_STEPS, PICK_TOL = (-1.8, 0.8), 25, 1e-3


def bowl_after(a, b, lr, steps=PICK_STEPS, start=PICK_START):
    """f = ½(a·x² + b·y²) after ``steps`` GD steps: each step multiplies x by 1 − a·lr, y by 1 − b·lr."""
    x, y = start[0] * (1 - a * lr) ** steps, start[1] * (1 - b * lr) ** steps
    return 0.5 * (a * x * x + b * y * y)


def _pick_cases():
    rng = case_rng(410)
    cases = [(1.0, 10.0)]                        # the lesson's bowl
    for _ in range(2):
        a = round(float(rng.uniform(0.5, 2.0)), 2)
        cases.append((a, round(a * float(rng.uniform(3.0, 10.0)), 2)))
    return cases


@exercise("ex04_pick_lr", LESSON, "a learning rate for an elongated bowl", hints=[
    "On f = ½(a·x² + b·y²) one GD step multiplies x by (1 − a·lr) and y by (1 − b·lr). f shrinks only if "
    "both factors are smaller than 1 in size, and after 25 steps the larger of the two (in size) decides.",
    "Sketch |1 − a·lr| and |1 − b·lr| against lr: the first falls slowly as lr grows; the second falls "
    "fast, reaches 0 at lr = 1/b and rises again. Which lr keeps the larger of the two as small as it can be?",
])
def check_pick_lr(choose_lr):
    """choose_lr(a, b) -> a learning rate for plain GD on ½(a·x² + b·y²), 0.5 <= a <= 2, a < b <= 10·a:
    f < 1e-3 after 25 steps."""
    cases, chosen = _pick_cases(), []
    for a, b in cases:
        what = f"choose_lr({a}, {b})"
        lr = call(choose_lr, a, b, what=what)
        if lr is None:
            raise Wrong(f"{what} returned None.", "return your learning rate, a number such as 0.05.")
        if np.ndim(lr) != 0 or not isinstance(lr, (int, float, np.integer, np.floating)) or isinstance(lr, bool) \
                or not np.isfinite(float(lr)) or float(lr) <= 0:
            raise Wrong(f"{what} should return one positive number, got {lr!r}.",
                        "a learning rate is a single number > 0, computed from a and b.")
        lr = float(lr)
        chosen.append(lr)
        fx, fy = abs(1 - a * lr), abs(1 - b * lr)
        start, end = bowl_after(a, b, lr, 0), bowl_after(a, b, lr)
        where = (f"with a = {a}, b = {b} and lr = {lr:.4g}, one step multiplies x by {1 - a * lr:+.3g} and "
                 f"y by {1 - b * lr:+.3g}")
        if abs(fy - 1) < 1e-9:
            raise Wrong(f"{where}: y flips sign at every step without shrinking (f = {end:.3g}).",
                        "at this lr the steep direction neither grows nor shrinks: take a smaller one.")
        if max(fx, fy) > 1:
            raise Wrong(f"{where}: GD diverges (f grows from {start:.3g} to {end:.3g} in {PICK_STEPS} steps).",
                        "the step is too large for the steep direction: |1 − b·lr| must stay below 1.")
        if not end < PICK_TOL:
            slow = "y" if fy > fx else "x"
            raise Wrong(f"{where}: f is still {end:.3g} after {PICK_STEPS} steps (target < {PICK_TOL:g}).",
                        "y zigzags and shrinks too slowly: this lr is a bit too large." if slow == "y" else
                        "x (the flat direction) shrinks too slowly: this lr is too small for it. Which factor "
                        "is the larger one, and how can you make it smaller without the other growing past it?")
    (a, b), lr = cases[0], chosen[0]
    return (f"on {len(cases)} bowls (b/a from 3 to 10) GD brings f below {PICK_TOL:g} in {PICK_STEPS} steps; "
            f"on the lesson's bowl lr = {lr:.4g} ends at f = {bowl_after(a, b, lr):.2e} (x shrinks by "
            f"{abs(1 - a * lr):.3g}, y by {abs(1 - b * lr):.3g} per step).")


# ---- 3. one RMSprop step ------------------------------------------------------------------

def _rmsprop(p, g, v, lr, alpha, eps, square=True, root=True, eps_inside=False, old_v=False, swap=False):
    """RMSprop, and the usual slips in writing it (for the diagnoses)."""
    g2 = g * g if square else g
    new_v = (1 - alpha) * v + alpha * g2 if swap else alpha * v + (1 - alpha) * g2
    used = v if old_v else new_v
    denom = np.sqrt(used + eps) if eps_inside else (np.sqrt(used) if root else used) + eps
    return p - lr * g / denom, new_v


def _rmsprop_cases():
    rng = case_rng(420)
    return [
        # p, grad, v, lr, alpha, eps
        (np.array([0.5, -1.0, 2.0]), np.array([0.2, -3.0, 0.01]), np.zeros(3), 0.01, 0.99, 1e-8),
        (rng.standard_normal(4), rng.standard_normal(4), rng.uniform(0.1, 2.0, 4),
         round(float(rng.uniform(0.005, 0.05)), 4), round(float(rng.uniform(0.8, 0.99)), 3), 1e-8),
        (rng.standard_normal((2, 3)), rng.standard_normal((2, 3)), rng.uniform(0.01, 0.5, (2, 3)),
         round(float(rng.uniform(0.005, 0.05)), 4), round(float(rng.uniform(0.8, 0.99)), 3), 1e-2),
    ]


@exercise("ex04_rmsprop_step", LESSON, "one RMSprop step", hints=[
    "RMSprop keeps v, a running average of the SQUARED gradient, one number per coordinate, and divides "
    "each coordinate's gradient by the root of its own v: a coordinate with large gradients takes "
    "proportionally smaller steps (section 5).",
    "Two lines. First the running average: which of α and 1 − α weighs the old v, which the new squared "
    "gradient? (α is close to 1, so v changes slowly.) Then a step like plain GD, with the gradient divided, "
    "coordinate by coordinate, by something built from the new v that has the units of g. ε only keeps the "
    "division finite where v is 0.",
])
def check_rmsprop_step(rmsprop_step):
    """rmsprop_step(p, grad, v, lr, alpha, eps) -> (new_p, new_v)."""
    what = "rmsprop_step(p, grad, v, lr, alpha, eps)"
    cases = _rmsprop_cases()
    for p, g, v, lr, alpha, eps in cases:
        case = f"lr = {lr}, alpha = {alpha}, eps = {eps:g}, p = {fmt(p)}, grad = {fmt(g)}, v = {fmt(v)}"
        new_p, new_v = _unpack(call(rmsprop_step, p, g, v, lr, alpha, eps, what=what), 2, what, ["p", "v"])
        want_p, want_v = _rmsprop(p, g, v, lr, alpha, eps)
        expect_array(new_v, want_v, "the new v", case, diagnoses=[
            (lambda got, e: np.allclose(got, _rmsprop(p, g, v, lr, alpha, eps, square=False)[1]),
             "v averages the SQUARED gradient, g², not g."),
            (lambda got, e: np.allclose(got, _rmsprop(p, g, v, lr, alpha, eps, swap=True)[1]),
             "α and 1 − α are swapped: α weighs the old v (it is close to 1, so v changes slowly)."),
            (lambda got, e: np.allclose(got, v + g * g),
             "that is Adagrad's sum, which only grows; RMSprop keeps a running average."),
            (lambda got, e: np.allclose(got, np.sqrt(e)),
             "return v itself, the average of g², not its root (the root is taken in the step)."),
            (lambda got, e: np.allclose(got, v), "v has not changed: fold the new squared gradient into it."),
        ])
        expect_array(new_p, want_p, "the new p", case, diagnoses=[
            (lambda got, e: np.allclose(got, _rmsprop(p, g, v, lr, alpha, eps, root=False)[0]),
             "divide by the ROOT of v: v has the units of g², √v those of g."),
            (lambda got, e: np.allclose(got, _rmsprop(p, g, v, lr, alpha, eps, eps_inside=True)[0]),
             "ε goes outside the square root, √v + ε (as PyTorch does)."),
            (lambda got, e: np.allclose(got, _rmsprop(p, g, v, lr, alpha, eps, old_v=True)[0]),
             "you divided by the OLD v: update v first, then step with the new one."),
            (lambda got, e: np.allclose(got, p - lr * g), "that is a plain gradient step: divide by √v + ε."),
            (lambda got, e: np.allclose(got, p - lr * g * (np.sqrt(want_v) + eps)),
             "divide the gradient by √v + ε, do not multiply."),
            (lambda got, e: np.allclose(got, 2 * p - want_p), "the sign: move against the gradient."),
        ])
    rng = case_rng(421)
    lr, alpha = round(float(rng.uniform(0.01, 0.05)), 4), round(float(rng.uniform(0.9, 0.99)), 3)
    _repeated(rmsprop_step, what, ["p", "v"], lambda ps: RMSprop(ps, lr=lr, alpha=alpha), lambda t: (lr, alpha, 1e-8),
              [np.zeros(4)], rng)
    return (f"new p and v match RMSprop's update on {len(cases)} cases (one with ε = 0.01, where the place of "
            f"ε shows), and 5 repeated steps follow bp.RMSprop(lr={lr}, alpha={alpha}) exactly.")


# ---- 4. the gradient of Himmelblau's function ----------------------------------------------

def himmelblau(p):
    """Himmelblau's function f(x, y) = (x² + y − 11)² + (x + y² − 7)²: four minima, all with f = 0."""
    x, y = p
    return float((x * x + y - 11) ** 2 + (x + y * y - 7) ** 2)


def _parts(p):
    x, y = p
    return x, y, x * x + y - 11, x + y * y - 7                 # x, y, u, w: f = u² + w²


def _descend(grad_fn, start, lr, steps):
    """Runs beside the student's code: plain gradient descent with their gradient; the end point."""
    p = np.array(start, dtype=float)
    for _ in range(steps):
        p = p - lr * np.asarray(grad_fn(p.copy()), dtype=float)
    return [float(v) for v in p]


HIMMELBLAU_STARTS = [(1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)]


@exercise("ex04_himmelblau_grad", LESSON, "the gradient of Himmelblau's function", hints=[
    "f is a sum of two squares, f = u² + w² with u = x² + y − 11 and w = x + y² − 7. By the chain rule, "
    "the derivative of u² with respect to x is 2u times the derivative of u with respect to x.",
    "x and y each appear in BOTH squares, so each of the two partial derivatives has two terms, one from "
    "u² and one from w². You need four small derivatives: of u and of w, each with respect to x and to y.",
])
def check_himmelblau_grad(himmelblau_grad):
    """himmelblau_grad(p) -> array (2,) = (∂f/∂x, ∂f/∂y) at p = (x, y); checked by centred differences."""
    rng = case_rng(430)
    points = [np.array([1.0, 2.0]), np.array([0.0, 0.0])] + [rng.uniform(-4.5, 4.5, 2).round(3) for _ in range(3)]
    worst = 0.0
    for p in points:
        what = f"himmelblau_grad(np.array([{p[0]:g}, {p[1]:g}]))"
        got = call(himmelblau_grad, p, what=what)
        numeric = numerical_gradient(himmelblau, p.copy())           # centred differences of f itself
        x, y, u, w = _parts(p)
        worst = max(worst, expect_array(got, numeric, what, f"p = ({p[0]:g}, {p[1]:g})", tol=1e-6, diagnoses=[
            (lambda got, e: np.allclose(got, [4 * x * u, 4 * y * w]),
             "each partial derivative has two terms: x also appears in w, and y also appears in u."),
            (lambda got, e: np.allclose(got, [2 * u + 2 * w, 2 * u + 2 * w]),
             "the chain rule: 2u must be multiplied by the derivative of u itself (and 2w by that of w)."),
            (lambda got, e: np.allclose(got, [2 * x * u + w, u + 2 * y * w]),
             "the derivative of u² is 2u·u′: a factor 2 is missing in every term."),
            (lambda got, e: np.allclose(np.asarray(got)[::-1], e),
             "the two components are swapped: return (∂f/∂x, ∂f/∂y)."),
        ]))
    ends = []
    for start in HIMMELBLAU_STARTS:
        end = np.array(call(_descend, himmelblau_grad, start, 0.01, 200, what="gradient descent with your gradient"))
        true_grad = numerical_gradient(himmelblau, end.copy())
        if not (np.all(np.isfinite(end)) and himmelblau(end) < 1e-8 and np.linalg.norm(true_grad) < 1e-3):
            raise Wrong(f"200 steps of gradient descent (lr = 0.01) with your gradient from {start} end at "
                        f"{fmt(end)} where f = {himmelblau(end):.3g}, not at a minimum.",
                        "your gradient matched at the test points but not along this path: look for a "
                        "case distinction or a value that depends on where you are.")
        ends.append(end)
    distinct = len({tuple(np.round(e, 3)) for e in ends})
    return (f"matches centred differences at {len(points)} points (max rel. error {bound(worst)}); gradient "
            f"descent with it from (±1, ±1) reaches {distinct} different minima, "
            + ", ".join(f"({e[0]:.3f}, {e[1]:.3f})" for e in ends) + ", each with f = 0: which minimum "
            f"you reach depends on where you start.")


# ---- 5. one Adam step ---------------------------------------------------------------------

def _adam(p, g, m, v, t, lr, b1, b2, eps, correct_m=True, correct_v=True, t_used=None, eps_inside=False):
    """Adam, and the usual slips in writing it (for the diagnoses)."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    tt = t if t_used is None else t_used
    m_hat = m / (1 - b1 ** tt) if correct_m else m
    v_hat = v / (1 - b2 ** tt) if correct_v else v
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    return p - lr * m_hat / denom, m, v


def _adam_cases():
    rng = case_rng(440)

    def drawn(shape, t, eps):
        return (rng.standard_normal(shape), rng.standard_normal(shape), 0.3 * rng.standard_normal(shape),
                rng.uniform(0.01, 1.0, shape), t, round(float(rng.uniform(0.01, 0.1)), 3),
                round(float(rng.uniform(0.8, 0.95)), 2), round(float(rng.uniform(0.99, 0.999)), 4), eps)

    return [
        # p, grad, m, v, t, lr, beta1, beta2, eps
        (np.array([0.5, -1.0, 2.0]), np.array([0.2, -3.0, 0.01]), np.zeros(3), np.zeros(3), 1, 0.1, 0.9, 0.999, 1e-8),
        drawn(4, int(rng.integers(2, 6)), 1e-8),
        drawn((2, 2), int(rng.integers(20, 80)), 1e-3),
    ]


@exercise("ex04_adam_step", LESSON, "one Adam step with bias correction", hints=[
    "Adam keeps two running averages: m of the gradient and v of the squared gradient. Both start at 0, "
    "so early on they are too small — bias correction divides each by 1 − β^t to undo that.",
    "The order: update both averages with the new gradient; correct each by its own factor, whose exponent "
    "is the number of THIS step (1 at the first); then step along the corrected m, scaled coordinate by "
    "coordinate by something with the units of 1/g built from the corrected v (ε outside any root). Return "
    "the raw averages: the corrected ones are recomputed at every step.",
])
def check_adam_step(adam_step):
    """adam_step(p, grad, m, v, t, lr, beta1, beta2, eps) -> (new_p, new_m, new_v)."""
    what = "adam_step(p, grad, m, v, t, lr, beta1, beta2, eps)"
    cases = _adam_cases()
    for p, g, m, v, t, lr, b1, b2, eps in cases:
        case = f"t = {t}, lr = {lr}, betas = ({b1}, {b2}), eps = {eps:g}, p = {fmt(p)}, grad = {fmt(g)}"
        out = call(adam_step, p, g, m, v, t, lr, b1, b2, eps, what=what)
        new_p, new_m, new_v = _unpack(out, 3, what, ["p", "m", "v"])
        want_p, want_m, want_v = _adam(p, g, m, v, t, lr, b1, b2, eps)
        expect_array(new_m, want_m, "the new m", case, diagnoses=[
            (lambda got, e: np.allclose(got, (1 - b1) * m + b1 * g),
             "β₁ and 1 − β₁ are swapped: β₁ weighs the old m."),
            (lambda got, e: np.allclose(got, want_m / (1 - b1 ** t)),
             "return the raw average m, not the corrected m̂ (m̂ is recomputed from m at every step)."),
        ])
        expect_array(new_v, want_v, "the new v", case, diagnoses=[
            (lambda got, e: np.allclose(got, b2 * v + (1 - b2) * g), "v averages the SQUARED gradient, g²."),
            (lambda got, e: np.allclose(got, (1 - b2) * v + b2 * g * g),
             "β₂ and 1 − β₂ are swapped: β₂ weighs the old v."),
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
             "v needs its bias correction too."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, False, True)[0]),
             "m needs its bias correction too."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, t_used=t + 1)[0]),
             "t is already the number of this step (1 for the first): use β^t, not β^(t+1)."),
            (lambda got, e: t > 1 and np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps,
                                                             t_used=t - 1)[0]),
             "t is already the number of this step (1 for the first): use β^t, not β^(t−1)."),
            (lambda got, e: np.allclose(got, _adam(p, g, m, v, t, lr, b1, b2, eps, eps_inside=True)[0]),
             "ε goes outside the square root: √v̂ + ε (as PyTorch does)."),
            (lambda got, e: np.allclose(got, p - lr * g),
             "that is a plain gradient step: Adam steps along m̂ / (√v̂ + ε)."),
            (lambda got, e: np.allclose(got, 2 * p - want_p), "the sign: move against the gradient."),
        ])
    rng = case_rng(441)
    lr = round(float(rng.uniform(0.05, 0.2)), 3)
    _repeated(adam_step, what, ["p", "m", "v"], lambda ps: Adam(ps, lr=lr), lambda t: (t, lr, 0.9, 0.999, 1e-8),
              [np.zeros(4), np.zeros(4)], rng)
    return (f"p, m and v match Adam's update with bias correction on {len(cases)} cases (t from 1 to "
            f"{max(c[4] for c in cases)}), and 5 repeated steps from zero state follow bp.Adam(lr={lr}) exactly.")
