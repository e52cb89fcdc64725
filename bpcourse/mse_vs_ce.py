"""Lesson 03's experiment: cross-entropy versus the squared error for classification, with controls.

One network (``mlp([64, 32, 10])`` on the digits) and three heads on its ten logits z:

    "cross-entropy"    softmax + cross-entropy (the usual classifier)
    "MSE on softmax"   softmax, then the squared error against one-hot targets
    "MSE on sigmoid"   ten sigmoids, then the squared error against one-hot targets

Runs are paired: for a seed, every head starts from the same weights and sees the same
mini-batches. Each head gets the **same effective step** at the uniform point (all probabilities
equal), where each loss's gradient with respect to the logits is c · (p − y), with

    c = 1 for cross-entropy (exactly, at every point),
    c = 2/C² for MSE on softmax (the mean over C outputs, the square's 2, softmax's Jacobian
        (1/C)(I − 11ᵀ/C), which on p − y, summing to 0, is just 1/C),
    c = 2 · ¼ / C for MSE on sigmoid (the mean over C outputs, the square's 2, the sigmoid's slope ¼),

so a head trained with learning rate lr / c has the gain lr on its own p − y there, as cross-entropy
has everywhere. (The sigmoid head's p − y is another vector: its ten p start at ½, not 1/C.) Away
from the uniform point the gains part, above all where the model is confidently wrong:
``stuck_images`` measures where, ``sweep`` tries other steps around the matched one.

    accuracy = compare(seeds=range(5), init_scales=(1, 5), epochs=8)    # {(scale, head): (seeds, epochs)}
"""
import functools

import numpy as np
from threadpoolctl import threadpool_limits

from . import data
from .layers import sigmoid
from .losses import SoftmaxCrossEntropy, check_labels, softmax
from .models import mlp
from .optim import SGD

CLASSES = 10
HEADS = ("cross-entropy", "MSE on softmax", "MSE on sigmoid")
STEP_FACTOR = {"cross-entropy": 1.0, "MSE on softmax": 2 / CLASSES ** 2, "MSE on sigmoid": 2 * 0.25 / CLASSES}


class SquaredErrorOnProbabilities:
    """mean((probabilities(z) − onehot(labels))²) over all N·C entries, from the logits z.

    ``squash`` is "softmax" or "sigmoid". logits: (N, C), labels: (N,) integers.
    backward: dL/dz, through the squashing function's Jacobian. Where a probability is close to 1,
    1 − p is never computed as a difference (it would keep only a few correct digits, and the
    saturated gradients this experiment is about would become rounding noise): it is the sum of
    the other classes' probabilities, or σ(−z).
    """

    def __init__(self, squash):
        if squash not in ("softmax", "sigmoid"):
            raise ValueError(f'squash must be "softmax" or "sigmoid", got {squash!r}.')
        self.squash = squash

    def forward(self, logits, labels):
        n, c = logits.shape
        labels = check_labels(labels, n, c, who=repr(self))
        y = np.eye(c, dtype=bool)[labels]
        if self.squash == "softmax":
            p = softmax(logits)
            # p − y, with p_y − 1 = −(the other classes' probabilities), free of cancellation
            error = np.where(y, -np.sum(np.where(y, 0.0, p), axis=1, keepdims=True), p)
            self.cache = (p, error)
        else:
            p, q = sigmoid(logits), sigmoid(-logits)                # q = 1 − p, accurate near p = 1
            error = np.where(y, -q, p)
            self.cache = (p, q, error)
        return float(np.mean(error ** 2))

    def backward(self):
        if self.squash == "sigmoid":
            p, q, error = self.cache
            return 2 * error * p * q / error.size                 # each output has its own slope p(1 − p)
        p, error = self.cache
        dp = 2 * error / error.size                               # (N, C)
        # dL/dz_j = Σ_i dp_i ∂p_i/∂z_j = Σ_i dp_i p_i (δ_ij − p_j) = p_j Σ_i p_i (dp_j − dp_i):
        # softmax's Jacobian, written so that no 1 − p is formed
        return p * np.einsum("ni,nij->nj", p, dp[:, None, :] - dp[:, :, None])

    def __repr__(self):
        return f"SquaredErrorOnProbabilities({self.squash!r})"


def head_loss(head):
    """The loss object of a head (its input: the ten logits)."""
    if head == "cross-entropy":
        return SoftmaxCrossEntropy()
    if head == "MSE on softmax":
        return SquaredErrorOnProbabilities("softmax")
    if head == "MSE on sigmoid":
        return SquaredErrorOnProbabilities("sigmoid")
    raise ValueError(f"unknown head {head!r}; choose one of {', '.join(HEADS)}.")


def probabilities(head, logits):
    """The head's own probability for each class: softmax, or ten independent sigmoids."""
    return sigmoid(logits) if head == "MSE on sigmoid" else softmax(logits)


