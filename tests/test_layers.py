"""Every layer's backward against numerical gradients, and the layer contract."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import bpcourse as bp

RNG = np.random.default_rng(0)


def make_layers(dtype=np.float64):
    rng = np.random.default_rng(1)
    return [
        (bp.Linear(5, 3, rng=rng, dtype=dtype), (4, 5)),
        (bp.Linear(5, 3, bias=False, init="xavier", rng=rng, dtype=dtype), (4, 5)),
        (bp.Linear(5, 3, init="normal", std=0.5, rng=rng, dtype=dtype), (1, 5)),
        (bp.ReLU(), (4, 6)),
        (bp.LeakyReLU(0.1), (4, 6)),
        (bp.Sigmoid(), (3, 7)),
        (bp.Tanh(), (3, 7)),
        (bp.Dropout(0.4, rng=rng), (6, 5)),
        (bp.BatchNorm1d(4, dtype=dtype), (8, 4)),
        (bp.BatchNorm1d(4, affine=False, dtype=dtype), (5, 4)),
        (bp.Flatten(), (3, 2, 4)),
        (bp.Residual(bp.Sequential(bp.Linear(4, 4, rng=rng, dtype=dtype), bp.Tanh())), (5, 4)),
        (bp.Sequential(bp.Linear(6, 8, rng=rng, dtype=dtype), bp.BatchNorm1d(8, dtype=dtype), bp.ReLU(),
                       bp.Dropout(0.2, rng=rng), bp.Linear(8, 3, rng=rng, dtype=dtype)), (7, 6)),
    ]


def eval_stats_warmup(layer, shape):
    """Give BatchNorm non-trivial running statistics before an eval-mode check."""
    layer.train()
    for _ in range(3):
        layer.forward(RNG.standard_normal(shape) * 2 + 1)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("layer,shape", make_layers(), ids=lambda v: repr(v).replace("\n", " ") if not isinstance(v, tuple) else str(v))
def test_backward_matches_numerical_gradient(layer, shape, mode):
    if mode == "eval":
        eval_stats_warmup(layer, shape)
        layer.eval()
    else:
        layer.train()
    report = bp.check_layer(layer, RNG.standard_normal(shape))
    assert report.max_rel_error < 1e-7, report
    assert {r.name for r in report.rows} == {"input"} | {n for n, _ in layer.named_parameters()}


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d_in=st.integers(1, 6), d_out=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_linear_gradients_for_random_shapes(n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = bp.Linear(d_in, d_out, rng=rng)
    layer.bias.data[...] = rng.standard_normal(d_out)
    report = bp.check_layer(layer, rng.standard_normal((n, d_in)))
    assert report.max_rel_error < 1e-7, report


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 7), d=st.integers(1, 5), seed=st.integers(0, 10**6), scale=st.floats(0.1, 10))
def test_batchnorm_gradients_for_random_shapes(n, d, seed, scale):
    # (With 2 samples the normalised outputs are ±1 whatever x is: dx is zero up to eps, and
    # only rounding is left to compare.)
    rng = np.random.default_rng(seed)
    layer = bp.BatchNorm1d(d)
    layer.gamma.data[...] = rng.standard_normal(d)
    report = bp.check_layer(layer, scale * rng.standard_normal((n, d)) + 3)
    assert report.max_rel_error < 1e-6, report   # 1/sqrt(var+eps) amplifies rounding for tiny batches


@pytest.mark.parametrize("layer,shape", make_layers(np.float32), ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else str(v))
def test_float32_stays_float32(layer, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in layer.parameters())
    report = bp.check_layer(layer, x)
    assert report.max_rel_error < 1e-2, report


def test_backward_accumulates_into_grad():
    layer = bp.Linear(3, 2, rng=np.random.default_rng(0))
    x, dout = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(dout)
    once = layer.weight.grad.copy()
    layer.backward(dout)
    np.testing.assert_allclose(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any()


def test_shared_weight_gets_gradient_from_both_uses():
    rng = np.random.default_rng(0)
    first, second = bp.Linear(3, 3, rng=rng), bp.Linear(3, 3, rng=rng)
    second.weight = first.weight                       # tied weights: one Parameter, two layers
    model = bp.Sequential(first, bp.Tanh(), second)
    assert model.parameters().count(first.weight) == 1
    x, dout = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    model.forward(x)
    model.backward(dout)
    # The numerical gradient of f(W) = sum(dout * model(x)) counts both uses of W.
    numeric = bp.numerical_gradient(lambda _: np.sum(model.forward(x) * dout), first.weight.data)
    assert bp.rel_error(first.weight.grad, numeric) < 1e-7


def test_reusing_one_layer_object_is_refused():
    layer = bp.Linear(3, 3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="appears twice"):
        bp.Sequential(layer, bp.Tanh(), layer)


def test_linear_error_names_layer_and_shapes():
    layer = bp.Linear(64, 128, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Linear\(64 → 128\) expected input of shape \(N, 64\), got \(32, 65\)"):
        layer.forward(np.zeros((32, 65)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 64\), got \(64,\)"):
        layer.forward(np.zeros(64))


def test_dtype_mismatch_is_an_error_with_the_cure():
    layer = bp.Linear(3, 2, rng=np.random.default_rng(0), dtype=np.float32)
    with pytest.raises(ValueError, match=r"float32 parameters but got float64.*x.astype\(np.float32\)"):
        layer.forward(np.zeros((2, 3)))
    assert layer.forward(np.ones((2, 3), dtype=np.int64)).dtype == np.float32   # integers are converted


@pytest.mark.parametrize("layer", [bp.Linear(2, 2, rng=np.random.default_rng(0)), bp.ReLU(), bp.Sigmoid(),
                                   bp.Dropout(0.5, rng=np.random.default_rng(0)), bp.BatchNorm1d(2),
                                   bp.Flatten(), bp.Residual(bp.ReLU()), bp.Sequential(bp.ReLU())],
                         ids=lambda l: type(l).__name__)
def test_backward_before_forward_says_so(layer):
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 2)))


def test_backward_with_wrong_dout_shape():
    layer = bp.Linear(3, 2, rng=np.random.default_rng(0))
    layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"expected dout of shape \(4, 2\).*got \(2, 4\)"):
        layer.backward(np.zeros((2, 4)))


def test_bad_construction_and_inputs():
    with pytest.raises(ValueError, match="explicit random generator"):
        bp.Linear(3, 2)
    with pytest.raises(ValueError, match="unknown init 'kaiming'"):
        bp.Linear(3, 2, init="kaiming", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"std= only applies to init='normal'"):
        bp.Linear(3, 2, std=0.1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"in \[0, 1\)"):
        bp.Dropout(1.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="explicit rng"):
        bp.Dropout(0.5)
    with pytest.raises(ValueError, match="empty batch"):
        bp.ReLU().forward(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        bp.BatchNorm1d(3).forward(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="keep the shape"):
        bp.Residual(bp.Linear(3, 2, rng=np.random.default_rng(0))).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="did you forget to call it"):
        bp.Sequential(bp.ReLU)
    with pytest.raises(ValueError, match="numeric array"):
        bp.ReLU().forward(np.array(["a", "b"]))


def test_batchnorm_running_statistics_follow_pytorch():
    layer = bp.BatchNorm1d(3, momentum=0.1)
    xs = [RNG.standard_normal((5, 3)) * 3 + 2 for _ in range(4)]
    mean, var = np.zeros(3), np.ones(3)
    for x in xs:
        layer.forward(x)
        mean = 0.9 * mean + 0.1 * x.mean(axis=0)
        var = 0.9 * var + 0.1 * x.var(axis=0, ddof=1)        # unbiased, as PyTorch
    np.testing.assert_allclose(layer.running_mean, mean)
    np.testing.assert_allclose(layer.running_var, var)
    layer.eval()
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(layer.forward(x), (x - mean) / np.sqrt(var + 1e-5))


def test_batchnorm_train_output_is_normalised():
    x = RNG.standard_normal((50, 4)) * 5 + 3
    y = bp.BatchNorm1d(4).forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-3)


def test_dropout_is_inverted_and_identity_in_eval():
    layer = bp.Dropout(0.25, rng=np.random.default_rng(0))
    x = np.ones((400, 50))
    y = layer.forward(x)
    assert abs(np.mean(y == 0) - 0.25) < 0.01
    np.testing.assert_allclose(y[y != 0], 1 / 0.75)
    assert abs(y.mean() - 1) < 0.02
    np.testing.assert_array_equal(layer.backward(x) == 0, y == 0)   # the same entries are dropped
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)


def test_parameters_order_and_names():
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(3, 4, rng=rng), bp.BatchNorm1d(4), bp.ReLU(),
                          bp.Residual(bp.Sequential(bp.Linear(4, 4, rng=rng))), bp.Linear(4, 2, rng=rng))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.gamma", "1.beta", "3.block.0.weight", "3.block.0.bias",
                     "4.weight", "4.bias"]
    assert [p.shape for p in model.parameters()][:4] == [(3, 4), (4,), (4,), (4,)]


def test_train_eval_switch_reaches_nested_layers():
    inner = bp.Dropout(0.5, rng=np.random.default_rng(0))
    model = bp.Sequential(bp.Residual(bp.Sequential(inner)))
    model.eval()
    assert inner.training is False
    model.train()
    assert inner.training is True


def test_repr_reads_like_a_summary():
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(64, 128, rng=rng), bp.ReLU(), bp.Dropout(0.2, rng=rng),
                          bp.Linear(128, 10, bias=False, rng=rng, dtype=np.float32))
    assert repr(model) == ("Sequential(\n  (0): Linear(64 → 128)\n  (1): ReLU()\n  (2): Dropout(p=0.2)\n"
                           "  (3): Linear(128 → 10, bias=False, dtype=float32)\n)")


def test_sequential_slicing_shares_parameters():
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(3, 4, rng=rng), bp.ReLU(), bp.Linear(4, 2, rng=rng))
    body = model[:2]
    assert body.parameters()[0] is model.parameters()[0] and len(body) == 2


@pytest.mark.parametrize("init,expected_var", [("he", 2 / 400), ("xavier", 2 / 500),
                                               ("he_uniform", 2 / 400), ("xavier_uniform", 2 / 500)])
def test_initialisation_variance(init, expected_var):
    layer = bp.Linear(400, 100, init=init, rng=np.random.default_rng(0))
    assert abs(layer.weight.data.var() / expected_var - 1) < 0.03
    assert abs(layer.weight.data.mean()) < 3 * np.sqrt(expected_var / 40000)


def test_same_seed_same_weights():
    a = bp.Linear(5, 5, rng=np.random.default_rng(7)).weight.data
    b = bp.Linear(5, 5, rng=np.random.default_rng(7)).weight.data
    np.testing.assert_array_equal(a, b)


def test_sigmoid_is_stable_and_correct():
    x = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is harmless
        y = bp.Sigmoid().forward(x)
    np.testing.assert_allclose(y[1:4], 1 / (1 + np.exp(-x[1:4])), rtol=1e-12)
    assert y[0] == 0.0 and y[-1] == 1.0


# ---- numerics at the extremes -------------------------------------------------------------

from decimal import Decimal, getcontext  # noqa: E402


def exact_sigmoid(x):
    """σ(x) and σ'(x) to 40 digits with decimal arithmetic (shares nothing with the package)."""
    getcontext().prec = 40
    e = (-Decimal(float(x))).exp()
    s = 1 / (1 + e)
    return float(s), float(s * (1 - s))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_keeps_relative_accuracy_far_out(dtype):
    # before: 0.5 * (1 + tanh(x / 2)) lost all relative accuracy below x ≈ -15 and was 0 from -37
    x = np.array([-700.0, -100.0, -40.0, -37.0, -20.0, -15.0, -1.0, 0.0, 3.0, 20.0, 40.0], dtype)
    layer = bp.Sigmoid()
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == dtype
    tiny, eps = float(np.finfo(dtype).tiny), float(np.finfo(dtype).eps)
    for xi, yi, di in zip(x, y, dx):
        s, ds = exact_sigmoid(xi)
        if s > tiny:
            assert float(yi) == pytest.approx(s, rel=4 * eps, abs=0), xi
        if ds > tiny:
            assert float(di) == pytest.approx(ds, rel=8 * eps, abs=0), xi
    assert bp.Sigmoid().forward(np.array([-40.0]))[0] == pytest.approx(bp.Value(-40.0).sigmoid().data, rel=1e-15)


