"""Checks for 03_loss_functions, in the lesson's order: the negative log-likelihood of a Gaussian
and of a Bernoulli model, choosing the loss for a task, a stable softmax cross-entropy, and the
backward pass of softmax alone (its Jacobian applied without building it).

Random cases come from ``case_rng``; losses are checked against the probability of what was
observed, gradients against centred differences."""
__all__ = ["check_gaussian_nll", "check_bernoulli_nll", "check_choose_loss",
           "check_softmax_cross_entropy", "check_softmax_backward"]

import numpy as np

from .core import Wrong, call, case_rng, exercise, expect_array, expect_number, fmt
from ..gradcheck import numerical_gradient
from ..losses import BCEWithLogits, L1, L2, MSELoss, SoftmaxCrossEntropy, softmax

LESSON = "03_loss_functions"
TOL = 1e-7                      # a float64 gradient check: above this, suspect a bug


# ---- 1. the Gaussian negative log-likelihood -----------------------------------------------

def _gaussian_cases():
    rng = case_rng(30)
    return [
        (np.array([0.0]), np.array([0.0]), 1.0, "by hand: ŷ = y = 0, σ = 1"),
        (rng.standard_normal(5), rng.standard_normal(5), 0.5, "5 random samples, σ = 0.5"),
        (rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), 2.0, "a (4, 2) batch, σ = 2"),
        (rng.standard_normal(3), rng.standard_normal(3), 0.1, "3 random samples, σ = 0.1"),
    ]


@exercise("ex03_gaussian_nll", LESSON, "the negative log-likelihood of a Gaussian model", hints=[
    "The likelihood of one target is the density p(y | x) = exp(−(y − ŷ)² / (2σ²)) / √(2πσ²). "
    "Take −log of it: the log of a quotient is a difference, and log exp(u) = u.",
    "−log p(y | x) has two terms: one from the normalising factor √(2πσ²) (log of a square root: "
    "a factor ½), and one from the exponent. Average them over every entry of the batch.",
])
def check_gaussian_nll(gaussian_nll):
    """gaussian_nll(y_hat, y, sigma) -> mean over all entries of −log N(y; ŷ, σ²), a float."""
    for y_hat, y, sigma, case in _gaussian_cases():
        got = call(gaussian_nll, y_hat, y, sigma, what="gaussian_nll(y_hat, y, sigma)")
        density = np.exp(-(y - y_hat) ** 2 / (2 * sigma ** 2)) / np.sqrt(2 * np.pi * sigma ** 2)
        expected = float(np.mean(-np.log(density)))             # minus the log of the probability density
        sq = (y - y_hat) ** 2
        expect_number(got, expected, "gaussian_nll", case, tol=1e-9, diagnoses=[
            (lambda g, e: np.isclose(g, np.mean(sq) / (2 * sigma ** 2)),
             "the normalising constant is missing: ½·log(2πσ²) belongs to −log p too. It does not move "
             "the minimum (which is why MSE can drop it), but without it this is not a log-probability."),
            (lambda g, e: np.isclose(g, np.sum(-np.log(density))) and y.size > 1,
             f"that is the sum over the {y.size} entries; the loss is their mean."),
            (lambda g, e: np.isclose(g, -e), "the sign: a negative log-likelihood is −log p."),
            (lambda g, e: np.isclose(g, 0.5 * np.log(2 * np.pi * sigma ** 2) + np.mean(sq) / (2 * sigma)),
             "the exponent divides by 2σ², σ squared."),
            (lambda g, e: np.isclose(g, 0.5 * np.log(2 * np.pi * sigma) + np.mean(sq) / (2 * sigma ** 2)),
             "the normalising factor is √(2πσ²): its log is ½·log(2πσ²), with σ squared."),
            (lambda g, e: np.isclose(g, np.log(2 * np.pi * sigma ** 2) + np.mean(sq) / (2 * sigma ** 2)),
             "the log of a square root: log √(2πσ²) = ½·log(2πσ²)."),
            (lambda g, e: np.isclose(g, 0.5 * np.log(2 * np.pi * sigma ** 2) + np.mean(sq) / sigma ** 2),
             "the exponent of the density is −(y − ŷ)²/(2σ²): the 2 is missing."),
        ])
    return ("gaussian_nll equals −mean log N(y; ŷ, σ²) on 4 cases (σ from 0.1 to 2, a 2-D batch): "
            "the mean squared error over 2σ², plus a constant.")


# ---- 2. the Bernoulli negative log-likelihood ----------------------------------------------

