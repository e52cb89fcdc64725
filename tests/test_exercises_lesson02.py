"""Lesson 02's checks: reference solutions pass, typical mistakes fail with their hint,
stubs are "not attempted", odd returns get a kind verdict and never crash the check —
also as the grader runs them (isolated, on hidden cases)."""
import numpy as np
import pytest

from bpcourse.exercises import (check_gradient_check, check_linear_backward, check_numerical_gradient,
                                check_rel_error, check_relu_backward, check_residual_backward,
                                check_two_layer, core)
from isolation import isolated


@pytest.fixture(autouse=True)
def quiet(capsys):
    """Checks print their verdict; the tests read the returned Verdict instead."""
    yield
    capsys.readouterr()


def stub(*args):
    raise NotImplementedError


# ---- the reference solutions (as in the notebook) --------------------------------------------

def relu_backward(dout, x):
    return dout * (x > 0)


def linear_backward(dout, x, W):
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def numerical_gradient(f, x, h=1e-6):
    grad = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / denom) if denom > 0 else 0.0


def residual_backward(dout, x, W):
    dz = dout * (x @ W > 0)
    return dout + dz @ W.T, x.T @ dz


def two_layer(params, x, t, *, factor=2.0, mean_over="all", mask=True, dw2_from="h", forward_relu=True):
    """The reference, or (with a keyword) one of the typical mistakes."""
    z1 = x @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0) if forward_relu else z1
    y = h @ params["W2"] + params["b2"]
    count = {"all": y.size, "samples": y.shape[0], "none": 1}[mean_over]
    loss = np.sum((y - t) ** 2) / count
    dy = factor * (y - t) / count
    dh = dy @ params["W2"].T
    dz1 = dh * (z1 > 0) if mask else dh
    grads = {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "W2": (h if dw2_from == "h" else z1).T @ dy,
             "b2": dy.sum(axis=0)}
    return loss, grads


def gradient_check(loss_and_grads, params, h=1e-6):
    _, grads = loss_and_grads(params)
    errors = {}
    for name in params:
        numeric = numerical_gradient(lambda _: loss_and_grads(params)[0], params[name], h)
        errors[name] = rel_error(grads[name], numeric)
    return errors


REFERENCES = [(check_relu_backward, relu_backward), (check_linear_backward, linear_backward),
              (check_numerical_gradient, numerical_gradient), (check_rel_error, rel_error),
              (check_residual_backward, residual_backward), (check_two_layer, two_layer),
              (check_gradient_check, gradient_check)]


@pytest.mark.parametrize("check, solution", REFERENCES, ids=lambda v: getattr(v, "__name__", ""))
def test_reference_passes_and_stub_is_not_attempted(check, solution):
    assert check(solution), check(solution)
    assert check(stub).status == "not attempted"
    none = check(lambda *args: None)
    assert none.status == "wrong" and "None" in none.message, none


@pytest.mark.parametrize("check, solution", REFERENCES, ids=lambda v: getattr(v, "__name__", ""))
def test_reference_passes_isolated_on_hidden_cases(check, solution):
    with isolated(), core.hidden_cases(12345):
        assert check(solution)


# ---- relu_backward -------------------------------------------------------------------------

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
    assert "shape" in check_relu_backward(lambda d, x: (d * (x > 0)).sum(axis=0)).message
    assert check_relu_backward(lambda d, x: d.nonexistent).status == "wrong"


# ---- linear_backward -----------------------------------------------------------------------

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
    verdict = check_linear_backward(lambda d, x, W: (d @ W.T, x.T @ d, d.mean(axis=0)))
    assert "x: (4, 3)" in verdict.message


def test_linear_backward_odd_returns():
    two = check_linear_backward(lambda d, x, W: (d @ W.T, x.T @ d))
    assert two.status == "wrong" and "return dx, dW, db" in two.hint
    assert check_linear_backward(lambda d, x, W: d @ W).status == "wrong"
    assert check_linear_backward(lambda d, x, W: (x @ W, x.T @ d, d.sum(0))).status == "wrong"


