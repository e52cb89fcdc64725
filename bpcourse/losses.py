"""Losses (mean over the batch, as PyTorch's defaults) and weight penalties.

A loss's ``forward(prediction, target)`` returns a Python float and caches what
``backward()`` needs; ``backward()`` returns dL/d(prediction).
"""
import numbers

import numpy as np

from .core import Layer, as_array, describe_object
from .layers import sigmoid_pair


class Loss:
    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def _cached(self):
        if getattr(self, "cache", None) is None:
            raise RuntimeError(f"{self!r}.backward() called before forward(): compute the loss first.")
        return self.cache


def require_loss(loss_fn, who):
    """Refuse a loss class, or anything without forward/backward, with the cure."""
    if isinstance(loss_fn, type):
        raise ValueError(f"{who} got the class {loss_fn.__name__}, not a loss object: "
                         f"create one with {loss_fn.__name__}().")
    if isinstance(loss_fn, Penalty):
        raise ValueError(f"{who} got {loss_fn!r}, a weight penalty, as the loss: pass a loss such as "
                         f"bp.SoftmaxCrossEntropy(), and the penalty to fit as penalties=[{loss_fn!r}].")
    if not (callable(getattr(loss_fn, "forward", None)) and callable(getattr(loss_fn, "backward", None))):
        raise ValueError(f"{who} needs a loss such as bp.SoftmaxCrossEntropy() (with forward and backward), "
                         f"got {describe_object(loss_fn)}.")
    return loss_fn


def _floating(name, a, what="prediction"):
    a = as_array(a, name)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} expects numbers as {what}, got dtype {a.dtype}.")
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if a.size == 0:
        raise ValueError(f"{name} got an empty batch: need at least one sample.")
    return a


def _targets(name, target, dtype):
    """Targets as an array of ``dtype``, refusing text and NaN/inf (data to repair, not to learn)."""
    target = as_array(target, name)
    if target.dtype.kind not in "biuf":
        raise ValueError(f"{name} expects numeric targets, got dtype {target.dtype}.")
    target = target.astype(dtype, copy=False)
    if not np.all(np.isfinite(target)):
        raise ValueError(f"{name}: the targets contain NaN or inf; repair or drop those samples.")
    return target


class MSELoss(Loss):
    """L = mean((prediction - target)²) over all elements.

    prediction, target: the same shape (a (N, 1) against (N,) mismatch would
    silently broadcast to (N, N), so it is an error here).
    """

    def forward(self, prediction, target):
        prediction = _floating("MSELoss", prediction)
        target = _targets("MSELoss", target, prediction.dtype)
        if prediction.shape != target.shape:
            raise ValueError(
                f"MSELoss needs prediction and target of the same shape, got {prediction.shape} "
                f"and {target.shape}. Reshape one, e.g. target.reshape({', '.join(map(str, prediction.shape))})."
            )
        diff = prediction - target
        self.cache = diff
        return float(np.mean(diff ** 2))

    def backward(self):
        diff = self._cached()
        return (2 / diff.size) * diff


def log_softmax(logits):
    """log p for each class along the last axis, stable: z - max(z) - log Σ exp(z - max(z)).

    (N, C) -> (N, C); a single row (C,) -> (C,).
    """
    logits = _floating("log_softmax", logits, "logits")
    if logits.ndim == 0:
        raise ValueError("log_softmax expects scores for at least one class, shape (C,) or (N, C), got a single number.")
    shifted = logits - logits.max(axis=-1, keepdims=True)  # the largest exponent is e^0 = 1
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def softmax(logits):
    """Class probabilities along the last axis, each row sums to 1. (N, C) -> (N, C)."""
    return np.exp(log_softmax(logits))


def check_labels(labels, n, num_classes, who="SoftmaxCrossEntropy"):
    """Integer class labels of shape (n,) in [0, num_classes), or a ValueError saying what is wrong."""
    labels = as_array(labels, who)
    if labels.ndim == 2 and labels.shape == (n, num_classes):
        raise ValueError(f"{who} expects integer class labels of shape ({n},), got one-hot "
                         f"{labels.shape}: pass labels.argmax(axis=1).")
    if labels.shape != (n,):
        flat = " (flatten them: labels.ravel())" if labels.size == n else ""
        raise ValueError(f"{who} expects labels of shape ({n},) for {n} samples, got {labels.shape}{flat}.")
    if not np.issubdtype(labels.dtype, np.integer):
        whole = np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels))
        if whole or labels.dtype == bool:
            labels = labels.astype(np.int64)
        else:
            example = labels[labels != np.round(labels)][0] if np.issubdtype(labels.dtype, np.floating) else labels[0]
            raise ValueError(f"{who} expects integer class labels, got dtype {labels.dtype} with values "
                             f"such as {np.asarray(example).item()!r} (labels are 0 … {num_classes - 1}).")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError(f"{who}: label {labels[bad][0]} is out of range for {num_classes} classes "
                         f"(labels must be 0 … {num_classes - 1}).")
    return labels