def _bernoulli_cases():
    rng = case_rng(31)
    return [
        (np.array([0.8]), np.array([1.0]), "by hand: p = 0.8, y = 1"),
        (np.array([0.8]), np.array([0.0]), "by hand: p = 0.8, y = 0"),
        (rng.uniform(0.05, 0.95, 6), rng.integers(0, 2, 6).astype(float), "6 random samples"),
        (rng.uniform(0.05, 0.95, (3, 2)), np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]), "a (3, 2) batch"),
    ]


@exercise("ex03_bernoulli_nll", LESSON, "the negative log-likelihood of a Bernoulli model", hints=[
    "The model gives the observed label the probability P(y | p) = p^y · (1 − p)^(1 − y): p when y = 1, "
    "1 − p when y = 0. The loss is −log of that probability, averaged over the samples.",
    "The log turns the product into a sum, and each power into a factor in front of a log. Then mind "
    "the sign, and take the mean over every entry.",
])
def check_bernoulli_nll(bernoulli_nll):
    """bernoulli_nll(p, y) -> mean over all entries of −log P(y | p), y in {0, 1}, p in (0, 1)."""
    for p, y, case in _bernoulli_cases():
        got = call(bernoulli_nll, p, y, what="bernoulli_nll(p, y)")
        observed = np.where(y == 1, p, 1 - p)                  # the probability of what happened
        expected = float(np.mean(-np.log(observed)))
        expect_number(got, expected, "bernoulli_nll", case, tol=1e-9, diagnoses=[
            (lambda g, e: np.isclose(g, np.mean(-y * np.log(p))),
             "the samples with y = 0 count too: their probability is 1 − p, so add (1 − y)·log(1 − p)."),
            (lambda g, e: np.isclose(g, np.mean(-np.log(p))),
             "the label decides which probability counts: p when y = 1, 1 − p when y = 0."),
            (lambda g, e: np.isclose(g, np.sum(-np.log(observed))) and y.size > 1,
             f"that is the sum over the {y.size} entries; the loss is their mean."),
            (lambda g, e: np.isclose(g, -e), "the sign: the loss is −log P, which is ≥ 0."),
            (lambda g, e: np.isclose(g, np.mean(-observed)) or np.isclose(g, np.mean(1 - observed)),
             "take the log of the probability: −log P(y | p), not −P."),
        ])
    return ("bernoulli_nll equals −mean log P(y | p) on 4 cases, labels 0 and 1: binary cross-entropy "
            "is the Bernoulli negative log-likelihood.")


# ---- 3. choosing the loss -------------------------------------------------------------------

TASKS = {
    "temperature": "predict tomorrow's temperature in °C (one real number)",
    "spam": "a model with ONE output unit says whether an email is spam",
    "digit": "a model with 10 output units says which digit (0–9) an image shows",
}
RIGHT = {"temperature": MSELoss, "spam": BCEWithLogits, "digit": SoftmaxCrossEntropy}

WHY_NOT = {
    ("temperature", BCEWithLogits): "a temperature such as 21.5 °C is not a probability or a class: "
                                    "cross-entropy needs targets in [0, 1]. A real-valued target calls for MSE.",
    ("temperature", SoftmaxCrossEntropy): "a temperature is one real number, not one of several classes: use MSE.",
    ("spam", MSELoss): "MSE on a probability: its gradient vanishes where the model is confidently wrong "
                       "(section 6), and it is not the likelihood of a yes/no label. Two classes with one "
                       "output unit: BCEWithLogits.",
    ("spam", SoftmaxCrossEntropy): "softmax over a single output is always 1, so nothing is learned. With ONE "
                                   "output unit (a logit) the binary form is the fit: BCEWithLogits.",
    ("digit", MSELoss): "MSE on class scores learns slowly where it is confidently wrong and does not make the "
                        "10 probabilities sum to 1: use softmax + cross-entropy.",
    ("digit", BCEWithLogits): "BCEWithLogits treats each of the 10 outputs as its own yes/no question, but an "
                              "image shows exactly one digit: softmax + cross-entropy (SoftmaxCrossEntropy).",
}


def _chosen(choose_loss, task):
    """Scenario, run beside the student's code: what choose_loss(task) returned, as plain data."""
    answer = choose_loss(task)
    if answer is None:
        return {"kind": "none", "name": "", "text": "None"}
    kind = "class" if isinstance(answer, type) else "object"
    return {"kind": kind, "name": answer.__name__ if kind == "class" else type(answer).__name__,
            "text": repr(answer)[:80]}


LOSSES = {cls.__name__: cls for cls in (MSELoss, BCEWithLogits, SoftmaxCrossEntropy)}


