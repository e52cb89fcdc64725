"""Checks for 05_vanishing_exploding_gradients: clipping, an initialisation for leaky ReLU,
spotting vanishing, batch norm's backward."""
__all__ = ["check_clip_grad_norm", "check_leaky_relu_std", "check_which_vanish", "check_batchnorm_backward",
           "VANISH_CONFIGS"]

import math

import numpy as np

from .core import Wrong, bound, call, case_rng, exercise, expect_array, expect_number
from ..gradcheck import numerical_gradient

LESSON = "05_vanishing_exploding_gradients"


# -- clip_grad_norm ---------------------------------------------------------------------------

def _clip_cases():
    rng = case_rng(5)
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
    "The total norm is the square root of the sum, over all arrays, of the sum of their squared entries. "
    "Compute it first and keep it: that is what you return beside the clipped list, whether or not "
    "anything was clipped.",
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


# -- an initialisation for leaky ReLU --------------------------------------------------------

LEAKY_LAYERS = 20       # independent layers measured per case
LEAKY_TOLERANCE = 0.05  # the measured per-layer factor of E[z²] must lie within 1 ± this


def _leaky_cases():
    rng = case_rng(505)
    widths = rng.choice([96, 128, 160], size=2, replace=False)
    slopes = rng.uniform(0.35, 0.7, size=2).round(2)
    return [(128, 0.0), (96, 1.0)] + [(int(n), float(a)) for n, a in zip(widths, slopes)]


def variance_factor(std, n_in, slope, rng, layers=LEAKY_LAYERS, batch=256):
    """Measured, not derived: by what factor one layer z_next = leaky_relu(z) @ W, W ~ N(0, std²) of
    shape (n_in, n_in), multiplies E[z²] for z ~ N(0, 1) — the geometric mean over ``layers``
    independent draws of z and W."""
    logs = []
    for _ in range(layers):
        z = rng.standard_normal((batch, n_in))
        h = np.where(z > 0, z, slope * z)
        out = h @ (std * rng.standard_normal((n_in, n_in)))
        logs.append(np.log(np.mean(out * out) / np.mean(z * z)))
    return float(np.exp(np.mean(logs)))


@exercise("ex05_leaky_relu_std", LESSON, "an initialisation for leaky ReLU", hints=[
    "Follow the lesson's derivation for ReLU: z_next = h·W gives E[z_next²] = n_in·std²·E[h²]. The only "
    "new piece is E[h²] for h = leaky_relu(z) when z is symmetric around 0. Then choose std so that "
    "E[z_next²] = E[z²].",
    "Split E[h²] by the sign of z. Where z > 0, h = z; where z ≤ 0, h = slope·z. A symmetric z puts half "
    "of E[z²] on each side. What fraction of E[z²] does h keep in all?",
])
def check_leaky_relu_std(leaky_relu_std):
    """leaky_relu_std(n_in, slope) -> the std of W that keeps E[z²] from layer to layer."""
    rng = case_rng(506)
    factors = []
    for n_in, slope in _leaky_cases():
        case = f"n_in = {n_in}, slope = {slope:g}"
        std = call(leaky_relu_std, n_in, slope, what=f"leaky_relu_std({n_in}, {slope:g})")
        if std is None:
            raise Wrong(f"case {case}: leaky_relu_std returned None.", "end with `return std` (a float).")
        if np.ndim(std) != 0 or not isinstance(np.asarray(std).item(), (int, float)):
            raise Wrong(f"case {case}: leaky_relu_std should return one number, got {type(std).__name__}.",
                        "return a float, e.g. `return math.sqrt(...)`.")
        std = float(std)
        if not np.isfinite(std) or std <= 0:
            raise Wrong(f"case {case}: leaky_relu_std returned {std}; a standard deviation is a positive number.")
        factor = variance_factor(std, n_in, slope, rng)
        factors.append(factor)
        if abs(factor - 1) > LEAKY_TOLERANCE:
            direction = "grows" if factor > 1 else "shrinks"
            over = factor ** LEAKY_LAYERS
            he, variance = math.sqrt(2 / n_in), 2 / ((1 + slope ** 2) * n_in)
            hint = next((h for test, h in [
                (slope > 0 and np.isclose(std, he, rtol=1e-3),
                 "that is He's std for ReLU, which keeps E[z²] only when the negative side is cut to 0; "
                 "leaky ReLU lets slope·z through there, so h keeps more than half of E[z²]."),
                (np.isclose(std, variance, rtol=1e-3),
                 "that looks like the variance Var(W); the function returns the standard deviation, its square root."),
                (0 < slope < 1 and np.isclose(std, math.sqrt(2 / ((1 + slope) * n_in)), rtol=1e-3),
                 "the negative side contributes (slope·z)², so its share of E[z²] is multiplied by slope², not slope."),
                (np.isclose(std, math.sqrt(1 / ((1 + slope ** 2) * n_in)), rtol=1e-3),
                 "each side of a symmetric z holds HALF of E[z²]: E[h²] = ½·E[z²] + slope²·½·E[z²]."),
            ] if test), None)
            raise Wrong(f"case {case}: with std = {std:.4g}, each layer multiplies E[z²] by {factor:.3f} "
                        f"(measured on {LEAKY_LAYERS} random layers), so it {direction}: ×{over:.3g} over "
                        f"{LEAKY_LAYERS} layers. Your std is about {math.sqrt(1 / factor):.3g} × what keeps it.",
                        hint)
    return (f"your std keeps E[z²] from layer to layer: on {len(factors)} cases (slopes 0, 1 and two random) "
            f"the factor per layer, measured on {LEAKY_LAYERS} random layers each, lies within 1 ± {LEAKY_TOLERANCE}.")


