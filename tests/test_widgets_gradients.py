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


def test_histograms_follow_the_depth():
    assert gradients.pick_layers(19) == [0, 4, 9, 14, 18]
    assert gradients.pick_layers(2) == [0, 1]
