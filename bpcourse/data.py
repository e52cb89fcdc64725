"""Data that needs no network: scikit-learn's digits (shipped with it), moons, spirals.

Every split and shuffle takes a seed or an ``rng``, so each run sees the same data.
"""
import numbers
from collections import namedtuple

import numpy as np

Splits = namedtuple("Splits", "train val test")
Splits.__doc__ = "Train, validation and test sets, each an (x, y) tuple."


def train_val_test_split(x, y, val_size=0.2, test_size=0.2, seed=0, stratify=True):
    """Split (x, y) into train/val/test fractions, keeping class proportions (stratified)."""
    from sklearn.model_selection import train_test_split     # scikit-learn takes a second to import
    if not 0 < val_size + test_size < 1:
        raise ValueError(f"val_size + test_size must lie in (0, 1), got {val_size} + {test_size}.")
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y if stratify else None)
    val_of_rest = val_size / (1 - test_size)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_of_rest, random_state=seed, stratify=y_rest if stratify else None)
    return Splits((x_train, y_train), (x_val, y_val), (x_test, y_test))


def digits(classes=None, relabel=True, val_size=0.2, test_size=0.2, seed=0, dtype=np.float64):
    """8×8 handwritten digits (1797 images) as (N, 64) rows scaled to [0, 1], split three ways.

    ``classes``: keep only these digits, e.g. ``range(5)``; with ``relabel`` their
    labels become 0, 1, … in the order given (digits 5–9 → labels 0–4).
    """
    from sklearn.datasets import load_digits
    bunch = load_digits()
    x, y = (bunch.data / 16.0).astype(dtype), bunch.target.astype(np.int64)
    if classes is not None:
        classes = list(classes)
        if not set(classes) <= set(range(10)):
            raise ValueError(f"digits classes must be among 0 … 9, got {classes}.")
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
    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return x.astype(dtype), y.astype(np.int64)


def spirals(n_per_class=100, n_classes=3, noise=0.2, seed=0, dtype=np.float64):
    """Interleaved spiral arms in 2-D, one per class: x (n_per_class·n_classes, 2), y (…,)."""
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
    x, y = np.asarray(x), np.asarray(y)
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