def test_bce_with_logits_is_accurate_at_extreme_logits():
    getcontext().prec = 40
    z = np.array([-800.0, -50.0, -1.0, 0.0, 30.0, 50.0, 800.0])
    for y in (0.0, 1.0):
        loss = bp.BCEWithLogits()
        value = loss.forward(z, np.full_like(z, y))
        grad = loss.backward()
        # exact: L_i = log(1 + e^-z) for y = 1, log(1 + e^z) for y = 0; dL/dz_i = (σ(z) - y) / n
        terms = [(1 + (Decimal(-zi) if y == 1 else Decimal(zi)).exp()).ln() for zi in z]
        assert value == pytest.approx(float(sum(terms) / len(z)), rel=1e-14)
        for zi, gi in zip(z, grad):
            s = 1 / (1 + Decimal(-zi).exp())
            exact = float((s - Decimal(y)) / len(z))
            assert gi == pytest.approx(exact, rel=1e-14, abs=1e-300), (zi, y)


def test_float32_batchnorm_with_numpy_float64_settings_stays_float32():
    # before: a np.float64 momentum or eps turned the running statistics and the output into float64
    layer = bp.BatchNorm1d(3, eps=np.float64(1e-5), momentum=np.float64(0.2), dtype=np.float32)
    x = RNG.standard_normal((6, 3)).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == layer.running_mean.dtype == layer.running_var.dtype == np.float32
    layer.momentum = np.float64(0.3)                      # changed later, the same
    layer.forward(x)
    assert layer.running_var.dtype == np.float32
    layer.eval()
    assert layer.forward(x).dtype == np.float32


