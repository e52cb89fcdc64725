"""The gradient checker itself: it must pass correct code and catch, and name, wrong code."""
import warnings

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


# ---- a checker that never cries wolf, and still names planted bugs ---------------------------

from layer_zoo import WIDTH, layer_examples   # noqa: E402


def kinked_composites():
    """Layers whose inputs sit exactly on a kink: after another ReLU, after Dropout, raw data."""
    rng = np.random.default_rng(3)
    return [
        (bp.Sequential(bp.ReLU(), bp.ReLU()), (5, WIDTH)),
        (bp.Sequential(bp.ReLU(), bp.LeakyReLU(0.1)), (5, WIDTH)),
        (bp.Sequential(bp.Dropout(0.5, rng=rng), bp.ReLU()), (5, WIDTH)),
        (bp.Sequential(bp.Linear(WIDTH, WIDTH, rng=rng), bp.BatchNorm1d(WIDTH), bp.ReLU()), (6, WIDTH)),
        (bp.Sequential(bp.ReLU(), bp.BatchNorm1d(WIDTH), bp.LeakyReLU()), (6, WIDTH)),
        (bp.Residual(bp.Sequential(bp.ReLU(), bp.Linear(WIDTH, WIDTH, rng=rng), bp.ReLU())), (5, WIDTH)),
    ]


def with_kinks(x, rng):
    """A third of the entries exactly 0, a few within 1e-8 of it (as after a ReLU, or raw data)."""
    x = x.copy()
    x[rng.random(x.shape) < 0.33] = 0.0
    x[rng.random(x.shape) < 0.1] = 1e-8 * rng.standard_normal()
    return x


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("kinks", [False, True], ids=["smooth", "kinks"])
def test_no_correct_layer_fails_for_any_input_seed(mode, kinks):
    # The input drawn from seed s, check_layer(seed=s): before, dout was then equal to x
    # (BatchNorm's true input gradient is ~0 for dout = x, and rounding made it FAIL).
    failures = []
    for layer, shape in layer_examples() + kinked_composites():
        layer.train(mode == "train")
        if mode == "eval":                       # non-trivial running statistics
            layer.train()
            layer.forward(RNG.standard_normal(shape) * 2 + 1)
            layer.eval()
        for seed in range(50):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal(shape)
            if kinks:
                x = with_kinks(x, rng)
            report = bp.check_layer(layer, x, seed=seed)
            if not report:
                failures.append(f"{report.first_failure.layer} seed {seed}:\n{report}")
    assert not failures, failures[0]


def test_the_issue_example_batchnorm_with_dout_from_the_same_seed():
    x = np.random.default_rng(0).standard_normal((32, 4))
    report = bp.check_layer(bp.BatchNorm1d(4), x)
    assert report and report.max_rel_error < 1e-7, report


def test_kinks_are_skipped_and_counted_not_failed():
    report = bp.check_layer(bp.ReLU(), np.array([[1e-7, 0.5, -0.3, 0.0]]))
    assert report, report
    assert report.skipped == 2 and report.rows[0].checked == 2
    assert "[2 skipped at a kink]" in repr(report) and "2 entries skipped" in repr(report)
    x, y = bp.data.digits().train                # raw pixels: many exact zeros
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.ReLU(), bp.Linear(64, 8, rng=rng), bp.ReLU(), bp.ReLU(),
                          bp.Dropout(0.5, rng=rng), bp.ReLU(), bp.Linear(8, 3, rng=rng))
    report = bp.check_model(model, bp.SoftmaxCrossEntropy(), x[:16], y[:16] % 3)
    assert report and report.skipped > 0, report


def test_float32_checks_pass_with_kinks():
    for seed in range(10):
        rng = np.random.default_rng(seed)
        x = with_kinks(rng.standard_normal((6, WIDTH)), rng).astype(np.float32)
        layer = bp.Sequential(bp.Linear(WIDTH, WIDTH, rng=rng, dtype=np.float32), bp.ReLU(),
                              bp.BatchNorm1d(WIDTH, dtype=np.float32), bp.LeakyReLU())
        report = bp.check_layer(layer, x, seed=seed)
        assert report, report


