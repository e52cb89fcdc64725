"""Checks for 06_overfitting_regularization: the L2 penalty, L1's proximal step, dropout, early
stopping's rule.

Random cases come from ``case_rng``; gradients are checked against centred differences, the L1
step against the optimality conditions of the problem it solves, early stopping against
``bp.EarlyStopping``."""
__all__ = ["check_l2_penalty", "check_l1_proximal_step", "check_dropout", "check_early_stopping"]

import numpy as np

from .core import Wrong, bound, call, case_rng, exercise, expect_array, expect_number, fmt
from ..core import Parameter
from ..gradcheck import numerical_gradient
from ..layers import Sequential
from ..losses import L2
from ..train import EarlyStopping, History

LESSON = "06_overfitting_regularization"


# -- dropout ----------------------------------------------------------------------------------

def _pair(out, what, names):
    if not isinstance(out, (tuple, list)) or len(out) != len(names):
        raise Wrong(f"{what} should return ({', '.join(names)}), got {type(out).__name__}.",
                    f"end with `return {', '.join(names)}`.")
    return out


@exercise("ex06_dropout", LESSON, "dropout forward and backward", hints=[
    "Inverted dropout: in training, keep each entry with probability 1 − p and scale the kept ones by "
    "1/(1 − p), so the expected output equals the input; in evaluation return x unchanged. The backward "
    "pass lets the gradient through exactly where the forward pass let the input through.",
    "Draw one uniform number per entry from the rng you are given; an entry survives when its number is "
    "at least p. The mask is 0 for a dropped entry and the survivors' scale for a kept one, and out is x "
    "times the mask; in eval mode (or for p = 0) nothing is dropped and nothing is scaled. For the backward "
    "pass, ask which entries of x reached out, and multiplied by what.",
])
def check_dropout(dropout_forward, dropout_backward):
    """dropout_forward(x, p, rng, training) -> (out, mask); dropout_backward(dout, mask) -> dx."""
    fwd = "dropout_forward(x, p, rng, training=True)"
    cases = case_rng(60)
    p = round(float(cases.uniform(0.2, 0.4)), 2)
    x = np.ones((2000, 50))
    out, mask = _pair(call(dropout_forward, x, p, case_rng(61), True, what=fwd), fwd, ["out", "mask"])
    case = f"x = ones((2000, 50)), p = {p}"
    out = np.asarray(out, dtype=float)
    if out.shape != x.shape:
        raise Wrong(f"case {case}: out has shape {out.shape}, expected {x.shape}.",
                    "draw one random number per entry: rng.random(x.shape).")
    dropped = float(np.mean(out == 0))
    kept = np.unique(np.round(out[out != 0], 9))
    if abs(dropped - (1 - p)) < 0.02:
        raise Wrong(f"case {case}: {dropped:.0%} of the entries were dropped, expected about {p:.0%}.",
                    "p is the probability to DROP an entry: keep it where rng.random(...) >= p.")
    if abs(dropped - p) > 0.02:
        raise Wrong(f"case {case}: {dropped:.1%} of the entries were dropped, expected about {p:.0%}.",
                    "compare one uniform random number per entry with p: rng.random(x.shape) >= p keeps "
                    "an entry with probability 1 − p.")
    if len(kept) != 1:
        raise Wrong(f"case {case}: the kept entries of a ones-array should all have the same value, got "
                    f"{len(kept)} different values.", "multiply x by a mask of 0s and one constant scale.")
    scale = float(kept[0])
    if not np.isclose(scale, 1 / (1 - p)):
        hints = {1.0: "that is plain dropout: inverted dropout scales the kept entries by 1/(1 − p) in training, "
                      "so that evaluation can use x as it is.",
                 1 / p: "scale by 1/(1 − p), the probability to KEEP an entry, not by 1/p.",
                 1 - p: "divide by (1 − p), do not multiply: the kept entries must grow to make up for the dropped ones."}
        hint = next((h for v, h in hints.items() if np.isclose(scale, v)), None)
        raise Wrong(f"case {case}: kept entries are {scale:.4g}, expected 1/(1 − p) = {1 / (1 - p):.4g}.", hint)
    expect_array(np.asarray(mask, dtype=float) * x, out, "mask (out = x * mask)", case, diagnoses=[
        (lambda g, e: np.array_equal(g != 0, e != 0),
         "return the mask WITH the scaling, out / x: 0 where dropped and 1/(1 − p) where kept."),
    ])
    shape = (int(cases.integers(3, 7)), int(cases.integers(2, 6)))
    xr = cases.standard_normal(shape)
    a = call(dropout_forward, xr, 0.5, case_rng(62), True, what=fwd)
    b = call(dropout_forward, xr, 0.5, case_rng(62), True, what=fwd)
    if not np.array_equal(np.asarray(a[0]), np.asarray(b[0])):
        raise Wrong("two calls with identically seeded rngs dropped different entries.",
                    "draw the random numbers from the rng argument (rng.random), not from np.random.")
    expect_array(a[0], xr * np.asarray(a[1], dtype=float), "out", f"random x {shape}, p = 0.5", diagnoses=[
        (lambda g, e: np.array_equal(g != 0, e != 0), "out must equal x * mask."),
    ])
    for training, pp, what in ((False, 0.5, "training=False"), (True, 0.0, "p = 0")):
        got = call(dropout_forward, xr, pp, case_rng(63), training,
                   what=f"dropout_forward(x, {pp}, rng, training={training})")
        got = _pair(got, "dropout_forward", ["out", "mask"])[0]
        expect_array(got, xr, "out", f"random x {shape}, {what}", tol=1e-12, diagnoses=[
            (lambda g, e, pp=pp: np.allclose(g, e * (1 - pp)),
             "with inverted dropout, evaluation is the identity: the scaling already happened in training."),
            (lambda g, e: np.mean(g == 0) > 0.2, "in evaluation (or with p = 0) nothing is dropped: return x."),
        ])
    # backward: compare with the numerical gradient of L = Σ dout * (x * mask), the mask held fixed
    out, mask = call(dropout_forward, xr, 0.4, case_rng(64), True, what=fwd)
    mask = np.asarray(mask, dtype=float) * np.ones_like(xr)
    dout = cases.standard_normal(xr.shape)
    numeric = numerical_gradient(lambda v: np.sum(dout * v * mask), xr.copy())
    dx = call(dropout_backward, dout, mask, what="dropout_backward(dout, mask)")
    error = expect_array(dx, numeric, "dx", f"random x {shape}, p = 0.4", diagnoses=[
        (lambda g, e: np.allclose(g, dout), "the dropped entries had no effect on the output, so their gradient "
                                            "is 0: multiply dout by the mask."),
        (lambda g, e: np.allclose(g, dout * (mask > 0)), "the kept entries were scaled by 1/(1 − p) in the "
                                                         "forward pass, so their gradient is scaled too: dout * mask."),
    ])
    return (f"dropout drops {dropped:.1%} of the entries at p = {p} and scales the rest by 1/(1 − p), uses the "
            f"given rng, is the identity in eval mode and for p = 0; dropout_backward matches numerical "
            f"gradients (rel. error {bound(error)}).")


