"""04_optimizers checks: pass the reference solutions, catch the typical mistakes with the intended
hint (on the public cases and on hidden ones), say "not attempted" for stubs and never crash on odd
return values."""
import contextlib

import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import core
from bpcourse.exercises import lesson04 as L

SECRETS = [None, 7, 20261127]                    # public cases, then two instructor-only draws


def cases(secret):
    return core.hidden_cases(secret) if secret is not None else contextlib.nullcontext()


# ---- reference solutions (as in the notebook) ----

def momentum_step(p, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return p - lr * buf, buf


def choose_lr(a, b):
    return 2 / (a + b)


def rmsprop_step(p, grad, v, lr, alpha, eps):
    v = alpha * v + (1 - alpha) * grad ** 2
    return p - lr * grad / (np.sqrt(v) + eps), v


def himmelblau_grad(p):
    x, y = p
    u, w = x ** 2 + y - 11, x + y ** 2 - 7
    return np.array([4 * x * u + 2 * w, 2 * u + 4 * y * w])


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
    "buffer unchanged": (lambda p, g, b, lr, mu: (p - lr * b, b), "buffer has not changed"),
    "old buffer lost": (lambda p, g, b, lr, mu: (p - lr * g, g), "old buffer is lost"),
    "no learning rate": (lambda p, g, b, lr, mu: (p - (mu * b + g), mu * b + g), "multiply the buffer by the learning rate"),
    "velocity convention": (lambda p, g, b, lr, mu: (p + (mu * b - lr * g), mu * b - lr * g), "velocity"),
    "dampening": (lambda p, g, b, lr, mu: (p - lr * (mu * b + (1 - mu) * g), mu * b + (1 - mu) * g), "(1 − μ)"),
    "old buffer": (lambda p, g, b, lr, mu: (p - lr * b, mu * b + g), "OLD buffer"),
    "no momentum factor": (lambda p, g, b, lr, mu: (p - lr * (b + g), b + g), "multiply the old buffer"),
    "sign": (lambda p, g, b, lr, mu: (p + lr * (mu * b + g), mu * b + g), "sign"),
}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("name", MOMENTUM_MISTAKES)
def test_momentum_mistakes_get_their_hint(name, secret, capsys):
    fn, hint = MOMENTUM_MISTAKES[name]
    with cases(secret):
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
    "swapped beta2": (lambda p, g, m, v, t, lr, b1, b2, eps:
                      (p, b1 * m + (1 - b1) * g, (1 - b2) * v + b2 * g * g), "swapped"),
    "returns v hat": (lambda p, g, m, v, t, lr, b1, b2, eps:
                      (p, b1 * m + (1 - b1) * g, (b2 * v + (1 - b2) * g * g) / (1 - b2 ** t)), "raw average v"),
    "sign": (lambda p, g, m, v, t, lr, b1, b2, eps:
             (2 * p - L._adam(p, g, m, v, t, lr, b1, b2, eps)[0],) + L._adam(p, g, m, v, t, lr, b1, b2, eps)[1:], "sign"),
    "returns m hat": (lambda p, g, m, v, t, lr, b1, b2, eps:
                      (p, (b1 * m + (1 - b1) * g) / (1 - b1 ** t), v), "raw average m"),
    "plain gradient step": (lambda p, g, m, v, t, lr, b1, b2, eps:
                            (p - lr * g,) + L._adam(p, g, m, v, t, lr, b1, b2, eps)[1:], "plain gradient step"),
}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("name", ADAM_MISTAKES)
def test_adam_mistakes_get_their_hint(name, secret, capsys):
    fn, hint = ADAM_MISTAKES[name]
    with cases(secret):
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

def test_pick_lr_reference_passes_on_every_draw(capsys):
    for secret in SECRETS:
        with cases(secret):
            assert verdict_of(bp.exercises.check_pick_lr, choose_lr, capsys)


