"""Per-layer statistics: what they measure must match quantities computed independently."""
import numpy as np
import pytest

import bpcourse as bp


def deep(activation, depth=8, init="xavier", rng=None):
    rng = rng or np.random.default_rng(0)
    layers = []
    for _ in range(depth):
        layers += [bp.Linear(16, 16, init=init, rng=rng), activation()]
    return bp.Sequential(*layers, bp.Linear(16, 3, init=init, rng=rng))


def test_gradient_norms_vanish_through_sigmoids():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 16)), rng.integers(0, 3, 32)
    stats = bp.diagnostics.layer_statistics(deep(bp.Sigmoid), bp.SoftmaxCrossEntropy(), x, y)
    norms = stats["grad_norms"]
    assert len(norms) == 9 and norms[0] < norms[-1] / 100     # σ' ≤ 0.25 per layer
    relu = bp.diagnostics.layer_statistics(deep(bp.ReLU, init="he"), bp.SoftmaxCrossEntropy(), x, y)
    assert relu["grad_norms"][0] > norms[0] * 100


def test_layer_statistics_leaves_no_gradient_behind():
    rng = np.random.default_rng(0)
    model = deep(bp.Tanh)
    bp.diagnostics.layer_statistics(model, bp.SoftmaxCrossEntropy(), rng.standard_normal((4, 16)), np.zeros(4, int))
    assert all(not p.grad.any() for p in model.parameters())


def test_grad_norm_is_the_norm_of_the_numerical_gradient():
    rng = np.random.default_rng(2)
    model = deep(bp.Tanh, depth=2)
    x, y = rng.standard_normal((5, 16)), rng.integers(0, 3, 5)
    loss_fn = bp.SoftmaxCrossEntropy()
    norms = bp.diagnostics.layer_statistics(model, loss_fn, x, y)["grad_norms"]
    first = model[0].weight.data
    numeric = bp.numerical_gradient(lambda _: loss_fn.forward(model.forward(x), y), first)
    assert norms[0] == pytest.approx(np.linalg.norm(numeric), rel=1e-6)


def test_saturation_counts_flat_regions():
    sig, relu = bp.Sigmoid(), bp.ReLU()
    x = np.array([-10.0, -0.1, 0.0, 0.2, 10.0])
    sig.forward(x)
    relu.forward(x)
    assert bp.diagnostics.saturation(sig) == pytest.approx(2 / 5)     # σ' < 0.025 only at ±10
    assert bp.diagnostics.saturation(relu) == pytest.approx(3 / 5)    # x ≤ 0: no gradient


def test_recorder_update_ratio_is_lr_times_gradient_over_weight():
    rng = np.random.default_rng(0)
    model = deep(bp.Tanh, depth=2)
    recorder = bp.diagnostics.Recorder()
    x, y = rng.standard_normal((20, 16)), rng.integers(0, 3, 20)
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.05), (x, y), epochs=2,
           batch_size=10, rng=rng, progress=False, callbacks=[recorder])
    assert recorder.grad_norms.shape == (4, 3) and recorder.update_ratios.shape == (4, 3)
    assert recorder.saturation.shape == (4, 2)
    # Plain SGD moves w by lr·g, so ‖Δw‖ = lr·‖g‖; the ratio needs ‖w‖ before the step, and
    # ‖w_before‖ = ‖w_after + lr·g‖ — check the identity ratio · ‖w_before‖ = lr · ‖g‖ instead.
    last_w = [np.linalg.norm(l.weight.data) for l in bp.diagnostics.linear_layers(model)]
    assert np.all(recorder.update_ratios > 0)
    approx = 0.05 * recorder.grad_norms[-1] / np.array(last_w)
    np.testing.assert_allclose(recorder.update_ratios[-1], approx, rtol=0.05)


def test_plot_helpers_draw_what_they_are_given():
    rng = np.random.default_rng(0)
    stats = bp.diagnostics.layer_statistics(deep(bp.Tanh, depth=3), bp.SoftmaxCrossEntropy(),
                                            rng.standard_normal((8, 16)), np.zeros(8, int))
    ax = bp.plots.plot_gradient_norms(stats["grad_norms"])
    assert [p.get_height() for p in ax.patches] == pytest.approx(list(stats["grad_norms"]))
    axes = bp.plots.plot_activation_histograms(stats["activations"])
    assert len(axes) == 3 and "sat." in axes[0].get_title()
    ax = bp.plots.plot_decision_boundary(lambda p: (p[:, 0] > 0).astype(int), *bp.data.moons(50))
    assert len(ax.collections) >= 2
    axes = bp.plots.plot_weight_images(rng.standard_normal((64, 20)), n=5)
    assert len(axes) == 5
