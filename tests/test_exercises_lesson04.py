"""04_optimizers checks: pass the reference solutions, catch the typical mistakes with the intended
hint, say "not attempted" for stubs and never crash on odd return values."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import lesson04 as L


# ---- reference solutions (as in the notebook) ----

def momentum_step(p, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return p - lr * buf, buf


def adam_step(p, grad, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def stub(*args):
    raise NotImplementedError


def verdict_of(check, fn, capsys):
    v = check(fn)
    capsys.readouterr()
    return v


# ---- momentum ----

def test_momentum_reference_passes(capsys):
    v = bp.exercises.check_momentum_step(momentum_step)
    assert v and v.status == "right" and "bp.SGD" in v.message
    assert "✓" in capsys.readouterr().out


MOMENTUM_MISTAKES = {
    "plain gradient step": (lambda p, g, b, lr, mu: (p - lr * g, mu * b + g), "plain gradient step"),
    "lr in the buffer": (lambda p, g, b, lr, mu: (p - (mu * b + lr * g), mu * b + lr * g), "learning rate does not go into the buffer"),
    "velocity convention": (lambda p, g, b, lr, mu: (p + (mu * b - lr * g), mu * b - lr * g), "velocity"),
    "dampening": (lambda p, g, b, lr, mu: (p - lr * (mu * b + (1 - mu) * g), mu * b + (1 - mu) * g), "(1 − μ)"),
    "old buffer": (lambda p, g, b, lr, mu: (p - lr * b, mu * b + g), "OLD buffer"),
    "no momentum factor": (lambda p, g, b, lr, mu: (p - lr * (b + g), b + g), "multiply the old buffer"),
    "sign": (lambda p, g, b, lr, mu: (p + lr * (mu * b + g), mu * b + g), "sign"),
}


@pytest.mark.parametrize("name", MOMENTUM_MISTAKES)
def test_momentum_mistakes_get_their_hint(name, capsys):
    fn, hint = MOMENTUM_MISTAKES[name]
    v = verdict_of(bp.exercises.check_momentum_step, fn, capsys)
    assert v.status == "wrong" and hint in v.hint, (v.message, v.hint)


def test_momentum_stub_none_wrong_arity_and_exceptions(capsys):
    assert verdict_of(bp.exercises.check_momentum_step, stub, capsys).status == "not attempted"
    v = verdict_of(bp.exercises.check_momentum_step, lambda *a: None, capsys)
    assert v.status == "wrong" and "None" in v.message
    v = verdict_of(bp.exercises.check_momentum_step, lambda p, g, b, lr, mu: p - lr * g, capsys)
    assert v.status == "wrong" and "return" in v.hint
    v = verdict_of(bp.exercises.check_momentum_step, lambda p, g, b, lr, mu: 1 / 0, capsys)
    assert v.status == "wrong" and "ZeroDivisionError" in v.message
    v = verdict_of(bp.exercises.check_momentum_step, lambda p, g, b, lr, mu: (p[:1], mu * b + g), capsys)
    assert v.status == "wrong" and "shape" in v.message


# ---- Adam ----

def test_adam_reference_passes(capsys):
    v = bp.exercises.check_adam_step(adam_step)
    assert v and "bp.Adam" in v.message


def _variant(**kw):
    def fn(p, g, m, v, t, lr, b1, b2, eps):
        return L._adam(p, g, m, v, t, lr, b1, b2, eps, **kw)
    return fn


ADAM_MISTAKES = {
    "no bias correction": (_variant(correct_m=False, correct_v=False), "no bias correction"),
    "only m corrected": (_variant(correct_v=False), "v needs its bias correction"),
    "only v corrected": (_variant(correct_m=False), "m needs its bias correction"),
    "t - 1": (lambda p, g, m, v, t, lr, b1, b2, eps: L._adam(p, g, m, v, t, lr, b1, b2, eps, t_used=t - 1),
              "1 − β⁰ = 0"),
    "eps inside": (_variant(eps_inside=True), "outside the square root"),
    "g not squared": (lambda p, g, m, v, t, lr, b1, b2, eps:
                      (p, b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g), "SQUARED"),
    "swapped beta1": (lambda p, g, m, v, t, lr, b1, b2, eps:
                      (p, (1 - b1) * m + b1 * g, v), "swapped"),
    "returns m hat": (lambda p, g, m, v, t, lr, b1, b2, eps:
                      (p, (b1 * m + (1 - b1) * g) / (1 - b1 ** t), v), "raw average m"),
    "plain gradient step": (lambda p, g, m, v, t, lr, b1, b2, eps:
                            (p - lr * g,) + L._adam(p, g, m, v, t, lr, b1, b2, eps)[1:], "plain gradient step"),
}


@pytest.mark.parametrize("name", ADAM_MISTAKES)
def test_adam_mistakes_get_their_hint(name, capsys):
    fn, hint = ADAM_MISTAKES[name]
    v = verdict_of(bp.exercises.check_adam_step, fn, capsys)
    assert v.status == "wrong" and hint in (v.hint or ""), (v.message, v.hint)


def test_adam_t_plus_one_is_diagnosed(capsys):
    fn = lambda p, g, m, v, t, lr, b1, b2, eps: L._adam(p, g, m, v, t, lr, b1, b2, eps, t_used=t + 1)
    v = verdict_of(bp.exercises.check_adam_step, fn, capsys)
    assert v.status == "wrong" and "β^(t+1)" in v.hint


def test_adam_stub_and_odd_returns(capsys):
    assert verdict_of(bp.exercises.check_adam_step, stub, capsys).status == "not attempted"
    v = verdict_of(bp.exercises.check_adam_step, lambda *a: (a[0], a[2]), capsys)
    assert v.status == "wrong" and "3 arrays" in v.message
    v = verdict_of(bp.exercises.check_adam_step, lambda *a: ("x", "y", "z"), capsys)
    assert v.status == "wrong"


def test_bias_correction_matters_most_at_the_first_step():
    # the property the lesson shows: at t = 1 an uncorrected step is (1-b1)/sqrt(1-b2) ≈ 3.2 × too large
    p, g = np.array([0.0]), np.array([0.5])
    with_c = adam_step(p, g, np.zeros(1), np.zeros(1), 1, 0.1, 0.9, 0.999, 0.0)[0]
    without = L._adam(p, g, np.zeros(1), np.zeros(1), 1, 0.1, 0.9, 0.999, 0.0, False, False)[0]
    assert with_c == pytest.approx(-0.1)                   # lr · sign(g)
    assert without / with_c == pytest.approx(0.1 / np.sqrt(0.001))


# ---- picking a learning rate ----

def test_pick_lr_window_is_what_the_hints_say():
    # inside the stability limit and fast enough in both directions
    assert L.converges(0.18)[0] and L.converges(2 / 11)[0]
    assert not L.converges(0.05)[0]          # too slow along x
    assert not L.converges(0.21)[0]          # |1 - 10 lr| > 1: diverges


def test_pick_lr_verdicts(capsys):
    check = bp.exercises.check_pick_lr
    assert verdict_of(check, lambda: 0.18, capsys)
    v = verdict_of(check, lambda: 0.01, capsys)
    assert v.status == "wrong" and "too small" in v.hint
    v = verdict_of(check, lambda: 0.25, capsys)
    assert v.status == "wrong" and "diverges" in v.message and "lr < 0.2" in v.hint
    v = verdict_of(check, lambda: 0.195, capsys)
    assert v.status == "wrong" and "too large" in v.hint
    assert verdict_of(check, stub, capsys).status == "not attempted"
    v = verdict_of(check, lambda: None, capsys)
    assert v.status == "wrong" and "None" in v.message
    v = verdict_of(check, lambda: -0.1, capsys)
    assert v.status == "wrong" and "positive" in v.message
    v = verdict_of(check, 0.1, capsys)
    assert v.status == "wrong" and "function" in v.message