def test_pick_lr_window_is_what_the_hints_say():
    # the lesson's bowl: inside the stability limit and fast enough in both directions
    assert L.bowl_after(1, 10, 0.18) < L.PICK_TOL and L.bowl_after(1, 10, 2 / 11) < L.PICK_TOL
    assert L.bowl_after(1, 10, 0.05) > L.PICK_TOL          # too slow along x
    assert L.bowl_after(1, 10, 0.21) > L.bowl_after(1, 10, 0)   # |1 - 10 lr| > 1: diverges
    # the closed form is what gradient descent with bp.SGD does
    path = bp.surfaces.run("bowl", bp.surfaces.make_optimizer("GD", 0.15), 25)
    assert path.final_value == pytest.approx(L.bowl_after(1, 10, 0.15))


@pytest.mark.parametrize("secret", SECRETS)
def test_pick_lr_verdicts(secret, capsys):
    check = bp.exercises.check_pick_lr
    with cases(secret):
        v = verdict_of(check, lambda a, b: 0.01 / a, capsys)
        assert v.status == "wrong" and "too small" in v.hint
        v = verdict_of(check, lambda a, b: 1 / b, capsys)       # y in one step, x far too slowly
        assert v.status == "wrong" and "too small" in v.hint
        v = verdict_of(check, lambda a, b: 2.5 / b, capsys)
        assert v.status == "wrong" and "diverges" in v.message and "|1 − b·lr|" in v.hint
        v = verdict_of(check, lambda a, b: 2 / b, capsys)
        assert v.status == "wrong" and "flips sign" in v.message
        v = verdict_of(check, lambda a, b: 1.95 / b, capsys)
        assert v.status == "wrong" and "too large" in v.hint
        assert verdict_of(check, stub, capsys).status == "not attempted"
        v = verdict_of(check, lambda a, b: None, capsys)
        assert v.status == "wrong" and "None" in v.message
        v = verdict_of(check, lambda a, b: -0.1, capsys)
        assert v.status == "wrong" and "positive" in v.message
        v = verdict_of(check, lambda a, b: "0.1", capsys)
        assert v.status == "wrong" and "positive number" in v.message
        v = verdict_of(check, 0.1, capsys)
        assert v.status == "wrong" and "function" in v.message


def test_pick_lr_hard_coded_for_the_public_bowl_fails_on_hidden_bowls(capsys):
    hard_coded = lambda a, b: 0.18                                   # noqa: E731
    assert verdict_of(bp.exercises.check_pick_lr, lambda a, b: 2 / 11 if (a, b) == (1.0, 10.0) else 2 / (a + b),
                      capsys)
    with cases(7):
        assert not verdict_of(bp.exercises.check_pick_lr, hard_coded, capsys)


# ---- RMSprop ----

def test_rmsprop_reference_passes(capsys):
    for secret in SECRETS:
        with cases(secret):
            v = verdict_of(bp.exercises.check_rmsprop_step, rmsprop_step, capsys)
            assert v and "bp.RMSprop" in v.message


def _rms(**kw):
    def fn(p, g, v, lr, alpha, eps):
        return L._rmsprop(p, g, v, lr, alpha, eps, **kw)
    return fn


RMSPROP_MISTAKES = {
    "g not squared": (_rms(square=False), "SQUARED"),
    "alpha swapped": (_rms(swap=True), "swapped"),
    "Adagrad's sum": (lambda p, g, v, lr, a, eps: (p - lr * g / (np.sqrt(v + g * g) + eps), v + g * g), "Adagrad"),
    "returns the root": (lambda p, g, v, lr, a, eps: (L._rmsprop(p, g, v, lr, a, eps)[0],
                                                      np.sqrt(a * v + (1 - a) * g * g)), "not its root"),
    "no root": (_rms(root=False), "ROOT of v"),
    "eps inside": (_rms(eps_inside=True), "outside the square root"),
    "old v": (_rms(old_v=True), "OLD v"),
    "plain step": (lambda p, g, v, lr, a, eps: (p - lr * g, a * v + (1 - a) * g * g), "plain gradient step"),
    "multiplied": (lambda p, g, v, lr, a, eps: (p - lr * g * (np.sqrt(a * v + (1 - a) * g * g) + eps),
                                                a * v + (1 - a) * g * g), "do not multiply"),
    "sign": (lambda p, g, v, lr, a, eps: (2 * p - L._rmsprop(p, g, v, lr, a, eps)[0],
                                          L._rmsprop(p, g, v, lr, a, eps)[1]), "sign"),
}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("name", RMSPROP_MISTAKES)
def test_rmsprop_mistakes_get_their_hint(name, secret, capsys):
    fn, hint = RMSPROP_MISTAKES[name]
    with cases(secret):
        v = verdict_of(bp.exercises.check_rmsprop_step, fn, capsys)
    assert v.status == "wrong" and hint in (v.hint or ""), (v.message, v.hint)


