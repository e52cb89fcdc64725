"""Deep MLPs for the vanishing/exploding-gradients lesson, and the experiments run on them.

    model = make_mlp(depth=20, width=64, activation="sigmoid", init="xavier", rng=rng)
    norms = gradient_norms(model, x, y)          # one ‖∂L/∂W‖ per Linear layer, input side first
    runs = train_seeds(splits, seeds=range(5), epochs=4, depth=10, width=64, activation="relu", init="he")

``depth`` counts Linear layers. Every hidden block is ``Linear → [BatchNorm1d] → activation``;
with ``residual=True`` each hidden block after the first is wrapped as ``x + block(x)``.
"""
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np
from threadpoolctl import threadpool_limits

from .diagnostics import Recorder, activation_layers, layer_statistics, linear_layers
from .layers import BatchNorm1d, LeakyReLU, Linear, ReLU, Residual, Sequential, Sigmoid, Tanh
from .losses import SoftmaxCrossEntropy
from .optim import SGD
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


def grid_of_gradient_norms(x, y, activations, inits, depth=15, width=64, seeds=(0,)):
    """Per-layer gradient norms for every (activation, init) pair and seed, all on the same batch.

    Returns {(activation, init): array (len(seeds), depth)}; seed s builds the same weights for every pair.
    """
    out = {}
    with threadpool_limits(1), np.errstate(over="ignore", invalid="ignore"):
        for act in activations:
            for init in inits:
                out[act, init] = np.array([
                    gradient_norms(make_mlp(depth, width, act, init, in_features=x.shape[1],
                                            out_features=int(y.max()) + 1, rng=np.random.default_rng(seed)), x, y)
                    for seed in seeds])
    return out


def integer_ticks(ax):
    """Layer numbers on the x axis: integers only (never a tick at layer 2.5)."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return ax


# -- inside a network: the residual stream, dead units ----------------------------------------

def residual_stream(model, x):
    """Run ``x`` through ``model`` one top-level layer at a time and measure the residual stream
    around every top-level ``Residual`` block, x_out = x_in + F(x_in), averaged over all entries:

    ``ms_in`` E[x_in²], ``ms_branch`` E[F²], ``cross`` 2·E[x_in·F], ``ms_out`` E[x_out²]
    (= ms_in + ms_branch + cross), ``mean_out`` E[x_out] and ``rms_out`` sqrt(E[x_out²]).
    Returns a dict of arrays, one entry per Residual block.
    """
    rows = []
    h = x
    for layer in model:
        out = layer(h)
        if isinstance(layer, Residual):
            branch = out - h
            rows.append((np.mean(h * h), np.mean(branch * branch), 2 * np.mean(h * branch),
                         np.mean(out * out), np.mean(out)))
        h = out
    keys = ("ms_in", "ms_branch", "cross", "ms_out", "mean_out")
    stream = {k: np.array([r[i] for r in rows]) for i, k in enumerate(keys)}
    stream["rms_out"] = np.sqrt(stream["ms_out"])
    return stream


def dead_fraction(model, x, per_layer=False):
    """Fraction of the hidden units of ReLU-family layers that are inactive (slope below 10 % of
    the largest) on EVERY sample of ``x``: dead units, which no sample can train.
    ``per_layer=True``: one fraction per ReLU-family layer (input side first) instead of the overall one."""
    model.forward(x)
    dead = [np.all(l.df() < 0.1 * l.max_slope, axis=0) for l in activation_layers(model)
            if isinstance(l, (ReLU, LeakyReLU))]
    if per_layer:
        return np.array([float(np.mean(d)) for d in dead])
    return float(np.mean(np.concatenate(dead))) if dead else float("nan")


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
    norms, the Recorder (if asked for), the model, the error message of a diverged run, and
    before training, on the first 256 training samples: ``start`` every Linear layer's ‖∂L/∂W‖,
    ``start_relative`` its ‖∂L/∂W‖/‖W‖, ``start_loss`` the loss."""

    history: object
    norms: np.ndarray
    recorder: object
    model: object
    error: str = None
    start: np.ndarray = None
    start_relative: np.ndarray = None
    start_loss: float = None

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
    these small matrices); ``seed`` orders the batches. A run whose loss becomes NaN/inf returns
    with ``error`` set instead of raising.
    ``record=True`` adds a ``diagnostics.Recorder`` (per-layer gradient norms, update ratios, saturation).
    """
    log = GradNormLog()
    recorder = Recorder() if record else None
    callbacks = [log] + ([recorder] if record else [])
    opt = SGD(model.parameters(), lr=lr, momentum=momentum)
    history, error = None, None
    x, y = splits.train
    with threadpool_limits(1):
        with np.errstate(over="ignore", invalid="ignore"):
            stats = layer_statistics(model, SoftmaxCrossEntropy(), x[:256], y[:256])
        weights = np.array([np.linalg.norm(l.weight.data) for l in linear_layers(model)])
        try:
            history = fit(model, SoftmaxCrossEntropy(), opt, splits.train, splits.val, epochs=epochs,
                          batch_size=batch_size, rng=np.random.default_rng(seed), progress=False,
                          callbacks=callbacks, clip_norm=clip_norm)
        except FloatingPointError as err:
            error = str(err)
    return Run(history, np.array(log.norms), recorder, model, error,
               stats["grad_norms"], stats["grad_norms"] / weights, stats["loss"])


def train_seeds(splits, seeds, epochs=4, lr=0.02, clip_norm=None, record_first=False, **net):
    """``train`` a fresh ``make_mlp(**net)`` per seed (the seed draws the weights and orders the
    batches, so two configurations trained with the same seeds form pairs). Returns a list of Runs;
    ``record_first`` records the first seed's run."""
    return [train(make_mlp(rng=np.random.default_rng(seed), **net), splits, epochs=epochs, lr=lr,
                  clip_norm=clip_norm, seed=seed, record=record_first and i == 0)
            for i, seed in enumerate(seeds)]


def spread(values, digits=1):
    """"mean ± sd (min … max)" of a few measurements (sd with ddof=1), for printing."""
    v = np.asarray(values, dtype=float)
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    return f"{v.mean():.{digits}f} ± {sd:.{digits}f} ({v.min():.{digits}f} … {v.max():.{digits}f})"


def plot_gradient_grid(grid, axes=None):
    """``grid_of_gradient_norms`` as one log-scale panel per activation, one line per init: the
    median over seeds, shaded from the smallest to the largest seed."""
    acts = list(dict.fromkeys(a for a, _ in grid))
    inits = list(dict.fromkeys(i for _, i in grid))
    if axes is None:
        _, axes = plt.subplots(1, len(acts), figsize=(3.3 * len(acts) + 1.3, 2.9), sharey=True,
                               constrained_layout=True, squeeze=False)
        axes = axes[0]
    for ax, act in zip(axes, acts):
        for init in inits:
            norms = np.clip(np.nan_to_num(np.atleast_2d(grid[act, init]), nan=1e-30), 1e-30, 1e30)
            layers = np.arange(1, norms.shape[1] + 1)
            line, = ax.semilogy(layers, np.median(norms, axis=0), marker=".", label=init)
            ax.fill_between(layers, norms.min(axis=0), norms.max(axis=0), color=line.get_color(), alpha=0.25)
        ax.set_title(act, fontsize=10)
        ax.set_xlabel("layer (1 = input side)")
        integer_ticks(ax)
    axes[0].set_ylabel("‖∂L/∂W‖")
    axes[-1].legend(title="init", fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return axes
