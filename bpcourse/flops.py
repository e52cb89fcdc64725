"""The cost of backprop, counted and measured: FLOPs, the memory cached for the
backward pass, time, and mini-batches (gradient noise, data parallelism).

Convention: one FLOP is one scalar multiply or one scalar add, so a
multiply-add counts 2. For ``y = x @ W + b`` with x: (N, D), W: (D, M)

    forward   y = x @ W + b       2·N·D·M + N·M
    backward  dW = x.T @ dout     2·N·D·M
              dx = dout @ W.T     2·N·D·M
              db = Σ_n dout       N·M
                                  ≈ 2 × forward: one matrix product forward, two backward.

    from bpcourse import flops
    flops.linear_flops(32, 64, 128)          # Flops(forward=..., backward=...)
    flops.model_flops(model, batch_size=32)  # one row per layer, and the totals
    flops.gradient_noise(model, loss_fn, x, y, [1, 4, 16, 64], rng=rng)
    flops.exact_gradient_noise(flops.per_sample_gradients(model, loss_fn, x, y), [1, 4, 16, 64])
"""
import copy
import os
import time
from collections import namedtuple

import numpy as np

from .data import batches
from .layers import Activation, BatchNorm1d, Dropout, Flatten, Linear, Sequential

__all__ = ["Flops", "linear_flops", "count_linear_ops", "layer_flops", "model_flops",
           "activation_memory", "cached_bytes", "parameter_bytes", "time_call", "format_bytes",
           "format_count", "flat_grad", "gradient", "gradient_noise", "per_sample_gradients",
           "exact_gradient_noise", "per_sample_linear_grads", "data_parallel_gradient", "train_timed",
           "time_per_epoch", "blas_info", "matmul_time", "threaded_matmul_seconds"]

Flops = namedtuple("Flops", "forward backward")
Flops.__doc__ = "FLOPs of one forward and one backward pass (a multiply-add counts 2)."


def linear_flops(n, d_in, d_out, bias=True):
    """FLOPs of a Linear(d_in → d_out) layer on a batch of n: Flops(forward, backward)."""
    matmul = 2 * n * d_in * d_out                    # n·d_out dot products of length d_in
    add_bias = n * d_out if bias else 0
    return Flops(forward=matmul + add_bias, backward=2 * matmul + add_bias)


def count_linear_ops(n, d_in, d_out, bias=True):
    """The same count, found by running the layer one scalar operation at a time and counting.

    Slow (pure Python): for small sizes only. It is the independent check of ``linear_flops``.
    """
    counter = {"ops": 0}

    def mul(a, b):
        counter["ops"] += 1
        return a * b

    def add(a, b):
        counter["ops"] += 1
        return a + b

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((n, d_in)), rng.standard_normal((d_in, d_out)), rng.standard_normal(d_out)
    dout = rng.standard_normal((n, d_out))
    # forward: y[i, j] = Σ_k x[i, k] w[k, j] (+ b[j])
    for i in range(n):
        for j in range(d_out):
            acc = 0.0
            for k in range(d_in):
                acc = add(acc, mul(x[i, k], w[k, j]))
            if bias:
                acc = add(acc, b[j])
    forward, counter["ops"] = counter["ops"], 0
    # backward: dW[k, j] = Σ_i x[i, k] dout[i, j];  dx[i, k] = Σ_j dout[i, j] w[k, j];  db[j] = Σ_i dout[i, j]
    for k in range(d_in):
        for j in range(d_out):
            acc = 0.0
            for i in range(n):
                acc = add(acc, mul(x[i, k], dout[i, j]))
    for i in range(n):
        for k in range(d_in):
            acc = 0.0
            for j in range(d_out):
                acc = add(acc, mul(dout[i, j], w[k, j]))
    if bias:
        for j in range(d_out):
            acc = 0.0
            for i in range(n):
                acc = add(acc, dout[i, j])
    return Flops(forward, counter["ops"])


def _walk(layer):
    """The leaf layers of a model, in forward order (containers are opened)."""
    if isinstance(layer, Sequential):
        for child in layer:
            yield from _walk(child)
    else:
        yield layer


