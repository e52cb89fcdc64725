"""Deep MLPs for the vanishing/exploding-gradients lesson, and the experiments run on them.

    model = make_mlp(depth=20, width=64, activation="sigmoid", init="xavier", rng=rng)
    norms = gradient_norms(model, x, y)          # one ‖∂L/∂W‖ per Linear layer, input side first

``depth`` counts Linear layers. Every hidden block is ``Linear → [BatchNorm1d] → activation``;
with ``residual=True`` each hidden block after the first is wrapped as ``x + block(x)``.
"""
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from .diagnostics import Recorder, layer_statistics, linear_layers
from .layers import BatchNorm1d, LeakyReLU, Linear, ReLU, Residual, Sequential, Sigmoid, Tanh
from .losses import SoftmaxCrossEntropy
from .optim import SGD
from .plots import plot_gradient_norms
from .train import Callback, fit

ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU}

# init name -> the standard deviation of W for a (fan_in, fan_out) weight
INIT_STD = {
    "small": lambda fan_in, fan_out: 0.01,
    "xavier": lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out)),
    "he": lambda fan_in, fan_out: np.sqrt(2.0 / fan_in),
    "large": lambda fan_in, fan_out: 1.0,
}


def init_std(init, fan_in, fan_out, scale=1.0):
    """Standard deviation of a normal weight init: "small" (0.01), "xavier", "he" or "large" (1.0),
    multiplied by ``scale``."""
    if init not in INIT_STD:
        raise ValueError(f"unknown init {init!r}: choose one of {sorted(INIT_STD)}.")
    return float(scale) * float(INIT_STD[init](fan_in, fan_out))


def make_mlp(depth, width, activation="relu", init="he", scale=1.0, batchnorm=False, residual=False,
             in_features=64, out_features=10, rng=None):
    """A plain deep MLP with ``depth`` Linear layers (``depth - 1`` hidden blocks of ``width`` units).

    init: "small" | "xavier" | "he" | "large" (normal weights, see ``init_std``), times ``scale``.
    batchnorm: BatchNorm1d between each hidden Linear and its activation.
    residual: hidden blocks after the first become ``Residual(Linear → [BN] → activation)``.
    """
    if depth < 2:
        raise ValueError(f"make_mlp needs depth ≥ 2 (an input and an output layer), got {depth}.")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: choose one of {sorted(ACTIVATIONS)}.")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("make_mlp needs an explicit rng, e.g. rng=np.random.default_rng(0).")

    def linear(n_in, n_out):
        return Linear(n_in, n_out, init="normal", std=init_std(init, n_in, n_out, scale), rng=rng)

    layers = []
    for i in range(depth - 1):
        block = [linear(in_features if i == 0 else width, width)]
        if batchnorm:
            block.append(BatchNorm1d(width))
        block.append(ACTIVATIONS[activation]())
        if residual and i > 0:
            layers.append(Residual(Sequential(*block)))
        else:
            layers.extend(block)
    layers.append(linear(width, out_features))
    return Sequential(*layers)


def gradient_norms(model, x, y, loss_fn=None):
    """‖∂L/∂W‖ of every Linear layer (input side first) after one forward/backward pass."""
    return layer_statistics(model, loss_fn or SoftmaxCrossEntropy(), x, y)["grad_norms"]


def first_to_last(norms):
    """How much weaker the first layer's gradient is than the last's: norms[0] / norms[-1]."""
    norms = np.asarray(norms, dtype=float)
    return float(norms[0] / norms[-1]) if norms[-1] > 0 else float("nan")


def grid_of_gradient_norms(x, y, activations, inits, depth=15, width=64, seed=0):
    """Per-layer gradient norms for every (activation, init) pair, same data, same seed.

    Returns {(activation, init): norms}.
    """
    out = {}
    with threadpool_limits(1):
        out.update(_grid(x, y, activations, inits, depth, width, seed))
    return out


def _grid(x, y, activations, inits, depth, width, seed):
    out = {}
    for act in activations:
        for init in inits:
            model = make_mlp(depth, width, act, init, in_features=x.shape[1],
                             out_features=int(y.max()) + 1, rng=np.random.default_rng(seed))
            with np.errstate(over="ignore", invalid="ignore"):
                out[act, init] = gradient_norms(model, x, y)
    return out


def first_layer_gradient(model, x, y):
    """‖∂L/∂W‖ of the first Linear layer (the one that learns slowest when gradients vanish)."""
    return float(gradient_norms(model, x, y)[0])


def n_linear(model):
    return len(linear_layers(model))


# -- training runs for the lesson -------------------------------------------------------------

class GradNormLog(Callback):
    """Records the total gradient norm of every step, before any clipping (``fit`` clips after callbacks)."""

    def __init__(self):
        self.norms = []

    def on_backward_end(self, model):
        self.norms.append(math.hypot(*(float(np.linalg.norm(p.grad)) for p in model.parameters())))


@dataclass
class Run:
    """The outcome of ``train``: its History (None if it blew up), the per-step total gradient
    norms, the Recorder (if asked for), the model, and the error message of a diverged run."""

    history: object
    norms: np.ndarray
    recorder: object
    model: object
    error: str = None

    @property
    def val_acc(self):
        return float("nan") if self.history is None else float(self.history.val_acc[-1])

    def summary(self):
        if self.error:
            return "diverged: " + self.error
        h = self.history
        return f"train loss {h.train_loss[-1]:.3g}, val acc {100 * h.val_acc[-1]:.1f}%"


def train(model, splits, epochs=6, lr=0.02, momentum=0.9, batch_size=64, clip_norm=None, seed=0, record=False):
    """SGD with momentum on ``splits`` (a ``data.digits()`` result), one BLAS thread (faster for
    these small matrices). A run whose loss becomes NaN/inf returns with ``error`` set instead of raising.
    ``record=True`` adds a ``diagnostics.Recorder`` (per-layer gradient norms, update ratios, saturation).
    """
    log = GradNormLog()
    recorder = Recorder() if record else None
    callbacks = [log] + ([recorder] if record else [])
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    history, error = None, None
    with threadpool_limits(1):
        try:
            history = fit(model, SoftmaxCrossEntropy(), opt, splits.train, splits.val, epochs=epochs,
                          batch_size=batch_size, rng=np.random.default_rng(seed), progress=False,
                          callbacks=callbacks, clip_norm=clip_norm)
        except FloatingPointError as err:
            error = str(err)
    return Run(history, np.array(log.norms), recorder, model, error)


def plot_gradient_grid(grid, axes=None, depth_label=True):
    """One ``plot_gradient_norms`` bar chart per (activation, init) of ``grid_of_gradient_norms``,
    activations as rows and inits as columns, all on one shared log scale."""
    acts = list(dict.fromkeys(a for a, _ in grid))
    inits = list(dict.fromkeys(i for _, i in grid))
    if axes is None:
        _, axes = plt.subplots(len(acts), len(inits), figsize=(2.6 * len(inits), 2.0 * len(acts)),
                               sharey=True, constrained_layout=True, squeeze=False)
    for r, act in enumerate(acts):
        for c, init in enumerate(inits):
            ax = axes[r][c]
            plot_gradient_norms(np.clip(np.nan_to_num(grid[act, init], nan=1e-30), 1e-30, 1e30), ax=ax,
                                title=f"{act}, {init}")
            ax.title.set_fontsize(9)
            if c:
                ax.set_ylabel("")
            if r < len(acts) - 1:
                ax.set_xlabel("")
    return axes
