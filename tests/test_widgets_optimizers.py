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


def test_challenge_not_met_at_defaults_nor_by_the_lessons_printed_setting(explorer):
    assert "Challenge met" not in explorer.challenge.value
    explorer.controls["optimizers"].value = ("Momentum",)
    explorer.controls["lr"].value = 0.3              # the lesson shows this one reaching the deep well ...
    assert explorer.view.metrics["best_f_from_default_start"] < -1.4
    assert "Over budget: lr" in explorer.challenge.value   # ... so the challenge asks for lr <= 0.15
    explorer.controls["lr"].value = 0.15
    assert "Challenge met" not in explorer.challenge.value  # momentum 0.9 no longer carries it over


def test_challenge_met_with_more_momentum_at_a_smaller_lr(explorer):
    explorer.controls["optimizers"].value = ("Momentum",)
    explorer.controls["lr"].value = 0.15
    explorer.controls["momentum"].value = 0.95
    assert "Challenge met" not in explorer.challenge.value   # 60 steps (the default) are not enough
    explorer.controls["steps"].value = 100
    assert "Challenge met" in explorer.challenge.value


def test_challenge_needs_the_default_start_and_the_step_budget(explorer):
    explorer.controls["optimizers"].value = ("Momentum",)
    explorer.controls["lr"].value = 0.15
    explorer.controls["momentum"].value = 0.95
    explorer.controls["steps"].value = 200
    assert "Over budget: steps" in explorer.challenge.value
    explorer.controls["steps"].value = 100
    explorer.controls["start_x"].value = 1.0      # starting in the deep well is not the challenge
    explorer.controls["start_y"].value = -0.5
    assert "Challenge met" not in explorer.challenge.value


def test_optimizers_are_chosen_by_tick_boxes_one_update_per_click(explorer):
    calls = []
    original = O.surface_view
    explorer.update_fn = lambda **kw: calls.append(kw) or original(**kw)
    boxes = explorer.controls["optimizers"].boxes
    assert [name for name, box in boxes.items() if box.value] == ["GD", "Adam"]
    boxes["RMSprop"].value = True                  # a click on one box
    assert explorer.controls["optimizers"].value == ("GD", "RMSprop", "Adam") and len(calls) == 1
    assert "<b>RMSprop</b>" in explorer.text.value
    explorer.controls["optimizers"].value = ("Momentum",)    # set in code: the boxes follow, one update
    assert [name for name, box in boxes.items() if box.value] == ["Momentum"] and len(calls) == 2
    with pytest.raises(Exception, match="unknown choice"):
        explorer.controls["optimizers"].value = ("SGD",)


def test_lr_sliders_offer_exactly_the_values_they_show():
    explorer, comparison = bp.widgets.optimizer_explorer(), bp.widgets.optimizer_comparison()
    for w in (explorer, comparison):
        lr = w.controls["lr"]
        assert all(float(label) == value for label, value in lr.options)   # the label is the value used
        with pytest.raises(Exception):
            lr.value = 0.316                        # not an option: refused, never snapped
    assert 0.3 in dict(comparison.controls["lr"].options).values()


def test_controls_do_not_retrain_while_dragging_and_labels_are_not_cut(explorer):
    comparison = bp.widgets.optimizer_comparison()
    for w in (explorer, comparison):
        for name, control in w.controls.items():
            if hasattr(control, "continuous_update"):
                assert control.continuous_update is False, name
            if hasattr(control, "style") and hasattr(control.style, "description_width") and control.description:
                assert control.style.description_width == "initial", name


def test_nesterov_with_zero_momentum_is_plain_gd(explorer):
    explorer.controls["surface"].value = "bowl"
    explorer.controls["optimizers"].value = ("GD", "Nesterov")
    explorer.controls["momentum"].value = 0.0
    m = explorer.view.metrics
    assert m["final_f_Nesterov"] == m["final_f_GD"]


def test_rmsprop_alpha_and_adam_beta2_are_separate_controls(explorer):
    explorer.controls["surface"].value = "bowl"
    explorer.controls["optimizers"].value = ("RMSprop", "Adam")
    before = dict(explorer.view.metrics)
    explorer.controls["alpha"].value = 0.9
    assert explorer.view.metrics["final_f_RMSprop"] != before["final_f_RMSprop"]
    assert explorer.view.metrics["final_f_Adam"] == before["final_f_Adam"]


def test_comparison_widget_trains_three_seeds_and_reports():
    w = bp.widgets.optimizer_comparison()
    assert "validation accuracy" in w.text.value and "Challenge met" not in w.challenge.value
    assert "seeds 0, 1, 2" in w.text.value
    img = w.image.value
    w.controls["optimizer"].value = "Adam"
    assert w.image.value != img and "<b>Adam</b>" in w.text.value
    assert np.isnan(w.view.metrics["nesterov_val_loss"])
    # the reported loss is the mean of the three seeds' runs
    losses = [O.train_digits("Adam", 1e-3, 3, seed=s).val_loss[-1] for s in O.WIDGET_SEEDS]
    assert w.view.metrics["val_loss"] == pytest.approx(np.mean(losses))


