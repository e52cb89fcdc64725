"""Lesson 03's experiment: the heads' losses and gradients, the equal effective step, paired runs."""
import decimal

import numpy as np
import pytest

import bpcourse as bp
from bpcourse import mse_vs_ce as E


@pytest.mark.parametrize("squash", ["softmax", "sigmoid"])
def test_squared_error_backward_matches_numerical_gradient(squash):
    rng = np.random.default_rng(0)
    logits, labels = 2 * rng.standard_normal((4, 5)), np.array([0, 3, 3, 1])
    loss = E.SquaredErrorOnProbabilities(squash)
    loss.forward(logits, labels)
    analytic = loss.backward()
    numeric = bp.numerical_gradient(lambda z: loss.forward(z, labels), logits.copy())
    assert bp.rel_error(analytic, numeric) < 1e-8


def test_squared_error_forward_is_the_mean_over_all_entries():
    logits, labels = np.array([[0.0, np.log(3.0)]]), np.array([1])    # softmax: (0.25, 0.75)
    assert E.SquaredErrorOnProbabilities("softmax").forward(logits, labels) == pytest.approx((0.25 ** 2 + 0.25 ** 2) / 2)
    assert E.SquaredErrorOnProbabilities("sigmoid").forward(np.zeros((1, 2)), labels) == pytest.approx(0.25)


@pytest.mark.parametrize("head", E.HEADS)
def test_step_factor_makes_the_first_step_c_times_p_minus_y(head):
    # at the uninformed start (all logits equal) every head's gradient is STEP_FACTOR · (p − y) / N
    n, labels = 3, np.array([2, 0, 9])
    loss = E.head_loss(head)
    loss.forward(np.zeros((n, E.CLASSES)), labels)
    p = E.probabilities(head, np.zeros((n, E.CLASSES)))
    expected = E.STEP_FACTOR[head] * (p - np.eye(E.CLASSES)[labels]) / n
    np.testing.assert_allclose(loss.backward(), expected, atol=1e-15)


def test_heads_are_paired_same_start_same_batches():
    a = E.network(3, 10.0).parameters()
    b = E.network(3, 10.0).parameters()
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a, b))
    assert np.array_equal(E.train("MSE on sigmoid", 1, epochs=2), E.train("MSE on sigmoid", 1, epochs=2))


def test_init_scale_multiplies_only_the_last_layer():
    small, large = E.network(0, 1.0), E.network(0, 10.0)
    np.testing.assert_array_equal(small[0].weight.data, large[0].weight.data)
    np.testing.assert_allclose(large[-1].weight.data, 10 * small[-1].weight.data)


def test_cross_entropy_learns_from_the_usual_start():
    acc = E.train("cross-entropy", 0, epochs=3)
    assert acc.shape == (3,) and acc[-1] > acc[0] and acc[-1] > 0.6


def test_compare_returns_seeds_by_epochs_for_every_head_and_start():
    out = E.compare(seeds=[0, 1], init_scales=(1,), epochs=1, heads=("cross-entropy",))
    assert set(out) == {(1, "cross-entropy")} and out[1, "cross-entropy"].shape == (2, 1)


def test_confidently_wrong_and_initial_loss_grow_with_init_scale():
    assert E.confidently_wrong(1.0) == 0.0 and E.confidently_wrong(10.0) > 0.3
    assert E.confidently_wrong(10.0, share=0.9) < E.confidently_wrong(10.0, share=0.5)
    assert E.initial_loss(0, 0.001) == pytest.approx(np.log(10), abs=1e-3)   # near-uniform guesses
    assert E.initial_loss(0, 10.0) > 2 * np.log(10)


def test_stuck_images_none_for_cross_entropy_many_for_squared_errors_when_confidently_wrong():
    for scale in (0.001, 1.0, 10.0):
        assert E.stuck_images("cross-entropy", scale) == 0.0        # its gradient is exactly p − y
    for head in E.HEADS[1:]:
        assert E.stuck_images(head, 0.001) == 0.0                   # near the uniform point: the matched push
        assert E.stuck_images(head, 10.0) > 0.2
        assert E.stuck_images(head, 10.0, weak=0.01) <= E.stuck_images(head, 10.0, weak=0.1)


def test_stuck_output_is_the_sigmoid_slope_below_a_tenth_of_its_start():
    # one sigmoid output wrong by more than ½: its push relative to the matched one is 4p(1 − p)
    x, y = E.digits().train
    z = E.network(0, 10.0).forward(x)
    p = E.probabilities("MSE on sigmoid", z)
    error = p - np.eye(E.CLASSES)[y]
    stuck = (np.abs(error) > 0.5) & (4 * p * (1 - p) < 0.1)
    assert E.stuck_images("MSE on sigmoid", 10.0) == pytest.approx(np.mean(stuck.any(axis=1)))


def test_sweep_scales_every_heads_step_and_best_factor_picks_the_highest_mean():
    runs = E.sweep(1, (0.5, 1), seeds=[0], epochs=1, lr=0.1)
    assert set(runs) == {(f, h) for f in (0.5, 1) for h in E.HEADS}
    assert np.array_equal(runs[1, "cross-entropy"][0], E.train("cross-entropy", 0, 1, lr=0.1, epochs=1))
    assert np.array_equal(runs[0.5, "cross-entropy"][0], E.train("cross-entropy", 0, 1, lr=0.05, epochs=1))
    fake = {(0.5, "h"): np.array([[0.2, 0.9]]), (1, "h"): np.array([[0.5, 0.7]]), (2, "h"): np.array([[0.1, 0.1]])}
    assert E.best_factor(fake, "h") == 1


def test_unknown_head_or_squash_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown head"):
        E.head_loss("hinge")
    with pytest.raises(ValueError, match="squash"):
        E.SquaredErrorOnProbabilities("tanh")


def _exact_softmax_squared_error_grad(logits, labels):
    """The same gradient with 50-digit decimals and the Jacobian built explicitly: the reference."""
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        out = []
        for row, label in zip(logits, labels):
            e = [decimal.Decimal(float(v)).exp() for v in row]
            p = [v / sum(e) for v in e]
            dp = [2 * (pi - (1 if i == label else 0)) / logits.size for i, pi in enumerate(p)]
            out.append([float(sum(dp[i] * p[i] * ((1 if i == j else 0) - p[j]) for i in range(len(p))))
                        for j in range(len(p))])
    return np.array(out)


def test_saturated_gradients_keep_their_digits():
    # confidently wrong and confidently right samples: p ≈ 1 for one class; 1 − p must not be a difference
    logits = np.array([[30.0, 0.0, -2.0], [0.0, 25.0, 1.0], [12.0, 11.0, -3.0]])
    labels = np.array([1, 1, 2])
    loss = E.SquaredErrorOnProbabilities("softmax")
    loss.forward(logits, labels)
    np.testing.assert_allclose(loss.backward(), _exact_softmax_squared_error_grad(logits, labels), rtol=1e-12, atol=0)
    with decimal.localcontext() as ctx:
        ctx.prec = 50
        q = 1 / (1 + decimal.Decimal(40).exp())                 # σ(−40) = 1 − σ(40), exactly enough
        expected = float(2 * (-q) * (1 - q) * q / 2)           # label 0 of 2 outputs: error −q on the true class
    sig = E.SquaredErrorOnProbabilities("sigmoid")
    sig.forward(np.array([[40.0, -40.0]]), np.array([0]))
    assert sig.backward()[0, 0] == pytest.approx(expected, rel=1e-12)
