"""Data that needs no network: scikit-learn's digits (shipped with it), moons, spirals.

Every split and shuffle takes a seed or an ``rng``, so each run sees the same data.
"""
import numbers
from collections import namedtuple

import numpy as np

from .core import as_array

Splits = namedtuple("Splits", "train val test")
Splits.__doc__ = "Train, validation and test sets, each an (x, y) tuple."


def train_val_test_split(x, y, val_size=0.2, test_size=0.2, seed=0, stratify=True):
    """Split (x, y) into train/val/test fractions, keeping class proportions (stratified)."""
    from sklearn.model_selection import train_test_split     # scikit-learn takes a second to import
    for name, size in (("val_size", val_size), ("test_size", test_size)):
        if isinstance(size, bool) or not isinstance(size, numbers.Real) or not 0 < size < 1:
            raise ValueError(f"{name} is a fraction of the data, a number in (0, 1), got {size!r}.")
    if not 0 < val_size + test_size < 1:
        raise ValueError(f"val_size + test_size must lie in (0, 1), got {val_size} + {test_size}.")
    x, y = as_array(x, "train_val_test_split"), as_array(y, "train_val_test_split")
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(f"train_val_test_split needs x and y with one row per sample, got shapes "
                         f"{x.shape} and {y.shape}.")
    if stratify:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < 3:
            raise ValueError(f"train_val_test_split keeps class proportions in all three parts, so every class "
                             f"needs at least 3 samples; one has {counts.min()}: add data, or pass stratify=False.")
    try:
        x_rest, x_test, y_rest, y_test = train_test_split(
            x, y, test_size=test_size, random_state=seed, stratify=y if stratify else None)
        val_of_rest = val_size / (1 - test_size)
        x_train, x_val, y_train, y_val = train_test_split(
            x_rest, y_rest, test_size=val_of_rest, random_state=seed, stratify=y_rest if stratify else None)
    except ValueError as err:                        # too little data for these fractions
        raise ValueError(f"train_val_test_split: {err} (use more data, other fractions, or stratify=False).") from None
    return Splits((x_train, y_train), (x_val, y_val), (x_test, y_test))


def digits(classes=None, relabel=True, val_size=0.2, test_size=0.2, seed=0, dtype=np.float64):
    """8×8 handwritten digits (1797 images) as (N, 64) rows scaled to [0, 1], split three ways.

    ``classes``: keep only these digits, e.g. ``range(5)``; with ``relabel`` their
    labels become 0, 1, … in the order given (digits 5–9 → labels 0–4).
    """
    from sklearn.datasets import load_digits
    if np.dtype(dtype).kind != "f":
        raise ValueError(f"digits: the pixels lie in [0, 1] and need a float dtype, got {np.dtype(dtype)}.")
    bunch = load_digits()
    x, y = (bunch.data / 16.0).astype(dtype), bunch.target.astype(np.int64)
    if classes is not None:
        if not hasattr(classes, "__iter__") or isinstance(classes, str):
            raise ValueError(f"digits classes is a list of digits such as [3, 8] or range(5), got {classes!r}.")
        classes = list(classes)
        if not set(classes) <= set(range(10)):
            raise ValueError(f"digits classes must be among 0 … 9, got {classes}.")
        if len(classes) < 2 or len(set(classes)) < len(classes):
            raise ValueError(f"digits classes must be two or more different digits, got {classes}.")
        keep = np.isin(y, classes)
        x, y = x[keep], y[keep]
    splits = train_val_test_split(x, y, val_size, test_size, seed)
    if classes is None or not relabel:
        return splits
    new_label = np.zeros(10, np.int64)
    new_label[classes] = np.arange(len(classes))
    return Splits(*[(xs, new_label[ys]) for xs, ys in splits])


def few_per_class(x, y, per_class, seed=0):
    """Keep ``per_class`` random examples of each class (for few-shot experiments)."""
    per_class = count(per_class, "per_class", "few_per_class")
    x, y = as_array(x, "few_per_class"), as_array(y, "few_per_class")
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y):
        raise ValueError(f"few_per_class needs x and y with one row per sample, got shapes {x.shape} and {y.shape}.")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        if per_class > len(members):
            raise ValueError(f"class {c} has only {len(members)} examples, asked for {per_class}.")
        keep.extend(rng.choice(members, per_class, replace=False))
    keep = np.sort(keep)
    return x[keep], y[keep]


def moons(n=200, noise=0.2, seed=0, dtype=np.float64):
    """Two interleaving half-circles in 2-D: x (n, 2), y (n,) in {0, 1}."""
    from sklearn.datasets import make_moons
    n = count(n, "n", "moons", minimum=2)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < np.inf:
        raise ValueError(f"moons: noise is a standard deviation, a number >= 0, got {noise!r}.")
    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(dtype), y.astype(np.int64)


def spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0, dtype=np.float64):
    """Interleaved spiral arms in 2-D, one per class: x (n_per_class·n_classes, 2), y (…,)."""
    n_per_class = count(n_per_class, "n_per_class", "spirals")
    n_classes = count(n_classes, "n_classes", "spirals", minimum=2)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= noise < np.inf:
        raise ValueError(f"spirals: noise is a standard deviation, a number >= 0, got {noise!r}.")
    rng = np.random.default_rng(seed)
    r = np.linspace(0.0, 1.0, n_per_class)
    xs, ys = [], []
    for c in range(n_classes):
        theta = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class) + noise * rng.standard_normal(n_per_class)
        xs.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(dtype), np.concatenate(ys).astype(np.int64)


def as_rng(rng, who):
    """A numpy Generator from ``rng`` (a Generator, or an int seed), or a ValueError with the cure."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    called = " (call it: np.random.default_rng(0))" if rng is np.random.default_rng else ""
    raise ValueError(f"{who} needs an explicit rng, e.g. rng=np.random.default_rng(0), got {rng!r}{called}.")


def count(value, name, who, minimum=1):
    """``value`` as an int >= minimum (a whole number of samples, epochs, …), or a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{who}: {name} must be a whole number >= {minimum}, got {value!r}.")
    return int(value)


def batches(x, y, batch_size, shuffle=True, rng=None, drop_last=False):
    """Yield (x_batch, y_batch) covering the data once; the last batch may be smaller
    (``drop_last=True`` skips it, e.g. for BatchNorm, which needs 2 samples or more)."""
    x, y = as_array(x, "batches"), as_array(y, "batches")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"batches needs arrays with one row per sample, got shapes {x.shape} and {y.shape}.")
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} samples but y has {len(y)}.")
    if n == 0:
        raise ValueError("cannot make batches from an empty data set.")
    batch_size = count(batch_size, "batch_size", "batches")
    if drop_last and n < batch_size:
        raise ValueError(f"batches: drop_last=True with batch_size={batch_size} > {n} samples leaves no batch: "
                         f"use a smaller batch_size.")
    if shuffle:
        rng = as_rng(rng, "shuffling")
    order = rng.permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield x[idx], y[idx]
