"""The neuron explorer of lesson 01, driven without a browser."""
import math

import pytest

from bpcourse.widgets import neuron_explorer
from bpcourse.widgets.chain_rule import neuron, neuron_view, nudges


def dtanh(z):
    return 1 - math.tanh(z) ** 2


@pytest.mark.parametrize("x, w, b", [(1.0, 0.5, 0.0), (-2.0, 1.3, 0.4), (0.0, -3.0, 2.9)])
def test_neuron_gradients_are_the_chain_rule(x, w, b):
    y, leaves = neuron(x, w, b)
    z = w * x + b
    assert y.data == pytest.approx(math.tanh(z))
    assert leaves["x"].grad == pytest.approx(dtanh(z) * w)
    assert leaves["w"].grad == pytest.approx(dtanh(z) * x)
    assert leaves["b"].grad == pytest.approx(dtanh(z))


def test_nudge_prediction_is_first_order():
    # halving h roughly halves the predicted change and quarters the miss (error O(h²) vs O(h))
    big, small = nudges(0.7, 1.1, -0.2, 0.2), nudges(0.7, 1.1, -0.2, 0.1)
    for name in "xwb":
        g, p, a, _ = small[name]
        assert p == pytest.approx(g * 0.1)
        assert abs(p - a) < abs(big[name][1] - big[name][2]) / 3


def test_nudge_actual_change_is_the_forward_difference():
    rows = nudges(1.0, 0.5, 0.0, 0.3)
    assert rows["b"][2] == pytest.approx(math.tanh(0.8) - math.tanh(0.5))
    assert rows["x"][2] == pytest.approx(math.tanh(0.65) - math.tanh(0.5))


def test_nudge_of_a_weight_whose_input_is_zero_changes_nothing():
    rows = nudges(0.0, 1.0, 0.5, 0.5)
    assert rows["w"] == (0.0, 0.0, 0.0, 0.0)


def test_view_text_and_metrics():
    view = neuron_view(x=1.0, w=0.5, b=0.0, h=0.1, nudge="b")
    assert "0.4621" in view.text                       # tanh(0.5)
    assert view.metrics["largest_grad"] == pytest.approx(dtanh(0.5))
    assert view.figure is not None


def test_sliders_redraw_graph_and_text():
    e = neuron_explorer()
    image, text = e.image.value, e.text.value
    e.controls["w"].value = -1.5
    assert e.image.value != image and e.text.value != text
    assert f"{math.tanh(-1.5):.4f}" in e.text.value
    image = e.image.value
    e.controls["nudge"].value = "w"
    assert e.image.value != image
    e.controls["h"].value = 0.5
    assert "w + 0.50" in e.text.value


def test_saturation_challenge_reachable_and_not_met_at_defaults():
    e = neuron_explorer()
    assert "Challenge met" not in e.challenge.value
    e.controls["x"].value = 2.0
    e.controls["w"].value = 2.0                          # z = 4: tanh' = 0.0013
    assert "✓ Challenge met! Saturate" in e.challenge.value


def test_nudge_challenge_reachable_within_budget_only():
    e = neuron_explorer()
    assert "Challenge met! Break" not in e.challenge.value
    e.controls["w"].value = 3.0
    e.controls["b"].value = -2.5                         # z = 0.5, nudging x moves z by 3h
    e.controls["h"].value = 0.3
    assert "✓ Challenge met! Break" in e.challenge.value
    e.controls["h"].value = 0.6                          # still a big miss, but over budget
    assert "Over budget: h" in e.challenge.value



def test_tiny_changes_show_their_digits_not_zeros():
    # a saturated neuron: the changes are ~1e-9, and the table must not round them to 0.00000
    view = neuron_view(x=3.0, w=3.0, b=0.0, h=0.01, nudge="w")
    assert "0.00000" not in view.text and "+0.0000<" not in view.text
    g, p, a, _ = nudges(3.0, 3.0, 0.0, 0.01)["w"]
    assert f"{p:+.4g}" in view.text and f"{a:+.4g}" in view.text and "e-09" in view.text


def test_the_legend_sits_outside_the_plotted_data():
    view = neuron_view(x=2.0, w=2.0, b=0.0, h=0.3, nudge="w")    # the curve runs along the top
    fig = view.figure
    fig.canvas.draw()
    ax = fig.axes[1]
    legend = ax.get_legend().get_window_extent()
    assert not legend.overlaps(ax.get_window_extent())
