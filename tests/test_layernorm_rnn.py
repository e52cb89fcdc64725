"""LayerNorm and the vanilla RNN: backward against numerical gradients (train and eval, several shapes,
float32), the layer contract, and the behaviour each is for."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import bpcourse as bp

RNG = np.random.default_rng(10)


def make_layers(dtype=np.float64):
    rng = np.random.default_rng(11)
    ln = bp.LayerNorm(5, dtype=dtype)
    ln.gamma.data[...] = rng.standard_normal(5)
    ln.beta.data[...] = rng.standard_normal(5)
    rnn_relu = bp.RNN(2, 4, nonlinearity="relu", gain=1.2, rng=rng, dtype=dtype)
    rnn_relu.bias.data[...] = 0.5                  # keeps most units active: away from ReLU's kink
    if dtype == np.float32:                        # float32's step 1e-2 would cross the kink: all units active
        rnn_relu.weight_ih.data *= 0.1
        rnn_relu.weight_hh.data[...] = np.abs(rnn_relu.weight_hh.data)
        rnn_relu.bias.data[...] = 1.0
    return [
        (ln, (4, 5)),
        (bp.LayerNorm(5, dtype=dtype), (3, 6, 5)),                    # a sequence: normalised per step
        (bp.LayerNorm(3, elementwise_affine=False, dtype=dtype), (2, 3)),
        (bp.LayerNorm(4, dtype=dtype), (1, 4)),                       # a batch of one is fine
        (bp.RNN(3, 5, rng=rng, dtype=dtype), (4, 6, 3)),
        (bp.RNN(3, 5, return_sequences=False, gain=1.5, rng=rng, dtype=dtype), (2, 7, 3)),
        (bp.RNN(1, 3, rng=rng, dtype=dtype), (1, 1, 1)),              # one sequence of one step
        (rnn_relu, (3, 5, 2)),
        (bp.Sequential(bp.RNN(2, 6, rng=rng, dtype=dtype), bp.LayerNorm(6, dtype=dtype), bp.Tanh(),
                       bp.Flatten(), bp.Linear(24, 3, rng=rng, dtype=dtype)), (3, 4, 2)),
    ]


def ids(v):
    return repr(v).replace("\n", " ") if not isinstance(v, tuple) else str(v)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("layer,shape", make_layers(), ids=ids)
def test_backward_matches_numerical_gradient(layer, shape, mode):
    layer.train(mode == "train")
    x = RNG.standard_normal(shape) * 2 + 0.5
    report = bp.check_layer(layer, x)
    assert report.max_rel_error < 1e-7, report
    assert {r.name for r in report.rows} == {"input"} | {n for n, _ in layer.named_parameters()}


@settings(max_examples=25, deadline=None)
@given(lead=st.lists(st.integers(1, 4), min_size=1, max_size=2), d=st.integers(3, 6),
       seed=st.integers(0, 10**6), scale=st.floats(0.1, 10))
def test_layernorm_gradients_for_random_shapes(lead, d, seed, scale):
    # (With 2 features the normalised outputs are ±1 whatever x is: dx is zero up to eps, and only
    # rounding is left to compare — as for batch norm with 2 samples.)
    rng = np.random.default_rng(seed)
    layer = bp.LayerNorm(d)
    layer.gamma.data[...] = rng.standard_normal(d)
    layer.beta.data[...] = rng.standard_normal(d)
    report = bp.check_layer(layer, scale * rng.standard_normal((*lead, d)) + 3)
    assert report.max_rel_error < 1e-6, report   # 1/sqrt(var+eps) amplifies rounding for tiny d


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 3), steps=st.integers(1, 6), d=st.integers(1, 3), h=st.integers(1, 4),
       gain=st.floats(0.3, 2.5), last=st.booleans(), seed=st.integers(0, 10**6))
def test_rnn_gradients_for_random_shapes(n, steps, d, h, gain, last, seed):
    rng = np.random.default_rng(seed)
    layer = bp.RNN(d, h, gain=gain, return_sequences=not last, rng=rng)
    layer.bias.data[...] = 0.3 * rng.standard_normal(h)
    report = bp.check_layer(layer, rng.standard_normal((n, steps, d)))
    assert report.max_rel_error < 1e-6, report


@pytest.mark.parametrize("layer,shape", make_layers(np.float32), ids=lambda v: type(v).__name__ if not isinstance(v, tuple) else str(v))
def test_float32_stays_float32(layer, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    out = layer.forward(x)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in layer.parameters())
    report = bp.check_layer(layer, x)
    assert report.max_rel_error < 1e-2, report


# -- LayerNorm ---------------------------------------------------------------------------------

def test_layernorm_normalises_each_sample_over_its_features():
    x = RNG.standard_normal((6, 8)) * 5 + 3
    y = bp.LayerNorm(8).forward(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=1), 1, atol=1e-3)           # eps keeps it a hair below 1
    assert np.abs(y.mean(axis=0)).max() > 0.1                         # not per feature: that is batch norm


def test_layernorm_matches_pytorch_formula_with_affine():
    x = RNG.standard_normal((3, 4, 5))
    layer = bp.LayerNorm(5, eps=1e-3)
    layer.gamma.data[...] = np.arange(1, 6)
    layer.beta.data[...] = -1
    mean, var = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)      # biased, as PyTorch
    np.testing.assert_allclose(layer.forward(x), (x - mean) / np.sqrt(var + 1e-3) * np.arange(1, 6) - 1)


def test_layernorm_output_of_a_sample_does_not_depend_on_its_batch_or_mode():
    layer = bp.LayerNorm(7)
    layer.gamma.data[...] = RNG.standard_normal(7)
    x = RNG.standard_normal((64, 7))
    alone = layer.forward(x[:1])
    for n in (2, 8, 64):
        np.testing.assert_allclose(layer.forward(x[:n])[0], alone[0], rtol=0, atol=1e-14)
    layer.eval()
    np.testing.assert_allclose(layer.forward(x[:1]), alone, rtol=0, atol=1e-14)
    batchnorm = bp.BatchNorm1d(7)                                      # the contrast, in training mode
    assert np.abs(batchnorm.forward(x[:2])[0] - batchnorm.forward(x[:64])[0]).max() > 0.1


def test_layernorm_accumulates_and_lists_gamma_before_beta():
    layer = bp.LayerNorm(3)
    x, dout = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    layer.forward(x)
    layer.backward(dout)
    once = layer.gamma.grad.copy()
    layer.backward(dout)
    np.testing.assert_allclose(layer.gamma.grad, 2 * once)
    assert [n for n, _ in layer.named_parameters()] == ["gamma", "beta"]
    assert bp.LayerNorm(3, elementwise_affine=False).parameters() == []


def test_layernorm_errors_and_repr():
    with pytest.raises(ValueError, match="last axis.*positive int"):
        bp.LayerNorm((3, 4))
    with pytest.raises(ValueError, match=r"LayerNorm\(4, eps=1e-05\) expected input of shape \(N, 4\), got \(2, 3\)"):
        bp.LayerNorm(4).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"float32 parameters but got float64.*astype\(np.float32\)"):
        bp.LayerNorm(4, dtype=np.float32).forward(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        bp.LayerNorm(2).backward(np.ones((2, 2)))
    layer = bp.LayerNorm(2)
    layer.forward(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"expected dout of shape \(3, 2\)"):
        layer.backward(np.ones((2, 3)))
    assert repr(bp.LayerNorm(6, elementwise_affine=False)) == "LayerNorm(6, eps=1e-05, elementwise_affine=False)"
    assert np.isfinite(bp.LayerNorm(3).forward(np.ones((2, 3)))).all()    # constant rows: eps, no NaN


# -- RNN ---------------------------------------------------------------------------------------

def test_rnn_forward_is_the_recurrence():
    rng = np.random.default_rng(0)
    rnn = bp.RNN(3, 4, rng=rng)
    rnn.bias.data[...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 5, 3))
    h, states = np.zeros((2, 4)), []
    for t in range(5):                                   # written out, one step at a time
        h = np.tanh(x[:, t] @ rnn.weight_ih.data + h @ rnn.weight_hh.data + rnn.bias.data)
        states.append(h)
    np.testing.assert_allclose(rnn.forward(x), np.stack(states, axis=1), rtol=1e-12)
    rnn.return_sequences = False
    np.testing.assert_allclose(rnn.forward(x), states[-1], rtol=1e-12)
    relu = bp.RNN(3, 4, nonlinearity="relu", rng=rng)
    h = np.maximum(x[:, 0] @ relu.weight_ih.data + relu.bias.data, 0)
    np.testing.assert_allclose(relu.forward(x)[:, 0], h)


def test_rnn_shares_its_weights_over_time():
    """The weights' gradient is the sum over steps: one step's gradient from a length-1 sequence, and
    a sequence whose steps do not interact (W_hh = 0) gives the sum of its steps' gradients."""
    rng = np.random.default_rng(1)
    rnn = bp.RNN(2, 3, rng=rng)
    rnn.weight_hh.data[...] = 0
    x, dout = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 3))
    rnn.forward(x)
    rnn.backward(dout)
    total = rnn.weight_ih.grad.copy()
    parts = np.zeros_like(total)
    for t in range(3):
        rnn.zero_grad()
        rnn.forward(x[:, t:t + 1])
        rnn.backward(dout[:, t:t + 1])
        parts += rnn.weight_ih.grad
    np.testing.assert_allclose(total, parts, rtol=1e-12)