@exercise("ex03_choose_loss", LESSON, "choose the loss for three tasks", hints=[
    "Ask what the target is: a real number (regression), one of two classes, or one of many classes.",
    "A real number calls for the loss of section 2; two classes with one output unit for the Bernoulli "
    "likelihood, computed from the logit; one of C classes with C outputs for the categorical likelihood.",
])
def check_choose_loss(choose_loss):
    """choose_loss(task) -> a loss object (e.g. bp.MSELoss()) for task in "temperature", "spam", "digit"."""
    for task, description in TASKS.items():
        answer = call(_chosen, choose_loss, task, what=f"choose_loss({task!r})")
        if answer["kind"] == "none":
            raise Wrong(f"choose_loss({task!r}) returned None.",
                        "return a loss object, e.g. `return bp.MSELoss()` for the right task.")
        if answer["name"] in (L1.__name__, L2.__name__):
            raise Wrong(f"choose_loss({task!r}) returned {answer['name']}: that is a weight penalty, not a loss.",
                        "choose among bp.MSELoss, bp.BCEWithLogits and bp.SoftmaxCrossEntropy.")
        if answer["name"] not in LOSSES:
            raise Wrong(f"choose_loss({task!r}) returned {answer['text']}, expected one of the course's losses.",
                        "choose among bp.MSELoss(), bp.BCEWithLogits() and bp.SoftmaxCrossEntropy().")
        cls = LOSSES[answer["name"]]
        if cls is not RIGHT[task]:
            raise Wrong(f"for {task!r} ({description}) you chose {cls.__name__}.", WHY_NOT[(task, cls)])
    return ("temperature → MSELoss, spam (one output) → BCEWithLogits, digit (10 outputs) → SoftmaxCrossEntropy.")


# ---- 4. softmax cross-entropy --------------------------------------------------------------