# ---- numerical_gradient --------------------------------------------------------------------

def one_sided(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        f0 = f(x)
        x[i] = old + h
        grad[i] = (f(x) - f0) / h
        x[i] = old
    return grad


def fixed_step(f, x, h=1e-6):
    return numerical_gradient(f, x, 1e-6)


def over_h(f, x, h=1e-6):
    return 2 * numerical_gradient(f, x, h)


def not_restored(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        grad[i] = (f_plus - f(x)) / (2 * h)
    return grad


def all_at_once(f, x, h=1e-6):
    return np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))


def restored_by_arithmetic(f, x, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += h
        f_plus = f(x)
        x[i] -= 2 * h
        f_minus = f(x)
        x[i] += h                                   # back, up to rounding: allowed
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def flat_loop(f, x, h=1e-6):
    grad = np.zeros(x.size)
    for i in range(x.size):                         # x[i] is a whole row of a 2-D x
        old = x[i].copy()
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@pytest.mark.parametrize("wrong, hint", [
    (one_sided, "one-sided difference"),
    (fixed_step, "use the argument h"),
    (over_h, "divide by 2h"),
    (not_restored, "x[i] = old"),
    (all_at_once, "x[i] = old"),
    (flat_loop, "np.ndindex"),
], ids=["one-sided", "fixed-step", "divide-by-h", "not-restored", "all-at-once", "flat-loop"])
def test_numerical_gradient_mistakes(wrong, hint):
    verdict = check_numerical_gradient(wrong)
    assert verdict.status == "wrong" and hint in (verdict.hint or ""), verdict


@pytest.mark.parametrize("wrong", [not_restored, one_sided], ids=["not-restored", "one-sided"])
def test_numerical_gradient_mistakes_are_diagnosed_isolated_too(wrong):
    with isolated(), core.hidden_cases(99):
        expected = check_numerical_gradient(wrong)
    assert expected.status == "wrong" and expected.hint == check_numerical_gradient(wrong).hint


def test_numerical_gradient_restoring_by_arithmetic_is_fine():
    assert check_numerical_gradient(restored_by_arithmetic)


# ---- rel_error -----------------------------------------------------------------------------

def max_denominator(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300))


@pytest.mark.parametrize("wrong, hint", [
    (lambda a, b: np.abs(a - b) / (np.abs(a) + np.abs(b) + 1e-300), "one number"),
    (max_denominator, "SUM of both norms"),
    (lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(a)), "both norms"),
    (lambda a, b: float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))), "return 0.0"),
    (lambda a, b: float(np.sum(np.abs(a - b)) / max(np.sum(np.abs(a)) + np.sum(np.abs(b)), 1e-300)),
     "Euclidean norm"),
], ids=["elementwise", "max-denominator", "one-norm-denominator", "zero-over-zero", "l1-norms"])
def test_rel_error_mistakes(wrong, hint):
    verdict = check_rel_error(wrong)
    assert verdict.status == "wrong" and hint in verdict.hint, verdict


# ---- residual_backward ---------------------------------------------------------------------

def _mask(x, W):
    return (x @ W) > 0


@pytest.mark.parametrize("wrong, hint", [
    (lambda d, x, W: ((d * _mask(x, W)) @ W.T, x.T @ (d * _mask(x, W))), "skip path"),
    (lambda d, x, W: (d, x.T @ (d * _mask(x, W))), "add the branch's share"),
    (lambda d, x, W: (d + d @ W.T, x.T @ d), "block the gradient where z = x @ W ≤ 0"),
    (lambda d, x, W: (d + (d * (x > 0)) @ W.T, x.T @ (d * (x > 0))), "not to x"),
    (lambda d, x, W: (d + (d * _mask(x, W)) @ W.T, x.T @ d), "dW must see ReLU's mask"),
], ids=["no-skip", "no-branch", "no-mask", "mask-of-x", "dW-no-mask"])
def test_residual_backward_mistakes(wrong, hint):
    verdict = check_residual_backward(wrong)
    assert verdict.status == "wrong" and hint in verdict.hint, verdict


