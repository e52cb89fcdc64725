"""Weight initialisations. Every function takes an explicit ``rng``.

For a weight of shape (fan_in, fan_out):
- Xavier/Glorot keeps the variance of activations and gradients equal across
  layers for tanh/sigmoid: Var(W) = 2 / (fan_in + fan_out).
- He/Kaiming compensates for ReLU zeroing half its inputs: Var(W) = 2 / fan_in.
"""
import numbers

import numpy as np


def _checked(shape, rng, dtype, who):
    """(fan_in, fan_out) and the dtype, or a ValueError saying what is wrong."""
    if not isinstance(rng, np.random.Generator):
        called = " (call it: np.random.default_rng(0))" if rng is np.random.default_rng else ""
        raise ValueError(f"{who} needs an explicit random generator, e.g. rng=np.random.default_rng(0), "
                         f"got {rng!r}{called}.")
    if (not isinstance(shape, (tuple, list)) or len(shape) != 2
            or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in shape)):
        raise ValueError(f"{who} initialises a weight of shape (fan_in, fan_out), two whole numbers >= 1, "
                         f"got {shape!r}.")
    if np.dtype(dtype).kind != "f":
        raise ValueError(f"{who}: weights need a float dtype (np.float64 or np.float32), got {np.dtype(dtype)}.")
    return shape


def normal(shape, rng, std=0.01, dtype=np.float64):
    """Zero-mean Gaussian with a fixed standard deviation."""
    _checked(shape, rng, dtype, "normal")
    if isinstance(std, bool) or not isinstance(std, numbers.Real) or not 0 <= std < np.inf:
        raise ValueError(f"normal: std must be a finite number >= 0, got {std!r}.")
    return (std * rng.standard_normal(shape)).astype(dtype)


def xavier_normal(shape, rng, dtype=np.float64):
    fan_in, fan_out = _checked(shape, rng, dtype, "xavier_normal")
    return normal(shape, rng, std=np.sqrt(2.0 / (fan_in + fan_out)), dtype=dtype)


def xavier_uniform(shape, rng, dtype=np.float64):
    fan_in, fan_out = _checked(shape, rng, dtype, "xavier_uniform")
    limit = np.sqrt(6.0 / (fan_in + fan_out))  # uniform(-a, a) has variance a²/3
    return rng.uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape, rng, dtype=np.float64):
    fan_in, _ = _checked(shape, rng, dtype, "he_normal")
    return normal(shape, rng, std=np.sqrt(2.0 / fan_in), dtype=dtype)


def he_uniform(shape, rng, dtype=np.float64):
    fan_in, _ = _checked(shape, rng, dtype, "he_uniform")
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, shape).astype(dtype)


INITS = {
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "normal": normal,
}


def initialise(shape, init, rng, std=None, dtype=np.float64):
    """Weight of ``shape`` drawn by the named scheme (see ``INITS``)."""
    if rng is None or not isinstance(rng, np.random.Generator):
        called = " (call it: np.random.default_rng(0))" if rng is np.random.default_rng else ""
        raise ValueError(
            "pass an explicit random generator, e.g. rng=np.random.default_rng(0), "
            f"so every run gives the same weights{called}."
        )
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}: choose one of {sorted(INITS)}.")
    if init == "normal":
        return normal(shape, rng, std=0.01 if std is None else std, dtype=dtype)
    if std is not None:
        raise ValueError(f"std= only applies to init='normal', not {init!r}.")
    return INITS[init](shape, rng, dtype=dtype)