def layer_flops(layer, n, d_in):
    """(Flops, d_out) of one leaf layer on an input of shape (n, d_in).

    Elementwise layers cost one FLOP per element forward (max, compare or
    multiply) and one backward (dout times the local slope); BatchNorm about
    5 per element forward and 8 backward. A FLOP count ignores what an
    elementwise layer really costs (memory traffic), which is why they look free.
    """
    if isinstance(layer, Linear):
        if d_in != layer.in_features:
            raise ValueError(f"{layer!r} expects {layer.in_features} features, the previous layer gives {d_in}.")
        return linear_flops(n, layer.in_features, layer.out_features, layer.bias is not None), layer.out_features
    if isinstance(layer, (Activation, Dropout)):
        return Flops(n * d_in, n * d_in), d_in
    if isinstance(layer, BatchNorm1d):
        return Flops(5 * n * d_in, 8 * n * d_in), d_in
    if isinstance(layer, Flatten):
        return Flops(0, 0), d_in
    raise ValueError(f"layer_flops does not know how to count {layer!r}.")


def model_flops(model, batch_size, in_features=None):
    """Per-layer FLOPs of a model on a batch: a list of (name, Flops) rows and the total Flops.

    ``in_features``: the input width, taken from the first Linear layer when not given.
    """
    layers = list(_walk(model))
    if in_features is None:
        first = next((l for l in layers if isinstance(l, Linear)), None)
        if first is None:
            raise ValueError("model_flops needs in_features for a model without a Linear layer.")
        in_features = first.in_features
    rows, d = [], in_features
    for layer in layers:
        cost, d = layer_flops(layer, batch_size, d)
        rows.append((repr(layer), cost))
    total = Flops(sum(c.forward for _, c in rows), sum(c.backward for _, c in rows))
    return rows, total


def activation_memory(model, batch_size, in_features=None, itemsize=8):
    """Bytes a forward pass caches for the backward pass, predicted from the shapes.

    What the layers of bpcourse keep: Linear its input x (N, D); an activation
    its input and output (its output is the next Linear's input: one array,
    counted once); Dropout its mask; BatchNorm x̂ (N, D) and 1/σ (D,).
    The model's own output is not cached by the model (the loss keeps what it needs).
    """
    layers = list(_walk(model))
    if in_features is None:
        in_features = next(l for l in layers if isinstance(l, Linear)).in_features
    n, d = batch_size, in_features
    elements, current_cached = 0, False          # is the array flowing in already counted?
    for layer in layers:
        if isinstance(layer, Linear):
            if not current_cached:
                elements += n * d                    # its input
            d, current_cached = layer.out_features, False
        elif isinstance(layer, Activation):
            elements += (0 if current_cached else n * d) + n * d      # input and output
            current_cached = True
        elif isinstance(layer, Dropout):
            elements += n * d if layer.training and layer.p > 0 else 1   # the mask (a scalar in eval)
            current_cached = False
        elif isinstance(layer, BatchNorm1d):
            elements += n * d + d
            current_cached = False
        elif isinstance(layer, Flatten):
            pass
        else:
            raise ValueError(f"activation_memory does not know what {layer!r} caches.")
    return elements * itemsize


def cached_bytes(model):
    """Bytes of the arrays the model's layers hold right now for backward, measured.

    Run a forward pass first. Each array is counted once, however many layers
    refer to it; parameters and BatchNorm's running statistics are not activations.
    """
    seen, total = set(), 0
    stack = [model]
    while stack:
        layer = stack.pop()
        stack.extend(layer.children())
        for name, value in vars(layer).items():
            if isinstance(value, np.ndarray) and not name.startswith("running_") and id(value) not in seen:
                seen.add(id(value))
                total += value.nbytes
    return total


def parameter_bytes(model):
    """Bytes of the model's parameters (their gradients take as much again)."""
    return sum(p.data.nbytes for p in model.parameters())


def time_call(fn, repeats=5, min_time=0.02):
    """Seconds one call of ``fn()`` takes: the fastest of ``repeats`` measurements, each
    timing enough calls to last ``min_time`` (the fastest run is the least disturbed one)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= 1 << 20:
            break
        number *= 2
    best = elapsed / number
    for _ in range(repeats - 1):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def format_bytes(n):
    """1536 -> '1.5 kB' (powers of 1000, as memory is quoted for accelerators)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000


