"""The network stepper of lesson 02, driven by its buttons and sliders without a browser."""
import numpy as np
import pytest

from bpcourse.gradcheck import numerical_gradient
from bpcourse.widgets import network_stepper
from bpcourse.widgets.forward_backward import B1, B2, STEPS, W1, W2, run_steps


def loss_of(x, w1=W1, b1=B1, w2=W2, b2=B2, t=1.0):
    h = np.maximum(x @ w1 + b1, 0)
    return float(((h @ w2 + b2)[0] - t) ** 2)


def test_forward_by_hand_at_the_defaults():
    s = run_steps(1.0, 0.5, 1.0, 4)
    # z = [1·1 + 0.5·0.5 + 0.1, 1·(−0.5) + 0.5·1 − 0.2, 1·0.8 + 0.5·(−0.6) + 0.3]
    np.testing.assert_allclose(s["z"], [1.35, -0.2, 0.8])
    np.testing.assert_allclose(s["h"], [1.35, 0.0, 0.8])
    np.testing.assert_allclose(s["yhat"], [1.35 * 0.7 + 0.8 * 0.5 + 0.2])
    assert s["L"] == pytest.approx((1.545 - 1.0) ** 2)
    assert "dyhat" not in s                                   # backward has not started


@pytest.mark.parametrize("x1, x2, t", [(1.0, 0.5, 1.0), (-0.3, 1.7, -0.5), (0.9, -1.4, 2.0)])
def test_backward_matches_numerical_gradients(x1, x2, t):
    s = run_steps(x1, x2, t, len(STEPS))
    x = np.array([x1, x2])
    np.testing.assert_allclose(s["dx"], numerical_gradient(lambda v: loss_of(v, t=t), x.copy()), atol=1e-7)
    np.testing.assert_allclose(s["dW1"], numerical_gradient(lambda w: loss_of(x, w1=w, t=t), W1.copy()),
                               atol=1e-7)
    np.testing.assert_allclose(s["db2"], numerical_gradient(lambda b: loss_of(x, b2=b, t=t), B2.copy()),
                               atol=1e-7)
    np.testing.assert_allclose(s["dW2"], numerical_gradient(lambda w: loss_of(x, w2=w, t=t), W2.copy()),
                               atol=1e-7)


def test_each_step_adds_exactly_its_results():
    known = set(run_steps(1.0, 0.5, 1.0, 0))
    new = []
    for step in range(1, len(STEPS) + 1):
        now = set(run_steps(1.0, 0.5, 1.0, step))
        new.append(now - known)
        known = now
    assert new == [{"z"}, {"h"}, {"yhat"}, {"L"}, {"dyhat"}, {"dh", "dW2", "db2"}, {"dz"},
                   {"dx", "dW1", "db1"}]


def test_step_and_reset_buttons():
    e = network_stepper()
    assert e.step == 0 and "Press Step to start" in e.text.value
    image = e.image.value
    e.step_button.click()
    assert e.step == 1 and e.image.value != image
    assert "▶ 1. [forward]" in e.text.value
    for _ in range(len(STEPS) + 3):                            # clicking past the end stays at the end
        e.step_button.click()
    assert e.step == len(STEPS) and e.step_button.disabled
    assert "dW1 = [" in e.text.value and "done" in e.text.value
    e.reset_button.click()
    assert e.step == 0 and not e.step_button.disabled and "dW1 = [" not in e.text.value


def test_back_button_undoes_one_step_and_stops_at_zero():
    e = network_stepper()
    assert e.back_button.disabled                              # nothing to undo at the start
    for _ in range(3):
        e.step_button.click()
    shown = e.image.value
    e.step_button.click()
    e.back_button.click()
    assert e.step == 3 and e.image.value == shown and not e.back_button.disabled
    for _ in range(5):
        e.back_button.click()
    assert e.step == 0 and e.back_button.disabled


def test_backward_steps_name_their_results_without_the_formulas():
    # the formulas are the lesson's exercises (linear_backward, relu_backward): the widget must not print them
    backward = " ".join(what for phase, what in STEPS if phase == "backward")
    for formula in ("W2ᵀ", "W1ᵀ", "xᵀ", "hᵀ", "[z > 0]", "2(ŷ − t)"):
        assert formula not in backward
    for name in ("dL/dŷ", "dL/dh", "dW2", "db2", "dL/dz", "dL/dx", "dW1", "db1"):
        assert name in backward


def test_slider_labels_are_not_cut():
    e = network_stepper()
    assert all(c.style.description_width == "initial" for c in e.controls.values())


def test_sliders_recompute_at_the_current_step():
    e = network_stepper()
    for _ in range(len(STEPS)):
        e.step_button.click()
    text, image = e.text.value, e.image.value
    e.controls["target"].value = 1.5
    assert e.step == len(STEPS)
    assert e.text.value != text and e.image.value != image


def test_dead_relu_challenge():
    e = network_stepper()
    for _ in range(len(STEPS)):
        e.step_button.click()
    assert "Challenge met" not in e.challenge.value            # defaults: one dead unit of three
    e.controls["x1"].value = -1.0
    e.controls["x2"].value = -0.5                              # z = [−1.15, −0.2, −0.2]
    assert "✓ Challenge met!" in e.challenge.value
    s = run_steps(-1.0, -0.5, 1.0, len(STEPS))
    assert np.all(s["dW1"] == 0) and np.all(s["dx"] == 0)     # what the goal promises


def test_dead_relu_challenge_needs_the_backward_pass():
    e = network_stepper()
    e.controls["x1"].value = -1.0
    e.controls["x2"].value = -0.5
    for _ in range(len(STEPS) - 1):
        e.step_button.click()
    assert "Challenge met" not in e.challenge.value
    e.step_button.click()
    assert "✓ Challenge met!" in e.challenge.value
