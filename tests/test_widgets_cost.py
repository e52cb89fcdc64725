"""cost_explorer driven without a browser: set a control, check what the widget shows."""

import bpcourse as bp
import ipywidgets as W
import numpy as np

from bpcourse.widgets.cost import BATCH_SIZES, LEARNING_RATES, SAMPLES, TARGET_LOSS, _data, _model, cost_run, noise_curve


def test_defaults_show_batch_32_and_the_challenge_is_not_met():
    w = bp.widgets.cost_explorer()
    assert "B = 32" in w.text.value
    assert f"{-(-SAMPLES // 32)} steps per epoch" in w.text.value
    assert w.image.value[:4] == b"\x89PNG"
    assert "Challenge met" not in w.challenge.value and "batch size ≥ 128" in w.challenge.value


def test_batch_size_changes_steps_noise_text_and_plot():
    w = bp.widgets.cost_explorer()
    before_png, before = w.image.value, dict(w.view.metrics)
    w.controls["batch_size"].value = 8
    assert "B = 8" in w.text.value and f"{SAMPLES // 8} steps per epoch" in w.text.value
    assert w.image.value != before_png
    assert w.view.metrics["steps_per_epoch"] == SAMPLES // 8
    # smaller batches: a noisier gradient estimate, but 4x as many steps -> lower loss after 5 epochs at lr 0.1
    assert w.view.metrics["grad_noise"] > before["grad_noise"]
    assert w.view.metrics["final_loss"] < before["final_loss"]


def test_gradient_noise_is_exactly_one_over_b_times_the_finite_population_factor():
    noise = dict(zip(BATCH_SIZES, noise_curve()))
    assert all(noise[a] > noise[b] for a, b in zip(BATCH_SIZES, BATCH_SIZES[1:]))
    for b in BATCH_SIZES:
        assert np.isclose(noise[b], noise[1] / b * (SAMPLES - b) / (SAMPLES - 1), rtol=1e-12)


def test_exact_noise_agrees_with_random_batches():
    # independent of the formula: draw random batches and measure how far their gradients lie
    x, y = _data()
    drawn = bp.flops.gradient_noise(_model(), bp.SoftmaxCrossEntropy(), x, y, [4, 32], draws=200,
                                    rng=np.random.default_rng(0))
    noise = dict(zip(BATCH_SIZES, noise_curve()))
    for b in (4, 32):
        assert abs(drawn[b] / noise[b] - 1) < 0.2, (b, drawn[b], noise[b])


def test_runs_are_deterministic_except_for_the_clock():
    a, b = cost_run(64, 0.3), cost_run(64, 0.3)
    assert a["losses"] == b["losses"]
    assert len(a["seconds"]) == 5 and a["time_per_epoch"] > 0


def test_challenge_is_reachable_with_a_large_batch_and_a_well_chosen_learning_rate():
    w = bp.widgets.cost_explorer()
    w.controls["batch_size"].value = 128
    assert "Challenge met" not in w.challenge.value            # lr 0.1 is far too small for 4 steps per epoch
    w.controls["lr"].value = 0.5
    assert w.view.metrics["large_batch_loss"] < TARGET_LOSS
    assert "Challenge met" in w.challenge.value


def test_the_challenge_rewards_the_learning_rate_not_a_lucky_seed():
    # on every one of 5 seeds (initial weights and shuffling): lr 0.1 misses the target, lr 0.5 meets it
    for seed in range(5):
        assert cost_run(128, 0.1, seed=seed)["losses"][-1] > TARGET_LOSS + 0.2
        assert cost_run(128, 0.5, seed=seed)["losses"][-1] < TARGET_LOSS - 0.1


def test_learning_rate_slider_offers_only_values_it_can_show_and_labels_are_not_cut():
    w = bp.widgets.cost_explorer()
    lr = w.controls["lr"]
    assert isinstance(lr, W.SelectionSlider) and tuple(lr.options) == LEARNING_RATES
    for control in w.controls.values():
        assert control.continuous_update is False            # retraining waits until the slider is let go
        assert control.style.description_width == "initial"


def test_small_batches_do_not_count_for_the_large_batch_challenge():
    w = bp.widgets.cost_explorer()
    w.controls["batch_size"].value = 16
    w.controls["lr"].value = 0.5
    assert w.view.metrics["final_loss"] < TARGET_LOSS
    assert "large_batch_loss" not in w.view.metrics and "Challenge met" not in w.challenge.value


def test_previous_run_is_kept_for_comparison():
    w = bp.widgets.cost_explorer()
    w.controls["lr"].value = 0.3
    assert len(w.view.figure.axes[0].lines) == 2              # previous (grey) and current
