"""The multi-layer perceptron every lesson trains, built from the package's layers."""
import numpy as np

from .core import Layer
from .layers import BatchNorm1d, Dropout, Linear, ReLU, Sequential


def mlp(sizes, rng, activation=ReLU, batchnorm=False, dropout=0.0, dtype=np.float64):
    """Linear layers of the given sizes, with [BatchNorm1d →] activation [→ Dropout] between them.

    mlp([64, 128, 10], rng) -> Linear(64 → 128), ReLU(), Linear(128 → 10).
    Weights use Linear's default (He) init, drawn from ``rng`` layer by layer.
    """
    if not isinstance(sizes, (list, tuple, range, np.ndarray)):
        raise ValueError(f"mlp needs a list of layer sizes such as [64, 128, 10], got {sizes!r}.")
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {list(sizes)}.")
    if not (isinstance(activation, type) and issubclass(activation, Layer)):
        made = (f"an object ({activation!r}): pass the class, activation={type(activation).__name__}"
                if isinstance(activation, Layer) else f"{activation!r}: pass a layer class such as bp.Tanh")
        raise ValueError(f"mlp builds one activation per hidden layer from a class, got {made}.")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("mlp needs an explicit rng, e.g. rng=np.random.default_rng(0).")
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:                                        # between two Linear layers
            if batchnorm:
                layers.append(BatchNorm1d(d_in, dtype=dtype))
            layers.append(activation())
            if dropout > 0:
                layers.append(Dropout(dropout, rng=rng))
        layers.append(Linear(d_in, d_out, rng=rng, dtype=dtype))
    return Sequential(*layers)
