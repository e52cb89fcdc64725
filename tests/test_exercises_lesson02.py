"""Lesson 02's checks: reference solutions pass, typical mistakes fail with their hint,
stubs are "not attempted", odd returns get a kind verdict and never crash the check."""
import numpy as np
import pytest

from bpcourse.exercises import (check_linear_backward, check_linear_forward, check_relu_backward,
                                check_sigmoid_backward)


def stub(*args):
    raise NotImplementedError


def sig(x):
    return 1 / (1 + np.exp(-x))


# ---- linear_forward ------------------------------------------------------------------------

def test_linear_forward_reference_passes():
    verdict = check_linear_forward(lambda x, W, b: x @ W + b)
    assert verdict and "N = 1" in verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, W, b: x @ W, "bias is missing"),
    (lambda x, W, b: x @ W - b, "do not subtract"),
], ids=["no-bias", "minus-bias"])
def test_linear_forward_mistakes(wrong, hint):
    verdict = check_linear_forward(wrong)
    assert verdict.status == "wrong" and hint in verdict.hint


def test_linear_forward_transposed_weight_is_named():
    # on the non-square cases, x @ W.T cannot even be computed: the error is reported kindly
    verdict = check_linear_forward(lambda x, W, b: x @ W.T + b)
    assert verdict.status == "wrong" and "ValueError" in verdict.message
    # where it can (square W, reached only if the earlier cases pass), the hint names it
    def square_only(x, W, b):
        return x @ W.T + b if W.shape[0] == W.shape[1] else x @ W + b
    verdict = check_linear_forward(square_only)
    assert verdict.status == "wrong" and "not x @ W.T" in verdict.hint


def test_linear_forward_odd_returns():
    assert check_linear_forward(stub).status == "not attempted"
    assert check_linear_forward(lambda x, W, b: None).status == "wrong"
    shape = check_linear_forward(lambda x, W, b: (x @ W + b).T)
    assert shape.status == "wrong" and "shape" in shape.message
    assert check_linear_forward(lambda x, W, b: x * W + b).status == "wrong"      # broadcasting error


# ---- linear_backward -----------------------------------------------------------------------

def linear_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def test_linear_backward_reference_passes():
    verdict = check_linear_backward(linear_backward)
    assert verdict and "numerical gradients" in verdict.message


@pytest.mark.parametrize("wrong, text", [
    (lambda d, x, W: (d @ W.T, x.T @ d, d), "sum over the batch axis"),
    (lambda d, x, W: (d @ W.T, d.T @ x, d.sum(axis=0)), "transposed"),
    (lambda d, x, W: (d @ W.T, x.T @ d / x.shape[0], d.sum(axis=0)), "do not divide by N"),
    (lambda d, x, W: (d @ W.T, x.T @ d, d.mean(axis=0)), "SUM of dout"),
    (lambda d, x, W: (d @ W.T, x.T @ d, -d.sum(axis=0)), "sign is flipped"),
    (lambda d, x, W: (W @ d.T, x.T @ d, d.sum(axis=0)), "transposed"),
], ids=["db-per-sample", "dW-transposed", "dW-mean", "db-mean", "db-sign", "dx-transposed"])
def test_linear_backward_mistakes(wrong, text):
    verdict = check_linear_backward(wrong)
    assert verdict.status == "wrong" and text in verdict.hint, verdict


def test_linear_backward_mean_instead_of_sum_caught_on_a_batch_larger_than_one():
    # N = 1 passes (mean = sum); the N = 4 case must catch it and say it is a factor of N
    verdict = check_linear_backward(lambda d, x, W: (d @ W.T, x.T @ d, d.mean(axis=0)))
    assert "x: (4, 3)" in verdict.message


def test_linear_backward_odd_returns():
    assert check_linear_backward(stub).status == "not attempted"
    none = check_linear_backward(lambda d, x, W: None)
    assert none.status == "wrong" and "None" in none.message
    two = check_linear_backward(lambda d, x, W: (d @ W.T, x.T @ d))
    assert two.status == "wrong" and "return dx, dW, db" in two.hint
    assert check_linear_backward(lambda d, x, W: d @ W).status == "wrong"
    boom = check_linear_backward(lambda d, x, W: (x @ W, x.T @ d, d.sum(0)))
    assert boom.status == "wrong"


# ---- relu_backward -------------------------------------------------------------------------

def test_relu_backward_reference_passes():
    assert check_relu_backward(lambda dout, x: dout * (x > 0))
    assert check_relu_backward(lambda dout, x: np.where(x > 0, dout, 0.0))


@pytest.mark.parametrize("wrong, hint", [
    (lambda d, x: d, "only where x < 0"),
    (lambda d, x: (x > 0).astype(float), "local derivative alone"),
    (lambda d, x: d * np.maximum(x, 0), "not ReLU(x) itself"),
    (lambda d, x: d * (x < 0), "mask is reversed"),
    (lambda d, x: np.maximum(d, 0), "depends on the input x"),
], ids=["no-mask", "mask-only", "relu-value", "reversed", "mask-on-dout"])
def test_relu_backward_mistakes(wrong, hint):
    verdict = check_relu_backward(wrong)
    assert verdict.status == "wrong" and hint in verdict.hint, verdict


def test_relu_backward_odd_returns():
    assert check_relu_backward(stub).status == "not attempted"
    assert check_relu_backward(lambda d, x: None).status == "wrong"
    assert "shape" in check_relu_backward(lambda d, x: (d * (x > 0)).sum(axis=0)).message
    assert check_relu_backward(lambda d, x: d.nonexistent).status == "wrong"


# ---- sigmoid_backward ----------------------------------------------------------------------

def test_sigmoid_backward_reference_passes():
    assert check_sigmoid_backward(lambda dout, y: dout * y * (1 - y))


@pytest.mark.parametrize("wrong, hint", [
    (lambda d, y: d * sig(y) * (1 - sig(y)), "without applying σ"),
    (lambda d, y: y * (1 - y), "local derivative alone"),
    (lambda d, y: d * y * (1 + y), "1 − y, not 1 + y"),
    (lambda d, y: d * y, "(1 − y) is missing"),
    (lambda d, y: -d * y * (1 - y), "sign is flipped"),
], ids=["sigma-twice", "no-dout", "plus", "missing-factor", "sign"])
def test_sigmoid_backward_mistakes(wrong, hint):
    verdict = check_sigmoid_backward(wrong)
    assert verdict.status == "wrong" and hint in verdict.hint, verdict


def test_sigmoid_backward_odd_returns():
    assert check_sigmoid_backward(stub).status == "not attempted"
    assert check_sigmoid_backward(lambda d, y: None).status == "wrong"
    nan = check_sigmoid_backward(lambda d, y: d * np.log(y - 1))
    assert nan.status == "wrong" and "NaN" in nan.message