# -- the L2 penalty ---------------------------------------------------------------------------

def _l2_cases():
    rng = case_rng(65)
    return [
        ("two weights (3, 4) and (4, 2), lam = 0.1", [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))], 0.1),
        ("one weight (2, 2), lam = 0.01", [np.array([[1.0, -2.0], [0.5, 3.0]])], 0.01),
        ("lam = 0", [rng.standard_normal((2, 3))], 0.0),
    ]


@exercise("ex06_l2_penalty", LESSON, "L2 penalty and its gradient", hints=[
    "The penalty adds λ/2 · w² for every entry w of every weight matrix in the list. The gradient is a "
    "list too: one array per matrix, shaped like it, holding ∂(penalty)/∂w for each entry.",
    "Differentiate λ/2 · w² with respect to w: the ½ cancels the 2 that comes down from the square. For "
    "the value, np.sum(W * W) adds up one matrix's squares; add those over the list, then multiply by λ/2.",
])
def check_l2_penalty(l2_penalty):
    """l2_penalty(weights, lam) -> (value, grads): value = λ/2 Σ w², grads = list of λ·W."""
    worst = 0.0
    for case, ws, lam in _l2_cases():
        out = call(l2_penalty, [w.copy() for w in ws], lam, what="l2_penalty(weights, lam)")
        value, grads = _pair(out, "l2_penalty(weights, lam)", ["value", "grads"])
        expected = L2(lam).forward([Parameter(w) for w in ws])         # the package's penalty
        squares = sum(float(np.sum(w * w)) for w in ws)
        absolute = sum(float(np.sum(np.abs(w))) for w in ws)
        expect_number(value, expected, "value", case, diagnoses=[
            (lambda g, e: lam and np.isclose(g, lam * squares), "the convention is λ/2 · Σ w² (the ½ makes the "
                                                                "gradient exactly λ·w): you left out the ½."),
            (lambda g, e: lam and np.isclose(g, 0.5 * squares), "multiply by λ: it sets how strong the penalty is."),
            (lambda g, e: lam and np.isclose(g, lam * absolute), "that is the L1 penalty λ·Σ|w|; L2 squares the weights."),
            (lambda g, e: lam and np.isclose(g, 0.5 * lam * np.sqrt(squares)),
             "square the norm: Σ w², not sqrt(Σ w²)."),
        ])
        if not isinstance(grads, (list, tuple)) or len(grads) != len(ws):
            raise Wrong(f"case {case}: grads should be a list of {len(ws)} arrays (one per weight), "
                        f"got {type(grads).__name__}.", "return [lam * W for W in weights].")
        for i, (w, g) in enumerate(zip(ws, grads)):
            numeric = numerical_gradient(lambda v: lam / 2 * np.sum(v * v), w.copy())
            worst = max(worst, expect_array(g, numeric, f"grads[{i}]", case, diagnoses=[
                (lambda got, e, w=w: lam and np.allclose(got, 2 * lam * w),
                 "the ½ in λ/2 · Σ w² cancels the 2 from the derivative of w²: the gradient is λ·w."),
                (lambda got, e, w=w: lam and np.allclose(got, lam * np.sign(w)),
                 "λ·sign(w) is the L1 gradient; L2's is λ·w (proportional to the weight)."),
                (lambda got, e, w=w: lam and np.allclose(got, w), "multiply by λ."),
            ]))
    return (f"value matches λ/2 Σ w² (bp.L2) and grads match numerical gradients on {len(_l2_cases())} cases "
            f"(max rel. error {bound(worst)}).")


