"""04_optimizers widgets, driven without a browser: set a control, check what is shown."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse import surfaces
from bpcourse.widgets import optimizers as O


@pytest.fixture
def explorer():
    return bp.widgets.optimizer_explorer()


def test_explorer_shows_one_line_per_optimizer_and_a_plot(explorer):
    assert explorer.controls["optimizers"].value == ("GD", "Adam")
    assert "<b>GD</b>" in explorer.text.value and "<b>Adam</b>" in explorer.text.value
    assert explorer.image.value[:4] == b"\x89PNG"


def test_changing_lr_changes_the_picture_and_the_numbers(explorer):
    before_img, before_text = explorer.image.value, explorer.text.value
    explorer.controls["lr"].value = 0.01
    assert explorer.image.value != before_img and explorer.text.value != before_text
    # the reported end point is the one surfaces.run computes with these settings
    expected = surfaces.run("gaussians", surfaces.make_optimizer("GD", 0.01), 60).final_value
    assert explorer.view.metrics["final_f_GD"] == pytest.approx(expected)


def test_selecting_optimizers_adds_their_lines(explorer):
    explorer.controls["optimizers"].value = ("Momentum", "Nesterov", "RMSprop")
    assert {"<b>Momentum</b>", "<b>Nesterov</b>", "<b>RMSprop</b>"} <= set(
        part.split(":")[0] for part in explorer.text.value.split("<br>"))
    assert "<b>GD</b>" not in explorer.text.value


def test_surface_change_moves_start_to_that_surfaces_default_in_one_update(explorer, monkeypatch):
    calls = []
    original = O.surface_view
    explorer.update_fn = lambda **kw: calls.append(kw) or original(**kw)
    explorer.controls["surface"].value = "rosenbrock"
    assert (explorer.controls["start_x"].value, explorer.controls["start_y"].value) == surfaces.SURFACES["rosenbrock"].start
    assert len(calls) == 1 and calls[0]["start_x"] == -1.5


def test_too_large_lr_is_reported_as_divergence(explorer):
    explorer.controls["surface"].value = "bowl"
    explorer.controls["optimizers"].value = ("GD",)
    explorer.controls["lr"].value = 0.3          # > 2/10 = 2 / largest curvature
    assert "diverged" in explorer.text.value
    assert explorer.view.metrics["final_f_GD"] == np.inf


def test_noise_frees_gd_from_the_saddle_point(explorer):
    explorer.controls["surface"].value = "saddle"
    explorer.controls["optimizers"].value = ("GD",)
    explorer.controls["lr"].value = 0.1
    assert explorer.view.metrics["final_f_GD"] == pytest.approx(0, abs=1e-6)
    explorer.controls["noise"].value = 0.2
    assert explorer.view.metrics["final_f_GD"] < -1


def test_challenge_not_met_at_defaults_and_met_with_momentum(explorer):
    assert "Challenge met" not in explorer.challenge.value
    explorer.controls["optimizers"].value = ("Momentum",)
    explorer.controls["lr"].value = 0.3
    explorer.controls["momentum"].value = 0.9
    assert "Challenge met" in explorer.challenge.value


def test_challenge_needs_the_default_start_and_the_step_budget(explorer):
    explorer.controls["optimizers"].value = ("Momentum",)
    explorer.controls["lr"].value = 0.3
    explorer.controls["steps"].value = 200
    assert "Over budget: steps" in explorer.challenge.value
    explorer.controls["steps"].value = 100
    explorer.controls["start_x"].value = 1.0      # starting in the deep well is not the challenge
    explorer.controls["start_y"].value = -0.5
    assert "Challenge met" not in explorer.challenge.value


def test_comparison_widget_trains_and_reports(monkeypatch):
    w = bp.widgets.optimizer_comparison()
    assert "validation accuracy" in w.text.value and "Challenge met" not in w.challenge.value
    img = w.image.value
    w.controls["optimizer"].value = "Adam"
    assert w.image.value != img and "<b>Adam</b>" in w.text.value
    assert np.isnan(w.view.metrics["sgd_val_acc"])


def test_comparison_challenge_reachable_with_plain_sgd():
    w = bp.widgets.optimizer_comparison()
    w.controls["lr"].value = 0.3
    assert "Challenge met" in w.challenge.value
    w.controls["epochs"].value = 5                # more epochs than the budget
    assert "Over budget: epochs" in w.challenge.value


def test_comparison_widget_reports_divergence_kindly():
    w = bp.widgets.optimizer_comparison()
    w.controls["optimizer"].value = "Adam"
    with np.errstate(all="raise"):                   # no warnings on the way either
        w.controls["lr"].value = 1.0                 # fit stops with FloatingPointError: shown, not raised
    assert "diverged" in w.text.value and w.view.metrics["val_acc"] == 0.0


def test_no_optimizer_selected_is_explained(explorer):
    explorer.controls["optimizers"].value = ()
    assert "Choose at least one optimizer" in explorer.text.value
    assert "Challenge met" not in explorer.challenge.value


def test_train_digits_same_seed_same_result_and_unknown_name():
    a, b = O.train_digits("SGD", 0.1, 2), O.train_digits("SGD", 0.1, 2)
    assert a.val_loss == b.val_loss
    with pytest.raises(ValueError, match="choose one of"):
        O.train_digits("sgd")


def test_gradient_noise_shrinks_with_batch_size():
    splits = bp.data.digits(seed=0)
    noise = O.gradient_noise(O.digits_model(), bp.SoftmaxCrossEntropy(), *splits.train, [1, 16, 256], repeats=10)
    assert noise[1] > noise[16] > noise[256]
    # the full data set as a "batch" has no noise at all
    x, y = splits.train
    assert O.gradient_noise(O.digits_model(), bp.SoftmaxCrossEntropy(), x, y, [len(x)], repeats=2)[len(x)] < 1e-12
