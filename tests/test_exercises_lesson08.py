"""The checks of 08_transfer_learning: each passes the reference solution, rejects each typical
mistake with the hint meant for it, and treats stubs and broken code kindly."""
import copy

import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import lesson08
from bpcourse.exercises.lesson08 import check_param_groups, check_transfer_model, check_which_wins


def stub(*args):
    raise NotImplementedError


def says(verdict, text):
    return text in (verdict.hint or "") + verdict.message


# -- ex08_transfer_model ------------------------------------------------------------------------

def transfer_right(pretrained, num_classes, rng):
    body = copy.deepcopy(pretrained).layers[:-1]
    for p in bp.Sequential(*body).parameters():
        p.trainable = False
    return bp.Sequential(*body, bp.Linear(body[-2].out_features, num_classes, rng=rng))


def transfer_variant(copy_body=True, freeze_body=True, freeze_head=False, keep_old_head=False, cut=1):
    def fn(pretrained, num_classes, rng):
        source = copy.deepcopy(pretrained) if copy_body else pretrained
        body = source.layers[:-cut]
        if freeze_body:
            for p in bp.Sequential(*body).parameters():
                p.trainable = False
        head = source.layers[-1] if keep_old_head else bp.Linear(4, num_classes, rng=rng)
        if freeze_head:
            for p in head.parameters():
                p.trainable = False
        return bp.Sequential(*body, head)
    return fn


def test_transfer_model_accepts_the_reference():
    verdict = check_transfer_model(transfer_right)
    assert verdict.status == "right", verdict


@pytest.mark.parametrize("wrong, text", [
    (transfer_variant(freeze_body=False), "freeze the body"),
    (transfer_variant(freeze_head=True), "head is frozen too"),
    (transfer_variant(copy_body=False), "copy the body first"),
    (transfer_variant(keep_old_head=True), "old head is still there"),
    (transfer_variant(cut=2), "including the final ReLU"),
])
def test_transfer_model_diagnoses_typical_mistakes(wrong, text):
    verdict = check_transfer_model(wrong)
    assert verdict.status == "wrong"
    assert says(verdict, text), verdict


def test_transfer_model_old_head_with_same_number_of_classes_is_caught():
    def reuse(pretrained, num_classes, rng):
        model = transfer_right(pretrained, num_classes, rng)
        if num_classes == 3:                       # same shape as the old head: reuse it
            old = copy.deepcopy(pretrained.layers[-1])
            model.layers[-1] = old
        return model
    verdict = check_transfer_model(reuse)
    assert verdict.status == "wrong" and says(verdict, "old output layer")


def test_transfer_model_stub_none_and_exceptions_are_handled_kindly():
    assert check_transfer_model(stub).status == "not attempted"
    assert says(check_transfer_model(lambda p, c, r: None), "returned None")
    assert says(check_transfer_model(lambda p, c, r: [p]), "expected a model")
    assert says(check_transfer_model(lambda p, c, r: bp.Sequential(bp.Linear(3, c, rng=r))), "raised ValueError")


# -- ex08_param_groups --------------------------------------------------------------------------

def groups_right(body, head, body_lr, head_lr):
    return bp.SGD([{"params": body.parameters(), "lr": body_lr}, {"params": head.parameters()}], lr=head_lr)


def test_param_groups_accepts_sgd_and_adam():
    assert check_param_groups(groups_right).status == "right"
    adam = lambda body, head, blr, hlr: bp.Adam([{"params": body.parameters(), "lr": blr},
                                                  {"params": head.parameters(), "lr": hlr}])
    assert check_param_groups(adam).status == "right"


