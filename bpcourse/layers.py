"""The layers. Each is a forward and a backward, with every shape in the docstring.

N is the batch size. ``backward(dout)`` receives dL/d(output) and returns
dL/d(input); parameter gradients are ADDED into ``.grad``.
"""
import numbers

import numpy as np

from .core import Layer, Parameter, ParameterSlot, check_array
from .init import initialise


def _size(value, name, who):
    """A layer size: a whole number >= 1, or a ValueError naming the layer and the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{who}: {name} must be a whole number >= 1, got {value!r}.")
    return int(value)


def _float_dtype(dtype, who):
    """float32 or float64 (what a gradient check and an optimizer can work with), or a ValueError."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{who}: dtype must be np.float32 or np.float64, got {dtype!r}.")
    return dtype


def _number(value, name, who, low, high, high_open=False):
    """A hyperparameter as a Python float in [low, high] (or [low, high)), or a ValueError."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real) and np.isfinite(value)
          and low <= value and (value < high if high_open else value <= high))
    if not ok:
        where = "" if low == -np.inf and high == np.inf else f" in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{who}: {name} must be a finite number{where}, got {value!r}.")
    return float(value)              # a Python float: a NumPy float64 would upcast float32 arrays


class Linear(Layer):
    """y = x @ W + b.

    x: (N, in_features) -> y: (N, out_features).
    W: (in_features, out_features), b: (out_features,).
    ``init``: "he" (default, for ReLU), "xavier" (tanh/sigmoid) or "normal" with ``std``.
    """

    weight, bias = ParameterSlot(), ParameterSlot()

    def __init__(self, in_features, out_features, bias=True, init="he", std=None, rng=None,
                 dtype=np.float64):
        self.in_features = _size(in_features, "in_features", "Linear")
        self.out_features = _size(out_features, "out_features", "Linear")
        self.init = init
        self.dtype = _float_dtype(dtype, "Linear")
        w = initialise((in_features, out_features), init, rng, std=std, dtype=self.dtype)
        self.weight = Parameter(w, "weight")
        self.bias = Parameter(np.zeros(out_features, self.dtype), "bias") if bias else None
        self.x = None

    def forward(self, x):
        x = check_array(self, x, ndim=2, features=self.in_features, dtype=self.dtype)
        self.x = x                                   # cached for backward
        y = x @ self.weight.data
        return y + self.bias.data if self.bias is not None else y

    def backward(self, dout):
        x = self._cached("x")
        dout = self._check_dout(dout, (x.shape[0], self.out_features))
        self.weight.grad += x.T @ dout               # (in, N) @ (N, out)
        if self.bias is not None:
            self.bias.grad += dout.sum(axis=0)       # b is shared by every sample
        return dout @ self.weight.data.T             # (N, out) @ (out, in)

    def extra_repr(self):
        bias = "" if self.bias is not None else ", bias=False"
        dtype = "" if self.dtype == np.float64 else f", dtype={self.dtype}"
        return f"{self.in_features} → {self.out_features}{bias}{dtype}"


class Activation(Layer):
    """An elementwise function; subclasses define ``f`` and its derivative ``df``.

    x: any shape -> y: same shape. dx = dout * f'(x).
    """

    def __init__(self, *settings):
        if settings:                                 # ReLU(0.1): a slope was meant
            leaky = " (for a slope below 0, use LeakyReLU(0.1))" if isinstance(self, ReLU) else ""
            raise TypeError(f"{type(self).__name__}() takes no arguments, got {settings!r}{leaky}.")
        self.x = self.y = None

    def forward(self, x):
        self.x = check_array(self, x)
        self.y = self.f(self.x)
        return self.y

    def backward(self, dout):
        x = self._cached("x")
        return self._check_dout(dout, x.shape) * self.df()


class ReLU(Activation):
    """max(0, x); the gradient passes where x > 0 and is blocked elsewhere."""

    max_slope = 1.0

    def f(self, x):
        return np.maximum(x, 0)

    def df(self):
        return self.x > 0

    def kink_sides(self):
        """Which side of the kink at 0 each last input lies on (gradient checks skip crossings)."""
        return self.x > 0


class LeakyReLU(Activation):
    """x if x > 0 else slope * x; a small slope keeps a gradient flowing for x < 0."""

    max_slope = 1.0

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = _number(negative_slope, "negative_slope", "LeakyReLU", -np.inf, np.inf)

    def f(self, x):
        return np.where(x > 0, x, self.negative_slope * x)

    def df(self):
        return np.where(self.x > 0, 1.0, self.negative_slope).astype(self.x.dtype)

    def kink_sides(self):
        """Which side of the kink at 0 each last input lies on (gradient checks skip crossings)."""
        return self.x > 0

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Activation):
    """σ(x) = 1 / (1 + e^-x); σ'(x) = σ(x)(1 - σ(x)) ≤ 0.25."""

    max_slope = 0.25

    def f(self, x):
        self.y, self.one_minus_y = sigmoid_pair(x)   # 1 - σ(x) kept exact where σ(x) rounds to 1
        return self.y

    def df(self):
        return self.y * self.one_minus_y


