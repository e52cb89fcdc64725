"""03_loss_functions checks: the reference passes, typical mistakes get their hint,
stubs are "not attempted", odd return values get a kind verdict."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import core
from isolation import isolated


def softmax_cross_entropy(logits, labels):
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), labels].mean()
    d = np.exp(log_p)
    d[np.arange(n), labels] -= 1
    return loss, d / n


def naive(logits, labels):
    n = logits.shape[0]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), labels]).mean()
    d = p.copy()
    d[np.arange(n), labels] -= 1
    return loss, d / n


def _onehot(logits, labels):
    return np.eye(logits.shape[1])[labels]


def variant(loss_fn=None, grad_fn=None):
    """The reference with its loss or gradient replaced by a typical mistake."""
    def fn(logits, labels):
        loss, d = softmax_cross_entropy(logits, labels)
        n = logits.shape[0]
        p = bp.softmax(logits)
        return (loss_fn(loss, n, logits, labels, p) if loss_fn else loss,
                grad_fn(d, n, logits, labels, p) if grad_fn else d)
    return fn


def stub(*args):
    raise NotImplementedError


def run(check, fn, capsys):
    v = check(fn)
    capsys.readouterr()
    return v


def test_reference_passes(capsys):
    v = bp.exercises.check_softmax_cross_entropy(softmax_cross_entropy)
    assert v and "±1000" in v.message


MISTAKES = {
    "naive overflows": (naive, "subtract each row's maximum"),
    "sum not mean": (variant(loss_fn=lambda l, n, z, y, p: l * n), "divide by N"),
    "mean over N·C": (variant(loss_fn=lambda l, n, z, y, p: l / z.shape[1]), "N·C"),
    "sign of loss": (variant(loss_fn=lambda l, n, z, y, p: -l), "the sign"),
    "all classes": (variant(loss_fn=lambda l, n, z, y, p: -np.log(p).sum(axis=1).mean()), "true class's"),
    "no log": (variant(loss_fn=lambda l, n, z, y, p: -p[np.arange(n), y].mean()), "take the log"),
    "gradient not divided by N": (variant(grad_fn=lambda d, n, z, y, p: d * n), "divide by N"),
    "y not subtracted": (variant(grad_fn=lambda d, n, z, y, p: p / n), "subtract the one-hot"),
    "y − p": (variant(grad_fn=lambda d, n, z, y, p: -d), "p − y, not y − p"),
    "loss per sample": (variant(loss_fn=lambda l, n, z, y, p: -np.log(p[np.arange(n), y])), "single number"),
    "transposed gradient": (variant(grad_fn=lambda d, n, z, y, p: d.T), "transposed"),
}


@pytest.mark.parametrize("name", MISTAKES)
def test_mistakes_get_their_hint(name, capsys):
    fn, hint = MISTAKES[name]
    v = run(bp.exercises.check_softmax_cross_entropy, fn, capsys)
    assert v.status == "wrong", v
    assert hint in v.hint or hint in v.message, (v.message, v.hint)


def test_not_attempted_and_odd_returns(capsys):
    check = bp.exercises.check_softmax_cross_entropy
    assert run(check, stub, capsys).status == "not attempted"
    v = run(check, lambda z, y: None, capsys)
    assert v.status == "wrong" and "None" in v.message
    v = run(check, lambda z, y: 1.0, capsys)
    assert v.status == "wrong" and "two things" in v.message
    v = run(check, lambda z, y: z[100], capsys)
    assert v.status == "wrong" and "IndexError" in v.message
    v = run(check, lambda z, y: ("a", "b"), capsys)
    assert v.status == "wrong"


def test_the_check_does_not_warn(capsys, recwarn):
    with np.errstate(all="raise"):
        run(bp.exercises.check_softmax_cross_entropy, naive, capsys)
    assert len(recwarn) == 0


# ---- choosing the loss ----

def choose_loss(task):
    return {"temperature": bp.MSELoss(), "spam": bp.BCEWithLogits(), "digit": bp.SoftmaxCrossEntropy()}[task]


def test_choose_loss_reference_and_classes_pass(capsys):
    assert bp.exercises.check_choose_loss(choose_loss)
    classes = {"temperature": bp.MSELoss, "spam": bp.BCEWithLogits, "digit": bp.SoftmaxCrossEntropy}
    assert run(bp.exercises.check_choose_loss, lambda t: classes[t], capsys)


@pytest.mark.parametrize("task, wrong, hint", [
    ("temperature", bp.BCEWithLogits, "targets in [0, 1]"),
    ("temperature", bp.SoftmaxCrossEntropy, "one real number"),
    ("spam", bp.MSELoss, "vanishes"),
    ("spam", bp.SoftmaxCrossEntropy, "single output is always 1"),
    ("digit", bp.MSELoss, "sum to 1"),
    ("digit", bp.BCEWithLogits, "exactly one digit"),
])
def test_choose_loss_wrong_choice_explains_why(task, wrong, hint, capsys):
    def fn(t):
        return wrong() if t == task else choose_loss(t)
    v = run(bp.exercises.check_choose_loss, fn, capsys)
    assert v.status == "wrong" and task in v.message and hint in v.hint


def test_choose_loss_odd_answers(capsys):
    check = bp.exercises.check_choose_loss
    assert run(check, stub, capsys).status == "not attempted"
    v = run(check, lambda t: None, capsys)
    assert v.status == "wrong" and "None" in v.message
    v = run(check, lambda t: "mse", capsys)
    assert v.status == "wrong" and "one of the course's losses" in v.message
    v = run(check, lambda t: bp.L2(0.1), capsys)
    assert v.status == "wrong" and "weight penalty" in v.message
    v = run(check, lambda t: {"x": 1}[t], capsys)
    assert v.status == "wrong" and "KeyError" in v.message


def test_choose_loss_runs_isolated_on_hidden_cases(capsys):
    # it returns loss objects: the check sees only their names, through a scenario
    with isolated(), core.hidden_cases(3):
        assert run(bp.exercises.check_choose_loss, choose_loss, capsys)
        v = run(bp.exercises.check_choose_loss,
                lambda t: bp.MSELoss() if t == "spam" else choose_loss(t), capsys)
    assert v.status == "wrong" and "vanishes" in v.hint


# ---- the Gaussian negative log-likelihood ----

def gaussian_nll(y_hat, y, sigma, *, const=True, square_sigma=True, half_log=True, two=True, mean=True):
    """The reference, or (with a keyword) one of the typical mistakes."""
    log_term = np.log(2 * np.pi * (sigma ** 2 if square_sigma else sigma)) * (0.5 if half_log else 1.0)
    per = (log_term if const else 0.0) + (y - y_hat) ** 2 / ((2 if two else 1) * sigma ** 2)
    per = np.broadcast_to(per, np.shape(y))
    return float(np.mean(per) if mean else np.sum(per))


def test_gaussian_nll_reference_passes(capsys):
    assert run(bp.exercises.check_gaussian_nll, gaussian_nll, capsys)
    assert run(bp.exercises.check_gaussian_nll, stub, capsys).status == "not attempted"


@pytest.mark.parametrize("mistake, hint", [
    (dict(const=False), "normalising constant is missing"),
    (dict(square_sigma=False), "with σ squared"),
    (dict(half_log=False), "log of a square root"),
    (dict(two=False), "the 2 is missing"),
    (dict(mean=False), "their mean"),
], ids=["no-constant", "sigma-not-squared", "no-half", "no-two", "sum"])
def test_gaussian_nll_mistakes(mistake, hint, capsys):
    v = run(bp.exercises.check_gaussian_nll, lambda yh, y, s: gaussian_nll(yh, y, s, **mistake), capsys)
    assert v.status == "wrong" and hint in v.hint, (v.message, v.hint)


def test_gaussian_nll_sigma_in_exponent_and_sign(capsys):
    v = run(bp.exercises.check_gaussian_nll,
            lambda yh, y, s: float(np.mean(0.5 * np.log(2 * np.pi * s ** 2) + (y - yh) ** 2 / (2 * s))), capsys)
    assert v.status == "wrong" and "σ squared" in v.hint
    v = run(bp.exercises.check_gaussian_nll, lambda yh, y, s: -gaussian_nll(yh, y, s), capsys)
    assert v.status == "wrong" and "sign" in v.hint
    v = run(bp.exercises.check_gaussian_nll, lambda yh, y, s: (y - yh) ** 2, capsys)
    assert v.status == "wrong" and "single number" in v.message


# ---- the Bernoulli negative log-likelihood ----

def bernoulli_nll(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_bernoulli_nll_reference_and_the_where_form_pass(capsys):
    assert run(bp.exercises.check_bernoulli_nll, bernoulli_nll, capsys)
    assert run(bp.exercises.check_bernoulli_nll, lambda p, y: -np.mean(np.log(np.where(y == 1, p, 1 - p))), capsys)
    assert run(bp.exercises.check_bernoulli_nll, stub, capsys).status == "not attempted"


@pytest.mark.parametrize("wrong, hint", [
    (lambda p, y: float(-np.mean(y * np.log(p))), "add (1 − y)·log(1 − p)"),
    (lambda p, y: float(-np.mean(np.log(p))), "the label decides"),
    (lambda p, y: float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))), "their mean"),
    (lambda p, y: -bernoulli_nll(p, y), "the sign"),
    (lambda p, y: float(-np.mean(y * p + (1 - y) * (1 - p))), "take the log"),
], ids=["no-y0-term", "ignores-label", "sum", "sign", "no-log"])
def test_bernoulli_nll_mistakes(wrong, hint, capsys):
    v = run(bp.exercises.check_bernoulli_nll, wrong, capsys)
    assert v.status == "wrong" and hint in v.hint, (v.message, v.hint)


# ---- softmax's backward ----

def softmax_backward(dp, p):
    return p * (dp - np.sum(dp * p, axis=1, keepdims=True))


def with_jacobian(dp, p):
    jacobian = p[:, :, None] * np.eye(p.shape[1]) - p[:, :, None] * p[:, None, :]
    return np.einsum("nij,ni->nj", jacobian, dp)


def test_softmax_backward_reference_and_the_explicit_jacobian_pass(capsys):
    assert run(bp.exercises.check_softmax_backward, softmax_backward, capsys)
    assert run(bp.exercises.check_softmax_backward, with_jacobian, capsys)
    assert run(bp.exercises.check_softmax_backward, stub, capsys).status == "not attempted"


@pytest.mark.parametrize("wrong, hint", [
    (lambda dp, p: dp * p * (1 - p), "only the diagonal"),
    (lambda dp, p: p * (dp - np.sum(dp * p)), "belongs to each sample"),
    (lambda dp, p: p * (dp - np.sum(dp, axis=1, keepdims=True)), "weight the sum"),
    (lambda dp, p: dp - np.sum(dp * p, axis=1, keepdims=True), "multiply by p_j"),
    (lambda dp, p: dp, "not the identity"),
    (lambda dp, p: -softmax_backward(dp, p), "sign"),
], ids=["diagonal-only", "batch-sum", "unweighted-sum", "no-factor-p", "identity", "sign"])
def test_softmax_backward_mistakes(wrong, hint, capsys):
    v = run(bp.exercises.check_softmax_backward, wrong, capsys)
    assert v.status == "wrong" and hint in v.hint, (v.message, v.hint)


@pytest.mark.parametrize("check, solution", [
    ("check_gaussian_nll", gaussian_nll), ("check_bernoulli_nll", bernoulli_nll),
    ("check_softmax_cross_entropy", softmax_cross_entropy), ("check_softmax_backward", softmax_backward),
])
def test_references_pass_isolated_on_hidden_cases(check, solution, capsys):
    with isolated(), core.hidden_cases(2026):
        assert run(getattr(bp.exercises, check), solution, capsys)
