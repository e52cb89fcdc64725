"""The debugging recipe of lesson 10: cheap experiments that work on any network.

    losses = overfit_one_batch(model, loss_fn, optimizer, x[:16], y[:16], steps=200)
    lrs, losses = lr_range_test(model, loss_fn, optimizer, (x, y), rng=rng)
    run = curve_run("too_noisy")        # one of the loss-curve shapes the lesson's quiz shows

Each runs a plain loop (``train_steps``) that records the loss of every step and
stops at the first NaN or inf, keeping it: a run that diverges is a result here,
not an error.
"""
from dataclasses import dataclass, field
import functools

import numpy as np
from threadpoolctl import ThreadpoolController

from . import data as datasets
from .layers import LeakyReLU
from .losses import SoftmaxCrossEntropy
from .models import mlp
from .optim import SGD


@dataclass
class Run:
    """A training run, step by step: the loss of every step's mini-batch (``train``, the last
    entry NaN or inf if it diverged), and the validation loss every few steps."""

    train: np.ndarray
    val_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    val: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def diverged_at(self):
        """The step (from 1) whose loss was NaN or inf, or None."""
        bad = np.flatnonzero(~np.isfinite(self.train))
        return int(bad[0]) + 1 if bad.size else None


@functools.lru_cache(maxsize=1)
def _blas():
    """Finding the BLAS libraries takes 0.1 s: once per session."""
    return ThreadpoolController()


@functools.lru_cache(maxsize=1)
def digits():
    """The digits splits the lesson's experiments use (loaded once)."""
    return datasets.digits(seed=0)


def digits_mlp(seed):
    """The recipe's network: an MLP 64 → 64 → 64 → 10 with leaky ReLUs, He init drawn from ``seed``."""
    return mlp([64, 64, 64, 10], np.random.default_rng(seed), activation=LeakyReLU)


def sgd_val_loss(lr, seed, steps=100, batch_size=32):
    """Train ``digits_mlp(seed)`` with SGD (momentum 0.9) at ``lr`` for ``steps`` steps; return its
    validation loss, or inf if the run diverged (NaN or inf loss)."""
    splits, model = digits(), digits_mlp(seed)
    run = train_steps(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=lr, momentum=0.9), splits.train,
                      steps, batch_size, np.random.default_rng(seed))
    if run.diverged_at is not None:
        return float("inf")
    model.eval()
    with np.errstate(over="ignore", invalid="ignore"):
        loss = SoftmaxCrossEntropy().forward(model.forward(splits.val[0]), splits.val[1])
    return loss if np.isfinite(loss) else float("inf")


def _minibatches(x, y, batch_size, rng):
    """Endless mini-batches: the data reshuffled every epoch."""
    while True:
        yield from datasets.batches(x, y, batch_size, shuffle=True, rng=rng)


def train_steps(model, loss_fn, optimizer, train, steps, batch_size, rng, val=None, val_every=10,
                lr_schedule=None, zero_grad=True):
    """``steps`` optimizer steps on mini-batches of ``train`` = (x, y); returns a ``Run``.

    lr_schedule: lr for each step (a sequence of ``steps`` numbers), set before the step.
    zero_grad=False reproduces the classic bug (gradients pile up from step to step).
    Stops at the first non-finite loss. Validation (in eval mode) every ``val_every`` steps.
    """
    x, y = train
    losses, val_steps, val_losses = [], [], []
    stream = _minibatches(x, y, batch_size, rng)
    with _blas().limit(limits=1), np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, steps + 1):
            if lr_schedule is not None:
                for group in optimizer.param_groups:
                    group["lr"] = float(lr_schedule[step - 1])
            xb, yb = next(stream)
            model.train()
            loss = loss_fn.forward(model.forward(xb), yb)
            losses.append(loss)
            if not np.isfinite(loss):
                break
            if zero_grad:
                model.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
            if val is not None and step % val_every == 0:
                model.eval()
                val_steps.append(step)
                val_losses.append(loss_fn.forward(model.forward(val[0]), val[1]))
    model.train()
    return Run(np.array(losses), np.array(val_steps, int), np.array(val_losses))


