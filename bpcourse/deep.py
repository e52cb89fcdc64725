"""Deep MLPs for the vanishing/exploding-gradients lesson, and the experiments run on them.

    model = make_mlp(depth=20, width=64, activation="sigmoid", init="xavier", rng=rng)
    norms = gradient_norms(model, x, y)          # one ‖∂L/∂W‖ per Linear layer, input side first

``depth`` counts Linear layers. Every hidden block is ``Linear → [BatchNorm1d] → activation``;
with ``residual=True`` each hidden block after the first is wrapped as ``x + block(x)``.
"""
import numpy as np

from .diagnostics import layer_statistics, linear_layers
from .layers import BatchNorm1d, LeakyReLU, Linear, ReLU, Residual, Sequential, Sigmoid, Tanh
from .losses import SoftmaxCrossEntropy

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
