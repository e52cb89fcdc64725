"""03_loss_functions checks: the reference passes, typical mistakes get their hint,
stubs are "not attempted", odd return values get a kind verdict."""
import numpy as np
import pytest

import bpcourse as bp


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
