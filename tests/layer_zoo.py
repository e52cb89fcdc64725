"""One working example of every public layer, loss and optimizer of bpcourse, found from the
package's public API, so that a class added later is tested without anyone listing it here.

A class whose constructor the generic rules below cannot satisfy makes ``layer_examples`` raise
with the cure: add a line to ``EXAMPLES``.
"""
import inspect

import numpy as np

import bpcourse as bp

WIDTH = 4          # the feature size every example layer takes and (for containers) keeps


def public_classes(base):
    """Every class exported by ``bpcourse`` (top level) that subclasses ``base``, by name."""
    return sorted({obj for obj in vars(bp).values()
                   if isinstance(obj, type) and issubclass(obj, base) and obj is not base},
                  key=lambda c: c.__name__)


# Layers whose constructor needs more than the generic rules give.
EXAMPLES = {
    "Sequential": lambda rng: bp.Sequential(bp.Linear(WIDTH, WIDTH, rng=rng), bp.Tanh()),
    "Residual": lambda rng: bp.Residual(bp.Sequential(bp.Linear(WIDTH, WIDTH, rng=rng), bp.Tanh())),
    "Dropout": lambda rng: bp.Dropout(0.3, rng=rng),
}

# Generic rules: a required argument with one of these names gets this value.
SIZE_NAMES = {"in_features", "out_features", "num_features", "features", "normalized_shape", "size",
              "dim", "input_size", "hidden_size", "d_model", "n_features"}


def build(cls, rng, dtype=np.float64):
    """An instance of layer class ``cls`` of width WIDTH, or a TypeError naming what is missing."""
    if cls.__name__ in EXAMPLES:
        layer = EXAMPLES[cls.__name__](rng)
    else:
        kwargs = {}
        for name, param in inspect.signature(cls).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if name == "rng":
                kwargs[name] = rng
            elif name == "dtype":
                kwargs[name] = dtype
            elif param.default is not param.empty:
                continue
            elif name in SIZE_NAMES:
                kwargs[name] = WIDTH
            else:
                raise TypeError(f"tests/layer_zoo.py cannot build {cls.__name__}: its required argument "
                                f"{name!r} is unknown here; add {cls.__name__!r} to EXAMPLES.")
        layer = cls(**kwargs)
    return layer


def input_shape(layer, rng):
    """The first of (5, WIDTH), (5, 3, WIDTH), (5, 2, 2, WIDTH) the layer's forward accepts."""
    for shape in ((5, WIDTH), (5, 3, WIDTH), (5, 2, 2, WIDTH)):
        try:
            out = layer.forward(rng.standard_normal(shape))
        except ValueError:
            continue
        if isinstance(out, np.ndarray):
            return shape
    raise TypeError(f"tests/layer_zoo.py found no input shape for {layer!r}; add it to EXAMPLES.")


def layer_examples(dtype=np.float64, seed=1):
    """[(layer, input shape)] for every public layer class."""
    rng = np.random.default_rng(seed)
    examples = []
    for cls in public_classes(bp.Layer):
        layer = build(cls, rng, dtype)
        examples.append((layer, input_shape(layer, np.random.default_rng(0))))
    return examples


def loss_examples():
    """[(loss, prediction, target)] for every public loss class, with a valid (prediction, target)."""
    rng = np.random.default_rng(0)
    made = {
        "MSELoss": (rng.standard_normal((5, 3)), rng.standard_normal((5, 3))),
        "SoftmaxCrossEntropy": (rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])),
        "BCEWithLogits": (rng.standard_normal((5, 2)), rng.integers(0, 2, (5, 2)).astype(float)),
    }
    from bpcourse.losses import Loss
    out = []
    for cls in public_classes(Loss):
        if cls.__name__ not in made:
            raise TypeError(f"tests/layer_zoo.py has no example data for the loss {cls.__name__}; add it.")
        out.append((cls(), *made[cls.__name__]))
    return out


def optimizer_classes():
    return public_classes(bp.optim.Optimizer)
