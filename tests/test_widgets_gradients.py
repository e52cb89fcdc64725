"""gradient_explorer driven without a browser: controls change what it shows; its challenge is reachable."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.widgets import gradients


@pytest.fixture(scope="module")
def explorer():
    return bp.widgets.gradient_explorer()


def test_defaults_show_vanishing_and_challenge_not_met(explorer):
    assert "vanishing" in explorer.text.value
    assert explorer.view.metrics["ratio"] < 1e-6          # sigmoid, 20 layers: 0.25 per layer at most
    assert "Challenge met" not in explorer.challenge.value
    assert explorer.image.value[:4] == b"\x89PNG"


def test_relu_he_fixes_it_and_meets_the_challenge():
    w = bp.widgets.gradient_explorer()
    before = w.image.value
    w.controls["activation"].value = "relu"
    w.controls["init"].value = "he"
    assert w.image.value != before
    assert "healthy" in w.text.value
    assert "Challenge met" in w.challenge.value


def test_residual_rescues_deep_sigmoid_gradient():
    w = bp.widgets.gradient_explorer()
    vanished = w.view.metrics["ratio"]
    w.controls["residual"].value = True
    assert w.view.metrics["ratio"] > 1e6 * vanished       # the skip path carries the gradient back


def test_batchnorm_rescues_deep_sigmoid_gradient():
    w = bp.widgets.gradient_explorer()
    w.controls["batchnorm"].value = True
    assert w.view.metrics["ratio"] > 0.1


def test_large_weight_scale_explodes():
    w = bp.widgets.gradient_explorer(activation="tanh")
    w.controls["scale"].value = 10.0
    assert "exploding" in w.text.value
    assert "Challenge met" not in w.challenge.value


def test_each_fix_of_the_lesson_meets_the_challenge():
    for settings in (dict(activation="tanh", init="xavier"), dict(activation="sigmoid", batchnorm=True),
                     dict(activation="leaky_relu", init="he")):
        w = bp.widgets.gradient_explorer(**settings)
        assert "healthy" in w.text.value, settings
        assert "Challenge met" in w.challenge.value, settings


def test_shallow_network_cannot_meet_the_challenge():
    w = bp.widgets.gradient_explorer(activation="relu", init="he")
    assert "Challenge met" in w.challenge.value
    w.controls["depth"].value = 5
    assert np.isnan(w.view.metrics["decades_lost"])
    assert "Challenge met" not in w.challenge.value


def test_dead_signal_does_not_count_as_healthy():
    """tanh with tiny weights: every gradient is tiny, first and last alike — not a solution."""
    w = bp.widgets.gradient_explorer(activation="tanh", init="small")
    assert "Challenge met" not in w.challenge.value
    assert "died" in w.text.value


def test_relu_xavier_flat_ratio_but_tiny_gradients_is_not_a_solution():
    """The lesson's point: ReLU + Xavier has first/last ≈ 1, yet every gradient is ~100× too small."""
    w = bp.widgets.gradient_explorer(activation="relu", init="xavier")
    assert 0.1 < w.view.metrics["ratio"] < 10
    assert "tiny everywhere" in w.text.value
    assert "Challenge met" not in w.challenge.value


def test_flat_but_huge_gradients_are_not_a_solution():
    w = bp.widgets.gradient_explorer(activation="relu", init="he")
    w.controls["scale"].value = 1.5
    assert 0.1 < w.view.metrics["ratio"] < 10
    assert "huge everywhere" in w.text.value
    assert "Challenge met" not in w.challenge.value


def test_sliders_wait_for_release_and_scale_has_exact_stops():
    w = bp.widgets.gradient_explorer()
    assert w.controls["depth"].continuous_update is False
    scale = w.controls["scale"]
    assert scale.continuous_update is False
    assert 0.3 in scale.options and 1.0 in scale.options      # a value a student types is a value it keeps
    scale.value = 0.3
    assert scale.value == 0.3


def test_layer_axis_has_integer_ticks():
    import matplotlib.pyplot as plt
    view = gradients.update(3, "relu", "he", 1.0, False, False)
    ticks = view.figure.axes[0].get_xticks()
    assert np.allclose(ticks, np.round(ticks))
    plt.close(view.figure)


def test_histograms_follow_the_depth():
    assert gradients.pick_layers(19) == [0, 4, 9, 14, 18]
    assert gradients.pick_layers(2) == [0, 1]


def test_residual_sigmoid_is_uneven_not_vanishing():
    """Skip connections carry a useful gradient to layer 1; the ratio is small because the last layer's grew."""
    w = bp.widgets.gradient_explorer(residual=True)
    assert w.view.metrics["ratio"] < 0.1
    assert "uneven" in w.text.value and "Challenge met" not in w.challenge.value