@pytest.mark.parametrize("make,message", [
    (lambda: bp.Linear(64.0, 10, rng=RNG), r"Linear: in_features must be a whole number >= 1, got 64.0"),
    (lambda: bp.Linear(64, 0, rng=RNG), r"Linear: out_features must be a whole number >= 1, got 0"),
    (lambda: bp.Linear(4, 2, rng=RNG, dtype=np.int64), r"Linear: dtype must be np.float32 or np.float64"),
    (lambda: bp.BatchNorm1d("4"), r"BatchNorm1d: num_features must be a whole number"),
    (lambda: bp.BatchNorm1d(4, momentum=1.5), r"BatchNorm1d: momentum must be a finite number in \[0, 1\]"),
    (lambda: bp.BatchNorm1d(4, eps=0), r"eps must be > 0"),
    (lambda: bp.Dropout("0.5", rng=RNG), r"Dropout: the probability p must be a finite number in \[0, 1\)"),
    (lambda: bp.LeakyReLU("a"), r"LeakyReLU: negative_slope must be a finite number, got 'a'"),
    (lambda: bp.Sequential([bp.ReLU(), bp.Tanh()]), r"Sequential\(\*layers\), not Sequential\(\[...\]\)"),
    (lambda: bp.Residual(bp.Tanh), r"did you forget to call it"),
])
def test_constructors_refuse_bad_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_backward_refuses_a_dout_that_would_broadcast():
    # before: Dropout multiplied a (D,) dout into the (N, D) mask, silently
    layer = bp.Dropout(0.5, rng=np.random.default_rng(0))
    layer.forward(RNG.standard_normal((4, 3)))
    with pytest.raises(ValueError, match=r"Dropout\(p=0.5\).backward\(\) expected dout of shape \(4, 3\)"):
        layer.backward(np.ones(3))
    flat = bp.Flatten()
    flat.forward(RNG.standard_normal((2, 3, 4)))
    with pytest.raises(ValueError, match=r"Flatten\(\).backward\(\) expected dout of shape \(2, 12\)"):
        flat.backward(np.ones((2, 11)))
    res = bp.Residual(bp.Tanh())
    res.forward(RNG.standard_normal((2, 3)))
    with pytest.raises(ValueError, match=r"expected dout of shape \(2, 3\)"):
        res.backward(np.ones(3))