# -- the L1 proximal step ---------------------------------------------------------------------

def _prox_objective(z, u, t):
    """½(z − u)² + t·|z| entry by entry: what the proximal step minimises."""
    return 0.5 * (z - u) ** 2 + t * np.abs(z)


def _prox_minimiser(u, t):
    """The minimiser of ``_prox_objective``, found by comparing the objective at its candidates: the
    kink z = 0 and the stationary points u − t (of the piece z > 0) and u + t (of the piece z < 0)."""
    candidates = np.stack([np.zeros_like(u), u - t, u + t])
    values = _prox_objective(candidates, u, t)
    values[1][candidates[1] <= 0] = np.inf                  # a stationary point outside its piece
    values[2][candidates[2] >= 0] = np.inf
    return np.take_along_axis(candidates, values.argmin(axis=0)[None], axis=0)[0]


def _optimality_gap(z, u, t):
    """How far each entry of z is from minimising ½(z − u)² + t·|z|: for z ≠ 0 the derivative
    z − u + t·sign(z) must vanish; z = 0 is optimal only when |u| ≤ t."""
    return np.where(z != 0, np.abs(z - u + t * np.sign(z)), np.maximum(np.abs(u) - t, 0.0))


def _soft(u, t):
    return np.sign(u) * np.maximum(np.abs(u) - t, 0.0)