def _ce_cases():
    """(logits, labels): small by hand, random, one sample, and logits large enough to overflow exp()."""
    rng = case_rng(33)
    return [
        (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
        (rng.standard_normal((4, 5)), rng.integers(0, 5, 4)),
        (np.array([[0.3, -0.2, 1.7, 0.0]]), np.array([3])),
        (np.array([[1000.0, 0.0, -1000.0], [-500.0, 500.0, 0.0], [800.0, 800.0, 1.0]]), np.array([0, 0, 1])),
    ]


def _reference_loss(logits, labels):
    return SoftmaxCrossEntropy().forward(logits, labels)


def _pair(out, what):
    if out is None:
        raise Wrong(f"{what} returned None.", "end the function with `return loss, dlogits`.")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Wrong(f"{what} should return two things (loss, dlogits), got a {type(out).__name__}.",
                    "return both at once: `return loss, dlogits`.")
    return out


@exercise("ex03_softmax_ce", LESSON, "stable softmax cross-entropy: forward and backward", hints=[
    "Softmax does not change when the same number is subtracted from every logit of a row, so subtract "
    "the row's maximum first: then the largest exponent is e⁰ = 1 and nothing overflows. Work with "
    "log-probabilities: log p = z − max − log Σ exp(z − max).",
    "The loss: each row's log-probability of its own label (index with np.arange(N) and labels), averaged, "
    "with a minus sign. dlogits: the gradient of section 5, divided by N because the loss is a mean — "
    "start from p and change one entry per row.",
])
def check_softmax_cross_entropy(softmax_cross_entropy):
    """softmax_cross_entropy(logits (N, C), labels (N,)) -> (loss: float, dlogits: (N, C))."""
    cases = _ce_cases()
    for logits, labels in cases:
        n, c = logits.shape
        case = f"logits = {fmt(logits)}, labels = {labels.tolist()}"
        what = "softmax_cross_entropy(logits, labels)"
        loss, dlogits = _pair(call(softmax_cross_entropy, logits, labels, what=what), what)
        huge = np.abs(logits).max() > 100
        if huge and (loss is None or not np.all(np.isfinite(np.asarray(loss, dtype=float)))):
            raise Wrong(f"case {case}: the loss is {loss} — exp(1000) overflows to inf.",
                        "subtract each row's maximum logit before exp: softmax is unchanged, and the "
                        "largest exponent becomes e⁰ = 1 (the log-sum-exp trick).")
        expected = _reference_loss(logits, labels)
        p = softmax(logits)
        picked = -np.log(np.maximum(p[np.arange(n), labels], 1e-300))
        expect_number(loss, expected, "the loss", case, tol=1e-7, diagnoses=[
            (lambda g, e: np.isclose(g, picked.sum()) and n > 1,
             f"that is the sum over the batch; PyTorch's default (and ours) is the mean: divide by N = {n}."),
            (lambda g, e: np.isclose(g, picked.sum() / (n * c)),
             "you divided by N·C: the mean is over the batch only (one loss per sample)."),
            (lambda g, e: np.isclose(g, -picked.mean()), "the sign: the loss is −log p of the true class (≥ 0)."),
            (lambda g, e: np.isclose(g, -np.log(p).mean()) or np.isclose(g, -np.log(p).sum(axis=1).mean()),
             "use only the true class's log-probability: log_p[np.arange(N), labels]."),
            (lambda g, e: np.isclose(g, -p[np.arange(n), labels].mean()),
             "take the log of the probability: −log p, not −p."),
        ])
        numeric = numerical_gradient(lambda z: _reference_loss(z, labels), logits.copy())
        onehot = np.eye(c)[labels]
        expect_array(dlogits, numeric, "dlogits", case, tol=TOL, batch=n, diagnoses=[
            (lambda g, e: np.allclose(g, p - onehot) and n > 1,
             f"p − y is one sample's gradient; the loss is a mean over N = {n}, so divide by N."),
            (lambda g, e: np.allclose(g, p / n) or np.allclose(g, p),
             "subtract the one-hot labels: the gradient is (p − y) / N, with 1 subtracted at the true class."),
            (lambda g, e: np.allclose(g, (onehot - p) / n), "the sign: it is p − y, not y − p."),
        ])
    return (f"the loss matches −mean log softmax and dlogits matches numerical gradients on {len(cases)} "
            "cases, including logits of ±1000 (every relative error below 1e-7).")


# ---- 5. softmax's backward: the Jacobian, applied without building it --------------------

def _softmax_cases():
    rng = case_rng(34)
    return [
        (np.array([[2.0, 1.0, 0.1]]), np.array([[1.0, 0.0, 0.0]]), "by hand: z = (2, 1, 0.1), dL/dp = (1, 0, 0)"),
        (rng.standard_normal((4, 5)), rng.standard_normal((4, 5)), "4 random samples, 5 classes"),
        (2 * rng.standard_normal((3, 10)), rng.standard_normal((3, 10)), "3 random samples, 10 classes"),
    ]


@exercise("ex03_softmax_backward", LESSON, "softmax's backward pass", hints=[
    "dL/dz_j = Σ_i dL/dp_i · ∂p_i/∂z_j with softmax's Jacobian from section 5: every logit moves every "
    "probability. Write the sum for one j, and split it into the term i = j and the others.",
    "Every term of that sum has the factor p_j; what is left beside it is dp_j minus one number per "
    "sample, the same for every j. Compute that number with a sum over the class axis (keepdims=True) "
    "and combine: no C×C matrix is needed.",
])
def check_softmax_backward(softmax_backward):
    """softmax_backward(dp, p) -> dz, where p = softmax(z) and dp = dL/dp; all (N, C)."""
    for z, dp, case in _softmax_cases():
        p = softmax(z)
        numeric = numerical_gradient(lambda v: np.sum(dp * softmax(v)), z.copy())
        got = call(softmax_backward, dp, p, what="softmax_backward(dp, p)")
        inner = np.sum(dp * p, axis=1, keepdims=True)
        expect_array(got, numeric, "dz", case, tol=TOL, diagnoses=[
            (lambda g, e: np.allclose(g, dp * p * (1 - p)),
             "that is only the diagonal of the Jacobian, as if each output were a sigmoid: in softmax every "
             "logit moves every probability, so the off-diagonal terms −p_i·p_j count too."),
            (lambda g, e: np.allclose(g, p * (dp - np.sum(dp * p))) and z.shape[0] > 1,
             "the sum Σ_i dp_i·p_i belongs to each sample: sum over the class axis (axis=1, keepdims=True), "
             "not over the whole batch."),
            (lambda g, e: np.allclose(g, p * (dp - np.sum(dp, axis=1, keepdims=True))),
             "weight the sum by the probabilities: Σ_i dp_i·p_i, not Σ_i dp_i."),
            (lambda g, e: np.allclose(g, dp - inner),
             "multiply by p_j: every entry of the Jacobian's column j carries the factor p_j."),
            (lambda g, e: np.allclose(g, dp),
             "softmax is not the identity: the gradient must go through its Jacobian."),
        ])
    return ("dz agrees with numerical gradients on 3 cases, up to 10 classes (every relative error "
            "below 1e-7).")