class Tanh(Activation):
    """tanh(x); tanh'(x) = 1 - tanh(x)² ≤ 1."""

    max_slope = 1.0

    def f(self, x):
        return np.tanh(x)

    def df(self):
        return 1 - self.y ** 2


def sigmoid_pair(x):
    """(σ(x), 1 - σ(x)), each with full relative accuracy for any x.

    With e = e^-|x| (never overflows): σ(x) = 1 / (1 + e) for x ≥ 0 and e / (1 + e) for x < 0,
    so σ(-40) ≈ 4e-18 is kept instead of being rounded to 0, and 1 - σ(x) = σ(-x) likewise.
    """
    e = np.exp(-np.abs(x))
    big, small = 1 / (1 + e), e / (1 + e)
    positive = x >= 0
    return np.where(positive, big, small), np.where(positive, small, big)


def sigmoid(x):
    """σ(x) = 1 / (1 + e^-x) without overflow, and accurate far out on both sides."""
    return sigmoid_pair(x)[0]


class Dropout(Layer):
    """Inverted dropout: in training, zero each entry with probability p and scale
    the survivors by 1/(1-p), so the expected output equals the input and
    evaluation needs no rescaling. Identity in eval mode.

    x: any shape -> y: same shape.
    """

    def __init__(self, p=0.5, rng=None):
        p = _number(p, "the probability p", "Dropout", 0, 1, high_open=True)
        if not isinstance(rng, np.random.Generator):
            raise ValueError("Dropout needs an explicit rng, e.g. Dropout(0.5, rng=np.random.default_rng(0)).")
        self.p, self.rng = p, rng
        self.mask = None

    def forward(self, x):
        x = check_array(self, x)
        self.x_shape = x.shape
        if not self.training or self.p == 0:
            self.mask = np.ones((), x.dtype)         # identity, still allows backward
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / x.dtype.type(1 - self.p)
        return x * self.mask

    def backward(self, dout):
        mask = self._cached("mask")
        return mask * self._check_dout(dout, self.x_shape)   # the same entries are dropped

    def extra_repr(self):
        return f"p={self.p}"