def test_whole_number_input_becomes_float():
    relu = bp.ReLU()
    out = relu.forward(np.array([[-1, 2]]))
    assert out.dtype == np.float64 and relu.backward(np.array([[1, 1]])).tolist() == [[0.0, 1.0]]
    with pytest.raises(ValueError, match=r"For one sample, add the batch axis: x.reshape\(1, 3\)"):
        bp.Linear(3, 2, rng=RNG).forward(np.ones(3))


def test_a_nan_batch_does_not_ruin_batchnorm_for_good():
    layer = bp.BatchNorm1d(2)
    layer.forward(np.array([[1.0, 2.0], [3.0, 5.0]]))
    before = layer.running_mean.copy(), layer.running_var.copy()
    with np.errstate(all="ignore"):
        out = layer.forward(np.array([[np.nan, 2.0], [3.0, 1e300]]))
    assert np.isnan(out[:, 0]).all()                      # the NaN shows where it is
    np.testing.assert_array_equal(layer.running_mean, before[0])
    np.testing.assert_array_equal(layer.running_var, before[1])
    assert np.isfinite(layer.eval().forward(np.ones((1, 2)))).all()


def test_assigning_an_array_over_a_parameter_is_refused():
    # before: layer.weight = W replaced the Parameter by an array: forward still ran, backward
    # raised an AttributeError, and parameters() no longer listed it (never trained, silently)
    layer = bp.Linear(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"Linear.weight is a Parameter: assign into its data \(weight.data\[...\] = w\)"):
        layer.weight = np.zeros((3, 2))
    other = bp.Linear(3, 2, rng=np.random.default_rng(1))
    other.weight = layer.weight                          # sharing a Parameter stays possible
    assert other.weight is layer.weight


def test_buffers_are_state_beside_the_parameters():
    # before: a model's state was parameters() only; BatchNorm's running statistics had no name
    model = bp.Sequential(bp.Linear(3, 4, rng=np.random.default_rng(0)), bp.BatchNorm1d(4),
                          bp.Residual(bp.Sequential(bp.BatchNorm1d(4, affine=False))))
    assert [n for n, _ in model.named_buffers()] == ["1.running_mean", "1.running_var",
                                                     "2.block.0.running_mean", "2.block.0.running_var"]
    assert model[1].named_buffers()[0][1] is model[1].running_mean
    state = model.state_dict()
    assert list(state) == [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    model.forward(RNG.standard_normal((6, 3)))           # training mode: the statistics move
    assert not np.array_equal(model[1].running_mean, state["1.running_mean"])   # state_dict holds copies
    model.load_state_dict(state)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in state.items())
    assert bp.Linear(2, 2, rng=np.random.default_rng(0)).named_buffers() == []