def _l1_mistakes(w, g, lr, lam):
    """Typical wrong steps and the hint each one gets."""
    u, t = w - lr * g, lr * lam
    kept_sign = u - t * np.sign(w)
    return [
        (w - lr * (g + lam * np.sign(w)),
         "that is the plain (sub)gradient step: entries that should stop at 0 jump across it. Take the "
         "gradient step on the data loss first, then solve the small problem for the penalty exactly."),
        (_soft(u, lam), "the threshold is lr·λ (the step size times the penalty's slope), not λ."),
        (np.where(np.abs(u) > t, u, 0.0),
         "the entries that survive must also move towards 0 by lr·λ: set the derivative of ½(z − u)² + lr·λ·z "
         "to zero for z > 0."),
        (np.maximum(u - t, 0.0), "negative entries: shrink |u| by lr·λ and keep the sign of u."),
        (np.where(np.sign(kept_sign) != np.sign(w), 0.0, kept_sign),
         "the shrinking uses the sign of u = w − lr·grad (where the gradient step landed), not the sign of "
         "the old w: an entry that the data push across 0 by more than lr·λ stays on the other side."),
        (_soft(w, t) - lr * g, "take the data's gradient step first (u = w − lr·grad), then shrink u."),
        (_soft(w + lr * g, t), "step against the gradient: u = w − lr·grad."),
        (u / (1 + t), "dividing by 1 + lr·λ shrinks by a factor: that is L2's proximal step. L1 subtracts a "
                      "constant and stops at 0."),
    ]


def _l1_cases():
    rng = case_rng(67)
    shape = (int(rng.integers(3, 6)), int(rng.integers(3, 6)))
    return [
        ("by hand: w = [0.5, -0.3, 0.02, 0.02, -0.01, 0], grad = [0.1, -0.1, 0.5, 1, 0, 0.3], lr = 0.1, lam = 0.5",
         np.array([0.5, -0.3, 0.02, 0.02, -0.01, 0.0]), np.array([0.1, -0.1, 0.5, 1.0, 0.0, 0.3]), 0.1, 0.5),
        (f"random w {shape}, lr = 0.05, lam = 1", 0.1 * rng.standard_normal(shape), rng.standard_normal(shape),
         0.05, 1.0),
        ("lam = 0: a plain gradient step", rng.standard_normal(4), rng.standard_normal(4), 0.1, 0.0),
    ]


def _lasso_scenario(step, X, y, lam, lr, steps):
    """Runs beside the student's code: ``steps`` proximal steps from w = 0 on the lasso
    ½·mean((X w − y)²) + λ·Σ|w|; returns the final w (or where the step broke)."""
    w = np.zeros(X.shape[1])
    for k in range(steps):
        grad = X.T @ (X @ w - y) / len(y)
        w = np.asarray(step(w, grad, lr, lam), dtype=float)
        if w.shape != (X.shape[1],) or not np.all(np.isfinite(w)):
            return {"step": k + 1, "w": w}
    return {"step": steps, "w": w}


