"""Losses and penalties: values against their definitions, gradients against numerical ones."""
import numpy as np
import pytest

import bpcourse as bp

RNG = np.random.default_rng(3)


def numeric_loss_gradient(loss_fn, prediction, target):
    return bp.numerical_gradient(lambda p: loss_fn.forward(p, target), prediction.copy())


@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (4,), (2, 3, 2)])
def test_mse_value_and_gradient(shape):
    pred, target = RNG.standard_normal(shape), RNG.standard_normal(shape)
    loss_fn = bp.MSELoss()
    value = loss_fn.forward(pred, target)
    assert isinstance(value, float)
    assert value == pytest.approx(sum((p - t) ** 2 for p, t in zip(pred.ravel(), target.ravel())) / pred.size)
    assert bp.rel_error(loss_fn.backward(), numeric_loss_gradient(loss_fn, pred, target)) < 1e-7


@pytest.mark.parametrize("n,c", [(1, 2), (6, 4), (10, 10)])
def test_softmax_cross_entropy_value_and_gradient(n, c):
    logits, labels = RNG.standard_normal((n, c)) * 3, RNG.integers(0, c, n)
    loss_fn = bp.SoftmaxCrossEntropy()
    value = loss_fn.forward(logits, labels)
    by_definition = np.mean([-np.log(np.exp(z[y]) / np.exp(z).sum()) for z, y in zip(logits, labels)])
    assert value == pytest.approx(by_definition, rel=1e-12)
    assert bp.rel_error(loss_fn.backward(), numeric_loss_gradient(loss_fn, logits, labels)) < 1e-7


def test_softmax_cross_entropy_backward_is_p_minus_y_over_n():
    logits, labels = RNG.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    loss_fn = bp.SoftmaxCrossEntropy()
    loss_fn.forward(logits, labels)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(loss_fn.backward(), (p - np.eye(3)[labels]) / 4, rtol=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 0.0]])
    loss_fn = bp.SoftmaxCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is harmless
        value = loss_fn.forward(logits, np.array([2, 1]))
        grad = loss_fn.backward()
    assert value == pytest.approx(1000.0)       # -log p = 2000 for the first sample, 0 for the second
    np.testing.assert_allclose(grad, [[0.5, 0, -0.5], [0, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(bp.softmax(logits).sum(axis=1), 1)


@pytest.mark.parametrize("shape", [(5,), (4, 1), (3, 2)])
def test_bce_with_logits_value_and_gradient(shape):
    z, y = RNG.standard_normal(shape) * 2, RNG.random(shape)
    loss_fn = bp.BCEWithLogits()
    value = loss_fn.forward(z, y)
    s = 1 / (1 + np.exp(-z))
    assert value == pytest.approx(np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s)), rel=1e-12)
    assert bp.rel_error(loss_fn.backward(), numeric_loss_gradient(loss_fn, z, y)) < 1e-7


def test_bce_with_logits_is_stable():
    loss_fn = bp.BCEWithLogits()
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is harmless
        value = loss_fn.forward(np.array([1000.0, -1000.0]), np.array([0.0, 1.0]))
        grad = loss_fn.backward()
    assert value == pytest.approx(1000.0)
    np.testing.assert_allclose(grad, [0.5, -0.5])


@pytest.mark.parametrize("penalty", [bp.L2(0.3), bp.L1(0.2), bp.L2(0.1, weights_only=False)], ids=repr)
def test_penalty_value_and_gradient(penalty):
    model = bp.Sequential(bp.Linear(3, 4, rng=np.random.default_rng(0)), bp.Linear(4, 2, rng=np.random.default_rng(1)))
    for p in model.parameters():
        p.data[...] = RNG.standard_normal(p.shape)
    params = model.parameters()
    penalty.backward(params)
    for p in params:
        numeric = bp.numerical_gradient(lambda _: penalty.forward(params), p.data)
        assert bp.rel_error(p.grad, numeric) < 1e-7 or (not p.grad.any() and not numeric.any())
    weights = [p for p in params if p.data.ndim == 2]
    if penalty.weights_only:
        assert all(not p.grad.any() for p in params if p.data.ndim == 1)       # biases untouched
    expected = sum(0.5 * np.sum(w.data ** 2) if isinstance(penalty, bp.L2) else np.sum(np.abs(w.data))
                   for w in (weights if penalty.weights_only else params))
    assert penalty.forward(params) == pytest.approx(penalty.lam * expected)


def test_l2_penalty_equals_sgd_weight_decay():
    rng = np.random.default_rng(0)
    a, b = bp.Linear(3, 2, bias=False, rng=rng), bp.Linear(3, 2, bias=False, rng=rng)
    b.weight.data[...] = a.weight.data
    bp.L2(0.1).backward(a.parameters())
    bp.SGD(a.parameters(), lr=0.5).step()
    bp.SGD(b.parameters(), lr=0.5, weight_decay=0.1).step()
    np.testing.assert_allclose(a.weight.data, b.weight.data)


@pytest.mark.parametrize("labels,match", [
    (np.array([0, 3]), r"label 3 is out of range for 3 classes \(labels must be 0 … 2\)"),
    (np.array([0, -1]), "label -1 is out of range"),
    (np.array([0.5, 1.0]), "integer class labels, got dtype float64"),
    (np.eye(3)[[0, 1]], r"got one-hot \(2, 3\): pass labels.argmax\(axis=1\)"),
    (np.array([0, 1, 2]), r"labels of shape \(2,\) for 2 samples, got \(3,\)"),
])
def test_softmax_cross_entropy_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        bp.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), labels)


