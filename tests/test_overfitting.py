"""bpcourse.overfitting: the network, the measures, the experiment runner of lesson 06 and its paired statistics."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.overfitting import confidence, experiment, over_draws, paired, scores, sparsity, spread, weight_norm, weights


@pytest.fixture(scope="module")
def tiny():
    x, y = bp.data.moons(40, noise=0.2, seed=0)
    xv, yv = bp.data.moons(60, noise=0.2, seed=1)
    return (x, y), (xv, yv)


def test_mlp_layers_in_order():
    net = bp.mlp([2, 4, 5, 3], np.random.default_rng(0), dropout=0.5, batchnorm=True)
    assert [type(l).__name__ for l in net] == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert [(l.in_features, l.out_features) for l in net if isinstance(l, bp.Linear)] == [(2, 4), (4, 5), (5, 3)]
    with pytest.raises(ValueError, match="explicit rng"):
        bp.mlp([2, 3], None)
    with pytest.raises(ValueError, match="at least an input and an output size"):
        bp.mlp([2], np.random.default_rng(0))


def test_weight_norm_and_sparsity_count_only_weight_matrices():
    net = bp.mlp([2, 3, 2], np.random.default_rng(0))
    for p in net.parameters():
        p.data[...] = 0.0
    net[0].weight.data[0, 0] = 3.0
    net[2].weight.data[0, 0] = 4.0
    net[0].bias.data[...] = 100.0                        # a bias: not penalised, not counted
    assert weight_norm(net) == pytest.approx(5.0)
    assert len(weights(net)) == 2
    assert sparsity(net) == pytest.approx(1 - 2 / (2 * 3 + 3 * 2))


def test_l2_shrinks_the_weights(tiny):
    plain = experiment(*tiny, hidden=(16,), epochs=30, lr=0.01)
    decayed = experiment(*tiny, hidden=(16,), epochs=30, lr=0.01, l2=0.1)
    assert weight_norm(decayed.model) < 0.8 * weight_norm(plain.model)


def test_same_seed_same_result(tiny):
    a = experiment(*tiny, hidden=(8,), epochs=5, dropout=0.3)
    b = experiment(*tiny, hidden=(8,), epochs=5, dropout=0.3)
    assert a.history.val_loss == b.history.val_loss


def test_without_val_nothing_is_measured_per_epoch_but_the_model_is_the_same(tiny):
    watched = experiment(*tiny, hidden=(8,), epochs=5)
    blind = experiment(tiny[0], None, hidden=(8,), epochs=5)
    assert np.all(np.isnan(blind.history.val_loss)) and not np.any(np.isnan(watched.history.val_loss))
    assert blind.evaluate(tiny[1]) == watched.evaluate(tiny[1])       # measuring does not change training
    with pytest.raises(ValueError, match="pass val"):
        experiment(tiny[0], None, patience=3)


def test_early_stopping_restores_the_best_epoch(tiny):
    r = experiment(*tiny, hidden=(64, 64), epochs=200, lr=0.03, batch_size=40, patience=5)
    h = r.history
    assert r.stopped_epoch is not None and r.stopped_epoch == len(h) == r.best_epoch + 5
    assert r.best_epoch == int(np.argmin(h.val_loss)) + 1
    restored_loss = bp.evaluate(r.model, bp.SoftmaxCrossEntropy(), *tiny[1])[0]
    assert restored_loss == pytest.approx(h.val_loss[r.best_epoch - 1])


def test_over_draws_pairs_the_runs_draw_by_draw(tiny):
    (x, y), val = tiny
    draws = [(x[:20], y[:20]), (x[20:], y[20:])]
    runs = over_draws(draws, hidden=(8,), epochs=3, l2=1e-3)
    for s, (r, d) in enumerate(zip(runs, draws)):
        alone = experiment(d, hidden=(8,), epochs=3, l2=1e-3, seed=s)
        assert r.evaluate(val) == alone.evaluate(val)
    first = [bp.mlp([2, 8, 2], np.random.default_rng(s))[0].weight.data for s in range(2)]
    assert not np.allclose(first[0], first[1])          # each draw starts from its own initial weights
    losses, accuracies = scores(runs, val)
    assert losses.shape == accuracies.shape == (2,)
    assert accuracies[0] == runs[0].accuracy(val)


def test_paired_interval_matches_a_hand_computation():
    p = paired([1.0, 2.0, 3.0, 4.0, 6.0], [0.0] * 5)
    # mean 3.2, sd = sqrt(14.8 / 4) = 1.9235, t(0.975, 4 dof) = 2.7764 (tables)
    half = 2.7764 * np.sqrt(14.8 / 4) / np.sqrt(5)
    assert p.mean == pytest.approx(3.2)
    assert p.interval == pytest.approx((3.2 - half, 3.2 + half), abs=1e-3)
    assert (p.negative, p.positive) == (0, 5)
    assert p.format(1) == "+3.2 [+0.8, +5.6], lower in 0/5"
    assert p.format(1, "higher") == "+3.2 [+0.8, +5.6], higher in 5/5"


def test_paired_refuses_unpaired_measurements():
    with pytest.raises(ValueError, match="same"):
        paired([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="same"):
        paired([1.0], [2.0])


def test_spread_is_mean_and_sample_sd():
    assert spread([1.0, 2.0, 3.0], 2) == "2.00 ± 1.00"
    assert spread([0.5, 0.5], 1, scale=100) == "50.0 ± 0.0"


def test_confidence_splits_right_from_wrong_predictions():
    """A one-layer net with hand-set weights: logits = x, so the softmax of each row is known."""
    net = bp.Sequential(bp.Linear(2, 2, rng=np.random.default_rng(0)))
    net[0].weight.data[...] = np.eye(2)
    net[0].bias.data[...] = 0.0
    x = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    y = np.array([0, 1, 1])                              # the third is predicted 0: wrong
    top = lambda a, b: np.exp(a) / (np.exp(a) + np.exp(b))
    on_wrong, on_right = confidence(net, (x, y))
    assert on_wrong == pytest.approx(top(3, 0))
    assert on_right == pytest.approx((top(2, 0) + top(1, 0)) / 2)


def test_paired_format_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="lower"):
        paired([1.0, 2.0], [0.0, 0.0]).format(better="up")
