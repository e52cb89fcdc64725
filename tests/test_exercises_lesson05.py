"""The lesson-05 checks: pass the reference solutions, catch the typical mistakes with the intended hint,
report stubs as not attempted and survive broken answers."""
import math

import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import core, lesson05


# -- reference solutions (as in the notebook) and typical mistakes ----------------------------

def clip_ref(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
    scale = max_norm / (total + 1e-6)
    return ([g * scale for g in grads] if scale < 1 else [g.copy() for g in grads]), total


def clip_per_array(grads, max_norm):
    out = [g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6)) for g in grads]
    return out, clip_ref(grads, max_norm)[1]


def clip_always(grads, max_norm):
    total = clip_ref(grads, max_norm)[1]
    return [g * max_norm / (total + 1e-12) for g in grads], total


def clip_value(grads, max_norm):
    return [np.clip(g, -max_norm, max_norm) for g in grads], clip_ref(grads, max_norm)[1]


def clip_norm_after(grads, max_norm):
    clipped, total = clip_ref(grads, max_norm)
    return clipped, min(total, max_norm)


def clip_squared(grads, max_norm):
    clipped, total = clip_ref(grads, max_norm)
    return clipped, total ** 2


def clip_sum_of_norms(grads, max_norm):
    clipped, _ = clip_ref(grads, max_norm)
    return clipped, float(sum(np.linalg.norm(g) for g in grads))


def leaky_ref(n_in, slope):
    return math.sqrt(2.0 / ((1.0 + slope ** 2) * n_in))


def bn_graph(dout, x, gamma, eps=1e-5):
    """The notebook's way: the computational graph walked backward, node by node."""
    n = x.shape[0]
    c = x - x.mean(axis=0)
    v = (c * c).mean(axis=0)
    s = 1 / np.sqrt(v + eps)
    x_hat = c * s
    dx_hat = dout * gamma
    dv = (dx_hat * c).sum(axis=0) * (-0.5 * s ** 3)
    dc = dx_hat * s + dv * 2 * c / n
    return dc - dc.sum(axis=0) / n, (dout * x_hat).sum(axis=0), dout.sum(axis=0)


def bn_ref(dout, x, gamma, eps=1e-5):
    inv = 1 / np.sqrt(x.var(axis=0) + eps)
    xh = (x - x.mean(axis=0)) * inv
    dxh = dout * gamma
    return inv * (dxh - dxh.mean(axis=0) - xh * (dxh * xh).mean(axis=0)), (dout * xh).sum(axis=0), dout.sum(axis=0)


def bn_constant_stats(dout, x, gamma, eps=1e-5):
    _, dg, db = bn_ref(dout, x, gamma, eps)
    return dout * gamma / np.sqrt(x.var(axis=0) + eps), dg, db


def bn_no_variance_path(dout, x, gamma, eps=1e-5):
    _, dg, db = bn_ref(dout, x, gamma, eps)
    dxh = dout * gamma
    return (dxh - dxh.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps), dg, db


def bn_no_gamma(dout, x, gamma, eps=1e-5):
    _, dg, db = bn_ref(dout, x, gamma, eps)
    return bn_ref(dout, x, np.ones_like(gamma), eps)[0], dg, db


def bn_sums(dout, x, gamma, eps=1e-5):
    inv = 1 / np.sqrt(x.var(axis=0) + eps)
    xh = (x - x.mean(axis=0)) * inv
    dxh = dout * gamma
    _, dg, db = bn_ref(dout, x, gamma, eps)
    return inv * (dxh - dxh.sum(axis=0) - xh * (dxh * xh).sum(axis=0)), dg, db


def bn_dgamma_x(dout, x, gamma, eps=1e-5):
    dx, _, db = bn_ref(dout, x, gamma, eps)
    return dx, (dout * x).sum(axis=0), db


def bn_dbeta_unsummed(dout, x, gamma, eps=1e-5):
    dx, dg, _ = bn_ref(dout, x, gamma, eps)
    return dx, dg, dout


def stub(*args):
    raise NotImplementedError


# -- clip_grad_norm ---------------------------------------------------------------------------

def test_clip_reference_passes():
    assert bp.exercises.check_clip_grad_norm(clip_ref)