def test_loss_errors():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 1\) and \(4,\)"):
        bp.MSELoss().forward(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        bp.BCEWithLogits().forward(np.zeros(2), np.array([0.0, 2.0]))
    with pytest.raises(ValueError, match="empty batch"):
        bp.MSELoss().forward(np.zeros(0), np.zeros(0))
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        bp.SoftmaxCrossEntropy().backward()
    with pytest.raises(ValueError, match="must be ≥ 0"):
        bp.L2(-1)


def test_float32_losses_keep_float32():
    logits = RNG.standard_normal((4, 3)).astype(np.float32)
    for loss_fn, target in [(bp.SoftmaxCrossEntropy(), np.array([0, 1, 2, 0])),
                            (bp.MSELoss(), np.zeros((4, 3), np.float32)),
                            (bp.BCEWithLogits(), np.ones((4, 3), np.float32))]:
        loss_fn.forward(logits, target)
        assert loss_fn.backward().dtype == np.float32, loss_fn


def test_targets_with_nan_are_refused_not_averaged():
    with pytest.raises(ValueError, match="BCEWithLogits: the targets contain NaN"):
        bp.BCEWithLogits().forward(np.zeros(3), np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="MSELoss: the targets contain NaN"):
        bp.MSELoss().forward(np.zeros(3), np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match=r"expects integer class labels, got dtype float64 with values such as nan \(labels are 0 … 2\)"):
        bp.SoftmaxCrossEntropy().forward(np.zeros((2, 3)), np.array([0.0, np.nan]))


def test_loss_shape_slips_name_the_cure():
    with pytest.raises(ValueError, match=r"labels of shape \(4,\) for 4 samples, got \(4, 1\) \(flatten them: labels.ravel\(\)\)"):
        bp.SoftmaxCrossEntropy().forward(np.zeros((4, 3)), np.zeros((4, 1), int))
    with pytest.raises(ValueError, match=r"Reshape the targets: targets.reshape\(4, 1\)"):
        bp.BCEWithLogits().forward(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match=r"L2\(lam=0.1\) takes model.parameters\(\)"):
        bp.L2(0.1).forward([np.ones((2, 2))])
    with pytest.raises(ValueError, match=r"L1 strength must be ≥ 0 \(a number such as 1e-3\), got '0.1'"):
        bp.L1("0.1")


def test_softmax_of_one_row_and_of_whole_numbers():
    np.testing.assert_allclose(bp.softmax([1, 2, 3]), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum(), rtol=1e-15)
    np.testing.assert_allclose(bp.softmax(np.array([[1.0, 2.0, 3.0]]))[0], bp.softmax([1.0, 2.0, 3.0]))
    model = bp.Sequential(bp.Linear(2, 2, rng=np.random.default_rng(0)))
    penalty = bp.L2(0.5)
    assert penalty.forward(model) == pytest.approx(0.25 * np.sum(model[0].weight.data ** 2))   # a model is fine too