def test_residual_backward_odd_returns():
    v = check_residual_backward(lambda d, x, W: d)
    assert v.status == "wrong" and "return dx, dW" in v.hint


# ---- two_layer -----------------------------------------------------------------------------

def with_mistake(**mistake):
    def fn(params, x, t):
        return two_layer(params, x, t, **mistake)
    return fn


@pytest.mark.parametrize("mistake, hint", [
    (dict(factor=1.0), "factor 2"),
    (dict(mean_over="samples"), "entries of y"),
    (dict(mean_over="none"), "entries of y"),
    (dict(mask=False), "zero the gradient where z1 ≤ 0"),
    (dict(dw2_from="z1"), "dW2 uses h"),
    (dict(forward_relu=False), "skipped ReLU"),
], ids=["no-factor-2", "mean-over-N", "sum", "no-mask", "dW2-from-z1", "no-relu-forward"])
def test_two_layer_mistakes(mistake, hint):
    verdict = check_two_layer(with_mistake(**mistake))
    assert verdict.status == "wrong" and hint in verdict.hint, verdict


def test_two_layer_odd_returns():
    def as_tuple(params, x, t):
        loss, g = two_layer(params, x, t)
        return loss, (g["W1"], g["b1"], g["W2"], g["b2"])

    def missing_key(params, x, t):
        loss, g = two_layer(params, x, t)
        del g["b2"]
        return loss, g

    def db1_per_sample(params, x, t):
        loss, g = two_layer(params, x, t)
        z1 = x @ params["W1"] + params["b1"]
        y = np.maximum(z1, 0) @ params["W2"] + params["b2"]
        g["b1"] = ((2 * (y - t) / y.size) @ params["W2"].T) * (z1 > 0)
        return loss, g

    assert "dict" in check_two_layer(as_tuple).message
    assert "no b2" in check_two_layer(missing_key).message
    v = check_two_layer(db1_per_sample)
    assert v.status == "wrong" and "over the batch axis" in v.hint, v
    assert "return loss, grads" in check_two_layer(lambda p, x, t: 1.0).hint


# ---- gradient_check ------------------------------------------------------------------------

def numeric_of_a_copy(loss_and_grads, params, h=1e-6):
    _, grads = loss_and_grads(params)
    return {k: rel_error(grads[k], numerical_gradient(lambda _: loss_and_grads(params)[0], params[k].copy(), h))
            for k in params}


def analytic_against_itself(loss_and_grads, params, h=1e-6):
    _, grads = loss_and_grads(params)
    return {k: rel_error(grads[k], grads[k]) for k in params}


def names_mixed_up(loss_and_grads, params, h=1e-6):
    _, grads = loss_and_grads(params)
    names = list(params)
    numeric = {k: numerical_gradient(lambda _: loss_and_grads(params)[0], params[k], h) for k in names}
    shifted = dict(zip(names, names[1:] + names[:1]))
    return {k: rel_error(grads[k].ravel()[:1], numeric[shifted[k]].ravel()[:1]) for k in names}


@pytest.mark.parametrize("wrong, hint", [
    (numeric_of_a_copy, "nudge params[name] itself"),
    (analytic_against_itself, "SAME parameter"),
    (names_mixed_up, "same name"),
    (lambda f, p, h=1e-6: 0.0, "one relative error per parameter name"),
    (lambda f, p, h=1e-6: {"W1": 0.0}, "loop over every name"),
], ids=["numeric-of-a-copy", "against-itself", "names-mixed-up", "a-number", "one-name"])
def test_gradient_check_mistakes(wrong, hint):
    verdict = check_gradient_check(wrong)
    assert verdict.status == "wrong" and hint in verdict.hint, verdict


def test_gradient_check_verdict_names_the_planted_bugs():
    verdict = check_gradient_check(gradient_check)
    assert "W1, b1 flagged" in verdict.message and "b2 flagged" in verdict.message
