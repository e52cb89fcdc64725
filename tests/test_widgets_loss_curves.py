"""loss_curve_quiz driven without a browser, and the runs behind it: each has the shape it is quizzed as."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.debugging import curve_run
from bpcourse.widgets import loss_curves


@pytest.fixture(scope="module")
def quiz():
    return bp.widgets.loss_curve_quiz()


def test_starts_unanswered_with_the_figure_first(quiz):
    assert quiz.image.value[:4] == b"\x89PNG"
    assert "bp-fixed-figure" in quiz._dom_classes      # the browser test then asks for new text only
    assert quiz.children[0] is quiz.image
    assert "0 of 5 diagnosed" in quiz.text.value
    assert quiz.view.metrics["correct"] == 0 and "Challenge met" not in quiz.challenge.value
    assert all(c.value == loss_curves.UNANSWERED for c in quiz.controls.values())


def test_right_answers_count_and_meet_the_challenge():
    w = bp.widgets.loss_curve_quiz()
    figure = w.image.value
    for i, name in enumerate(loss_curves.ORDER, start=1):
        w.controls[f"curve{i}"].value = loss_curves.CHOICES[name]
        assert f"{i} of 5 diagnosed" in w.text.value
        assert f"<b>curve {i}</b> ✓" in w.text.value
    assert "Challenge met" in w.challenge.value
    assert w.image.value == figure                    # the curves never change


@pytest.mark.parametrize("curve", range(1, 6))
def test_a_wrong_answer_says_where_to_look_without_giving_the_answer(curve):
    truth = loss_curves.ORDER[curve - 1]
    wrong = next(label for name, label in loss_curves.CHOICES.items() if name != truth)
    status, feedback = loss_curves.judge(curve, wrong)
    assert status == "wrong" and "Look again" in feedback
    assert loss_curves.CHOICES[truth] not in feedback.replace(f"not {wrong}", "")
    w = bp.widgets.loss_curve_quiz()
    w.controls[f"curve{curve}"].value = wrong
    assert "0 of 5 diagnosed" in w.text.value and "✗" in w.text.value


def test_every_shape_is_quizzed_once():
    assert sorted(loss_curves.ORDER) == sorted(loss_curves.CHOICES)
    assert loss_curves.judge(1, loss_curves.UNANSWERED) == ("open", "")


# -- the runs have the shapes the quiz says they have (measured, not asserted by construction) --

def tail(run, n=50):
    return run.train[-n:]


def test_healthy_run_learns_and_generalises():
    run = curve_run("healthy")
    assert run.diverged_at is None and tail(run).mean() < 0.1 and run.val[-1] < 0.3


def test_diverging_run_ends_in_nan_or_inf():
    run = curve_run("diverging")
    assert run.diverged_at is not None and run.diverged_at < 150
    assert not np.isfinite(run.train[-1])


def test_too_low_learning_rate_is_smooth_and_still_falling():
    run = curve_run("lr_too_low")
    first, last = run.train[:50].mean(), tail(run).mean()
    assert last > 1.0 and last < first - 0.3                   # far from done, still going down
    assert run.val[-1] < run.val[len(run.val) // 2] - 0.1      # the second half still improves


def test_too_high_learning_rate_stalls_well_above_the_healthy_run():
    run, healthy = curve_run("lr_too_high"), curve_run("healthy")
    assert run.diverged_at is None
    assert tail(run).mean() > 5 * tail(healthy).mean()
    assert run.train[:10].mean() > tail(run).mean()            # it did fall at first


def test_noisy_run_scatters_far_more_than_the_others():
    def scatter(run):      # spread of the mini-batch losses after step 100, relative to the validation loss
        late = run.train[100:]
        return np.subtract(*np.percentile(late, [90, 10])) / np.median(run.val[run.val_steps > 100])
    run = curve_run("too_noisy")
    assert scatter(run) > 2 * scatter(curve_run("healthy"))
    assert scatter(run) > 1.5 * scatter(curve_run("lr_too_high"))
    assert run.val[-1] < run.val[0] - 0.5                      # the trend does go down


def test_overfitting_run_memorises_while_validation_turns_up():
    run = curve_run("overfitting")
    assert tail(run).mean() < 0.02
    assert run.val[-1] > 1.2 * run.val.min() and run.val.argmin() < len(run.val) // 2


# -- the recipe's helpers (bpcourse.debugging) ---------------------------------------------------

def test_train_steps_records_every_step_and_stops_at_the_first_nan():
    from bpcourse import debugging
    model = debugging.digits_mlp(0)
    run = debugging.train_steps(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=5.0, momentum=0.9),
                                debugging.digits().train, 300, 32, np.random.default_rng(0))
    assert run.diverged_at == len(run.train) < 300 and np.all(np.isfinite(run.train[:-1]))


def test_forgetting_zero_grad_accumulates_the_gradients():
    """Two steps at lr 0 (nothing moves): with zero_grad the gradient is the last batch's, without it the sum."""
    from bpcourse import debugging
    x, y = debugging.digits().train
    grads = {}
    for zero in (True, False):
        model = debugging.digits_mlp(1)
        debugging.train_steps(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.0), (x[:8], y[:8]),
                              2, 8, np.random.default_rng(0), zero_grad=zero)
        grads[zero] = model.parameters()[0].grad.copy()
    np.testing.assert_allclose(grads[False], 2 * grads[True], rtol=1e-10)   # the same batch twice


def test_range_test_raises_the_learning_rate_geometrically_and_starts_from_the_untrained_loss():
    from bpcourse import debugging
    splits = debugging.digits()
    model = debugging.digits_mlp(3)
    untrained = debugging.digits_mlp(3)
    opt = bp.SGD(model.parameters(), lr=1.0, momentum=0.9)
    lrs, losses = debugging.lr_range_test(model, bp.SoftmaxCrossEntropy(), opt, splits.train,
                                          rng=np.random.default_rng(5), lr_min=1e-3, lr_max=1.0, steps=31)
    np.testing.assert_allclose(lrs, np.logspace(-3, 0, 31)[:len(lrs)])
    first = next(bp.data.batches(*splits.train, 64, rng=np.random.default_rng(5)))
    assert losses[0] == pytest.approx(bp.SoftmaxCrossEntropy().forward(untrained.forward(first[0]), first[1]))
    assert opt.param_groups[0]["lr"] == pytest.approx(lrs[-1])


def test_overfit_one_batch_and_sgd_val_loss():
    from bpcourse import debugging
    x, y = debugging.digits().train
    model = debugging.digits_mlp(2)
    losses = debugging.overfit_one_batch(model, bp.SoftmaxCrossEntropy(), bp.Adam(model.parameters(), lr=0.01),
                                         x[:8], y[:8], steps=100)
    assert len(losses) == 100 and losses[-1] < 0.01 * losses[0]
    assert debugging.sgd_val_loss(50.0, seed=0) == float("inf")
    assert debugging.sgd_val_loss(0.05, seed=0) < 1.0
