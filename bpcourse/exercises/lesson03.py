"""Checks for 03_loss_functions: a stable softmax cross-entropy, and choosing the loss for a task."""
__all__ = ["check_softmax_cross_entropy", "check_choose_loss"]

import numpy as np

from .core import Wrong, bound, call, exercise, expect_array, expect_number, fmt
from ..gradcheck import numerical_gradient
from ..losses import BCEWithLogits, L1, L2, MSELoss, SoftmaxCrossEntropy, softmax

LESSON = "03_loss_functions"

# (logits, labels): small by hand, random, one sample, and logits large enough to overflow exp()
CE_CASES = [
    (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
    (np.random.default_rng(3).standard_normal((4, 5)), np.array([4, 0, 1, 1])),
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
    "loss = −mean over the batch of log p[i, labels[i]] (index with np.arange(N), labels). "
    "dlogits = (p − y) / N with y one-hot: copy p and subtract 1 at [np.arange(N), labels], then divide by N.",
])
def check_softmax_cross_entropy(softmax_cross_entropy):
    """softmax_cross_entropy(logits (N, C), labels (N,)) -> (loss: float, dlogits: (N, C))."""
    worst = 0.0
    for logits, labels in CE_CASES:
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
        worst = max(worst, expect_array(dlogits, numeric, "dlogits", case, tol=1e-6, batch=n, diagnoses=[
            (lambda g, e: np.allclose(g, p - onehot) and n > 1,
             f"p − y is one sample's gradient; the loss is a mean over N = {n}, so divide by N."),
            (lambda g, e: np.allclose(g, p / n) or np.allclose(g, p),
             "subtract the one-hot labels: the gradient is (p − y) / N, with 1 subtracted at the true class."),
            (lambda g, e: np.allclose(g, (onehot - p) / n), "the sign: it is p − y, not y − p."),
        ]))
    return (f"the loss matches −mean log softmax and dlogits matches numerical gradients on {len(CE_CASES)} "
            f"cases, including logits of ±1000 (max rel. error {bound(worst)}).")


# ---- choosing the loss -------------------------------------------------------------------

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
    ("spam", MSELoss): "MSE on a probability: its gradient vanishes when the model is confidently wrong "
                       "(the experiment above). Two classes with one output unit: BCEWithLogits.",
    ("spam", SoftmaxCrossEntropy): "softmax over a single output is always 1, so nothing is learned. With ONE "
                                   "output unit (a logit) the binary form is the fit: BCEWithLogits.",
    ("digit", MSELoss): "MSE on class scores learns slowly where it is confidently wrong and does not make the "
                        "10 probabilities sum to 1: use softmax + cross-entropy.",
    ("digit", BCEWithLogits): "BCEWithLogits treats each of the 10 outputs as its own yes/no question, but an "
                              "image shows exactly one digit: softmax + cross-entropy (SoftmaxCrossEntropy).",
}


def _loss_class(answer):
    if isinstance(answer, type):
        return answer
    return type(answer)


@exercise("ex03_choose_loss", LESSON, "choose the loss for three tasks", hints=[
    "Ask what the target is: a real number (regression), one of two classes, or one of many classes.",
    "Real number → MSELoss. Two classes with one output unit (a logit) → BCEWithLogits. "
    "One of C classes with C outputs → SoftmaxCrossEntropy.",
])
def check_choose_loss(choose_loss):
    """choose_loss(task) -> a loss object (e.g. bp.MSELoss()) for task in "temperature", "spam", "digit"."""
    for task, description in TASKS.items():
        answer = call(choose_loss, task, what=f"choose_loss({task!r})")
        if answer is None:
            raise Wrong(f"choose_loss({task!r}) returned None.",
                        "return a loss object, e.g. `return bp.MSELoss()` for the right task.")
        cls = _loss_class(answer)
        if cls in (L1, L2):
            raise Wrong(f"choose_loss({task!r}) returned {cls.__name__}: that is a weight penalty, not a loss.",
                        "choose among bp.MSELoss, bp.BCEWithLogits and bp.SoftmaxCrossEntropy.")
        if cls not in RIGHT.values():
            raise Wrong(f"choose_loss({task!r}) returned {answer!r}, expected one of the course's losses.",
                        "choose among bp.MSELoss(), bp.BCEWithLogits() and bp.SoftmaxCrossEntropy().")
        if cls is not RIGHT[task]:
            raise Wrong(f"for {task!r} ({description}) you chose {cls.__name__}.", WHY_NOT[(task, cls)])
    return ("temperature → MSELoss, spam (one output) → BCEWithLogits, digit (10 outputs) → SoftmaxCrossEntropy.")
