"""Lesson 10's recurrent experiments: gradients through time, and training with and without clipping.

    ratios = gradient_through_time(gain=2.0, steps=60, seed=0)   # ‖∂L/∂x_{T-k}‖ / ‖∂L/∂x_T‖, k = 0 … 59
    run = train_running_sum(lr=0.2, clip_norm=1.0, seed=0)      # per-step loss, gradient norm, ρ(W_hh)

The task: read a sequence of T numbers and output their sum divided by sqrt(T) (a target of
variance 1, so predicting 0 scores a mean squared error of 1). The network must carry a running
total through every step: W_hh has to keep information for T steps, which puts it right at the
edge between vanishing and exploding gradients.
"""
import functools
import math
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from .layers import Linear, Sequential
from .losses import MSELoss
from .optim import SGD, clip_grad_norm
from .recurrent import RNN


@functools.lru_cache(maxsize=1)
def _blas():
    return ThreadpoolController()           # finding the BLAS libraries takes 0.1 s: once


def running_sum(n, steps, rng):
    """n sequences of ``steps`` standard-normal numbers: x (n, steps, 1), y = sum / sqrt(steps): (n, 1)."""
    x = rng.standard_normal((n, steps, 1))
    return x, x.sum(axis=1) / np.sqrt(steps)


def spectral_radius(w):
    """The largest |eigenvalue| of a square matrix: how much W_hh stretches a vector per step, in the long run."""
    return float(np.abs(np.linalg.eigvals(w)).max()) if np.all(np.isfinite(w)) else float("inf")


def gradient_through_time(gain, steps=60, seed=0, hidden=32, inputs=4, batch=16):
    """How the gradient changes on its way back through time, at initialisation.

    A tanh RNN with W_hh of the given ``gain`` reads ``steps`` random inputs; the loss is a random
    projection of the last hidden state. Returns r of shape (steps,): r[k] = ‖∂L/∂x_{T-k}‖ / ‖∂L/∂x_T‖,
    the gradient reaching the input k steps before the end, relative to the last input's.
    """
    rng = np.random.default_rng(seed)
    rnn = RNN(inputs, hidden, gain=gain, return_sequences=False, rng=rng)
    x = rng.standard_normal((batch, steps, inputs))
    with _blas().limit(limits=1):
        out = rnn.forward(x)
        dx = rnn.backward(rng.standard_normal(out.shape))     # L = Σ v · h_T, v random
    norms = np.linalg.norm(dx, axis=(0, 2))[::-1]               # k = 0 is the last step
    return norms / norms[0]


@dataclass
class RNNRun:
    """One training run on the running sum: per step the mini-batch loss, the total gradient norm
    (before clipping) and W_hh's spectral radius after the step; the final validation loss (MSE)."""

    losses: np.ndarray
    norms: np.ndarray
    radius: np.ndarray
    val_loss: float

    @property
    def exploded(self):
        """The weights were thrown out of range: the validation loss is not even below 10 × that of
        predicting 0 (a mean squared error of 1)."""
        return not self.val_loss < 10.0


def running_sum_model(seed, hidden=16):
    """RNN(1 → hidden, tanh, gain 1) reading the sequence, then Linear(hidden → 1) on the last state."""
    rng = np.random.default_rng(seed)
    return Sequential(RNN(1, hidden, return_sequences=False, rng=rng), Linear(hidden, 1, init="xavier", rng=rng))


def train_running_sum(lr, clip_norm=None, seed=0, steps=150, length=20, batch=32):
    """Plain SGD on the running-sum task, optionally clipping the gradients' global norm.

    The seed fixes the initial weights AND the stream of mini-batches, so runs that differ only in
    ``lr`` or ``clip_norm`` are paired. A run whose loss passes 1e6 (a million times that of
    predicting 0) or becomes NaN/inf has exploded and stops there.
    """
    model = running_sum_model(seed)
    params = model.parameters()
    optimizer = SGD(params, lr=lr)
    loss_fn = MSELoss()
    rng = np.random.default_rng(1000 + seed)
    losses, norms, radius = [], [], []
    with _blas().limit(limits=1), np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            x, y = running_sum(batch, length, rng)
            model.zero_grad()
            loss = loss_fn.forward(model.forward(x), y)
            losses.append(loss)
            if not loss < 1e6:
                break
            model.backward(loss_fn.backward())
            if clip_norm is None:
                norms.append(math.hypot(*(float(np.linalg.norm(p.grad)) for p in params)))
            else:
                norms.append(clip_grad_norm(params, clip_norm))
            optimizer.step()
            radius.append(spectral_radius(model[0].weight_hh.data))
        xv, yv = running_sum(500, length, np.random.default_rng(999))
        val = loss_fn.forward(model.forward(xv), yv)
    return RNNRun(np.array(losses), np.array(norms), np.array(radius), float(val))