def test_comparison_challenge_reachable_with_nesterov_and_not_at_neighbouring_rates():
    w = bp.widgets.optimizer_comparison()
    w.controls["lr"].value = 0.1
    assert "Challenge met" not in w.challenge.value          # plain SGD does not count
    w.controls["optimizer"].value = "Nesterov"
    for lr in (0.03, 0.3):                           # the grid neighbours miss the target clearly
        w.controls["lr"].value = lr
        assert w.view.metrics["nesterov_val_loss"] > 0.27 and "Challenge met" not in w.challenge.value
    w.controls["lr"].value = 0.1
    assert w.view.metrics["nesterov_val_loss"] < 0.23 and "Challenge met" in w.challenge.value
    w.controls["epochs"].value = 5                # more epochs than the budget
    assert "Over budget: epochs" in w.challenge.value


def test_comparison_widget_reports_divergence_kindly():
    w = bp.widgets.optimizer_comparison()
    w.controls["optimizer"].value = "RMSprop"
    with np.errstate(all="raise"):                   # no warnings on the way either
        w.controls["lr"].value = 1.0                 # fit stops with FloatingPointError: shown, not raised
    assert "diverged" in w.text.value and w.view.metrics["val_acc"] == 0.0


def test_no_optimizer_selected_is_explained(explorer):
    explorer.controls["optimizers"].value = ()
    assert "Choose at least one optimizer: tick its box" in explorer.text.value
    assert "Challenge met" not in explorer.challenge.value


def test_train_digits_same_seed_same_result_and_unknown_name():
    a, b = O.train_digits("SGD", 0.1, 2), O.train_digits("SGD", 0.1, 2)
    assert a.val_loss == b.val_loss
    assert O.train_digits("SGD", 0.1, 2, seed=1).val_loss != a.val_loss
    with pytest.raises(ValueError, match="choose one of"):
        O.train_digits("sgd", 0.1)


def test_lr_sweep_pairs_runs_by_seed_and_marks_divergence():
    sweep = O.lr_sweep({"SGD": [0.03, 0.3, 3.0], "RMSprop": [0.3, 3.0]}, seeds=[0, 1], epochs=1)
    sgd = sweep["SGD"]
    assert sgd["loss"].shape == sgd["acc"].shape == (3, 2)
    # each entry is the run train_digits gives for that lr and seed
    assert sgd["loss"][1, 1] == O.train_digits("SGD", 0.3, 1, seed=1).val_loss[-1]
    assert np.isinf(sweep["RMSprop"]["loss"][1]).all()          # lr 3 diverges: fit stops it
    assert O.best_lr(sgd) == (0.3, 1)
    header, sgd_row, rms_row = O.sweep_table(sweep).splitlines()
    assert header.split() == ["0.03", "0.3", "3"] and sgd_row.count("*") == 1
    assert rms_row.split()[0] == "RMSprop" and "div." in rms_row
    assert len(rms_row.split()) == 3                 # a blank where RMSprop was not run (0.03)


def test_final_scores_on_the_test_set_score_the_same_trained_run():
    """split="test" trains exactly as for "val" and evaluates that model on the held-out test set."""
    val_loss, val_acc = O.final_scores("Adam", 0.03, [0, 1], epochs=1)
    test_loss, test_acc = O.final_scores("Adam", 0.03, [0, 1], epochs=1, split="test")
    assert val_loss[1] == O.train_digits("Adam", 0.03, 1, seed=1).val_loss[-1]
    # the test score, computed here independently: retrain seed 1 by hand and evaluate on the test split
    model = O.digits_model(1)
    opt = bp.Adam(model.parameters(), lr=0.03)
    splits = bp.data.digits(seed=0)
    bp.fit(model, bp.SoftmaxCrossEntropy(), opt, splits.train, val=splits.val, epochs=1,
           rng=np.random.default_rng(1), progress=False)
    want_loss, want_acc = bp.evaluate(model, bp.SoftmaxCrossEntropy(), *splits.test)
    assert test_loss[1] == pytest.approx(want_loss, rel=1e-12) and test_acc[1] == pytest.approx(want_acc)
    assert not np.allclose(test_loss, val_loss)                 # another data set, other numbers
    assert 0 < test_acc.min() and test_acc.max() <= 1
    diverged_loss, diverged_acc = O.final_scores("RMSprop", 3.0, [0], epochs=1, split="test")
    assert np.isinf(diverged_loss).all() and np.isnan(diverged_acc).all()
    with pytest.raises(ValueError, match="'val' or 'test'"):
        O.final_scores("Adam", 0.03, [0], split="train")


def test_plot_sweep_draws_one_curve_per_optimizer():
    sweep = O.lr_sweep({"SGD": [0.01, 0.1], "Adam": [0.01, 0.1]}, seeds=[0], epochs=1)
    ax = O.plot_sweep(sweep)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "Adam"]
    assert ax.get_xscale() == "log"


def test_gradient_noise_shrinks_like_one_over_root_b():
    splits = bp.data.digits(seed=0)
    x, y = splits.train
    noise = O.gradient_noise(O.digits_model(), bp.SoftmaxCrossEntropy(), x, y, [1, 16, 256], repeats=30)
    assert noise[1] > noise[16] > noise[256]
    # sampling without replacement: E‖g_B − g‖² ∝ (1/B)·(N − B)/(N − 1)
    scaled = [noise[b] * np.sqrt(b / ((len(x) - b) / (len(x) - 1))) for b in (1, 16, 256)]
    assert max(scaled) / min(scaled) < 1.2
    # the full data set as a "batch" has no noise at all
    x, y = splits.train
    assert O.gradient_noise(O.digits_model(), bp.SoftmaxCrossEntropy(), x, y, [len(x)], repeats=2)[len(x)] < 1e-12
