"""moons_playground driven without a browser: each control retrains, the view follows, the challenge is reachable."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.widgets import regularization


@pytest.fixture(scope="module")
def playground():
    return bp.widgets.moons_playground()


def test_defaults_overfit_and_do_not_meet_the_challenge(playground):
    m = playground.view.metrics
    assert m["train_acc"] == 100.0                       # 30 points memorised
    assert m["gap"] > 10
    assert "Challenge met" not in playground.challenge.value
    assert playground.image.value[:4] == b"\x89PNG"
    assert "no early stopping" in playground.text.value


def test_l2_closes_the_gap_and_meets_the_challenge():
    w = bp.widgets.moons_playground()
    before, gap = w.image.value, w.view.metrics["gap"]
    w.controls["l2"].value = 1e-2
    assert w.image.value != before
    assert w.view.metrics["gap"] < gap
    assert "Challenge met" in w.challenge.value


def test_dropout_also_meets_the_challenge():
    w = bp.widgets.moons_playground(dropout=0.5)
    assert "Challenge met" in w.challenge.value


def test_more_data_is_over_budget_even_when_accurate():
    w = bp.widgets.moons_playground()
    w.controls["train_size"].value = 200
    assert w.view.metrics["val_acc"] > 86
    assert "Over budget" in w.challenge.value and "Challenge met" not in w.challenge.value


def test_early_stopping_reports_its_epochs():
    w = bp.widgets.moons_playground()
    w.controls["patience"].value = 10
    assert "stopped at epoch" in w.text.value
    result = regularization.train_moons(30, patience=10)
    assert result.stopped_epoch == result.best_epoch + 10
    assert len(result.history) == result.stopped_epoch < regularization.EPOCHS
    best = int(np.argmin(result.history.val_loss)) + 1     # independent: the epoch of the lowest val loss
    assert result.best_epoch == best


def test_strong_l1_makes_weights_sparse():
    from bpcourse.overfitting import sparsity
    plain = regularization.train_moons(30)
    l1 = regularization.train_moons(30, l1=1e-2)
    assert sparsity(l1.model) > sparsity(plain.model) + 0.2