# -- batch norm backward ----------------------------------------------------------------------

def bn_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm: y = gamma * (x - mean) / sqrt(var + eps) + beta (biased var)."""
    return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta


def _bn_cases():
    rng = case_rng(55)
    cases = []
    for n, d in ((4, 3), (8, 5), (5, 1), tuple(int(v) for v in rng.integers((3, 2), (10, 7)))):
        x = 2.0 + 3.0 * rng.standard_normal((n, d))
        gamma = 0.5 + rng.random(d)
        beta = rng.standard_normal(d)
        dout = rng.standard_normal((n, d))
        cases.append((f"x: ({n}, {d})", x, gamma, beta, dout))
    return cases


@exercise("ex05_batchnorm_backward", LESSON, "batch norm backward", hints=[
    "Recompute the forward graph node by node (μ, c = x − μ, v, s = (v + ε)^(−1/2), x̂ = c·s), then walk "
    "it backward keeping one gradient per node: dx̂ and dc are (N, D) like x; dμ, dv and ds are (D,), "
    "one number per feature, and each is a SUM over the batch axis of what the N samples send back.",
    "Two nodes have two consumers, and their gradient is the sum of both paths: c feeds x̂ directly and "
    "v through c²; x feeds c directly and μ through the mean. Use the local derivatives listed in the "
    "lesson (∂v/∂c_i = 2c_i/N, ds/dv = −s³/2, ∂μ/∂x_i = 1/N, ∂c/∂μ = −1), and check every node's shape.",
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
             "you treated the batch mean and variance as constants: only the direct path x → c → x̂ is there. "
             "μ and v are computed from every sample, so each x_i also reaches the output through μ and "
             "through v: add those two paths."),
            (lambda g, e: np.allclose(g, inv_std * (dx_hat - dx_hat.mean(axis=0))),
             "the path through the mean is there, the path through the variance is missing: c also feeds "
             "v = mean(c²), so dc gets a second term from dv."),
            (lambda g, e: np.allclose(g, inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))),
             "γ is missing: the gradient reaching x̂ is dx̂ = dout · γ."),
            (lambda g, e: np.allclose(g, inv_std * (dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0))),
             "the corrections through μ and v are N times too large: those nodes are MEANS over the batch, "
             "so their local derivatives carry a 1/N (∂μ/∂x_i = 1/N, ∂v/∂c_i = 2c_i/N): sums where they "
             "should be means."),
        ]))
    return (f"dx, dgamma and dbeta agree with numerical gradients on {len(_bn_cases())} batches "
            f"(max rel. error {bound(worst)}).")


# -- which configurations vanish --------------------------------------------------------------

# letter -> (description, make_mlp keyword arguments); all measured on the same digits batch
VANISH_CONFIGS = {
    "A": ("20 layers, sigmoid, Xavier init × 0.5", dict(depth=20, activation="sigmoid", init="xavier", scale=0.5)),
    "B": ("20 layers, ReLU, He init × 0.5", dict(depth=20, activation="relu", init="he", scale=0.5)),
    "C": ("20 layers, tanh, Xavier init × 2", dict(depth=20, activation="tanh", init="xavier", scale=2.0)),
    "D": ("20 layers, sigmoid, He init × 2", dict(depth=20, activation="sigmoid", init="he", scale=2.0)),
    "E": ("20 layers, sigmoid, He init, batch norm", dict(depth=20, activation="sigmoid", init="he", batchnorm=True)),
    "F": ("20 layers, ReLU, He init, residual connections", dict(depth=20, activation="relu", init="he",
                                                                 residual=True)),
}
VANISH_THRESHOLD = 1e-2

WHY = {
    "A": "half of Xavier's weights halve the gain: each sigmoid layer multiplies the gradient by about "
         "0.5 × 0.24 ≈ 0.12",
    "B": "with ReLU, weights below He's shrink the signal forward and the gradient backward by the same "
         "factor per layer; a weight gradient h_(l−1)ᵀ·δ_l carries the same number of shrinking steps at "
         "every layer, so the first is about as large as the last (all of them are small)",
    "C": "twice Xavier's weights give tanh a gain of 2, times slopes that stay near 1 for the units that "
         "are not saturated: the gradient grows backwards, it does not vanish",
    "D": "twice He's weights give a gain of about 2.8, but sigmoid's slopes — at most 0.25, and lower as "
         "units start to saturate in the flat tails — keep the product near 0.5 per layer",
    "E": "batch norm divides by the pre-activations' batch standard deviation whatever the init, which "
         "multiplies the backward signal by about 5 and makes up for sigmoid's slope",
    "F": "the identity path hands the gradient back unchanged through every block: the stream grows on the "
         "way forward, but the first layer's gradient is not small",
}


def measure_config(kwargs, seed=0):
    """First-layer / last-layer weight-gradient norm of a fresh network (weights from ``seed``) on the digits batch."""
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
    "Per layer, the gradient is multiplied by the weights' gain (√(n·Var W), 1 for Xavier, √2 for He) times "
    "the activation's slope (sigmoid: at most 0.25, and less when saturated; tanh and ReLU: 1 where active). "
    "The criterion is a RATIO, first layer over last: a scale that shrinks the forward signal as much as the "
    "backward one leaves it near 1. Batch norm divides by each layer's batch std; a skip path adds 1.",
])
def check_which_vanish(which_vanish):
    """which_vanish() -> the set of letters of VANISH_CONFIGS whose first-layer gradient is < 1/100 of the last's."""
    answer = call(which_vanish, what="which_vanish()")
    if answer is None:
        raise Wrong("which_vanish() returned None.", "return a set of letters, e.g. {'A', 'C'}.")
    chosen = _letters(answer)
    seed = int(case_rng(5005).integers(2 ** 31))          # the networks' weights: a random case
    ratios = {k: measure_config(kw, seed) for k, (_, kw) in VANISH_CONFIGS.items()}
    truth = {k for k, r in ratios.items() if r < VANISH_THRESHOLD}
    if chosen != truth:                          # name the first disagreement only: the rest stays to think about
        wrong = sorted(chosen ^ truth)
        k = wrong[0]
        said = "vanishes" if k in chosen else "does not vanish"
        more = (f" {len(wrong) - 1} more letter{'s' if len(wrong) > 2 else ''} of your answer "
                f"{'are' if len(wrong) > 2 else 'is'} wrong too.") if len(wrong) > 1 else ""
        raise Wrong(f"{k} ({VANISH_CONFIGS[k][0]}): you said it {said}, but its first/last gradient ratio "
                    f"measures {ratios[k]:.1e}.{more}", f"{k}: {WHY[k]}.")
    return (f"right: measured on 64-unit networks and a batch of digits, exactly {', '.join(sorted(truth))} "
            f"have a first-layer gradient < 1/100 of the last layer's ("
            + ", ".join(f"{k}: {r:.0e}" for k, r in ratios.items()) + ").")
