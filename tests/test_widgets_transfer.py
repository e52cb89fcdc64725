"""transfer_explorer driven without a browser."""
import bpcourse as bp
from bpcourse.widgets.transfer import transfer_accuracies


def test_defaults_show_all_three_strategies_and_the_challenge_is_over_budget():
    w = bp.widgets.transfer_explorer()
    assert "10 per class" in w.text.value
    assert set(w.view.metrics) >= {"scratch", "linear_probe", "fine_tune", "fine_tune_gain"}
    assert w.image.value[:4] == b"\x89PNG"
    assert "Over budget" in w.challenge.value and "Challenge met" not in w.challenge.value


def test_controls_change_what_is_shown():
    w = bp.widgets.transfer_explorer()
    png, text = w.image.value, w.text.value
    w.controls["per_class"].value = 2
    assert "2 per class" in w.text.value and w.image.value != png and w.text.value != text
    before = dict(w.view.metrics)
    w.controls["body_lr"].value = 1e-1                  # a body lr 10× the head's wrecks the features
    assert w.view.metrics["fine_tune"] < before["fine_tune"]
    assert w.view.metrics["scratch"] == before["scratch"]            # scratch does not depend on the body lr


def test_freezing_every_body_layer_turns_fine_tuning_into_a_linear_probe():
    acc = transfer_accuracies(5, 2, 1e-3)
    assert (abs(acc["fine-tune"] - acc["linear probe"]) <= 1 / 180 + 1e-12).all()   # at most one test image


def test_challenge_is_reachable():
    w = bp.widgets.transfer_explorer()
    w.controls["per_class"].value = 5
    assert "Challenge met" not in w.challenge.value     # the default fine-tuning gains about 4 points
    w.controls["per_class"].value = 2
    w.controls["freeze_layers"].value = 1
    w.controls["body_lr"].value = 1e-2
    assert w.view.metrics["fine_tune_gain"] > 4.5
    assert "Challenge met" in w.challenge.value
