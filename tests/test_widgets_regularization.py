"""moons_playground driven without a browser: each control retrains on 5 draws, the view follows,
the challenge rewards only a gain beyond the draw-to-draw noise."""
import ipywidgets as W
import matplotlib
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.overfitting import paired
from bpcourse.widgets import regularization


@pytest.fixture(scope="module")
def playground():
    return bp.widgets.moons_playground()


def test_defaults_overfit_and_do_not_meet_the_challenge(playground):
    m = playground.view.metrics
    assert m["train_acc"] == 100.0                       # 20 points memorised
    assert m["gain"] == 0 and m["gain_low"] == 0         # the unregularised network against itself
    assert "Challenge met" not in playground.challenge.value
    assert playground.image.value[:4] == b"\x89PNG"
    assert "no early stopping" in playground.text.value
    assert "over 5 draws" in playground.text.value


def test_controls_act_on_release_and_offer_only_values_they_can_take(playground):
    for name, control in playground.controls.items():
        assert control.continuous_update is False, name
        assert isinstance(control, W.SelectionSlider), name          # a typed value cannot snap silently
        assert control.style.description_width == "initial", name    # labels are not cut
    assert playground.controls["patience"].label == "off" and playground.controls["l2"].label == "0.0"


def test_the_reported_gain_is_the_paired_difference_on_the_same_draws():
    accs = regularization.val_accuracies(20, l2=3e-2)
    base = regularization.val_accuracies(20)
    by_hand = [100 * regularization.train_moons(20, d, l2=3e-2).accuracy(regularization.moons_val()) for d in (0, 4)]
    assert np.allclose(by_hand, accs[[0, 4]])
    curves = [np.isnan(r.history.val_loss).any() for r in regularization.runs(20, l2=3e-2)]
    assert curves == [False, True, True, True, True]        # only draw 1 measures its validation curve
    w = bp.widgets.moons_playground(l2=3e-2)
    assert w.view.metrics["gain"] == pytest.approx(np.mean(accs - base))
    assert w.view.metrics["gain_low"] == pytest.approx(paired(accs, base).interval[0])


def test_l2_beyond_noise_meets_the_challenge():
    w = bp.widgets.moons_playground()
    before = w.image.value
    w.controls["l2"].value = 3e-2
    assert w.image.value != before
    assert w.view.metrics["gain_low"] > 1                # the whole interval above 0, with margin
    assert "Challenge met" in w.challenge.value


def test_dropout_also_meets_the_challenge():
    w = bp.widgets.moons_playground(dropout=0.3)
    assert w.view.metrics["gain_low"] > 1
    assert "Challenge met" in w.challenge.value


def test_a_gain_inside_the_noise_is_not_rewarded():
    w = bp.widgets.moons_playground(l2=1e-3)
    m = w.view.metrics
    assert m["gain"] > 0 and m["gain_low"] < 0           # a positive mean whose interval includes 0 ...
    assert "Challenge met" not in w.challenge.value      # ... is not a win, whatever the mean says


def test_more_data_is_over_budget_even_when_accurate():
    w = bp.widgets.moons_playground()
    w.controls["train_size"].value = 200
    assert w.view.metrics["val_acc"] > 88
    assert "Over budget" in w.challenge.value and "Challenge met" not in w.challenge.value


def test_early_stopping_reports_its_epochs():
    w = bp.widgets.moons_playground()
    w.controls["patience"].value = 10
    assert "stopped at epoch" in w.text.value
    result = regularization.runs(20, patience=10)[0]
    assert result.stopped_epoch == result.best_epoch + 10
    assert len(result.history) == result.stopped_epoch < regularization.EPOCHS
    best = int(np.argmin(result.history.val_loss)) + 1     # independent: the epoch of the lowest val loss
    assert result.best_epoch == best


def test_strong_l1_makes_weights_sparse():
    from bpcourse.overfitting import sparsity
    plain = regularization.train_moons(20)
    l1 = regularization.train_moons(20, l1=1e-2)
    assert sparsity(l1.model) > sparsity(plain.model) + 0.2


def test_the_legend_sits_outside_the_data_and_epochs_are_whole():
    view = regularization.update(20, 0.0, 0.0, 0.0, 10)
    fig = view.figure
    fig.canvas.draw()
    curves = fig.axes[1]
    legend = curves.get_legend().get_window_extent()
    assert legend.y0 >= curves.get_window_extent().y1 - 1     # above the axes, not over the curves
    ticks = curves.get_xticks()
    assert np.allclose(ticks, np.round(ticks))                 # epochs are counted: no tick at 2.5
    matplotlib.pyplot.close(fig)


def test_a_diverging_run_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(regularization, "LR", 50.0)
    regularization.runs.cache_clear()
    try:
        view = regularization.update(20, 0.0, 0.0, 0.0, 0)
    finally:
        regularization.runs.cache_clear()
    assert "Training stopped" in view.text and view.metrics == {}
    assert view.figure is not None
    matplotlib.pyplot.close(view.figure)