def test_rmsprop_stub_and_odd_returns(capsys):
    check = bp.exercises.check_rmsprop_step
    assert verdict_of(check, stub, capsys).status == "not attempted"
    v = verdict_of(check, lambda p, g, v, lr, a, eps: p - lr * g, capsys)
    assert v.status == "wrong" and "2 arrays" in v.message
    v = verdict_of(check, lambda p, g, v, lr, a, eps: (p, v), capsys)
    assert v.status == "wrong" and "v has not changed" in v.hint
    v = verdict_of(check, lambda p, g, v, lr, a, eps: (p[:1], a * v + (1 - a) * g * g), capsys)
    assert v.status == "wrong" and "shape" in v.message


def test_rmsprop_in_place_update_of_v_still_passes(capsys):
    # updating v in place is fine: the check hands over copies
    def in_place(p, g, v, lr, alpha, eps):
        v *= alpha
        v += (1 - alpha) * g * g
        p -= lr * g / (np.sqrt(v) + eps)
        return p, v
    assert verdict_of(bp.exercises.check_rmsprop_step, in_place, capsys)


# ---- Himmelblau's gradient ----

def test_himmelblau_reference_passes_and_finds_four_minima(capsys):
    for secret in SECRETS:
        with cases(secret):
            v = verdict_of(bp.exercises.check_himmelblau_grad, himmelblau_grad, capsys)
            assert v and "4 different minima" in v.message, v.message


def test_himmelblau_function_has_its_four_textbook_minima():
    for p in [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]:
        assert L.himmelblau(p) < 1e-9
    assert L.himmelblau((0.0, 0.0)) == 170.0


def _hb(fx, fy):
    def grad(p):
        x, y = p
        u, w = x * x + y - 11, x + y * y - 7
        return np.array([fx(x, y, u, w), fy(x, y, u, w)])
    return grad


HIMMELBLAU_MISTAKES = {
    "one term each": (_hb(lambda x, y, u, w: 4 * x * u, lambda x, y, u, w: 4 * y * w), "two terms"),
    "no inner derivative": (_hb(lambda x, y, u, w: 2 * u + 2 * w, lambda x, y, u, w: 2 * u + 2 * w), "chain rule"),
    "factor 2 missing": (_hb(lambda x, y, u, w: 2 * x * u + w, lambda x, y, u, w: u + 2 * y * w), "factor 2"),
    "swapped": (lambda p: himmelblau_grad(p)[::-1], "swapped"),
}


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("name", HIMMELBLAU_MISTAKES)
def test_himmelblau_mistakes_get_their_hint(name, secret, capsys):
    fn, hint = HIMMELBLAU_MISTAKES[name]
    with cases(secret):
        v = verdict_of(bp.exercises.check_himmelblau_grad, fn, capsys)
    assert v.status == "wrong" and hint in (v.hint or ""), (v.message, v.hint)


def test_himmelblau_stub_odd_returns_and_a_gradient_right_only_at_the_test_points(capsys):
    check = bp.exercises.check_himmelblau_grad
    assert verdict_of(check, stub, capsys).status == "not attempted"
    v = verdict_of(check, lambda p: None, capsys)
    assert v.status == "wrong" and "None" in v.message
    v = verdict_of(check, lambda p: 1.0, capsys)
    assert v.status == "wrong" and "shape" in v.message
    # right at every grid point the check tests, wrong (zero) on the way down: descent catches it
    def patchy(p):
        g = himmelblau_grad(p)
        return g if np.allclose(p, np.round(p, 3)) else np.zeros(2)
    v = verdict_of(check, patchy, capsys)
    assert v.status == "wrong" and "not at a minimum" in v.message
