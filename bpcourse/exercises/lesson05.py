"""Checks for 05_vanishing_exploding_gradients: clipping, batch norm's backward, spotting vanishing."""
__all__ = ["check_clip_grad_norm", "check_batchnorm_backward", "check_which_vanish", "VANISH_CONFIGS"]

import numpy as np

from .core import Wrong, bound, call, exercise, expect_array, expect_number
from ..gradcheck import numerical_gradient

LESSON = "05_vanishing_exploding_gradients"


# -- clip_grad_norm ---------------------------------------------------------------------------

def _clip_cases():
    rng = np.random.default_rng(5)
    big = [3.0 * rng.standard_normal((3, 4)), 2.0 * rng.standard_normal(4)]
    small = [0.1 * rng.standard_normal((2, 3)), 0.05 * rng.standard_normal(3)]
    return [
        ("two arrays with total norm > max_norm = 1.0", big, 1.0),
        ("two arrays with total norm < max_norm = 5.0 (nothing to clip)", small, 5.0),
        ("one array [[3, 0], [0, 4]] (norm 5) with max_norm = 2.5", [np.array([[3.0, 0.0], [0.0, 4.0]])], 2.5),
        ("all-zero gradients with max_norm = 1.0", [np.zeros((2, 2)), np.zeros(2)], 1.0),
    ]


def _total_norm(grads):
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))


@exercise("ex05_clip_grad_norm", LESSON, "clip_grad_norm", hints=[
    "Treat all the gradient arrays as ONE long vector: its length is the total norm. If that length "
    "is above max_norm, shrink every array by the same factor; otherwise leave them alone.",
    "total = sqrt(Σ over arrays of Σ g²); scale = max_norm / (total + 1e-6); multiply every array by "
    "scale only when scale < 1. Return the clipped list and `total` (the norm BEFORE clipping).",
])
def check_clip_grad_norm(clip_grad_norm):
    """clip_grad_norm(grads, max_norm) -> (clipped_grads, total_norm_before_clipping)."""
    for case, grads, max_norm in _clip_cases():
        out = call(clip_grad_norm, [g.copy() for g in grads], max_norm, what="clip_grad_norm(grads, max_norm)")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Wrong(f"case {case}: clip_grad_norm should return two things, (clipped_grads, total_norm); "
                        f"got {type(out).__name__}.", "end with `return clipped, total`.")
        clipped, total = out
        expected_total = _total_norm(grads)
        scale = min(1.0, max_norm / (expected_total + 1e-6))
        if not isinstance(clipped, (list, tuple)) or len(clipped) != len(grads):
            raise Wrong(f"case {case}: clipped_grads should be a list of {len(grads)} arrays, one per gradient, "
                        f"got {type(clipped).__name__}.", "return a list: [g * scale for g in grads].")
        for i, (g, c) in enumerate(zip(grads, clipped)):
            own = min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
            expect_array(c, g * scale, f"clipped_grads[{i}]", case, diagnoses=[
                (lambda got, e, g=g, own=own: own != scale and np.allclose(got, g * own),
                 "each array was clipped by its own norm: clip_grad_norm uses ONE total norm over all "
                 "arrays, so every array is scaled by the same factor and the overall direction is kept."),
                (lambda got, e, g=g: scale == 1.0 and np.allclose(got, g * max_norm / expected_total),
                 "you rescaled gradients that were already short enough: only SHRINK, i.e. scale only when "
                 "the total norm is above max_norm."),
                (lambda got, e, g=g: np.allclose(got, np.clip(g, -max_norm, max_norm)),
                 "that clips each entry separately (clip_grad_value): clipping by norm rescales the whole "
                 "vector, keeping its direction."),
            ])
        expect_number(total, expected_total, "total_norm", case, diagnoses=[
            (lambda got, e: np.isclose(got, min(expected_total, max_norm)) and expected_total > max_norm,
             "that is the norm AFTER clipping: return the total norm measured before you rescale "
             "(it tells you how large the gradient really was)."),
            (lambda got, e: np.isclose(got, expected_total ** 2),
             "that is the squared norm: take the square root of the sum of squares."),
            (lambda got, e: np.isclose(got, sum(np.linalg.norm(g) for g in grads)),
             "that is the sum of the arrays' norms: the total norm is sqrt(Σ ‖g_i‖²), the length of all "
             "gradients joined into one vector."),
        ])
    return (f"clip_grad_norm shrinks large gradients together, leaves short ones alone, handles zeros and "
            f"returns the norm before clipping, on {len(_clip_cases())} cases.")


