"""bpcourse.deep: the deep-MLP builder and the training helper of lesson 05."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.deep import (GradNormLog, dead_fraction, first_to_last, init_std, make_mlp, residual_stream, spread,
                           train, train_seeds)


def rng():
    return np.random.default_rng(0)


def test_structure_counts_linear_layers_and_wraps_blocks():
    plain = make_mlp(5, 8, "tanh", "xavier", in_features=3, out_features=2, rng=rng())
    assert [type(l).__name__ for l in plain] == ["Linear", "Tanh"] * 4 + ["Linear"]
    deep = make_mlp(5, 8, "relu", "he", batchnorm=True, residual=True, in_features=3, out_features=2, rng=rng())
    names = [type(l).__name__ for l in deep]
    assert names == ["Linear", "BatchNorm1d", "ReLU", "Residual", "Residual", "Residual", "Linear"]
    assert len(bp.diagnostics.linear_layers(deep)) == 5


@pytest.mark.parametrize("init, expected", [
    ("small", 0.01), ("xavier", np.sqrt(2 / (256 + 256))), ("he", np.sqrt(2 / 256)), ("large", 1.0)])
def test_weights_have_the_documented_standard_deviation(init, expected):
    model = make_mlp(3, 256, "relu", init, scale=2.0, in_features=256, out_features=256, rng=rng())
    w = model[2].weight.data                                   # a 256×256 hidden weight
    assert np.isclose(w.std(), 2.0 * expected, rtol=0.02)      # 65536 samples: std within ~0.5 %
    assert init_std(init, 256, 256) == pytest.approx(expected)


def test_backward_of_a_built_model_matches_numerical_gradients():
    x = np.random.default_rng(1).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    model = make_mlp(4, 5, "tanh", "xavier", batchnorm=True, residual=True, in_features=4, out_features=3, rng=rng())
    report = bp.check_model(model, bp.SoftmaxCrossEntropy(), x, y)
    assert report, report


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="depth"):
        make_mlp(1, 8, rng=rng())
    with pytest.raises(ValueError, match="activation"):
        make_mlp(3, 8, "swish", rng=rng())
    with pytest.raises(ValueError, match="init"):
        make_mlp(3, 8, "relu", "orthogonal", rng=rng())
    with pytest.raises(ValueError, match="rng"):
        make_mlp(3, 8)


def test_first_to_last():
    assert first_to_last([1e-6, 1e-3, 1.0]) == pytest.approx(1e-6)
    assert np.isnan(first_to_last([1.0, 0.0]))


def test_grad_norm_log_records_the_norm_before_clipping():
    model = make_mlp(3, 8, "relu", "he", in_features=4, out_features=2, rng=rng())
    x = np.random.default_rng(2).standard_normal((8, 4))
    y = np.array([0, 1] * 4)
    log = GradNormLog()
    loss_fn = bp.SoftmaxCrossEntropy()
    loss_fn.forward(model(x), y)
    model.backward(loss_fn.backward())
    log.on_backward_end(model)
    total = bp.clip_grad_norm(model.parameters(), 1e-3)        # the package's own total norm
    assert log.norms == [pytest.approx(total)]


def test_train_reports_divergence_instead_of_raising():
    splits = bp.data.digits(seed=0)
    run = train(make_mlp(12, 64, "relu", "he", scale=1.3, rng=rng()), splits, epochs=1, lr=0.1)
    assert run.history is None and "diverged" in run.error and "diverged" in run.summary()
    run = train(make_mlp(12, 64, "relu", "he", scale=1.3, rng=rng()), splits, epochs=1, lr=0.1, clip_norm=1.0,
                record=True)
    assert run.error is None and np.isfinite(run.history.train_loss[-1])
    assert run.norms.max() > 1.0                                 # clipping had something to do
    assert run.recorder.update_ratios.shape == (len(run.norms), 12)


def test_gradient_grid_measures_every_pair_and_plots_them():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from bpcourse.deep import grid_of_gradient_norms, plot_gradient_grid
    x, y = bp.data.digits(seed=0).train
    grid = grid_of_gradient_norms(x[:64], y[:64], ["sigmoid", "relu"], ["xavier", "he"], depth=8, width=16,
                                  seeds=(0, 1, 2))
    assert set(grid) == {("sigmoid", "xavier"), ("sigmoid", "he"), ("relu", "xavier"), ("relu", "he")}
    assert all(v.shape == (3, 8) for v in grid.values())
    # seed s builds the network gradient_norms measures on its own
    alone = bp.deep.gradient_norms(make_mlp(8, 16, "relu", "he", rng=np.random.default_rng(1)), x[:64], y[:64])
    np.testing.assert_allclose(grid["relu", "he"][1], alone)
    # sigmoid's slope ≤ 0.25 loses far more gradient over 8 layers than ReLU with He init, in every seed
    for s in range(3):
        assert first_to_last(grid["sigmoid", "xavier"][s]) < 0.01 * first_to_last(grid["relu", "he"][s])
    axes = plot_gradient_grid(grid)
    assert len(axes) == 2 and all(ax.get_yscale() == "log" for ax in axes)
    assert [t.get_text() for t in axes[-1].get_legend().get_texts()] == ["xavier", "he"]
    ticks = axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))                     # layer numbers are integers
    plt.close("all")


def test_residual_stream_decomposes_the_second_moment():
    x = np.random.default_rng(3).standard_normal((32, 64))
    model = make_mlp(6, 64, "relu", "he", residual=True, rng=rng())
    s = residual_stream(model, x)
    assert len(s["ms_in"]) == 4                                    # blocks 2..5 are Residual
    np.testing.assert_allclose(s["ms_out"], s["ms_in"] + s["ms_branch"] + s["cross"])
    np.testing.assert_allclose(s["ms_in"][1:], s["ms_out"][:-1])   # one block's output is the next one's input
    # the last block's output, recomputed by hand: the model's layers up to the output layer
    h = x
    for layer in list(model)[:-1]:
        h = layer(h)
    assert np.isclose(s["rms_out"][-1], np.sqrt(np.mean(h * h)))
    assert np.isclose(s["mean_out"][-1], h.mean())


def test_dead_fraction_counts_units_off_for_every_sample():
    model = make_mlp(3, 4, "relu", "he", in_features=2, out_features=2, rng=rng())
    first = model[0]
    first.weight.data[...] = [[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, -1.0, 1.0]]
    x = np.array([[1.0, 2.0], [2.0, 1.0]])                          # all positive: unit 2 is off for both
    model.forward(x)
    off_first = np.all(model[1].df() < 0.1, axis=0)
    assert off_first.tolist() == [False, True, False, False]
    second_off = np.all(model[3].df() < 0.1, axis=0)
    assert dead_fraction(model, x) == pytest.approx((off_first.sum() + second_off.sum()) / 8)
    assert np.isnan(dead_fraction(make_mlp(3, 4, "tanh", "xavier", in_features=2, rng=rng()), x))
    by_layer = dead_fraction(model, x, per_layer=True)
    assert by_layer.tolist() == pytest.approx([off_first.mean(), second_off.mean()])
    assert dead_fraction(make_mlp(3, 4, "tanh", "xavier", in_features=2, rng=rng()), x, per_layer=True).size == 0


def test_train_seeds_pairs_configurations_by_seed():
    splits = bp.data.digits(seed=0)
    runs = train_seeds(splits, seeds=(3, 4), epochs=1, record_first=True, depth=3, width=8,
                       activation="relu", init="he")
    assert [r.recorder is not None for r in runs] == [True, False]
    again = train(make_mlp(3, 8, "relu", "he", rng=np.random.default_rng(4)), splits, epochs=1, seed=4)
    assert again.history.train_loss == runs[1].history.train_loss   # seed 4: same weights, same batches
    assert runs[0].start.shape == (3,) and runs[0].start_loss > 0
    assert spread([1.0, 2.0, 4.5]) == "2.5 ± 1.8 (1.0 … 4.5)"
