"""transfer_explorer driven without a browser."""
import ipywidgets as W

import bpcourse as bp
from bpcourse.widgets.transfer import BODY_LRS, transfer_accuracies


def test_defaults_show_all_three_strategies_and_the_challenge_is_over_budget():
    w = bp.widgets.transfer_explorer()
    assert "lit digits, 5 per class" in w.text.value and "Paired over 5 draws" in w.text.value
    assert set(w.view.metrics) >= {"scratch", "linear_probe", "fine_tune", "fine_tune_gain", "fine_tune_gain_lower_end"}
    assert w.image.value[:4] == b"\x89PNG"
    assert "Over budget" in w.challenge.value and "Challenge met" not in w.challenge.value


def test_labels_are_not_cut_and_the_learning_rates_are_exact_choices():
    w = bp.widgets.transfer_explorer()
    for control in w.controls.values():
        assert control.style.description_width == "initial", control.description
    lr = w.controls["body_lr"]
    assert isinstance(lr, W.SelectionSlider) and list(lr.options) == [(f"{v:.0e}".replace("e-0", "e-"), v)
                                                                      for v in BODY_LRS]
    assert lr.options[2][0] == "1e-3"
    assert all(not getattr(c, "continuous_update", False) for c in w.controls.values())


def test_controls_change_what_is_shown():
    w = bp.widgets.transfer_explorer()
    png, text = w.image.value, w.text.value
    w.controls["per_class"].value = 2
    assert "2 per class" in w.text.value and w.image.value != png and w.text.value != text
    before = dict(w.view.metrics)
    w.controls["body_lr"].value = 1e-1                  # a body lr 10× the head's wrecks the features
    assert w.view.metrics["fine_tune"] < before["fine_tune"] - 10
    assert w.view.metrics["scratch"] == before["scratch"]            # scratch does not depend on the body lr
    w.controls["target"].value = "clean"
    assert "clean digits" in w.text.value and w.view.metrics["scratch"] > before["scratch"]


def test_freezing_every_body_layer_turns_fine_tuning_into_a_linear_probe():
    acc = transfer_accuracies("lit", 5, 2, 1e-3)
    assert (abs(acc["fine-tune"] - acc["linear probe"]) <= 1 / 180 + 1e-12).all()   # at most one test image


def test_challenge_rewards_only_a_paired_gain_far_beyond_the_noise():
    w = bp.widgets.transfer_explorer()
    w.controls["per_class"].value = 1
    m = w.view.metrics                                   # the default fine-tuning: a large gain ...
    assert m["fine_tune_gain"] > 25 and m["fine_tune_gain_lower_end"] < 25
    assert "Challenge met" not in w.challenge.value      # ... whose interval reaches below +25: not met
    w.controls["target"].value = "clean"
    assert "Challenge met" not in w.challenge.value      # no gain on the clean digits
    w.controls["target"].value = "lit"
    w.controls["freeze_layers"].value = 1
    w.controls["body_lr"].value = 3e-4                   # protect the pretrained body
    assert w.view.metrics["fine_tune_gain_lower_end"] > 25
    assert "Challenge met" in w.challenge.value
    w.controls["per_class"].value = 5                    # more labels than the budget allows
    assert "Over budget" in w.challenge.value