# -- batch norm backward ----------------------------------------------------------------------

def bn_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm: y = gamma * (x - mean) / sqrt(var + eps) + beta (biased var)."""
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


def _bn_cases():
    rng = np.random.default_rng(55)
    cases = []
    for n, d in ((4, 3), (8, 5), (5, 1)):
        x = 2.0 + 3.0 * rng.standard_normal((n, d))
        gamma = 0.5 + rng.random(d)
        beta = rng.standard_normal(d)
        dout = rng.standard_normal((n, d))
        cases.append((f"x: ({n}, {d})", x, gamma, beta, dout))
    return cases


@exercise("ex05_batchnorm_backward", LESSON, "batch norm backward", hints=[
    "Go backward through x̂ = (x − μ)/σ and y = γ·x̂ + β step by step: dβ = Σ dout, dγ = Σ dout·x̂ "
    "(sums over the batch), dx̂ = dout·γ. The mean μ and σ = sqrt(var + eps) depend on EVERY sample, "
    "so dx has more than the direct term dx̂/σ.",
    "Collecting the three paths (direct, through μ, through var) gives "
    "dx = (1/σ) · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), means over the batch axis (axis=0).",
])
def check_batchnorm_backward(batchnorm_backward):
    """batchnorm_backward(dout, x, gamma, eps=1e-5) -> (dx, dgamma, dbeta), training mode."""
    worst = 0.0
    for case, x, gamma, beta, dout in _bn_cases():
        out = call(batchnorm_backward, dout, x, gamma, what="batchnorm_backward(dout, x, gamma)")
        if not isinstance(out, (tuple, list)) or len(out) != 3:
            raise Wrong(f"case {case}: batchnorm_backward should return (dx, dgamma, dbeta), "
                        f"got {type(out).__name__}.", "end with `return dx, dgamma, dbeta`.")
        dx, dgamma, dbeta = out
        n = x.shape[0]
        num_dgamma = numerical_gradient(lambda g: np.sum(dout * bn_forward(x, g, beta)), gamma.copy())
        num_dbeta = numerical_gradient(lambda b: np.sum(dout * bn_forward(x, gamma, b)), beta.copy())
        num_dx = numerical_gradient(lambda v: np.sum(dout * bn_forward(v, gamma, beta)), x.copy())
        inv_std = 1 / np.sqrt(x.var(axis=0) + 1e-5)
        x_hat = (x - x.mean(axis=0)) * inv_std
        dx_hat = dout * gamma
        worst = max(worst, expect_array(dbeta, num_dbeta, "dbeta", case, tol=1e-6))
        worst = max(worst, expect_array(dgamma, num_dgamma, "dgamma", case, tol=1e-6, diagnoses=[
            (lambda g, e: np.allclose(g, (dout * x).sum(axis=0)),
             "dγ multiplies dout by the NORMALISED input x̂ = (x − μ)/σ, not by x."),
        ]))
        worst = max(worst, expect_array(dx, num_dx, "dx", case, tol=1e-5, batch=n, diagnoses=[
            (lambda g, e: np.allclose(g, dx_hat * inv_std),
             "you treated the batch mean and variance as constants. They are computed from every sample, "
             "so each x_i also moves μ and σ: subtract mean(dx̂) and x̂·mean(dx̂·x̂) before dividing by σ."),
            (lambda g, e: np.allclose(g, inv_std * (dx_hat - dx_hat.mean(axis=0))),
             "the path through the mean is there, the path through the variance is missing: "
             "also subtract x̂ · mean(dx̂ · x̂)."),
            (lambda g, e: np.allclose(g, inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))),
             "γ is missing: the gradient reaching x̂ is dx̂ = dout · γ."),
            (lambda g, e: np.allclose(g, inv_std * (dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))),
             "the correction terms are sums where they should be means over the batch (divide them by N)."),
        ]))
    return (f"dx, dgamma and dbeta agree with numerical gradients on {len(_bn_cases())} batches "
            f"(max rel. error {bound(worst)}).")


# -- which configurations vanish --------------------------------------------------------------

# letter -> (description, make_mlp keyword arguments); all measured on the same digits batch
VANISH_CONFIGS = {
    "A": ("20 layers, sigmoid, Xavier init", dict(depth=20, activation="sigmoid", init="xavier")),
    "B": ("20 layers, ReLU, He init", dict(depth=20, activation="relu", init="he")),
    "C": ("20 layers, tanh, Xavier init", dict(depth=20, activation="tanh", init="xavier")),
    "D": ("20 layers, sigmoid, He init", dict(depth=20, activation="sigmoid", init="he")),
    "E": ("20 layers, sigmoid, Xavier init, batch norm", dict(depth=20, activation="sigmoid", init="xavier",
                                                              batchnorm=True)),
    "F": ("20 layers, tanh, large init (std 1)", dict(depth=20, activation="tanh", init="large")),
}
VANISH_THRESHOLD = 1e-2

WHY = {
    ("sigmoid", False): "sigmoid's slope is at most 0.25, so every layer multiplies the gradient by ≲ 0.25·‖W‖",
    ("sigmoid", True): "batch norm re-centres every layer's input where sigmoid's slope is largest and "
                       "rescales the backward signal",
    ("tanh", False): "tanh has slope ≈ 1 near 0 and Xavier keeps the signal's scale",
    ("relu", False): "ReLU passes the gradient with slope 1 and He init compensates for the zeroed half",
}


def measure_config(kwargs, seed=0):
    """First-layer / last-layer weight-gradient norm of a fresh network on the digits batch."""
    from ..deep import first_to_last, gradient_norms, make_mlp
    from ..widgets.gradients import batch
    x, y = batch()
    model = make_mlp(width=64, rng=np.random.default_rng(seed), **kwargs)
    with np.errstate(all="ignore"):
        return first_to_last(gradient_norms(model, x, y))


def _letters(answer):
    if isinstance(answer, str):
        items = [c for c in answer.upper() if c.isalpha()]
    else:
        try:
            items = [str(a).strip().upper() for a in answer]
        except TypeError:
            raise Wrong(f"which_vanish() returned {answer!r}; expected a set of letters such as {{'A', 'B'}}.",
                        "return a set (or list) of the letters whose configuration vanishes.") from None
    unknown = sorted(set(items) - set(VANISH_CONFIGS))
    if unknown:
        raise Wrong(f"unknown option(s) {', '.join(unknown)}: choose among {', '.join(VANISH_CONFIGS)}.",
                    "return letters only, e.g. {'A', 'C'}.")
    return set(items)


@exercise("ex05_which_vanish", LESSON, "which configurations vanish", hints=[
    "A gradient vanishes when each layer multiplies it by less than 1 on average: look at the activation's "
    "largest slope and at the size of the weights the init draws.",
    "Sigmoid's slope is at most 0.25 whatever the init; tanh's and ReLU's slope is 1 where active. A huge "
    "init does not vanish: it saturates tanh but multiplies the gradient by large weights. Batch norm keeps "
    "each layer's input in the steep region.",
])
def check_which_vanish(which_vanish):
    """which_vanish() -> the set of letters of VANISH_CONFIGS whose first-layer gradient is < 1/100 of the last's."""
    answer = call(which_vanish, what="which_vanish()")
    if answer is None:
        raise Wrong("which_vanish() returned None.", "return a set of letters, e.g. {'A', 'C'}.")
    chosen = _letters(answer)
    ratios = {k: measure_config(kw) for k, (_, kw) in VANISH_CONFIGS.items()}
    truth = {k for k, r in ratios.items() if r < VANISH_THRESHOLD}
    if chosen != truth:
        lines = []
        for k in sorted(chosen ^ truth):
            desc, kw = VANISH_CONFIGS[k]
            said = "vanishes" if k in chosen else "does not vanish"
            lines.append(f"{k} ({desc}): you said it {said}, but its first/last gradient ratio measures "
                         f"{ratios[k]:.1e}.")
        k = sorted(chosen ^ truth)[0]
        kw = VANISH_CONFIGS[k][1]
        hint = WHY.get((kw["activation"], kw.get("batchnorm", False)))
        if kw.get("init") == "large":
            hint = ("a large init makes the gradient EXPLODE backwards (ratio ≫ 1), even though tanh saturates: "
                    "large weights multiply it at every layer.")
        raise Wrong(" ".join(lines), hint and f"{k}: {hint}.")
    return (f"right: measured on 64-unit networks and a batch of digits, exactly {', '.join(sorted(truth))} "
            f"have a first-layer gradient < 1/100 of the last layer's ("
            + ", ".join(f"{k}: {r:.0e}" for k, r in ratios.items()) + ").")