class BatchNorm1d(Layer):
    """Normalise each feature over the batch, then scale and shift.

    x: (N, num_features) -> y = gamma * (x - mean) / sqrt(var + eps) + beta.
    Training uses the batch's mean and (biased) variance and updates running
    estimates: running = (1 - momentum) * running + momentum * batch, with the
    unbiased variance, as PyTorch does (a batch whose statistics are NaN or inf
    gives a NaN output but leaves them as they were). Evaluation uses the running estimates.
    """

    min_batch = 2                                    # in training: the variance of one sample is 0
    gamma, beta = ParameterSlot(), ParameterSlot()
    buffer_names = ("running_mean", "running_var")   # state, saved and restored with the parameters

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, dtype=np.float64):
        self.num_features = _size(num_features, "num_features", "BatchNorm1d")
        self.eps = _number(eps, "eps", "BatchNorm1d", 0, np.inf)
        self.momentum = _number(momentum, "momentum", "BatchNorm1d", 0, 1)
        if self.eps == 0:
            raise ValueError("BatchNorm1d: eps must be > 0 (it keeps 1/sqrt(var + eps) finite for a constant feature).")
        self.affine = affine
        self.dtype = _float_dtype(dtype, "BatchNorm1d")
        self.gamma = Parameter(np.ones(num_features, self.dtype), "gamma") if affine else None
        self.beta = Parameter(np.zeros(num_features, self.dtype), "beta") if affine else None
        self.running_mean = np.zeros(num_features, self.dtype)
        self.running_var = np.ones(num_features, self.dtype)
        self.x_hat = None

    def forward(self, x):
        x = check_array(self, x, ndim=2, features=self.num_features, dtype=self.dtype)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(f"{self!r} needs at least 2 samples per batch in training mode, got {n} "
                                 f"(switch to eval() to predict one sample; in fit, drop_last=True skips "
                                 f"a short last batch).")
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = float(self.momentum)                 # a NumPy float64 would make float32 statistics float64
            if np.isfinite(mean).all() and np.isfinite(var).all():   # a NaN batch must not ruin them for good
                self.running_mean = (1 - m) * self.running_mean + m * mean
                self.running_var = (1 - m) * self.running_var + m * var * (n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = 1 / np.sqrt(var + float(self.eps))
        self.x_hat = (x - mean) * self.inv_std
        self.batch_stats = self.training             # backward must know which mean was used
        if not self.affine:
            return self.x_hat
        return self.gamma.data * self.x_hat + self.beta.data

    def backward(self, dout):
        x_hat = self._cached("x_hat")
        dout = self._check_dout(dout, x_hat.shape)
        if self.affine:
            self.gamma.grad += (dout * x_hat).sum(axis=0)
            self.beta.grad += dout.sum(axis=0)
            dx_hat = dout * self.gamma.data
        else:
            dx_hat = dout
        if not self.batch_stats:                     # running statistics are constants
            return dx_hat * self.inv_std
        # Batch mean and variance depend on every sample, hence the two correction terms.
        n = x_hat.shape[0]
        return self.inv_std / n * (
            n * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)
        )

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}" + (
            "" if self.affine else ", affine=False")


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...)."""

    def __init__(self):
        self.in_shape = None

    def forward(self, x):
        x = check_array(self, x)
        if x.ndim == 0:
            raise ValueError(f"{self!r} expected a batch (N, ...), got a single number.")
        self.in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        in_shape = self._cached("in_shape")
        return self._check_dout(dout, (in_shape[0], int(np.prod(in_shape[1:])))).reshape(in_shape)


class Sequential(Layer):
    """Layers applied one after another; backward visits them in reverse order."""

    def __init__(self, *layers):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            raise ValueError("Sequential takes the layers as separate arguments: Sequential(*layers), "
                             "not Sequential([...]).")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                forgot = " (did you forget to call it, e.g. bp.ReLU()?)" if isinstance(layer, type) else ""
                raise ValueError(f"Sequential item {i} is {layer!r}, not a Layer{forgot}.")
        if len({id(layer) for layer in layers}) < len(layers):
            raise ValueError("the same layer object appears twice in Sequential: a layer caches its own "
                             "input for backward, so give each use its own layer and share the weight "
                             "instead (second.weight = first.weight).")
        self.layers = list(layers)
        self.ran_forward = False

    def named_children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        self.ran_forward = True
        return x

    def backward(self, dout):
        if not self.ran_forward:
            raise RuntimeError("Sequential.backward() called before forward(): run a forward pass first.")
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])   # shares the layers (and their parameters)
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self):
        lines = [f"  ({i}): " + repr(layer).replace("\n", "\n  ") for i, layer in enumerate(self.layers)]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


class Residual(Layer):
    """y = x + block(x): the skip connection adds the identity's gradient to the block's.

    x: (N, D) -> y: (N, D); the block must keep the shape.
    """

    def __init__(self, block):
        if not isinstance(block, Layer):
            forgot = " (did you forget to call it, e.g. bp.Tanh()?)" if isinstance(block, type) else ""
            raise ValueError(f"Residual needs a Layer as its block, got {block!r}{forgot}.")
        self.block = block
        self.x_shape = None

    def named_children(self):
        return [("block", self.block)]

    def forward(self, x):
        x = check_array(self, x)
        out = self.block.forward(x)
        if out.shape != x.shape:
            raise ValueError(
                f"Residual's block must keep the shape of its input: got {x.shape} in, {out.shape} out."
            )
        self.x_shape = x.shape
        return x + out

    def backward(self, dout):
        dout = self._check_dout(dout, self._cached("x_shape"))
        return dout + self.block.backward(dout)      # identity path + block path

    def __repr__(self):
        return "Residual(" + repr(self.block).replace("\n", "\n  ") + ")"


class LayerNorm(Layer):
    """Normalise each sample over its own features, then scale and shift.

    x: (N, D) or (N, T, D), any leading axes -> y = gamma * (x - mean) / sqrt(var + eps) + beta,
    mean and (biased) variance over the last axis only, so a sample's output never
    depends on the rest of the batch: no running statistics, the same in training and
    evaluation, fine with a batch of one. gamma, beta: (D,), as PyTorch's ``nn.LayerNorm(D)``.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=np.float64):
        if not isinstance(normalized_shape, (int, np.integer)) or normalized_shape < 1:
            raise ValueError(f"LayerNorm normalises over the last axis: give its size as a positive int, "
                             f"got {normalized_shape!r}.")
        self.normalized_shape, self.eps = int(normalized_shape), float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.dtype = np.dtype(dtype)
        d = self.normalized_shape
        self.gamma = Parameter(np.ones(d, self.dtype), "gamma") if elementwise_affine else None
        self.beta = Parameter(np.zeros(d, self.dtype), "beta") if elementwise_affine else None
        self.x_hat = None

    def forward(self, x):
        x = check_array(self, x, features=self.normalized_shape, dtype=self.dtype)
        mean = x.mean(axis=-1, keepdims=True)                     # one mean per sample (and step)
        var = x.var(axis=-1, keepdims=True)
        self.inv_std = 1 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        if not self.elementwise_affine:
            return self.x_hat
        return self.gamma.data * self.x_hat + self.beta.data

    def backward(self, dout):
        x_hat = self._cached("x_hat")
        dout = self._check_dout(dout, x_hat.shape)
        if self.elementwise_affine:
            lead = tuple(range(dout.ndim - 1))                     # gamma, beta are shared by every sample
            self.gamma.grad += (dout * x_hat).sum(axis=lead)
            self.beta.grad += dout.sum(axis=lead)
            dx_hat = dout * self.gamma.data
        else:
            dx_hat = dout
        # Batch norm's backward with the axes swapped: the mean and variance of a sample depend
        # on all its features, hence the two correction terms (means over the features).
        return self.inv_std * (dx_hat - dx_hat.mean(axis=-1, keepdims=True)
                               - x_hat * (dx_hat * x_hat).mean(axis=-1, keepdims=True))

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}" + ("" if self.elementwise_affine else
                                                              ", elementwise_affine=False")