@exercise("ex06_l1_proximal", LESSON, "the L1 proximal step", hints=[
    "Split the step in two. First the plain gradient step on the data loss, u = w − lr·grad. Then deal "
    "with the penalty exactly: for each entry, find the z that minimises ½(z − u)² + lr·λ·|z|.",
    "Solve the small problem on each piece: for z > 0 the derivative z − u + lr·λ vanishes at u − lr·λ, "
    "which counts only if it is > 0; do the same for z < 0. If neither piece holds a solution, the "
    "minimum sits at the kink. np.sign and np.maximum handle all entries at once, with no loop.",
])
def check_l1_proximal_step(l1_proximal_step):
    """l1_proximal_step(w, grad, lr, lam) -> new w, shaped like w: the minimiser of
    ½‖z − (w − lr·grad)‖² + lr·λ·‖z‖₁."""
    what = "l1_proximal_step(w, grad, lr, lam)"
    worst = 0.0
    for case, w, g, lr, lam in _l1_cases():
        got = call(l1_proximal_step, w, g, lr, lam, what=what)
        u, t = w - lr * g, lr * lam
        want = _prox_minimiser(u, t)
        if got is None or np.shape(got) != w.shape:
            expect_array(got, want, "the new w", case)                 # the shape or None message
        z = np.asarray(got, dtype=float)
        gap = _optimality_gap(z, u, t)
        if np.all(gap <= 1e-9 * (1 + np.abs(u))):
            worst = max(worst, float(np.max(np.abs(z - want))))
            continue
        near = (want == 0) & (z != 0) & (np.abs(z) < 1e-9)
        if near.any() and np.all(gap[~near] <= 1e-9 * (1 + np.abs(u[~near]))):
            raise Wrong(f"case {case}: entries that should be exactly 0 are "
                        f"{', '.join(f'{v:.1e}' for v in z[near][:4])}.",
                        "set them to exactly 0: the point of the proximal step is exact zeros.")
        hint = next((h for alt, h in _l1_mistakes(w, g, lr, lam) if np.allclose(z, alt, atol=1e-12)), None)
        bad = int(np.argmax(gap))
        raise Wrong(f"case {case}: the new w should be {fmt(want)}, got {fmt(z)}. Entry {bad}: u = w − lr·grad = "
                    f"{u.flat[bad]:.4g}, and ½(z − u)² + lr·λ·|z| is {_prox_objective(z.flat[bad], u.flat[bad], t):.4g} "
                    f"at your z = {z.flat[bad]:.4g} but {_prox_objective(want.flat[bad], u.flat[bad], t):.4g} at "
                    f"z = {want.flat[bad]:.4g}.", hint)
    # repeated steps solve a small lasso problem exactly: its optimality conditions, and exact zeros
    rng = case_rng(68)
    X = rng.standard_normal((40, 8))
    true_w = np.array([2.0, 0, 0, -1.5, 0, 0, 1.0, 0]) * rng.choice([-1.0, 1.0], 8)
    y = X @ true_w + 0.1 * rng.standard_normal(40)
    lam, lr, steps = 0.1, 1 / np.linalg.eigvalsh(X.T @ X / 40).max(), 300
    r = call(_lasso_scenario, l1_proximal_step, X, y, lam, lr, steps, what=f"{steps} steps of {what} on a lasso problem")
    w = np.asarray(r["w"], dtype=float)
    if r["step"] < steps:
        raise Wrong(f"repeated steps on a lasso problem: step {r['step']} returned {fmt(w)} (shape {w.shape}), "
                    f"not a finite array of shape (8,).")
    grad = X.T @ (X @ w - y) / 40
    gap = np.where(w != 0, np.abs(grad + lam * np.sign(w)), np.maximum(np.abs(grad) - lam, 0.0))
    if np.max(gap) > 1e-6:
        raise Wrong(f"after {steps} steps on the lasso ½·mean((X w − y)²) + {lam}·Σ|w| (lr = 1/L), w = {fmt(w)} is not "
                    f"its minimum: the optimality conditions fail by {np.max(gap):.2g}.")
    zeros = int(np.sum(w == 0))
    return (f"the new w minimises ½(z − u)² + lr·λ·|z| on {len(_l1_cases())} cases (exact zeros included), and "
            f"{steps} repeated steps reach the minimum of a lasso problem with {zeros} of its 8 weights exactly 0.")


# -- early stopping's decision rule -----------------------------------------------------------

EARLY_CASES = [
    ("val_losses = [1.0, 0.8, 0.7, 0.72, 0.75, 0.71, 0.9, 1.0], patience = 3",
     [1.0, 0.8, 0.7, 0.72, 0.75, 0.71, 0.9, 1.0], 3),
    ("ties: val_losses = [1.0, 0.5, 0.5, 0.5, 0.5, 0.4], patience = 2", [1.0, 0.5, 0.5, 0.5, 0.5, 0.4], 2),
    ("still improving: val_losses = [3.0, 2.0, 1.0, 0.5], patience = 2", [3.0, 2.0, 1.0, 0.5], 2),
    ("a better loss after the stop: val_losses = [1.0, 0.8, 0.9, 0.95, 0.97, 0.5], patience = 3",
     [1.0, 0.8, 0.9, 0.95, 0.97, 0.5], 3),
    ("patience = 1: val_losses = [1.0, 2.0, 0.5]", [1.0, 2.0, 0.5], 1),
]


