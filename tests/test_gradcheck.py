"""The gradient checker itself: it must pass correct code and catch, and name, wrong code."""
import numpy as np
import pytest

import bpcourse as bp

RNG = np.random.default_rng(5)


def test_numerical_gradient_of_known_functions():
    x = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(bp.numerical_gradient(lambda v: np.sum(v ** 2), x), 2 * x, rtol=1e-8)
    np.testing.assert_allclose(bp.numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x), rtol=1e-8)
    before = x.copy()
    bp.numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_array_equal(x, before)                   # nudges are undone


def test_numerical_gradient_error_shrinks_like_h_squared():
    x = np.array([0.7])
    errors = [abs(bp.numerical_gradient(lambda v: np.exp(v).sum(), x, h)[0] - np.exp(0.7)) for h in (1e-2, 1e-3)]
    assert 50 < errors[0] / errors[1] < 200                    # 10× smaller h → 100× smaller error


def test_rel_error():
    assert bp.rel_error(np.ones(3), np.ones(3)) == 0
    assert bp.rel_error(np.zeros(3), np.zeros(3)) == 0
    assert bp.rel_error(np.ones(3), -np.ones(3)) == 1
    assert bp.rel_error([1.0], [1.0 + 1e-6]) == pytest.approx(5e-7, rel=1e-3)


class BadTanh(bp.Tanh):
    """A planted bug: forgets the square in 1 - tanh²."""

    def df(self):
        return 1 - self.y


def four_layer_model(middle):
    rng = np.random.default_rng(0)
    return bp.Sequential(bp.Linear(5, 6, rng=rng), middle, bp.Linear(6, 6, rng=rng), bp.Tanh(),
                         bp.Linear(6, 3, rng=rng))


def test_check_model_passes_a_correct_model():
    report = bp.check_model(four_layer_model(bp.Tanh()), bp.SoftmaxCrossEntropy(),
                            RNG.standard_normal((4, 5)), np.array([0, 1, 2, 1]))
    assert report and report.first_failure is None
    assert report.max_rel_error < 1e-7
    assert "all gradients agree" in repr(report)


def test_check_model_names_the_planted_bug_in_the_middle_layer():
    report = bp.check_model(four_layer_model(BadTanh()), bp.SoftmaxCrossEntropy(),
                            RNG.standard_normal((4, 5)), np.array([0, 1, 2, 1]))
    assert not report
    failure = report.first_failure
    assert failure.layer.startswith("(1) BadTanh") and failure.name == "input"
    assert failure.error > 1e-3 and failure.analytic != pytest.approx(failure.numeric)
    text = repr(report)
    assert "first failure: (1) BadTanh()" in text and "FAIL" in text
    assert all(r.passed for r in report.rows if not r.layer.startswith("(1)"))   # only that layer fails


def test_check_layer_catches_a_missing_bias_sum():
    class NoBiasGrad(bp.Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.bias.grad[...] = 0                    # forgot the bias gradient
            return dx

    report = bp.check_layer(NoBiasGrad(3, 2, rng=np.random.default_rng(0)), RNG.standard_normal((4, 3)))
    assert not report and report.first_failure.name == "bias"


def test_sampled_check_for_large_tensors():
    layer = bp.Linear(100, 50, rng=np.random.default_rng(0))
    report = bp.check_layer(layer, RNG.standard_normal((8, 100)), sample=100)
    weight = next(r for r in report.rows if r.name == "weight")
    assert weight.checked == 100 and report
    assert "[100 sampled]" in repr(report)


def test_check_leaves_the_layer_as_it_was():
    layer = bp.Sequential(bp.Linear(3, 4, rng=np.random.default_rng(0)), bp.BatchNorm1d(4),
                          bp.Dropout(0.5, rng=np.random.default_rng(1)))
    layer.parameters()[0].grad[...] = 7.0
    running = layer[1].running_mean.copy()
    state = layer[2].rng.bit_generator.state
    bp.check_layer(layer, RNG.standard_normal((5, 3)))
    assert np.all(layer.parameters()[0].grad == 7.0)
    np.testing.assert_array_equal(layer[1].running_mean, running)
    assert layer[2].rng.bit_generator.state == state


def test_dropout_is_checked_with_a_fixed_mask():
    layer = bp.Dropout(0.5, rng=np.random.default_rng(0))
    report = bp.check_layer(layer, RNG.standard_normal((6, 6)))
    assert report.max_rel_error < 1e-9, report


def test_report_is_a_table():
    report = bp.check_layer(bp.Linear(2, 2, rng=np.random.default_rng(0)), RNG.standard_normal((3, 2)))
    lines = repr(report).splitlines()
    assert lines[0].split()[:4] == ["layer", "array", "shape", "rel."]
    assert len(lines) == 1 + 3 + 1                           # header, input/weight/bias, verdict


def test_float32_with_too_small_a_step_is_not_called_zero():
    x = RNG.standard_normal((4, 3)).astype(np.float32)
    report = bp.check_layer(bp.Tanh(), x, h=1e-6)            # noise larger than the gradient
    assert not any(r.zero for r in report.rows)
