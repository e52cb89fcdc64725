"""The checks of 08_transfer_learning: each passes the reference solution, rejects each typical
mistake with the hint meant for it, and treats stubs and broken code kindly."""
import contextlib
import copy

import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import core, lesson08
from bpcourse.exercises.lesson08 import (check_fine_tune_step, check_paired_interval, check_param_groups,
                                         check_transfer_model, check_which_wins)


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
        features = [layer for layer in body if isinstance(layer, bp.Linear)][-1].out_features
        head = source.layers[-1] if keep_old_head else bp.Linear(features, num_classes, rng=rng)
        if freeze_head:
            for p in head.parameters():
                p.trainable = False
        return bp.Sequential(*body, head)
    return fn


@pytest.mark.parametrize("secret", [None, 7])
def test_transfer_model_accepts_the_reference_on_public_and_hidden_cases(secret):
    with contextlib.nullcontext() if secret is None else core.hidden_cases(secret):
        verdict = check_transfer_model(transfer_right)
    assert verdict.status == "right", verdict


@pytest.mark.parametrize("cases", ["_transfer_cases", "_groups_cases", "_step_cases", "_interval_cases"])
def test_every_check_draws_its_cases_from_case_rng(cases):
    public = getattr(lesson08, cases)()
    with core.hidden_cases(20261127):
        hidden = getattr(lesson08, cases)()
    assert all(repr(p[1:]) != repr(h[1:]) for p, h in zip(public, hidden))      # every case differs


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
        if num_classes == 3:                       # same shape as the old head: reuse a copy of it
            model.layers[-1] = copy.deepcopy(pretrained.layers[-1])
        return model
    verdict = check_transfer_model(reuse)
    assert verdict.status == "wrong" and says(verdict, "old output layer"), verdict


def test_transfer_model_head_that_does_not_learn_is_caught():
    def dead_head(pretrained, num_classes, rng):
        model = transfer_right(pretrained, num_classes, rng)
        model.layers[-1].backward = lambda dout: dout @ model.layers[-1].weight.data.T   # no gradient
        return model
    verdict = check_transfer_model(dead_head)
    assert verdict.status == "wrong" and says(verdict, "after one SGD step"), verdict


def test_transfer_model_stub_none_and_exceptions_are_handled_kindly():
    assert check_transfer_model(stub).status == "not attempted"
    assert says(check_transfer_model(lambda p, c, r: None), "returned None")
    assert says(check_transfer_model(lambda p, c, r: [p]), "expected a model")
    assert says(check_transfer_model(lambda p, c, r: bp.Sequential(bp.Linear(2, c, rng=r))), "raised ValueError")


# -- ex08_param_groups --------------------------------------------------------------------------

def groups_right(body, head, body_lr, head_lr):
    return bp.SGD([{"params": body.parameters(), "lr": body_lr}, {"params": head.parameters()}], lr=head_lr)


def groups_adam(body, head, body_lr, head_lr):
    return bp.Adam([{"params": body.parameters(), "lr": body_lr}, {"params": head.parameters(), "lr": head_lr}])


def groups_momentum(body, head, body_lr, head_lr):
    return bp.SGD([{"params": body.parameters(), "lr": body_lr}, {"params": head.parameters()}], lr=head_lr,
                  momentum=0.9)


@pytest.mark.parametrize("fn", [groups_right, groups_adam, groups_momentum])
def test_param_groups_accepts_sgd_adam_and_momentum(fn):
    assert check_param_groups(fn).status == "right"


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


# -- ex08_fine_tune_step ------------------------------------------------------------------------

def step_variant(mean=True, mask=True, swap=False, sign=1.0, body=True, bias=True):
    """fine_tune_step written out by hand, with switches for the usual mistakes."""
    def fn(x, y, W1, b1, W2, b2, body_lr, head_lr):
        z = x @ W1 + b1
        h = np.maximum(z, 0)
        logits = h @ W2 + b2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p = p / p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1
        d = p / len(y) if mean else p
        dW2, db2 = h.T @ d, d.sum(axis=0)
        dz = d @ W2.T * ((z > 0) if mask else 1)
        dW1, db1 = x.T @ dz, dz.sum(axis=0)
        lr_body, lr_head = (head_lr, body_lr) if swap else (body_lr, head_lr)
        lr_body = lr_body if body else 0.0
        keep = 1.0 if bias else 0.0
        return (W1 - sign * lr_body * dW1, b1 - keep * sign * lr_body * db1,
                W2 - sign * lr_head * dW2, b2 - keep * sign * lr_head * db2)
    return fn


def test_fine_tune_step_accepts_the_reference_on_public_and_hidden_cases():
    assert check_fine_tune_step(step_variant()).status == "right"
    with core.hidden_cases(3):
        assert check_fine_tune_step(step_variant()).status == "right"


@pytest.mark.parametrize("wrong, text", [
    (step_variant(mean=False), "MEAN over the batch"),
    (step_variant(mask=False), "misses the ReLU"),
    (step_variant(swap=True), "learning rates are swapped"),
    (step_variant(sign=-1.0), "UP the gradient"),
    (step_variant(body=False), "the body did not move"),
    (step_variant(bias=False), "the biases did not move"),
])
def test_fine_tune_step_diagnoses_typical_mistakes(wrong, text):
    verdict = check_fine_tune_step(wrong)
    assert verdict.status == "wrong"
    assert says(verdict, text), verdict