@pytest.mark.parametrize("wrong, text", [
    (lambda b, h, blr, hlr: bp.SGD([{"params": b.parameters(), "lr": hlr}, {"params": h.parameters()}], lr=blr),
     "swapped"),
    (lambda b, h, blr, hlr: bp.SGD(b.parameters() + h.parameters(), lr=hlr), "share one learning rate"),
    (lambda b, h, blr, hlr: bp.SGD(b.parameters(), lr=blr), "head would never learn"),
    (lambda b, h, blr, hlr: bp.SGD(h.parameters(), lr=hlr), "freezes the body"),
    (lambda b, h, blr, hlr: bp.SGD([{"params": b.parameters(), "lr": blr / 10}, {"params": h.parameters()}], lr=hlr),
     "body's learning rate"),
    (lambda b, h, blr, hlr: bp.SGD([{"params": b.parameters(), "lr": blr}, {"params": h.parameters()}],
                                   lr=hlr, weight_decay=0.5), "moved by"),
])
def test_param_groups_diagnoses_typical_mistakes(wrong, text):
    verdict = check_param_groups(wrong)
    assert verdict.status == "wrong"
    assert says(verdict, text), verdict


def test_param_groups_stub_none_and_exceptions_are_handled_kindly():
    assert check_param_groups(stub).status == "not attempted"
    assert says(check_param_groups(lambda b, h, blr, hlr: None), "returned None")
    assert says(check_param_groups(lambda b, h, blr, hlr: [b, h]), "expected an optimizer")
    assert check_param_groups(lambda b, h, blr, hlr: bp.SGD([b], lr=blr)).status == "wrong"   # a layer, not params


# -- ex08_which_wins ----------------------------------------------------------------------------

FAKE = {   # accuracies over 3 draws at 2 and 50 per class: rows = regimes
    "scratch": np.array([[0.70, 0.80, 0.75], [0.985, 0.990, 0.988]]),
    "linear probe": np.array([[0.72, 0.77, 0.77], [0.975, 0.978, 0.977]]),
    "fine-tune": np.array([[0.73, 0.78, 0.76], [0.990, 0.992, 0.991]]),
}


@pytest.fixture
def fake_measurement(monkeypatch):
    monkeypatch.setattr(lesson08, "_measured", lambda: FAKE)


def test_which_wins_accepts_the_measured_answers(fake_measurement):
    verdict = check_which_wins(lambda: {"2 per class": "tie", "50 per class": "fine-tune"})
    assert verdict.status == "right", verdict
    assert "2 per class: scratch, linear probe and fine-tune tie" in verdict.message
    assert "50 per class: fine-tune wins" in verdict.message


@pytest.mark.parametrize("answer, text", [
    ({"2 per class": "tie", "50 per class": "linear probe"}, "frozen body cannot adapt"),
    ({"2 per class": "tie", "50 per class": "tie"}, "fine-tune is ahead"),
    ({"2 per class": "tie", "50 per class": "scratch"}, "measurably behind"),
    ({"2 per class": "fine-tune", "50 per class": "fine-tune"}, "cannot name a winner"),
    ({"2 per class": "scratch", "50 per class": "fine-tune"}, "not a win"),
])
def test_which_wins_rejects_answers_the_measurement_contradicts(fake_measurement, answer, text):
    verdict = check_which_wins(lambda: answer)
    assert verdict.status == "wrong"
    assert says(verdict, text), verdict


def test_which_wins_ties_with_a_strategy_behind(monkeypatch):
    partial = dict(FAKE, scratch=np.array([[0.70, 0.80, 0.75], [0.991, 0.989, 0.992]]))
    monkeypatch.setattr(lesson08, "_measured", lambda: partial)
    verdict = check_which_wins(lambda: {"2 per class": "tie", "50 per class": "tie"})
    assert verdict.status == "right" and "linear probe behind" in verdict.message


def test_which_wins_malformed_answers_are_handled_kindly(fake_measurement):
    assert check_which_wins(stub).status == "not attempted"
    assert says(check_which_wins(lambda: "fine-tune"), "expected a dict")
    assert says(check_which_wins(lambda: {"2 per class": "tie"}), "no key '50 per class'")
    assert says(check_which_wins(lambda: {"2 per class": "Tie", "50 per class": "fine-tune"}), "not one of")


def test_best_set_keeps_strategies_within_the_spread():
    best, means = lesson08._best_set(FAKE, 0)
    assert set(best) == {"scratch", "linear probe", "fine-tune"}
    best, _ = lesson08._best_set(FAKE, 1)
    assert best == ["fine-tune"]