class ReLUWrongBelowZero(bp.ReLU):
    """Planted bug: lets 10 % of the gradient through where x < 0 (only there)."""

    def df(self):
        return np.where(self.x > 0, 1.0, 0.1)


class LeakyWrongSlope(bp.LeakyReLU):
    """Planted bug: the slope for x < 0 is used squared."""

    def df(self):
        return np.where(self.x > 0, 1.0, self.negative_slope ** 2)


class LinearOneEntry(bp.Linear):
    """Planted bug in one entry of dx."""

    def backward(self, dout):
        dx = super().backward(dout)
        dx[1, 2] *= 1.5
        return dx


class LinearOneWeightEntry(bp.Linear):
    """Planted bug in one entry of a weight gradient too large to check every entry of."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.weight.grad[17, 3] += 0.5 * abs(self.weight.grad[17, 3]) + 1e-3
        return dx


class BatchNormNoMeanTerm(bp.BatchNorm1d):
    """Planted bug: forgets that the batch mean depends on every sample."""

    def backward(self, dout):
        dx = super().backward(dout)
        return dx + self.inv_std * (dout * self.gamma.data).sum(axis=0) / dout.shape[0]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("layer,shape,row", [
    (ReLUWrongBelowZero(), (5, WIDTH), "input"),
    (LeakyWrongSlope(0.2), (5, WIDTH), "input"),
    (LinearOneEntry(WIDTH, 3, rng=np.random.default_rng(0)), (5, WIDTH), "input"),
    (LinearOneWeightEntry(64, 32, rng=np.random.default_rng(0)), (8, 64), "weight"),
    (BatchNormNoMeanTerm(WIDTH), (6, WIDTH), "input"),
], ids=lambda v: type(v).__name__ if isinstance(v, bp.Layer) else str(v))
def test_planted_bugs_are_found_and_named_even_with_kinks(layer, shape, row, seed):
    rng = np.random.default_rng(seed)
    x = with_kinks(rng.standard_normal(shape), rng)
    report = bp.check_layer(layer, x, seed=seed)
    assert not report, report
    assert report.first_failure.name == row and report.first_failure.layer.startswith(type(layer).__name__)
    assert f"first failure: {type(layer).__name__}" in repr(report)


def test_check_model_names_a_bug_below_zero_behind_kinks():
    x, y = bp.data.digits().train
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(64, 8, rng=rng), bp.ReLU(), bp.Linear(8, 8, rng=rng), ReLUWrongBelowZero(),
                          bp.Dropout(0.5, rng=rng), bp.ReLU(), bp.Linear(8, 3, rng=rng))
    report = bp.check_model(model, bp.SoftmaxCrossEntropy(), x[:16], y[:16] % 3)
    assert report.first_failure.layer == "(3) ReLUWrongBelowZero()", report
    assert [r.layer for r in report.rows if not r.passed] == ["(3) ReLUWrongBelowZero()"]
    assert report.skipped > 0                    # the ReLU after Dropout sees exact zeros


# ---- the numerical tools refuse what they cannot do ---------------------------------------

def test_numerical_gradient_refuses_an_int_array():
    # before: [500000, 1500000, 2500000] for the gradient [2, 4, 6] of Σx²
    with pytest.raises(ValueError, match=r"int64 array cannot hold.*x.astype\(np.float64\)"):
        bp.numerical_gradient(lambda v: np.sum(v ** 2), np.array([1, 2, 3]))


def test_numerical_gradient_chooses_the_float32_step():
    # before: h = 1e-6 in float32 was 5 % off, silently
    x = np.array([1, 2, 3], np.float32)
    grad = bp.numerical_gradient(lambda v: np.sum(v.astype(np.float64) ** 2), x)
    np.testing.assert_allclose(grad, [2, 4, 6], rtol=1e-5)


def test_numerical_gradient_refuses_what_has_no_gradient():
    with pytest.raises(ValueError, match=r"f to return one number.*shape \(3,\)"):
        bp.numerical_gradient(lambda v: v ** 2, np.ones(3))
    with pytest.raises(ValueError, match="contains NaN"):
        bp.numerical_gradient(lambda v: np.sum(v), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"f is nan at x\[0\] - h"):
        bp.numerical_gradient(lambda v: np.sum(np.sqrt(v)), np.array([1e-7]))
    with pytest.raises(ValueError, match="step h must be a number > 0"):
        bp.numerical_gradient(lambda v: np.sum(v), np.ones(2), h=0)
    with pytest.raises(ValueError, match="needs a function f"):
        bp.numerical_gradient(np.ones(2), lambda v: v)


def test_rel_error_refuses_to_broadcast():
    # before: (3, 1) against (3,) broadcast to (3, 3) and gave 0.46
    with pytest.raises(ValueError, match=r"same shape, got \(3, 1\) and \(3,\)"):
        bp.rel_error(np.ones((3, 1)), np.array([1.0, 2.0, 3.0]))


def test_rel_error_of_independent_vectors_is_about_0_7_not_1():
    rng = np.random.default_rng(0)
    errors = [bp.rel_error(rng.standard_normal(1000), rng.standard_normal(1000)) for _ in range(20)]
    assert 0.65 < np.mean(errors) < 0.75
    assert bp.rel_error(np.ones(3), np.zeros(3)) == 1


def test_checkers_refuse_classes_and_non_layers():
    x = RNG.standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"got the class ReLU, not an object: create one with ReLU\(...\)"):
        bp.check_layer(bp.ReLU, x)
    model = bp.Sequential(bp.Linear(3, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"got the class MSELoss, not a loss object: create one with MSELoss\(\)"):
        bp.check_model(model, bp.MSELoss, x, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="contains NaN"):
        bp.check_layer(bp.Tanh(), np.array([[np.nan, 1.0]]))


def test_large_inputs_are_checked_with_a_step_to_their_scale():
    # a fixed h = 1e-6 is lost in rounding next to 1e12: the check read 0 and failed a correct layer
    layer = bp.Linear(3, 2, rng=np.random.default_rng(0))
    report = bp.check_layer(layer, 1e6 * RNG.standard_normal((4, 3)))
    assert [r.name for r in report.rows if r.error < 1e-7] == ["input", "weight"], report
    # 1e12 next to 0.5: the loss's rounding (~1e-4) hides what 0.5's nudge changes: undecidable, not FAIL
    report = bp.check_layer(layer, np.array([[1e12, -3e9, 0.5]]))
    assert report and [r.name for r in report.rows if r.inconclusive] == ["input", "bias"], report
    assert "?? inconclusive: Linear(3 → 2) input, Linear(3 → 2) bias" in repr(report)

    class WrongBias(bp.Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self.bias.grad *= 2
            return dx

    bad = WrongBias(3, 2, rng=np.random.default_rng(0))
    assert bp.check_layer(bad, 1e6 * RNG.standard_normal((4, 3))).first_failure.name == "bias"
    with pytest.warns(RuntimeWarning, match=r"the step h = 1e-08 is lost in rounding at 1 entry \("):
        bp.numerical_gradient(lambda v: np.sum(v.astype(np.float64) ** 2), np.array([1.0, 0.0], np.float32), h=1e-8)


def test_rnn_with_relu_is_checked_past_its_kinks():
    # a whole time step of zeros (h_0 = 0, bias 0): pre-activations exactly at ReLU's kink
    failures = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((3, 4, 2))
        x[0, 0] = 0.0
        layer = bp.RNN(2, 3, nonlinearity="relu", rng=np.random.default_rng(1))
        failures += not bp.check_layer(layer, x, seed=seed)
    assert failures == 0


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_check_model_passes_a_correct_model_of_every_layer_for_any_seed(mode):
    x, y = bp.data.digits().train                # raw pixels: exact zeros
    failures = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        model = bp.Sequential(
            bp.Linear(64, 8, rng=rng), bp.BatchNorm1d(8), bp.ReLU(), bp.Dropout(0.3, rng=rng),
            bp.Residual(bp.Sequential(bp.Linear(8, 8, rng=rng), bp.LeakyReLU(0.1))), bp.ReLU(),
            bp.LayerNorm(8), bp.Tanh(), bp.Linear(8, 8, rng=rng), bp.Sigmoid(), bp.Linear(8, 3, rng=rng))
        if mode == "eval":
            model.forward(x[:32])                # running statistics from a training batch
            model.eval()
        rows = rng.choice(len(x), 12, replace=False)
        report = bp.check_model(model, bp.SoftmaxCrossEntropy(), x[rows], y[rows] % 3, seed=seed, sample=60)
        if not report:
            failures.append(f"seed {seed}:\n{report}")
    assert not failures, failures[0]


class Doubler(bp.Layer):
    """y = 2x, remembering the largest |x| seen: a buffer not named running_*."""
    buffer_names = ("largest",)

    def __init__(self):
        self.largest = np.zeros(1)

    def forward(self, x):
        self.largest = np.maximum(self.largest, np.abs(x).max())
        return 2 * x

    def backward(self, dout):
        return 2 * dout


def test_check_restores_every_declared_buffer():
    # before: the check restored attributes named running_* only, so a layer's other state drifted
    layer = Doubler()
    report = bp.check_layer(layer, RNG.standard_normal((3, 2)))
    assert report and layer.largest[0] == 0


def test_float32_steps_are_what_the_docstring_says():
    # before: the docstring said 1e-6 "would be lost in rounding" in float32; it is imprecise, 1e-8 is lost
    doc = " ".join(bp.numerical_gradient.__doc__.split())
    assert "h = 1e-6 one around 1e-2" in doc and "h = 1e-8 is lost outright for |x| >= 0.25" in doc
    errors = {1e-2: [], 1e-6: [], 1e-8: []}
    for seed in range(5):
        rng = np.random.default_rng(seed)
        x, w = rng.standard_normal((2, 5, 4)).astype(np.float32)
        exact = w * (1 - np.tanh(x.astype(np.float64)) ** 2)
        for h in errors:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                numeric = bp.numerical_gradient(lambda v: np.sum(w * np.tanh(v), dtype=np.float64), x, h=h)
            lost = [c for c in caught if issubclass(c.category, bp.gradcheck.LostStepWarning)]
            assert bool(lost) == (h == 1e-8 and bool(np.any(np.abs(x) >= 0.25)))
            errors[h].append(bp.rel_error(numeric, exact))
    assert max(errors[1e-2]) < 1e-4
    assert 1e-3 < min(errors[1e-6]) and max(errors[1e-6]) < 1e-1
    assert min(errors[1e-8]) > 0.2


def test_a_lost_step_warns_at_the_callers_line_with_its_own_category():
    # before: a RuntimeWarning whose location was a line inside bpcourse when check_model was called
    # (stderr showed the package's path); now the caller's line, and a category a notebook can catch
    calls = [lambda: bp.numerical_gradient(lambda v: np.sum(v ** 2), np.ones(3, np.float32), h=1e-9),
             lambda: bp.check_layer(bp.Tanh(), np.ones((2, 2)), h=1e-20),
             lambda: bp.check_model(bp.Sequential(bp.Tanh()), bp.MSELoss(), np.ones((2, 2)), np.zeros((2, 2)),
                                    h=1e-20)]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        assert caught and all(c.category is bp.gradcheck.LostStepWarning and c.filename == __file__
                              for c in caught), [(c.category, c.filename) for c in caught]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.simplefilter("ignore", bp.gradcheck.LostStepWarning)
            call()                                       # silenced by category, nothing else raised