def test_fine_tune_step_shapes_stub_and_none():
    assert check_fine_tune_step(stub).status == "not attempted"
    assert says(check_fine_tune_step(lambda *a: None), "returned None")
    assert says(check_fine_tune_step(lambda x, y, W1, b1, W2, b2, *lrs: (W1, b1, W2)), "expected the four arrays")
    transposed = lambda *a: (lambda r: (r[0].T, *r[1:]))(step_variant()(*a))
    verdict = check_fine_tune_step(transposed)
    assert verdict.status == "wrong" and says(verdict, "has shape"), verdict


def test_fine_tune_reference_agrees_with_the_analytic_step():
    # the check's numerical reference and a hand-written backward pass agree (neither copies the other)
    for _, x, y, params, body_lr, head_lr in lesson08._step_cases():
        want = lesson08.fine_tune_reference(x, y, params, body_lr, head_lr)
        got = step_variant()(x, y, *params, body_lr, head_lr)
        assert all(bp.rel_error(g, w) < 1e-7 for g, w in zip(got, want))


# -- ex08_paired_interval -----------------------------------------------------------------------

def interval_right(a, b, t):
    d = np.asarray(a) - np.asarray(b)
    half = t * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), d.mean() - half, d.mean() + half


def test_paired_interval_accepts_the_reference_and_agrees_with_the_package():
    assert check_paired_interval(interval_right).status == "right"
    a, b = np.array([0.7, 0.8, 0.9, 0.75, 0.85]), np.array([0.6, 0.75, 0.8, 0.7, 0.8])
    assert np.allclose(interval_right(a, b, 2.776), bp.transfer.paired_gain(a, b))


@pytest.mark.parametrize("wrong, text", [
    (lambda a, b, t: interval_right(b, a, t), "sign is flipped"),
    (lambda a, b, t: (lambda m, h: (m, m - h, m + h))(np.mean(a - b),
                                                       t * np.sqrt(a.var(ddof=1) + b.var(ddof=1)) / np.sqrt(len(a))),
     "unpaired"),
    (lambda a, b, t: (lambda d: (d.mean(), d.mean() - t * d.std() / np.sqrt(len(d)),
                                 d.mean() + t * d.std() / np.sqrt(len(d))))(a - b), "n − 1"),
    (lambda a, b, t: (lambda d: (d.mean(), d.mean() - t * d.std(ddof=1), d.mean() + t * d.std(ddof=1)))(a - b), "√n"),
    (lambda a, b, t: interval_right(a, b, 1.96), "t given"),
])
def test_paired_interval_diagnoses_typical_mistakes(wrong, text):
    verdict = check_paired_interval(wrong)
    assert verdict.status == "wrong"
    assert says(verdict, text), verdict


def test_paired_interval_stub_and_none():
    assert check_paired_interval(stub).status == "not attempted"
    assert says(check_paired_interval(lambda a, b, t: None), "returned None")
    assert says(check_paired_interval(lambda a, b, t: (0.0, 1.0)), "has shape")


# -- ex08_which_wins ----------------------------------------------------------------------------

FAKE = {   # (linear probe, fine-tune) accuracies over 5 draws
    "lit, 2 per class": (np.array([0.70, 0.75, 0.72, 0.80, 0.78]), np.array([0.62, 0.66, 0.65, 0.71, 0.70])),
    "lit, 25 per class": (np.array([0.95, 0.96, 0.94, 0.97, 0.95]), np.array([0.96, 0.95, 0.95, 0.96, 0.95])),
    "clean, 25 per class": (np.array([0.96, 0.95, 0.97, 0.96, 0.96]), np.array([0.98, 0.97, 0.98, 0.98, 0.97])),
}
RIGHT = {"lit, 2 per class": "linear probe", "lit, 25 per class": "tie", "clean, 25 per class": "fine-tune"}


@pytest.fixture
def fake_measurement(monkeypatch):
    monkeypatch.setattr(lesson08, "_measured", lambda: FAKE)


def test_which_wins_accepts_the_measured_answers(fake_measurement):
    verdict = check_which_wins(lambda: dict(RIGHT))
    assert verdict.status == "right", verdict
    assert "lit, 25 per class: tie" in verdict.message


@pytest.mark.parametrize("key, answer, text", [
    ("lit, 2 per class", "tie", "beyond the noise"),
    ("lit, 25 per class", "linear probe", "contains zero"),
    ("clean, 25 per class", "linear probe", "measurably behind"),
])
def test_which_wins_rejects_answers_the_measurement_contradicts(fake_measurement, key, answer, text):
    verdict = check_which_wins(lambda: dict(RIGHT, **{key: answer}))
    assert verdict.status == "wrong"
    assert says(verdict, text), verdict


def test_which_wins_malformed_answers_are_handled_kindly(fake_measurement):
    assert check_which_wins(stub).status == "not attempted"
    assert says(check_which_wins(lambda: "fine-tune"), "expected a dict")
    assert says(check_which_wins(lambda: {"lit, 2 per class": "tie"}), "no key")
    assert says(check_which_wins(lambda: dict(RIGHT, **{"lit, 2 per class": "Tie"})), "not one of")