def format_count(n):
    """12_345_678 -> '12.3 M'."""
    for unit in ("", " k", " M", " G", " T"):
        if abs(n) < 1000 or unit == " T":
            return f"{n:.0f}{unit}" if unit == "" else f"{n:.1f}{unit}"
        n /= 1000


# -- mini-batches ----------------------------------------------------------------


def flat_grad(model):
    """Every parameter's ``.grad`` concatenated into one vector (a copy)."""
    return np.concatenate([p.grad.ravel() for p in model.parameters()])


def gradient(model, loss_fn, x, y):
    """The gradient of the mean loss over (x, y) as one vector; the model's grads are left at zero."""
    model.zero_grad()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    g = flat_grad(model)
    model.zero_grad()
    return g


def gradient_noise(model, loss_fn, x, y, batch_sizes, draws=50, rng=None):
    """How far a mini-batch gradient lies from the full-batch one, per batch size.

    For each B, ``draws`` batches of B samples are drawn without replacement
    and the mean of ‖g_B − g‖² / ‖g‖² is returned (a dict B -> relative
    variance). For B ≪ N it falls like 1/B: averaging B independent samples
    divides the variance by B. (Exactly: × (N − B)/(N − 1), 0 at B = N.)
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError("gradient_noise needs an explicit rng, e.g. rng=np.random.default_rng(0).")
    full = gradient(model, loss_fn, x, y)
    scale = float(full @ full)
    noise = {}
    for b in batch_sizes:
        if not 1 <= b <= len(x):
            raise ValueError(f"batch size {b} must lie between 1 and the {len(x)} samples.")
        if b == len(x):                  # every draw is the whole data set: only rounding error (~1e-30) is left
            noise[b] = 0.0
            continue
        sq = [np.sum((gradient(model, loss_fn, x[idx], y[idx]) - full) ** 2)
              for idx in (rng.choice(len(x), b, replace=False) for _ in range(draws))]
        noise[b] = float(np.mean(sq)) / scale
    return noise


def per_sample_gradients(model, loss_fn, x, y):
    """Every sample's own loss gradient, one row each: an (N, P) array for P parameters.

    The slow, obviously correct way: one forward and backward pass per sample. Their mean
    over the rows is the full-batch gradient of the mean loss.
    """
    return np.stack([gradient(model, loss_fn, x[i:i + 1], y[i:i + 1]) for i in range(len(x))])


def exact_gradient_noise(per_sample, batch_sizes):
    """E‖g_B − g‖² / ‖g‖² for batches of B samples drawn without replacement, from the
    per-sample gradients (N, P) (``per_sample_gradients``): no random draws needed.

    The mean of B of N numbers drawn without replacement has variance
    σ²/B · (N − B)/(N − 1), with σ² = (1/N) Σ_i ‖g_i − g‖² the spread of one sample's gradient.
    Returns a dict B -> relative noise.
    """
    per_sample = np.asarray(per_sample, dtype=float)
    if per_sample.ndim != 2 or len(per_sample) < 2:
        raise ValueError(f"per_sample must be an (N, P) array with N >= 2 samples, got shape {per_sample.shape}.")
    n = len(per_sample)
    full = per_sample.mean(axis=0)
    sigma2 = float(np.mean(np.sum((per_sample - full) ** 2, axis=1)))
    noise = {}
    for b in batch_sizes:
        if not 1 <= b <= n:
            raise ValueError(f"batch size {b} must lie between 1 and the {n} samples.")
        noise[b] = sigma2 / b * (n - b) / (n - 1) / float(full @ full)
    return noise


def per_sample_linear_grads(x, w, dout):
    """dx, dW, db of y = x @ W + b by a Python loop over the samples, one outer product each.

    The slow, obviously-correct way: dW = Σ_n outer(x_n, dout_n), db = Σ_n dout_n,
    dx_n = W @ dout_n. x: (N, D), w: (D, M), dout: (N, M).
    """
    dw = np.zeros_like(w)
    db = np.zeros(w.shape[1])
    dx = np.zeros_like(x)
    for n in range(len(x)):
        dw += np.outer(x[n], dout[n])
        db += dout[n]
        dx[n] = w @ dout[n]
    return dx, dw, db


def data_parallel_gradient(model, loss_fn, x, y, workers):
    """Simulate data parallelism: split the batch into ``workers`` equal shards, let a replica of
    the model compute the mean-loss gradient on each, and average the replicas' gradients (the
    "all-reduce"). With equal shards that average is exactly the full-batch gradient.

    x: (N, ...), y: (N,), with N divisible by ``workers``.
    Returns (the averaged gradient vector, the list of worker gradients).
    """
    if not 1 <= workers <= len(x) or len(x) % workers:
        raise ValueError(f"data_parallel_gradient splits the batch into equal shards: {workers} workers "
                         f"cannot share {len(x)} samples equally. Choose a number of workers that divides {len(x)}.")
    shards = np.split(np.arange(len(x)), workers)
    replicas = [copy.deepcopy(model) for _ in range(workers)]    # each worker holds a copy of the weights
    grads = [gradient(r, loss_fn, x[idx], y[idx]) for r, idx in zip(replicas, shards)]
    return sum(grads) / workers, grads


def train_timed(model, loss_fn, optimizer, x, y, epochs, batch_size, rng):
    """Train like ``fit`` and record, per epoch, the training loss (in eval mode on all of
    (x, y)) and the seconds spent training so far (evaluation not counted).

    Returns (losses, seconds), each a list with one entry per epoch.
    """
    losses, seconds, spent = [], [], 0.0
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
            loss_fn.forward(model.forward(xb), yb)
            model.backward(loss_fn.backward())
            optimizer.step()
            optimizer.zero_grad()
        spent += time.perf_counter() - start
        model.eval()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            losses.append(loss_fn.forward(model.forward(x), y))
        seconds.append(spent)
    model.train()
    return losses, seconds


def time_per_epoch(make_model, loss_fn, x, y, batch_size, lr=0.1, rng=None):
    """Seconds for one epoch of SGD (forward, backward, step per batch) with this batch size."""
    from .optim import SGD            # optim imports nothing from here; kept local for clarity
    model = make_model()
    opt = SGD(model.parameters(), lr=lr)
    rng = rng or np.random.default_rng(0)

    def epoch():
        for xb, yb in batches(x, y, batch_size, shuffle=True, rng=rng):
            loss_fn.forward(model.forward(xb), yb)
            model.backward(loss_fn.backward())
            opt.step()
            opt.zero_grad()

    return time_call(epoch, repeats=3, min_time=0.0)


def blas_info():
    """(library name, number of threads) of the BLAS NumPy uses, via threadpoolctl."""
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not blas:
        return ("unknown", 1)
    return (blas[0].get("internal_api", "blas"), int(blas[0].get("num_threads", 1)))


def matmul_time(n, threads=None, repeats=3):
    """Seconds for one (n × n) @ (n × n) product with BLAS using ``threads`` threads
    (None: one per CPU core, even if a limit was set before)."""
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    with threadpool_limits(limits=threads or os.cpu_count(), user_api="blas"):
        return time_call(lambda: a @ b, repeats=repeats)


FLOP_RATE = 2e10          # FLOP/s of one core in the thread model below (an order of magnitude, not measured)
THREAD_OVERHEAD = 2e-5    # seconds to wake one more thread and wait for it (likewise)


def threaded_matmul_seconds(n, d, m, threads, flop_rate=FLOP_RATE, overhead=THREAD_OVERHEAD):
    """Modelled seconds of an (n × d) @ (d × m) product split by rows across ``threads`` cores.

    Each thread computes a block of at most ⌈n / threads⌉ rows of the result; the product is
    done when the slowest thread is (its FLOPs at ``flop_rate``), plus ``overhead`` seconds per
    extra thread. A deterministic model of what an idle machine does — no clock involved.
    """
    if threads < 1 or n < 1:
        raise ValueError(f"need at least one thread and one row, got threads={threads}, n={n}.")
    rows = -(-n // threads)                                 # the slowest thread's share
    return 2 * rows * d * m / flop_rate + overhead * (threads - 1)
