"""bpcourse.deep: the deep-MLP builder and the training helper of lesson 05."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.deep import GradNormLog, first_to_last, init_std, make_mlp, train


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
    grid = grid_of_gradient_norms(x[:64], y[:64], ["sigmoid", "relu"], ["xavier", "he"], depth=8, width=16)
    assert set(grid) == {("sigmoid", "xavier"), ("sigmoid", "he"), ("relu", "xavier"), ("relu", "he")}
    assert all(len(v) == 8 for v in grid.values())
    # sigmoid's slope ≤ 0.25 loses far more gradient over 8 layers than ReLU with He init
    assert first_to_last(grid["sigmoid", "xavier"]) < 0.01 * first_to_last(grid["relu", "he"])
    axes = plot_gradient_grid(grid)
    assert len(axes) == 2 and len(axes[0]) == 2 and axes[0][0].get_yscale() == "log"
    plt.close("all")
