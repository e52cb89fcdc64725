"""bpcourse.overfitting: the network, the measures and the experiment runner of lesson 06."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.overfitting import experiment, sparsity, weight_norm, weights


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


def test_early_stopping_restores_the_best_epoch(tiny):
    r = experiment(*tiny, hidden=(64, 64), epochs=200, lr=0.03, batch_size=40, patience=5)
    h = r.history
    assert r.stopped_epoch is not None and r.stopped_epoch == len(h) == r.best_epoch + 5
    assert r.best_epoch == int(np.argmin(h.val_loss)) + 1
    restored_loss = bp.evaluate(r.model, bp.SoftmaxCrossEntropy(), *tiny[1])[0]
    assert restored_loss == pytest.approx(h.val_loss[r.best_epoch - 1])