def overfit_one_batch(model, loss_fn, optimizer, x, y, steps=200, zero_grad=True):
    """Train on the same small batch ``steps`` times; returns the loss of every step.

    A correct model, loss, backward and optimizer drive it to about zero: a network
    with more parameters than the batch has samples can memorise them.
    """
    run = train_steps(model, loss_fn, optimizer, (x, y), steps, len(x), np.random.default_rng(0),
                      zero_grad=zero_grad)
    return run.train


def lr_range_test(model, loss_fn, optimizer, train, rng, lr_min=1e-4, lr_max=10.0, steps=100, batch_size=64):
    """Raise the learning rate geometrically from ``lr_min`` to ``lr_max``, one mini-batch per lr.

    Returns (lrs, losses): the loss of each step's mini-batch, taken before that step's
    update, so losses[i] shows the effect of the steps up to lrs[i - 1]. Stops at the first
    NaN/inf (kept). The model is trained by the test: run it on a copy, or rebuild the model.
    """
    lrs = lr_min * (lr_max / lr_min) ** np.linspace(0, 1, steps)
    run = train_steps(model, loss_fn, optimizer, train, steps, batch_size, rng, lr_schedule=lrs)
    return lrs[:len(run.train)], run.train


# -- the catalogue of loss-curve shapes -------------------------------------------------------

# name -> what its loss curve looks like, the usual cause, and the cure
CURVES = {
    "healthy": "The loss falls fast, then more and more slowly, and flattens low; validation follows training.",
    "lr_too_high": "The loss falls at first, then stalls at a high level and bounces: the steps are so large "
                   "that they jump across the valley instead of descending into it. Lower the learning rate "
                   "(or decay it).",
    "lr_too_low": "The loss falls slowly and almost in a straight line, far from flat at the end: every step "
                  "is tiny. Raise the learning rate (a range test finds it).",
    "too_noisy": "The mini-batch losses scatter widely around a falling trend: each step follows the "
                 "gradient of too few samples. Use a larger batch (or a smaller learning rate), and judge "
                 "the trend, averaged, not single steps.",
    "diverging": "The loss rises within a few dozen steps and becomes inf or NaN: a step overshoots so far "
                 "that the next gradient is larger still. Lower the learning rate, clip the gradient's norm, "
                 "check the initial loss.",
    "overfitting": "The training loss keeps falling towards zero while the validation loss turns upward: "
                   "the model memorises its few training samples. More data, regularisation, early stopping.",
}

# name -> how its run differs from the healthy one (an MLP 64-64-64-10 with leaky ReLUs, SGD with
# momentum 0.9, learning rate 0.05, batches of 32, the whole training set, 200 steps)
HEALTHY = dict(train_size=None, label_noise=0.0, batch_size=32, lr=0.05, steps=200)
SETTINGS = {
    "healthy": {},
    "lr_too_high": dict(lr=0.25),
    "lr_too_low": dict(lr=0.001),
    "too_noisy": dict(batch_size=2, lr=0.01),
    "diverging": dict(lr=1.0),
    "overfitting": dict(train_size=100, label_noise=0.3, batch_size=20),
}


@functools.lru_cache(maxsize=None)
def curve_run(name, seed=0):
    """One run of the catalogue, validation loss every 10 steps. Cached: the quiz shows the same runs.

    "overfitting" trains on 10 images per class with 30 % of their labels redrawn at random
    (memorising wrong labels is what turns the validation loss upward)."""
    if name not in SETTINGS:
        raise ValueError(f"unknown curve {name!r}: choose one of {sorted(SETTINGS)}.")
    s = {**HEALTHY, **SETTINGS[name]}
    splits = digits()
    x, y = splits.train
    rng = np.random.default_rng(seed)
    if s["train_size"] is not None:
        x, y = datasets.few_per_class(x, y, s["train_size"] // 10, seed=seed)
        redraw = rng.random(len(y)) < s["label_noise"]
        y = np.where(redraw, rng.integers(0, 10, len(y)), y)
    model = digits_mlp(seed)
    optimizer = SGD(model.parameters(), lr=s["lr"], momentum=0.9)
    return train_steps(model, SoftmaxCrossEntropy(), optimizer, (x, y), s["steps"], s["batch_size"], rng,
                       val=splits.val)
