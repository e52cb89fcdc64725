"""Checks for 06_overfitting_regularization: dropout, the L2 penalty, early stopping's rule."""
__all__ = ["check_dropout", "check_l2_penalty", "check_early_stopping"]

import numpy as np

from .core import Wrong, bound, call, exercise, expect_array, expect_number
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
    "mask = (rng.random(x.shape) >= p) / (1 − p); out = x * mask. In eval mode (or p = 0) the mask is all "
    "ones. Backward: dx = dout * mask — the same mask, scaling included.",
])
def check_dropout(dropout_forward, dropout_backward):
    """dropout_forward(x, p, rng, training) -> (out, mask); dropout_backward(dout, mask) -> dx."""
    fwd = "dropout_forward(x, p, rng, training=True)"
    p = 0.3
    x = np.ones((2000, 50))
    out, mask = _pair(call(dropout_forward, x, p, np.random.default_rng(0), True, what=fwd), fwd, ["out", "mask"])
    case = "x = ones((2000, 50)), p = 0.3"
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
    xr = np.random.default_rng(7).standard_normal((5, 4))
    a = call(dropout_forward, xr, 0.5, np.random.default_rng(1), True, what=fwd)
    b = call(dropout_forward, xr, 0.5, np.random.default_rng(1), True, what=fwd)
    if not np.array_equal(np.asarray(a[0]), np.asarray(b[0])):
        raise Wrong("two calls with identically seeded rngs dropped different entries.",
                    "draw the random numbers from the rng argument (rng.random), not from np.random.")
    expect_array(a[0], xr * np.asarray(a[1], dtype=float), "out", "random x (5, 4), p = 0.5", diagnoses=[
        (lambda g, e: np.array_equal(g != 0, e != 0), "out must equal x * mask."),
    ])
    for training, pp, what in ((False, 0.5, "training=False"), (True, 0.0, "p = 0")):
        got = call(dropout_forward, xr, pp, np.random.default_rng(2), training,
                   what=f"dropout_forward(x, {pp}, rng, training={training})")
        got = _pair(got, "dropout_forward", ["out", "mask"])[0]
        expect_array(got, xr, "out", f"random x (5, 4), {what}", tol=1e-12, diagnoses=[
            (lambda g, e, pp=pp: np.allclose(g, e * (1 - pp)),
             "with inverted dropout, evaluation is the identity: the scaling already happened in training."),
            (lambda g, e: np.mean(g == 0) > 0.2, "in evaluation (or with p = 0) nothing is dropped: return x."),
        ])
    # backward: compare with the numerical gradient of L = Σ dout * (x * mask), the mask held fixed
    out, mask = call(dropout_forward, xr, 0.4, np.random.default_rng(3), True, what=fwd)
    mask = np.asarray(mask, dtype=float) * np.ones_like(xr)
    dout = np.random.default_rng(4).standard_normal(xr.shape)
    numeric = numerical_gradient(lambda v: np.sum(dout * v * mask), xr.copy())
    dx = call(dropout_backward, dout, mask, what="dropout_backward(dout, mask)")
    error = expect_array(dx, numeric, "dx", "random x (5, 4), p = 0.4", diagnoses=[
        (lambda g, e: np.allclose(g, dout), "the dropped entries had no effect on the output, so their gradient "
                                            "is 0: multiply dout by the mask."),
        (lambda g, e: np.allclose(g, dout * (mask > 0)), "the kept entries were scaled by 1/(1 − p) in the "
                                                         "forward pass, so their gradient is scaled too: dout * mask."),
    ])
    return (f"dropout drops {dropped:.1%} of the entries at p = 0.3 and scales the rest by 1/(1 − p), uses the "
            f"given rng, is the identity in eval mode and for p = 0; dropout_backward matches numerical "
            f"gradients (rel. error {bound(error)}).")


# -- the L2 penalty ---------------------------------------------------------------------------

def _l2_cases():
    rng = np.random.default_rng(6)
    return [
        ("two weights (3, 4) and (4, 2), lam = 0.1", [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))], 0.1),
        ("one weight (2, 2), lam = 0.01", [np.array([[1.0, -2.0], [0.5, 3.0]])], 0.01),
        ("lam = 0", [rng.standard_normal((2, 3))], 0.0),
    ]


@exercise("ex06_l2_penalty", LESSON, "L2 penalty and its gradient", hints=[
    "The penalty is (λ/2)·Σ w² over every entry of every weight matrix; its gradient with respect to each "
    "weight is λ·w — the ½ cancels the 2 from the square.",
    "value = lam / 2 * sum(np.sum(W * W) for W in weights); grads = [lam * W for W in weights].",
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
    "best, best_epoch = inf, None; for epoch, loss in enumerate(val_losses, start=1): if loss < best: "
    "update both; elif epoch − best_epoch >= patience: return epoch, best_epoch. After the loop: "
    "return len(val_losses), best_epoch.",
])
def check_early_stopping(early_stopping):
    """early_stopping(val_losses, patience) -> (stop_epoch, best_epoch), epochs numbered from 1."""
    for case, losses, patience in EARLY_CASES:
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
    return (f"stop and best epochs agree with bp.EarlyStopping on {len(EARLY_CASES)} validation histories "
            f"(ties, no stop, a better loss after the stop, patience 1).")
