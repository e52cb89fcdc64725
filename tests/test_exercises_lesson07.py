"""The checks of 07_minibatching_and_cost: each passes the reference solution, rejects each
typical mistake with the hint meant for it, and treats stubs and broken code kindly."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises.lesson07 import check_accumulate_gradients, check_linear_flops, check_linear_grads


def stub(*args):
    raise NotImplementedError


# -- ex07_linear_flops -----------------------------------------------------------------

def flops_right(n, d_in, d_out):
    return 2 * n * d_in * d_out + n * d_out, 4 * n * d_in * d_out + n * d_out


def test_linear_flops_accepts_the_reference():
    verdict = check_linear_flops(flops_right)
    assert verdict.status == "right", verdict
    assert "counting every scalar operation" in verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, d, m: (n * d * m + n * m, 2 * n * d * m + n * m), "multiply-add is two FLOPs"),
    (lambda n, d, m: (2 * n * d * m, 4 * n * d * m + n * m), "adding the bias"),
    (lambda n, d, m: (2 * d * m + m, 4 * d * m + m), "multiply by the batch size"),
    (lambda n, d, m: (2 * n * d * m + n * m, 2 * n * d * m + n * m), "two matrix products"),
    (lambda n, d, m: (2 * n * d * m + n * m, 4 * n * d * m), "adds N·M"),
    (lambda n, d, m: (2 * n * d * m + n * m, 4 * n * d * m + 2 * n * m), "contributes once"),
    (lambda n, d, m: (4 * n * d * m + n * m, 2 * n * d * m + n * m), "swapped"),
])
def test_linear_flops_diagnoses_typical_mistakes(wrong, hint):
    verdict = check_linear_flops(wrong)
    assert verdict.status == "wrong"
    assert hint in (verdict.hint or "") + verdict.message, verdict


def test_linear_flops_stub_none_and_exceptions_are_handled_kindly():
    assert check_linear_flops(stub).status == "not attempted"
    v = check_linear_flops(lambda n, d, m: None)
    assert v.status == "wrong" and "None" in v.message
    v = check_linear_flops(lambda n, d, m: 1 / 0)
    assert v.status == "wrong" and "ZeroDivisionError" in v.message
    v = check_linear_flops(lambda n, d, m: 5)
    assert v.status == "wrong" and "pair" in v.message


def test_flops_formula_matches_counting_every_operation():
    # independent of the check: the scalar-by-scalar counter agrees with the formula the check uses
    for n, d, m in [(1, 1, 1), (2, 3, 4), (3, 1, 2)]:
        assert tuple(bp.flops.count_linear_ops(n, d, m)) == flops_right(n, d, m)


# -- ex07_linear_grads -------------------------------------------------------------------

def grads_right(x, W, dout):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def grads_loop(x, W, dout):
    dx, dW, db = np.zeros_like(x), np.zeros_like(W), np.zeros(W.shape[1])
    for n in range(len(x)):
        dW += np.outer(x[n], dout[n])
        db += dout[n]
        dx[n] = W @ dout[n]
    return dx, dW, db


def grads_iterating(x, W, dout):
    """Right values, but a Python loop by iteration over the samples."""
    dW = sum(np.outer(row, d) for row, d in zip(x, dout))
    return np.array([W @ d for d in dout]), dW, sum(d for d in dout)


def test_linear_grads_accepts_the_reference():
    verdict = check_linear_grads(grads_right)
    assert verdict.status == "right", verdict
    assert "numerical gradients" in verdict.message and "without a loop" in verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, W, dout: (dout @ W.T, dout.T @ x, dout.sum(axis=0)), "transposed"),
    (lambda x, W, dout: (dout @ W.T, x.T @ dout, dout), "sum over the batch axis"),
    (lambda x, W, dout: (dout @ W.T, x.T @ dout / len(x), dout.sum(axis=0)), "SUM of the per-sample"),
    (lambda x, W, dout: (dout @ W.T, x.T @ dout, dout.mean(axis=0)), "not the mean"),
    (lambda x, W, dout: (-(dout @ W.T), x.T @ dout, dout.sum(axis=0)), "sign"),
    (grads_loop, "still loops in Python"),
    (grads_iterating, "still loops in Python"),
])
def test_linear_grads_diagnoses_typical_mistakes(wrong, hint):
    verdict = check_linear_grads(wrong)
    assert verdict.status == "wrong"
    assert hint in (verdict.hint or "") + verdict.message, verdict


def test_linear_grads_stub_none_and_exceptions_are_handled_kindly():
    assert check_linear_grads(stub).status == "not attempted"
    v = check_linear_grads(lambda x, W, dout: None)
    assert v.status == "wrong" and "tuple" in v.message
    v = check_linear_grads(lambda x, W, dout: (dout @ W, x.T @ dout, dout.sum(0)))   # shapes do not fit
    assert v.status == "wrong" and "ValueError" in v.message


# -- ex07_accumulate ---------------------------------------------------------------------

def accumulate_right(model, loss_fn, x, y, micro_batch_size):
    model.zero_grad()
    n, total = len(x), 0.0
    for start in range(0, n, micro_batch_size):
        xb, yb = x[start:start + micro_batch_size], y[start:start + micro_batch_size]
        weight = len(xb) / n
        total += weight * loss_fn.forward(model.forward(xb), yb)
        model.backward(weight * loss_fn.backward())
    return total


def accumulate(scale, zero_inside=False, zero_first=True, micro=None, loss_sum=False):
    def fn(model, loss_fn, x, y, micro_batch_size):
        m = micro or micro_batch_size
        if zero_first:
            model.zero_grad()
        n, k, total = len(x), -(-len(x) // m), 0.0
        for start in range(0, n, m):
            if zero_inside:
                model.zero_grad()
            xb, yb = x[start:start + m], y[start:start + m]
            w = {"right": len(xb) / n, "none": 1.0, "1/K": 1 / k}[scale]
            loss = loss_fn.forward(model.forward(xb), yb)
            total += loss if loss_sum else w * loss
            model.backward(w * loss_fn.backward())
        return total
    return fn


def test_accumulate_accepts_the_reference():
    verdict = check_accumulate_gradients(accumulate_right)
    assert verdict.status == "right", verdict
    assert "numerical full-batch gradient" in verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (accumulate("none"), "scale each micro-batch's gradient by n_k / N"),
    (accumulate("right", zero_first=False), "old gradients are still in .grad"),
    (accumulate("right", zero_inside=True), "only the last micro-batch"),
    (accumulate("1/K"), "the last one is smaller"),
    (accumulate("right", micro=10), "more than the micro-batch size"),
    (accumulate("right", loss_sum=True), "sum of the micro-batch losses"),
])
def test_accumulate_diagnoses_typical_mistakes(wrong, hint):
    verdict = check_accumulate_gradients(wrong)
    assert verdict.status == "wrong"
    assert hint in (verdict.hint or "") + verdict.message, verdict


def test_accumulate_stub_none_and_exceptions_are_handled_kindly():
    assert check_accumulate_gradients(stub).status == "not attempted"
    v = check_accumulate_gradients(lambda model, loss_fn, x, y, m: None)   # no gradient, no loss
    assert v.status == "wrong"
    v = check_accumulate_gradients(lambda model, loss_fn, x, y, m: model.forward(x[:, :2]))
    assert v.status == "wrong" and "ValueError" in v.message