class SoftmaxCrossEntropy(Loss):
    """L = mean over the batch of -log softmax(logits)[label].

    logits: (N, C) raw scores, labels: (N,) integers in [0, C).
    backward: (softmax(logits) - onehot(labels)) / N.
    """

    def forward(self, logits, labels):
        logits = _floating("SoftmaxCrossEntropy", logits)
        if logits.ndim != 2:
            raise ValueError(f"SoftmaxCrossEntropy expects logits of shape (N, C), got {logits.shape}.")
        n, c = logits.shape
        labels = check_labels(labels, n, c)
        log_p = log_softmax(logits)
        self.cache = (np.exp(log_p), labels)
        return float(-log_p[np.arange(n), labels].mean())

    def backward(self):
        probs, labels = self._cached()
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), labels] -= 1                  # p - y, with y one-hot
        return grad / grad.dtype.type(n)


class BCEWithLogits(Loss):
    """Binary cross-entropy on raw scores z, stable for any z.

    L = mean(max(z, 0) - z·y + log(1 + e^-|z|)) = mean(-y log σ(z) - (1-y) log(1-σ(z))).
    logits, targets: the same shape, targets in [0, 1]. backward: (σ(z) - y) / size.
    """

    def forward(self, logits, targets):
        z = _floating("BCEWithLogits", logits, "logits")
        y = _targets("BCEWithLogits", targets, z.dtype)
        if z.shape != y.shape:
            cure = f" Reshape the targets: targets.reshape{z.shape}." if y.size == z.size else ""
            raise ValueError(f"BCEWithLogits needs logits and targets of the same shape, got {z.shape} and "
                             f"{y.shape}.{cure}")
        if np.any((y < 0) | (y > 1)):
            raise ValueError("BCEWithLogits targets must lie in [0, 1] (use 0 and 1 for two classes).")
        self.cache = (z, y)
        return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))

    def backward(self):
        z, y = self._cached()
        # σ(z) - y = (1 - y)·σ(z) - y·σ(-z): no cancellation for y in {0, 1}, even where σ(z) rounds to 1
        p, one_minus_p = sigmoid_pair(z)
        return ((1 - y) * p - y * one_minus_p) / z.dtype.type(z.size)


class Penalty:
    """A weight penalty added beside any loss. By default it applies to weights
    (parameters with 2 or more dimensions), not to biases or BatchNorm's gamma/beta.

    ``forward(params)`` returns its value; ``backward(params)`` adds its gradient into ``.grad``.
    """

    def __init__(self, lam, weights_only=True):
        if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not lam >= 0:
            raise ValueError(f"{type(self).__name__} strength must be ≥ 0 (a number such as 1e-3), got {lam!r}.")
        self.lam, self.weights_only = float(lam), weights_only

    def _selected(self, params):
        if isinstance(params, Layer):                # a model: its parameters
            params = params.parameters()
        if callable(params) or isinstance(params, np.ndarray) or not hasattr(params, "__iter__"):
            raise ValueError(f"{self!r} takes model.parameters() (a list of Parameters), got {describe_object(params)}.")
        params = list(params)
        for p in params:
            if not isinstance(getattr(p, "data", None), np.ndarray) or not hasattr(p, "grad"):
                raise ValueError(f"{self!r} takes model.parameters() (Parameters), got {describe_object(p)}.")
        return [p for p in params if p.data.ndim > 1 or not self.weights_only]

    def forward(self, params):
        return self.lam * sum(float(self.value(p.data)) for p in self._selected(params))

    def backward(self, params):
        for p in self._selected(params):
            p.grad += self.lam * self.grad(p.data)

    def __call__(self, params):
        return self.forward(params)

    def __repr__(self):
        return f"{type(self).__name__}(lam={self.lam})"


class L2(Penalty):
    """λ/2 · Σ w², gradient λ·w (the same as SGD's weight_decay=λ)."""

    def value(self, w):
        return 0.5 * np.sum(w * w)

    def grad(self, w):
        return w


class L1(Penalty):
    """λ · Σ |w|, gradient λ·sign(w): a constant pull towards 0 that makes weights exactly sparse."""

    def value(self, w):
        return np.sum(np.abs(w))

    def grad(self, w):
        return np.sign(w)
