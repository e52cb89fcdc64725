"""Overfitting experiments for 06_overfitting_regularization: one network, small training sets,
one remedy at a time, repeated on several draws so that a comparison rests on more than one run.

    runs = over_draws(draws, l2=1e-2)          # one Result per draw (training set and seed), all else equal
    runs[0].history, runs[0].model, runs[0].evaluate((x, y))
    loss, acc = scores(runs, test)              # one number per draw
    paired(loss, scores(base, test)[0])         # -> Paired: mean difference, 95 % interval, draws that fell
"""
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from .losses import L1, L2, SoftmaxCrossEntropy, softmax
from .models import mlp
from .optim import Adam
from .train import EarlyStopping, evaluate, fit, predict

HIDDEN, EPOCHS, LR, BATCH_SIZE = (64, 64), 60, 1e-2, 25


def weights(model):
    """The weight matrices (parameters with 2 or more dimensions): what L1/L2 penalise."""
    return [p.data for p in model.parameters() if p.data.ndim > 1]


def weight_norm(model):
    """‖w‖ over all weight matrices joined into one vector."""
    return float(np.sqrt(sum(float(np.sum(w * w)) for w in weights(model))))


def sparsity(model, tol=1e-3):
    """Fraction of weights with |w| < tol."""
    flat = np.concatenate([w.ravel() for w in weights(model)])
    return float(np.mean(np.abs(flat) < tol))


@dataclass
class Result:
    """One training run: its History, the trained model, early stopping's epochs (None if not used)."""

    history: object
    model: object
    stopped_epoch: object = None
    best_epoch: object = None

    def evaluate(self, data):
        """(loss, accuracy) of the final model (eval mode) on data = (x, y); early stopping has
        already put back the weights of its best epoch."""
        return evaluate(self.model, SoftmaxCrossEntropy(), *data)

    def accuracy(self, data):
        return self.evaluate(data)[1]


def experiment(train, val=None, hidden=HIDDEN, dropout=0.0, batchnorm=False, l2=0.0, l1=0.0, patience=None,
               epochs=EPOCHS, lr=LR, batch_size=BATCH_SIZE, seed=0):
    """Train an ``mlp`` with Adam on ``train`` = (x, y); returns a ``Result``.

    val: measured after every epoch (None: not measured, which is faster); l2, l1: penalty
    strengths (0 = off); patience: early stopping on the validation loss, restoring the best
    weights (None = off; needs ``val``). ``seed`` draws the initial weights, the mini-batches and
    the dropout masks. Runs on one BLAS thread (faster for these small matrices).
    """
    if patience and val is None:
        raise ValueError("experiment: early stopping (patience=...) watches the validation loss: pass val=(x, y).")
    x, y = train
    classes = int(max(y.max(), -1 if val is None else val[1].max())) + 1
    rng = np.random.default_rng(seed)
    model = mlp([x.shape[1], *hidden, classes], rng, batchnorm=batchnorm, dropout=dropout)
    penalties = [p for p in (L2(l2) if l2 else None, L1(l1) if l1 else None) if p is not None]
    stopper = EarlyStopping(patience=patience, restore_best=True) if patience else None
    with threadpool_limits(1):
        history = fit(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=lr), train, val, epochs=epochs,
                      batch_size=min(batch_size, len(x)), rng=rng, progress=False, penalties=penalties,
                      callbacks=[stopper] if stopper else [])
    if stopper is None:
        return Result(history, model)
    return Result(history, model, stopper.stopped_epoch, stopper.best_epoch)


def over_draws(draws, val=None, **remedy):
    """One ``experiment`` per draw: draw s trains on ``draws[s]`` with seed s. Every remedy run
    over the same draws starts from the same initial weights, so the runs are paired."""
    return [experiment(train, val, seed=s, **remedy) for s, train in enumerate(draws)]


@dataclass
class Paired:
    """Differences after − before, one per draw: their mean, the 95 % t-interval of the mean,
    and the number of draws in which the difference was negative."""

    differences: np.ndarray

    @property
    def mean(self):
        return float(np.mean(self.differences))

    @property
    def interval(self):
        from scipy.special import stdtrit            # Student's t quantile (scipy comes with scikit-learn)
        d, n = self.differences, len(self.differences)
        half = stdtrit(n - 1, 0.975) * np.std(d, ddof=1) / np.sqrt(n)
        return self.mean - half, self.mean + half

    @property
    def negative(self):
        return int(np.sum(self.differences < 0))

    @property
    def positive(self):
        return int(np.sum(self.differences > 0))

    def format(self, digits=3, better="lower"):
        """'-0.176 [-0.272, -0.081], lower in 5/5': mean, 95 % interval, and in how many draws the
        difference went the ``better`` way ("lower" or "higher")."""
        if better not in ("lower", "higher"):
            raise ValueError(f'Paired.format: better must be "lower" or "higher", got {better!r}.')
        low, high = self.interval
        count = self.negative if better == "lower" else self.positive
        return (f"{self.mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}], "
                f"{better} in {count}/{len(self.differences)}")


def paired(after, before):
    """``Paired`` differences of two measurements on the same draws (lists or arrays of equal length)."""
    after, before = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    if after.shape != before.shape or after.ndim != 1 or len(after) < 2:
        raise ValueError(f"paired needs two 1-D measurements of the same ≥ 2 draws, got shapes "
                         f"{after.shape} and {before.shape}.")
    return Paired(after - before)


def scores(runs, data):
    """(losses, accuracies) of each run's final model on data = (x, y), as two arrays."""
    losses, accuracies = np.array([r.evaluate(data) for r in runs]).T
    return losses, accuracies


def confidence(model, data):
    """Mean probability the model gives to its own prediction (eval mode), on the samples of
    data = (x, y) that it gets wrong and on those it gets right: (on_wrong, on_right)."""
    x, y = data
    p = softmax(predict(model, x))
    right = p.argmax(axis=1) == y
    top = p.max(axis=1)
    return float(top[~right].mean()), float(top[right].mean())


def spread(values, digits=3, scale=1.0):
    """'mean ± sd' of measurements over draws (sd with n − 1), e.g. '0.572 ± 0.122'."""
    values = scale * np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"