def _early_cases():
    """The cases above and a random validation history: falling, then rising, with noise, rounded to
    two decimals so that ties occur."""
    rng = case_rng(66)
    t = np.arange(int(rng.integers(12, 20)))
    losses = np.round(1 / (1 + 0.5 * t) + 0.03 * t + rng.normal(0, 0.03, len(t)), 2).tolist()
    patience = int(rng.integers(2, 5))
    return EARLY_CASES + [(f"random: val_losses = {losses}, patience = {patience}", losses, patience)]


def reference_decision(val_losses, patience):
    """(stop_epoch, best_epoch) as ``bp.EarlyStopping`` decides them, epochs counted from 1."""
    stopper, history, model = EarlyStopping(patience=patience, restore_best=False), History(), Sequential()
    stopper.on_train_begin(model)
    for epoch, loss in enumerate(val_losses, start=1):
        history.append(epoch, val_loss=loss)
        if stopper.on_epoch_end(epoch, history, model):
            return epoch, stopper.best_epoch
    return len(val_losses), stopper.best_epoch


def _decide(losses, patience, strict=True, late=False):
    """The rule, with switches for two typical mistakes: ties counting as improvements, stopping late."""
    best, best_epoch = np.inf, None
    for epoch, loss in enumerate(losses, start=1):
        if loss < best or (not strict and loss <= best):
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience or (not late and epoch - best_epoch == patience):
            return epoch, best_epoch
    return len(losses), best_epoch


MISTAKES = [
    (lambda l, p: tuple(e - 1 for e in _decide(l, p)),
     "epochs are numbered from 1, as fit and EarlyStopping count them: use enumerate(..., start=1)."),
    (lambda l, p: _decide(l, p, late=True),
     "you stop one epoch late: stop as soon as epoch − best_epoch >= patience (patience epochs without "
     "improvement), not >."),
    (lambda l, p: _decide(l, p, strict=False),
     "only a strictly lower loss is an improvement: a tie does not reset the patience."),
    (lambda l, p: (_decide(l, p)[0], int(np.argmin(l)) + 1),
     "early stopping cannot see the future: the best epoch is the best one up to the epoch it stops at, "
     "not the best of the whole list."),
    (lambda l, p: (_decide(l, p)[0],) * 2,
     "restore the weights of the BEST epoch, not of the epoch where training stopped."),
]


@exercise("ex06_early_stopping", LESSON, "early stopping's decision rule", hints=[
    "Walk through the epochs in order (numbered from 1), remembering the best validation loss so far and "
    "its epoch. Only a strictly lower loss counts as an improvement. Stop as soon as `patience` epochs "
    "have passed since the best one; if that never happens, training runs to the last epoch.",
    "Keep two variables: the best loss so far and its epoch. At each epoch, a strictly lower loss updates "
    "both; otherwise count the epochs since the best one and compare that count with the patience. Think "
    "about what to return when the loop ends without stopping.",
])
def check_early_stopping(early_stopping):
    """early_stopping(val_losses, patience) -> (stop_epoch, best_epoch), epochs numbered from 1."""
    cases = _early_cases()
    for case, losses, patience in cases:
        out = call(early_stopping, list(losses), patience, what="early_stopping(val_losses, patience)")
        stop, best = _pair(out, "early_stopping(val_losses, patience)", ["stop_epoch", "best_epoch"])
        want_stop, want_best = reference_decision(losses, patience)
        for name, got, want in (("stop_epoch", stop, want_stop), ("best_epoch", best, want_best)):
            if got is None:
                raise Wrong(f"case {case}: {name} is None, expected {want}.",
                            "if the patience never runs out, training runs all epochs: stop_epoch = len(val_losses)."
                            if name == "stop_epoch" else "return the epoch of the lowest loss seen so far.")
        if (stop, best) != (want_stop, want_best):
            hint = next((h for rule, h in MISTAKES if rule(losses, patience) == (stop, best)), None)
            raise Wrong(f"case {case}: (stop_epoch, best_epoch) = ({stop}, {best}), expected "
                        f"({want_stop}, {want_best}).", hint)
    return (f"stop and best epochs agree with bp.EarlyStopping on {len(cases)} validation histories "
            f"(ties, no stop, a better loss after the stop, patience 1, a random one).")
