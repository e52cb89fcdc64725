"""03_loss_functions: the loss explorer driven without a browser, and the formulas behind it."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.widgets import losses as L


@pytest.mark.parametrize("task", ["regression", "binary", "multi-class"])
def test_gradients_match_numerical_derivatives_of_the_losses(task):
    for z in [-6.0, -1.3, 0.0, 0.7, 4.0]:
        here = L.loss_and_gradient(task, z)
        for key in ("mse", "ce"):
            if task == "regression" and key == "ce":
                assert np.isnan(here["ce"])
                continue
            numeric = bp.numerical_gradient(lambda v: L.loss_and_gradient(task, v[0])[key], np.array([z]))[0]
            assert here[key + "_grad"] == pytest.approx(numeric, rel=1e-6, abs=1e-10)


def test_losses_agree_with_the_package_losses():
    z = 0.8
    b = L.loss_and_gradient("binary", z)
    assert b["ce"] == pytest.approx(bp.BCEWithLogits().forward(np.array([z]), np.array([1.0])))
    m = L.loss_and_gradient("multi-class", z)
    logits = np.array([[z, 0.0, 0.0]])
    assert m["ce"] == pytest.approx(bp.SoftmaxCrossEntropy().forward(logits, np.array([0])))
    p = bp.softmax(logits)
    # MSE here is the squared error summed over the 3 classes = 3 × MSELoss's mean
    assert m["mse"] == pytest.approx(3 * bp.MSELoss().forward(p, np.array([[1.0, 0, 0]])))


def test_mse_gradient_vanishes_when_confidently_wrong_but_ce_does_not():
    wrong = L.loss_and_gradient("binary", L.logit(1e-4))
    assert abs(wrong["mse_grad"]) < 1e-3 and wrong["ce_grad"] == pytest.approx(-1, abs=1e-3)


def test_stable_for_extreme_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        for task in ("binary", "multi-class"):
            out = L.loss_and_gradient(task, np.array([-800.0, 800.0]))
            assert np.all(np.isfinite(out["ce"])) and out["ce"][0] == pytest.approx(800, rel=1e-3)


def test_slider_changes_numbers_and_picture():
    w = bp.widgets.loss_explorer()
    text, img = w.text.value, w.image.value
    w.controls["z"].value = 2.0
    assert w.text.value != text and w.image.value != img
    assert "p(true class) = 0.8808" in w.text.value          # σ(2)


def test_task_switch_names_the_loss_that_fits():
    w = bp.widgets.loss_explorer()
    assert "BCEWithLogits" in w.text.value
    w.controls["task"].value = "multi-class"
    assert "SoftmaxCrossEntropy" in w.text.value
    w.controls["task"].value = "regression"
    assert "MSELoss" in w.text.value and "not defined" in w.text.value


def test_largest_push_is_at_p_one_third():
    # binary: |2(p − 1)p(1 − p)| peaks at p = 1/3 (8/27); multi-class (3 classes): 3p(1 − p)² peaks there too (4/9)
    assert L.largest_push("binary") == pytest.approx(8 / 27, rel=1e-6)
    assert L.largest_push("multi-class") == pytest.approx(4 / 9, rel=1e-6)


def test_challenge_met_only_near_the_squared_errors_hardest_push():
    w = bp.widgets.loss_explorer()
    assert "Challenge met" not in w.challenge.value            # z = −1: p ≈ 0.27, 97% of the peak
    w.controls["z"].value = -0.7                               # p ≈ 0.33
    assert "Challenge met" in w.challenge.value
    w.controls["z"].value = -5.0                               # far more wrong, and a far weaker push
    assert "Challenge met" not in w.challenge.value
    assert w.view.metrics["mse_push_of_its_largest"] < 0.05
    w.controls["task"].value = "multi-class"
    w.controls["z"].value = 0.0                                # p = 1/3 with two other logits at 0
    assert "Challenge met" in w.challenge.value
    w.controls["task"].value = "regression"
    assert "Challenge met" not in w.challenge.value and np.isnan(w.view.metrics["mse_push_of_its_largest"])


@pytest.mark.parametrize("task", ["regression", "binary", "multi-class"])
@pytest.mark.parametrize("z", [-8.0, -6.0, 0.0, 8.0])
def test_markers_stay_inside_the_plot_over_the_whole_slider_range(task, z):
    view = L.loss_view(task, z)
    loss_axes = view.figure.axes[0]
    here = L.loss_and_gradient(task, z)
    low, high = loss_axes.get_ylim()
    for key in ("mse", "ce"):
        if not np.isnan(here[key]):
            assert low <= here[key] <= high, (key, here[key], (low, high))


def test_legend_sits_above_the_plots_not_over_the_curves():
    view = L.loss_view("binary", -1.0)
    assert len(view.figure.legends) == 1
    assert all(ax.get_legend() is None for ax in view.figure.axes)


def test_labels_are_not_cut():
    w = bp.widgets.loss_explorer()
    assert w.controls["z"].style.description_width == "initial"
    assert w.controls["task"].style.button_width == "7.5em"          # wide enough for "multi-class"
