"""Overfitting experiments for 06_overfitting_regularization: one network, one small data set,
one remedy at a time.

    result = experiment(train=(x, y), val=(xv, yv), l2=1e-3, dropout=0.2, patience=10)
    result.history, result.model, result.stopped_epoch, result.best_epoch
"""
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .models import mlp
from .losses import L1, L2, SoftmaxCrossEntropy
from .optim import Adam
from .train import EarlyStopping, evaluate, fit


def weights(model):
    """The weight matrices (parameters with 2 or more dimensions): what L1/L2 penalise."""
    return [p.data for p in model.parameters() if p.data.ndim > 1]


def weight_norm(model):
    """‖w‖ over all weight matrices joined into one vector."""
    return float(np.sqrt(sum(float(np.sum(w * w)) for w in weights(model))))


def sparsity(model, tol=1e-3):
    """Fraction of weights with |w| < tol (L1 drives many to (nearly) exactly 0)."""
    flat = np.concatenate([w.ravel() for w in weights(model)])
    return float(np.mean(np.abs(flat) < tol))


@dataclass
class Result:
    """One training run: its History, the trained model, early stopping's epochs (None if not used)."""

    history: object
    model: object
    stopped_epoch: object = None
    best_epoch: object = None

    @property
    def epochs_run(self):
        return len(self.history)

    def accuracy(self, data):
        """Accuracy (eval mode) of the final model, which early stopping has reset to its best epoch."""
        return evaluate(self.model, SoftmaxCrossEntropy(), *data)[1]


def experiment(train, val, hidden=(128, 128), dropout=0.0, batchnorm=False, l2=0.0, l1=0.0, patience=None,
               epochs=100, lr=3e-3, batch_size=32, seed=0):
    """Train an ``mlp`` with Adam on ``train``, measuring ``val`` every epoch.

    l2, l1: penalty strengths (0 = off); patience: early stopping on the validation loss, restoring
    the best weights (None = off). Runs on one BLAS thread (faster for these small matrices).
    """
    x, y = train
    classes = int(max(y.max(), val[1].max())) + 1
    rng = np.random.default_rng(seed)
    model = mlp([x.shape[1], *hidden, classes], rng, batchnorm=batchnorm, dropout=dropout)
    penalties = [p for p in (L2(l2) if l2 else None, L1(l1) if l1 else None) if p is not None]
    stopper = EarlyStopping(patience=patience, restore_best=True) if patience else None
    with threadpool_limits(1):
        history = fit(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=lr), train, val, epochs=epochs,
                      batch_size=batch_size, rng=rng, progress=False, penalties=penalties,
                      callbacks=[stopper] if stopper else [])
    if stopper is None:
        return Result(history, model)
    return Result(history, model, stopper.stopped_epoch, stopper.best_epoch)