def test_rnn_gradient_explodes_or_vanishes_with_the_gain():
    """The norm of the gradient reaching the first input, relative to the last, after 40 steps."""
    from bpcourse.rnn_training import gradient_through_time
    small = [gradient_through_time(0.5, steps=41, seed=s)[40] for s in range(3)]
    large = [gradient_through_time(3.0, steps=41, seed=s)[40] for s in range(3)]
    assert max(small) < 1e-8 < 1e3 < min(large)


def test_rnn_init_gain_sets_the_spectral_radius():
    from bpcourse.rnn_training import spectral_radius
    for gain in (0.5, 1.0, 2.0):
        radius = spectral_radius(bp.RNN(1, 200, gain=gain, rng=np.random.default_rng(0)).weight_hh.data)
        assert abs(radius / gain - 1) < 0.1                # the circular law, for 200 units


def test_rnn_errors_and_repr():
    rnn = bp.RNN(3, 4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, T, 3\).*got \(5, 3\).*x\[None\]"):
        rnn.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(N, T, 3\).*got \(2, 5, 4\)"):
        rnn.forward(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="empty batch"):
        rnn.forward(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match=r"float32 parameters but got float64"):
        bp.RNN(3, 4, rng=np.random.default_rng(0), dtype=np.float32).forward(np.zeros((1, 2, 3)))
    with pytest.raises(RuntimeError, match=r"backward\(\) called before forward\(\)"):
        bp.RNN(3, 4, rng=np.random.default_rng(0)).backward(np.zeros((1, 2, 4)))
    rnn.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match=r"expected dout of shape \(2, 5, 4\)"):
        rnn.backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="nonlinearity"):
        bp.RNN(3, 4, nonlinearity="sigmoid", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        bp.RNN(3, 0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="explicit random generator"):
        bp.RNN(3, 4)
    assert repr(bp.RNN(3, 4, nonlinearity="relu", return_sequences=False, rng=np.random.default_rng(0))) == \
        "RNN(3 → 4, nonlinearity='relu', return_sequences=False)"
    assert [n for n, _ in rnn.named_parameters()] == ["weight_ih", "weight_hh", "bias"]


def test_rnn_trains_with_bp_fit_and_sequential():
    """The layer works inside the package's model and loop: the running-sum loss falls."""
    from bpcourse.rnn_training import running_sum
    rng = np.random.default_rng(0)
    x, y = running_sum(256, 8, rng)
    model = bp.Sequential(bp.RNN(1, 8, return_sequences=False, rng=rng), bp.Linear(8, 1, rng=rng))
    history = bp.fit(model, bp.MSELoss(), bp.Adam(model.parameters(), lr=0.01), (x, y), epochs=15,
                     batch_size=32, rng=rng, progress=False)
    assert history.train_loss[-1] < 0.3 * history.train_loss[0]


# -- the lesson's recurrent experiments (bpcourse.rnn_training) ------------------------------------

def test_running_sum_targets_and_spectral_radius():
    from bpcourse.rnn_training import running_sum, spectral_radius
    x, y = running_sum(3, 4, np.random.default_rng(0))
    assert x.shape == (3, 4, 1) and y.shape == (3, 1)
    np.testing.assert_allclose(y[:, 0], [sum(row) / 2 for row in x[:, :, 0]])      # sum / sqrt(4)
    rotation = np.array([[0.0, -1.5], [1.5, 0.0]])                               # eigenvalues ±1.5i
    assert spectral_radius(rotation) == pytest.approx(1.5)
    assert spectral_radius(np.full((2, 2), np.nan)) == float("inf")


def test_gradient_through_time_is_relative_to_the_last_step():
    from bpcourse.rnn_training import gradient_through_time
    r = gradient_through_time(1.0, steps=12, seed=3)
    assert r.shape == (12,) and r[0] == 1.0


def test_clipped_training_is_paired_and_an_explosion_stops_the_run():
    """The same seed gives the same weights and batches whatever the clipping (the runs are paired);
    the norms are logged before clipping; a run whose loss passes 1e6 stops there."""
    from bpcourse import rnn_training
    plain = rnn_training.train_running_sum(0.3, None, seed=0, steps=150)
    clipped = rnn_training.train_running_sum(0.3, 1.0, seed=0, steps=20)
    assert plain.losses[0] == clipped.losses[0] and plain.norms[0] == clipped.norms[0] > 1.0
    assert plain.exploded and len(plain.losses) < 150 and not plain.losses[-1] < 1e6
    assert np.all(plain.losses[:-1] < 1e6) and len(plain.norms) == len(plain.losses) - 1
    assert not clipped.exploded and len(clipped.losses) == len(clipped.norms) == len(clipped.radius) == 20