def test_clip_matches_the_package():
    """The reference used in these tests agrees with bp.clip_grad_norm (an independent implementation)."""
    rng = np.random.default_rng(1)
    grads = [5 * rng.standard_normal((3, 4)), rng.standard_normal(4)]
    params = [bp.Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad[...] = g
    total = bp.clip_grad_norm(params, 1.0)
    clipped, mine = clip_ref(grads, 1.0)
    assert np.isclose(total, mine)
    for p, c in zip(params, clipped):
        np.testing.assert_allclose(p.grad, c)


@pytest.mark.parametrize("wrong, words", [
    (clip_per_array, "ONE total norm"),
    (clip_always, "only SHRINK"),
    (clip_value, "clip_grad_value"),
    (clip_norm_after, "AFTER clipping"),
    (clip_squared, "squared norm"),
    (clip_sum_of_norms, "sum of the arrays' norms"),
])
def test_clip_mistakes_get_their_hint(wrong, words):
    verdict = bp.exercises.check_clip_grad_norm(wrong)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_clip_stub_and_broken_answers():
    assert bp.exercises.check_clip_grad_norm(stub).status == "not attempted"
    assert bp.exercises.check_clip_grad_norm(lambda g, m: None).status == "wrong"
    assert "two things" in bp.exercises.check_clip_grad_norm(lambda g, m: g[0]).message
    assert bp.exercises.check_clip_grad_norm(lambda g, m: 1 / 0).status == "wrong"
    v = bp.exercises.check_clip_grad_norm(lambda g, m: ([x[:1] for x in g], 1.0))
    assert v.status == "wrong" and "shape" in v.message
    v = bp.exercises.check_clip_grad_norm(lambda g, m: ([x / np.linalg.norm(x) for x in g], 1.0))
    assert v.status == "wrong"                         # zero gradients give NaN: reported, no crash
    assert bp.exercises.check_clip_grad_norm(42).status == "wrong"


# -- an initialisation for leaky ReLU ---------------------------------------------------------

def test_leaky_reference_passes_also_on_hidden_cases():
    assert bp.exercises.check_leaky_relu_std(leaky_ref)
    with core.hidden_cases(20261127):
        assert bp.exercises.check_leaky_relu_std(leaky_ref)


def test_leaky_check_measures_instead_of_comparing_formulas():
    """An answer 3 % off still keeps E[z²] within the tolerance: the verdict comes from the measurement."""
    assert bp.exercises.check_leaky_relu_std(lambda n, a: 1.015 * leaky_ref(n, a))
    assert not bp.exercises.check_leaky_relu_std(lambda n, a: 1.15 * leaky_ref(n, a))


def test_variance_factor_measures_the_growth_of_the_second_moment():
    rng = np.random.default_rng(0)
    assert abs(lesson05.variance_factor(leaky_ref(128, 0.5), 128, 0.5, rng) - 1) < 0.03
    # twice the std: four times the second moment per layer
    assert abs(lesson05.variance_factor(2 * leaky_ref(128, 0.5), 128, 0.5, rng) - 4) < 0.15
    # slope 1 is a plain linear layer: n·std² exactly in expectation
    assert abs(lesson05.variance_factor(0.05, 100, 1.0, rng) - 100 * 0.05 ** 2) < 0.01


@pytest.mark.parametrize("wrong, words", [
    (lambda n, a: math.sqrt(2 / n), "He's std"),
    (lambda n, a: 2 / ((1 + a * a) * n), "variance"),
    (lambda n, a: math.sqrt(2 / ((1 + a) * n)), "slope², not slope"),
    (lambda n, a: math.sqrt(1 / ((1 + a * a) * n)), "HALF of E[z²]"),
])
def test_leaky_mistakes_get_their_hint(wrong, words):
    verdict = bp.exercises.check_leaky_relu_std(wrong)
    assert verdict.status == "wrong"
    assert words in verdict.hint
    assert "E[z²] by" in verdict.message                     # the measured factor is reported


def test_leaky_stub_and_broken_answers():
    assert bp.exercises.check_leaky_relu_std(stub).status == "not attempted"
    assert bp.exercises.check_leaky_relu_std(lambda n, a: None).status == "wrong"
    assert "positive" in bp.exercises.check_leaky_relu_std(lambda n, a: -leaky_ref(n, a)).message
    assert "one number" in bp.exercises.check_leaky_relu_std(lambda n, a: np.ones(3)).message
    assert bp.exercises.check_leaky_relu_std(lambda n, a: float("nan")).status == "wrong"
    assert bp.exercises.check_leaky_relu_std(lambda n, a: 1e200).status == "wrong"     # overflow: no crash
    assert bp.exercises.check_leaky_relu_std(lambda n, a: "0.1").status == "wrong"


# -- batch norm backward ----------------------------------------------------------------------

def test_bn_reference_passes():
    assert bp.exercises.check_batchnorm_backward(bn_ref)
    assert bp.exercises.check_batchnorm_backward(bn_graph)
    with core.hidden_cases(7):
        assert bp.exercises.check_batchnorm_backward(bn_graph)


def test_bn_reference_matches_the_layer():
    """Independent confirmation: the package's BatchNorm1d gives the same gradients."""
    rng = np.random.default_rng(3)
    x, dout = rng.standard_normal((6, 4)) + 1, rng.standard_normal((6, 4))
    layer = bp.BatchNorm1d(4)
    layer.gamma.data[...] = rng.random(4) + 0.5
    layer.forward(x)
    dx = layer.backward(dout)
    ref = bn_ref(dout, x, layer.gamma.data)
    np.testing.assert_allclose(dx, ref[0], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(layer.gamma.grad, ref[1])
    np.testing.assert_allclose(layer.beta.grad, ref[2])


@pytest.mark.parametrize("wrong, where, words", [
    (bn_constant_stats, "message", "constants"),
    (bn_no_variance_path, "hint", "variance is missing"),
    (bn_no_gamma, "hint", "γ is missing"),
    (bn_sums, "hint", "sums where they should be means"),
    (bn_dgamma_x, "hint", "NORMALISED input"),
    (bn_dbeta_unsummed, "hint", "sum over the batch axis"),
])
def test_bn_mistakes_get_their_hint(wrong, where, words):
    verdict = bp.exercises.check_batchnorm_backward(wrong)
    assert verdict.status == "wrong"
    assert words in (verdict.hint if where == "hint" else verdict.hint + verdict.message)


def test_bn_stub_and_broken_answers():
    assert bp.exercises.check_batchnorm_backward(stub).status == "not attempted"
    assert bp.exercises.check_batchnorm_backward(lambda d, x, g: None).status == "wrong"
    assert bp.exercises.check_batchnorm_backward(lambda d, x, g: (d, d)).status == "wrong"
    assert bp.exercises.check_batchnorm_backward(lambda d, x, g: ("a", "b", "c")).status == "wrong"
    assert bp.exercises.check_batchnorm_backward(lambda d, x, g: x[5]).status == "wrong"


# -- which configurations vanish --------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_the_measured_answer_is_what_the_lesson_teaches(seed):
    """Sigmoid vanishes with half Xavier's or twice He's weights; ReLU with small weights (flat ratio, small
    gradients), tanh with large ones (it grows), sigmoid with batch norm and ReLU with skip connections do
    not — far from the 1/100 threshold, on any weights (the hidden cases draw other seeds)."""
    ratios = {k: lesson05.measure_config(kw, seed) for k, (_, kw) in lesson05.VANISH_CONFIGS.items()}
    assert ratios["A"] < 1e-8 and ratios["D"] < 1e-4
    assert 0.5 < ratios["B"] < 10 and ratios["C"] > 3 and ratios["E"] > 0.1 and ratios["F"] > 0.1


@pytest.mark.parametrize("answer", [{"A", "D"}, ["a", "d"], "A, D", ("D", "A")])
def test_vanish_right_answers(answer):
    assert bp.exercises.check_which_vanish(lambda: answer)


@pytest.mark.parametrize("answer, words", [
    ({"A"}, "flat tails"),               # missed D: a larger init does not rescue sigmoid
    ({"D"}, "0.5 × 0.24"),               # missed A
    ({"A", "B", "D"}, "same number of shrinking steps"),
    ({"A", "C", "D"}, "grows backwards"),
    ({"A", "D", "E"}, "batch norm"),
    ({"A", "D", "F"}, "identity path"),
])
def test_vanish_wrong_answers_explain(answer, words):
    verdict = bp.exercises.check_which_vanish(lambda: answer)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_vanish_names_only_the_first_disagreement():
    verdict = bp.exercises.check_which_vanish(lambda: set())          # misses A and D
    assert verdict.status == "wrong"
    assert verdict.message.startswith("A (") and "1 more letter of your answer is wrong" in verdict.message
    assert "D (" not in verdict.message                              # D is left for the student to rethink
    many = bp.exercises.check_which_vanish(lambda: {"B", "C", "E"})
    assert "4 more letters of your answer are wrong" in many.message


def test_vanish_stub_and_broken_answers():
    assert bp.exercises.check_which_vanish(stub).status == "not attempted"
    assert bp.exercises.check_which_vanish(lambda: None).status == "wrong"
    v = bp.exercises.check_which_vanish(lambda: {"Z"})
    assert v.status == "wrong" and "unknown option" in v.message
    assert bp.exercises.check_which_vanish(lambda: 3).status == "wrong"