@functools.lru_cache(maxsize=1)
def digits():
    """The digits split (train, val, test) every run uses."""
    return data.digits(seed=0)


def network(seed, init_scale=1.0, hidden=32):
    """64 → hidden → 10 (ReLU), weights from ``seed``; the last layer's weights × ``init_scale``
    (large: confident predictions from the start)."""
    model = mlp([64, hidden, CLASSES], np.random.default_rng(seed))
    model[-1].weight.data *= init_scale
    return model


def train(head, seed, init_scale=1.0, lr=0.1, epochs=8, batch_size=32):
    """Train one head with plain SGD at the head's effective step ``lr / STEP_FACTOR[head]``.

    Returns the validation accuracy after each epoch, shape (epochs,). Runs on one BLAS thread
    (about 3× faster for these small matrices, measured on 2 cores).
    """
    (x, y), (xv, yv) = digits().train, digits().val
    model, loss = network(seed, init_scale), head_loss(head)
    opt = SGD(model.parameters(), lr=lr / STEP_FACTOR[head])
    order_rng = np.random.default_rng(1000 + seed)              # the same batches for every head
    accuracy = []
    with threadpool_limits(1):
        for _ in range(epochs):
            order = order_rng.permutation(len(x))
            for start in range(0, len(x), batch_size):
                batch = order[start:start + batch_size]
                opt.zero_grad()
                loss.forward(model.forward(x[batch]), y[batch])
                model.backward(loss.backward())
                opt.step()
            accuracy.append(float(np.mean(model.forward(xv).argmax(axis=1) == yv)))
    return np.array(accuracy)


def compare(seeds=range(5), init_scales=(1, 5), epochs=8, lr=0.1, heads=HEADS):
    """Validation accuracy of every head, start and seed: {(init_scale, head): array (seeds, epochs)}."""
    return {(scale, head): np.array([train(head, seed, scale, lr, epochs) for seed in seeds])
            for scale in init_scales for head in heads}


def sweep(init_scale, factors, seeds=range(5), epochs=8, lr=0.1):
    """Every head at learning rate factor · lr / c, for each factor: {(factor, head): array (seeds, epochs)}."""
    return {(factor, head): acc for factor in factors
            for (_, head), acc in compare(seeds, (init_scale,), epochs, factor * lr).items()}


def best_factor(runs, head):
    """The factor of ``sweep``'s runs with the head's highest accuracy averaged over seeds and epochs."""
    return max((f for f, h in runs if h == head), key=lambda f: runs[f, head].mean())


def confidently_wrong(init_scale=1.0, seed=0, share=0.5):
    """Fraction of training images on which the untrained network's softmax gives one wrong class
    more than ``share`` of the probability (the same for both softmax heads: they share the weights)."""
    x, y = digits().train
    p = softmax(network(seed, init_scale).forward(x))
    p[np.arange(len(y)), y] = 0.0
    return float(np.mean(p.max(axis=1) > share))


def stuck_images(head, init_scale=1.0, seed=0, weak=0.1):
    """Fraction of training images with a *stuck* output under the untrained network: an output k wrong
    by more than ½ (|p_k − y_k| > ½, p the head's own probabilities) that the head's gradient pushes back
    with less than ``weak`` times the matched push c · (p_k − y_k) (or the wrong way). Cross-entropy's
    gradient is exactly p − y: it has none."""
    x, y = digits().train
    z = network(seed, init_scale).forward(x)
    loss = head_loss(head)
    loss.forward(z, y)
    g = loss.backward() * len(y)                                # per image: undo the batch mean
    error = probabilities(head, z) - np.eye(CLASSES)[y]
    wrong = np.abs(error) > 0.5
    push = g / (STEP_FACTOR[head] * np.where(wrong, error, 1.0))
    return float(np.mean(np.any(wrong & (push < weak), axis=1)))


def initial_loss(seed, init_scale=1.0):
    """Cross-entropy of the untrained network on the training set (≈ ln 10 when its guesses are uniform)."""
    x, y = digits().train
    return SoftmaxCrossEntropy().forward(network(seed, init_scale).forward(x), y)


def common_mode_share(head, init_scale=1.0, seed=0):
    """Mean share of the untrained network's gradient on the logits that moves all ten logits
    together: (Σ_k g_k)² / (C Σ_k g_k²) per image. Exactly 0 for the softmax heads (softmax ignores
    a common shift, so their gradient sums to zero over the classes)."""
    x, y = digits().train
    loss = head_loss(head)
    loss.forward(network(seed, init_scale).forward(x), y)
    g = loss.backward()
    return float(np.mean(np.sum(g, axis=1) ** 2 / (CLASSES * np.sum(g * g, axis=1))))
