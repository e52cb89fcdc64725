"""Lesson 09's backward walkthrough, driven by its buttons and controls without a browser."""
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest

import bpcourse as bp
from bpcourse import by_hand
from bpcourse.widgets import backward_walkthrough
from bpcourse.widgets.by_hand import BATCHES, forward_pass, gradient, walkthrough_view


def test_buttons_step_back_and_reset():
    with warnings.catch_warnings():
        warnings.simplefilter("error")                       # no warning at step 0 (an empty log axis)
        e = backward_walkthrough()
    assert e.step == 0 and "Press Step" in e.text.value
    image = e.image.value
    e.step_button.click()
    assert e.step == 1 and "Step 1/23: dL/dlogprobs" in e.text.value and e.image.value != image
    e.step_button.click()
    e.back_button.click()
    assert e.step == 1
    e.go(22)
    e.step_button.click()
    e.step_button.click()                                    # past the end: stays at the end
    assert e.step == 23 and e.step_button.disabled and "Backward pass done" in e.text.value
    e.reset_button.click()
    assert e.step == 0 and not e.step_button.disabled


def test_text_names_the_forward_line_and_the_paths():
    view = walkthrough_view(step=5)                          # dL/dcounts
    assert "counts = np.exp(norm_logits)" in view.text and "2 paths" in view.text
    view = walkthrough_view(step=23)                         # db1: zero up to rounding
    assert "dL/db1" in view.text and "0 (up to rounding noise)" in view.text


def test_widget_gradients_are_the_package_layers_gradients():
    values = forward_pass(2, 1)
    model = by_hand.load_params(by_hand.network(np.random.default_rng(0), hidden=32),
                                {k: values[k] for k in by_hand.PARAMETERS})
    loss_fn = bp.SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(values["x"]), values["y"])
    model.backward(loss_fn.backward())
    assert bp.rel_error(gradient(2, 1, "W1"), model[0].weight.grad) < 1e-7
    assert bp.rel_error(gradient(2, 1, "gamma"), model[1].gamma.grad) < 1e-7


def test_tanh_metric_appears_once_the_pass_has_gone_through_tanh():
    assert "tanh_kept" not in walkthrough_view(step=11).metrics          # dhpreact is step 12
    assert walkthrough_view(step=12).metrics["tanh_kept"] == pytest.approx(
        np.linalg.norm(gradient(1, 1, "hpreact")) / np.linalg.norm(gradient(1, 1, "h")))


def test_challenge_is_met_by_saturation_on_every_batch_and_not_without_it():
    # beyond the batch-to-batch spread: γ = 8 keeps < 0.3 on every batch, γ = 4 and below keep more
    for batch in range(1, BATCHES + 1):
        kept = {}
        for g in (1, 4, 8):
            view = walkthrough_view(batch, g, step=12)
            kept[g] = view.metrics["tanh_kept"]
            plt.close(view.figure)
        assert kept[8] < 0.28 and kept[4] > 0.31 and kept[1] > 0.6, (batch, kept)
    e = backward_walkthrough()
    for _ in range(12):
        e.step_button.click()
    assert "Challenge met" not in e.challenge.value
    e.controls["gamma"].value = 8
    assert "Challenge met" in e.challenge.value and e.step == 12


def test_first_layer_gradient_grows_with_gamma_as_review_question_7_says():
    # lesson 09's Q7: saturating the tanh with a large γ does not shrink ‖dL/dW1‖ — it grows (about as √γ),
    # at γ = 1, 4 and 16 on every mini-batch the widget offers (the package's backward, which the test
    # above matches to the widget's numerical gradients)
    loss_fn = bp.SoftmaxCrossEntropy()
    for batch in range(1, BATCHES + 1):
        norms = []
        for g in (1, 4, 16):
            values = forward_pass(batch, g)
            model = by_hand.load_params(by_hand.network(np.random.default_rng(0), hidden=32),
                                        {k: values[k] for k in by_hand.PARAMETERS})
            loss_fn.forward(model.forward(values["x"]), values["y"])
            model.backward(loss_fn.backward())
            norms.append(np.linalg.norm(model[0].weight.grad))
        assert norms[0] < norms[1] < norms[2], (batch, norms)
