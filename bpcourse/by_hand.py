"""Lesson 09's network written out one small operation at a time, as a student backpropagates it.

Linear → BatchNorm → tanh → Linear → softmax cross-entropy, each line of ``FORWARD`` one
intermediate (N samples, D inputs, H hidden units, C classes):

    hprebn = x @ W1 + b1                                  (N, H)
    bnmeani = hprebn.mean(axis=-2, keepdims=True)         (1, H)
    ...
    loss = -logprobs[..., np.arange(len(y)), y].mean(axis=-1)

Axes count from the end (axis=-2 is the batch axis), so the same lines also run on a stack of
nudged copies. ``forward`` returns every intermediate by name. ``numerical_gradient``
differentiates the loss with respect to any one of them by centred differences: nudge that
intermediate, recompute everything computed from it, hold everything else fixed. That is exactly
the gradient a backward pass must produce for it, so each hand-written step can be checked alone
(``report``).
"""
import numpy as np

from .gradcheck import rel_error
from .layers import Tanh
from .models import mlp
from .train import Callback

EPS = 1e-5                                       # BatchNorm1d's default, as in PyTorch

PARAMETERS = ("W1", "b1", "gamma", "beta", "W2", "b2")

# name, forward formula (numpy; evaluated with the earlier intermediates, x, y and the parameters)
FORWARD = [
    ("hprebn", "x @ W1 + b1"),                                    # (N, H)  Linear 1
    ("bnmeani", "hprebn.mean(axis=-2, keepdims=True)"),           # (1, H)  batch norm ...
    ("bndiff", "hprebn - bnmeani"),                               # (N, H)
    ("bndiff2", "bndiff ** 2"),                                   # (N, H)
    ("bnvar", "bndiff2.mean(axis=-2, keepdims=True)"),            # (1, H)  biased, as in training
    ("bnvar_inv", "(bnvar + eps) ** -0.5"),                       # (1, H)
    ("bnraw", "bndiff * bnvar_inv"),                              # (N, H)
    ("hpreact", "gamma * bnraw + beta"),                          # (N, H)  ... scale and shift
    ("h", "np.tanh(hpreact)"),                                    # (N, H)  tanh
    ("logits", "h @ W2 + b2"),                                    # (N, C)  Linear 2
    ("logit_maxes", "logits.max(axis=-1, keepdims=True)"),        # (N, 1)  softmax ...
    ("norm_logits", "logits - logit_maxes"),                      # (N, C)
    ("counts", "np.exp(norm_logits)"),                            # (N, C)
    ("counts_sum", "counts.sum(axis=-1, keepdims=True)"),         # (N, 1)
    ("counts_sum_inv", "counts_sum ** -1"),                       # (N, 1)
    ("probs", "counts * counts_sum_inv"),                         # (N, C)  ... cross-entropy
    ("logprobs", "np.log(probs)"),                                # (N, C)
    ("loss", "-logprobs[..., np.arange(len(y)), y].mean(axis=-1)"),  # a number
]
INTERMEDIATES = [name for name, _ in FORWARD[:-1]]
_CODE = {name: compile(formula, name, "eval") for name, formula in FORWARD}
_LEAVES = ("x", "y", *PARAMETERS)
INPUTS = {name: tuple(n for n in _CODE[name].co_names if n in _LEAVES or n in _CODE) for name, _ in FORWARD}
CONSUMERS = {name: [later for later, _ in FORWARD if name in INPUTS[later]]
             for name in ["x", *PARAMETERS, *INTERMEDIATES]}

# The order a backward pass visits them: every consumer of a node comes before the node itself.
# A parameter's gradient is due at the step of the node that uses it.
BACKWARD = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits",
            "logit_maxes", "logits", "h", "W2", "b2", "hpreact", "gamma", "beta", "bnraw",
            "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn", "W1", "b1"]


def forward(params, x, y, fixed=None, unchanged_for=None):
    """Every intermediate of the forward pass, by name, plus x, y and the parameters.

    params: {"W1": (D, H), "b1": (H,), "gamma": (H,), "beta": (H,), "W2": (H, C), "b2": (C,)}.
    x: (N, D) floats, y: (N,) integer labels. ``fixed``: {name: array} replaces those
    intermediates (or parameters) by the given values; what they feed is computed from them.
    ``unchanged_for``: {consumer: {name: array}}: that consumer reads these values instead.
    """
    values = {"x": x, "y": y, "eps": EPS, **params}
    values.update(fixed or {})
    for name, _ in FORWARD:
        if not fixed or name not in fixed:
            inputs = {**values, **unchanged_for[name]} if unchanged_for and name in unchanged_for else values
            values[name] = eval(_CODE[name], {"np": np}, inputs)
    return values


_POSITIVE = ("bnvar", "counts_sum", "probs")      # a power or the log of them: keep them above 0


def _steps(name, value):
    """A centred-difference step for each entry: 1e-5, but at most 1e-4 of the entry for
    the intermediates that must stay positive, so that a probability of 1e-9 is not nudged below 0."""
    if name not in _POSITIVE:
        return np.full(np.shape(value), 1e-5)
    return np.minimum(1e-5, np.abs(value) * 1e-4)


def _loss_of_stack(name, stack, values, fixed, unchanged_for=None):
    """The loss for each of P nudged copies of one intermediate or parameter: stack (P, *shape) -> (P,).

    The copies travel through the forward pass together on a leading axis (the formulas count
    axes from the end), so P nudges cost one forward pass."""
    shape = np.shape(values[name])
    stack = stack.reshape(stack.shape[:1] + (1,) * (2 - len(shape)) + shape)   # broadcasts like the original
    params = {p: values[p] for p in PARAMETERS}
    if name in PARAMETERS:
        params[name] = stack
        return forward(params, values["x"], values["y"], fixed, unchanged_for)["loss"]
    return forward(params, values["x"], values["y"], {**fixed, name: stack}, unchanged_for)["loss"]


def numerical_gradient(name, values, only_through=None, indices=None, chunk=512):
    """dL/d(name) by centred differences around the forward pass ``values`` (from ``forward``).

    Every intermediate computed before ``name`` is held at its value, so a nudge reaches only
    what ``name`` feeds. ``only_through``: one consumer of ``name``; the others read the un-nudged
    ``name``, which gives the part of the gradient that flows along that one edge.
    ``indices``: compute only these entries (a list of index tuples), NaN elsewhere.
    """
    names = [n for n, _ in FORWARD]
    first_use = min(names.index(c) for c in CONSUMERS[name])
    fixed = {n: values[n] for n in names[:first_use] if n != name}
    if only_through is not None and only_through not in CONSUMERS[name]:
        raise ValueError(f"{name} does not feed {only_through}; it feeds {', '.join(CONSUMERS[name])}.")
    unchanged_for = ({c: {name: values[name]} for c in CONSUMERS[name] if c != only_through}
                     if only_through is not None else None)
    base = np.asarray(values[name], dtype=np.float64)
    steps = _steps(name, base).ravel()
    flat = (np.arange(base.size) if indices is None
            else np.array([np.ravel_multi_index(i, base.shape) for i in indices], dtype=np.int64))
    grad = np.zeros(base.size) if indices is None else np.full(base.size, np.nan)
    for start in range(0, len(flat), chunk):
        block = flat[start:start + chunk]
        nudge = np.zeros((len(block), base.size))
        nudge[np.arange(len(block)), block] = steps[block]
        plus = _loss_of_stack(name, base.ravel() + nudge, values, fixed, unchanged_for)
        minus = _loss_of_stack(name, base.ravel() - nudge, values, fixed, unchanged_for)
        grad[block] = (plus - minus) / (2 * steps[block])
    return grad.reshape(base.shape)


def numerical_gradients(values, names=BACKWARD, sample=None, rng=None):
    """{"d" + name: dL/d(name)} for each name, numerically. ``sample``: check at most that many
    random entries of each array (drawn from ``rng``), NaN elsewhere."""
    out = {}
    for name in names:
        shape = np.shape(values[name])
        indices = None
        if sample is not None and int(np.prod(shape)) > sample:
            flat = np.sort(rng.choice(int(np.prod(shape)), sample, replace=False))
            indices = [np.unravel_index(k, shape) for k in flat]
        out["d" + name] = numerical_gradient(name, values, indices=indices)
    return out


def agrees(got, numeric, scale, tol=1e-6):
    """Does a gradient match its numerical estimate? Relative error ≤ tol, or (for a gradient that
    is zero, where a relative error only compares two roundings) both below 1e-7 of ``scale``,
    the size of the gradients around it. Compares only where ``numeric`` is known (not NaN)."""
    got, numeric = np.asarray(got, np.float64), np.asarray(numeric, np.float64)
    known = ~np.isnan(numeric)
    a, n = got[known], numeric[known]
    return rel_error(a, n) <= tol or np.linalg.norm(a - n) <= 1e-7 * scale


def _bound(error):
    """An error as the next power of ten above it, so the text does not change with rounding."""
    return "0" if error <= 0 else f"< 1e{int(np.floor(np.log10(error))) + 1}"


class Report:
    """Your gradients against numerical ones, in backward order; ``first_wrong`` names the first
    intermediate whose gradient is wrong (None if all are right). Print it for the table."""

    def __init__(self, rows):
        self.rows = rows                             # (key, shape, relative error, zero, right)
        self.first_wrong = next((key for key, *_, right in rows if not right), None)

    def __bool__(self):
        return self.first_wrong is None

    def __repr__(self):
        lines = [f"{'gradient':<17}{'shape':<11}{'rel. error':>11}"]
        for key, shape, error, zero, right in self.rows:
            shown = ("0 (zero)" if zero else "< 1e-7" if error < 1e-7 else _bound(error) if right
                     else f"{error:.1e}")                # below 1e-7 the digits vary from CPU to CPU
            lines.append(f"{key:<17}{str(shape):<11}{shown:>11}   {'ok' if right else 'WRONG'}")
        lines.append(f"first wrong: {self.first_wrong}" if self.first_wrong else "all agree")
        return "\n".join(lines)


def report(grads, values, numeric=None):
    """Compare the gradients you have (a dict "d" + name -> array, any subset) with numerical ones.

    grads: e.g. {"dlogprobs": ..., "dprobs": ...}; values: the forward pass (from ``forward``).
    ``numeric``: the numerical gradients if already computed (``numerical_gradients(values)``).
    """
    names = [n for n in BACKWARD if "d" + n in grads]
    numeric = numeric or numerical_gradients(values, names)
    scale = max(float(np.linalg.norm(v[~np.isnan(v)])) for v in numeric.values())
    rows = []
    for name in names:
        got, num = np.asarray(grads["d" + name], np.float64), numeric["d" + name]
        if got.shape != num.shape:
            rows.append(("d" + name, got.shape, 1.0, False, False))
            continue
        known = ~np.isnan(num)
        zero = bool(max(np.abs(got[known]).max(), np.abs(num[known]).max()) < 1e-7 * scale)
        rows.append(("d" + name, num.shape, rel_error(got[known], num[known]), zero, agrees(got, num, scale)))
    return Report(rows)


def network(rng, hidden=32, inputs=64, classes=10):
    """The lesson's network as the package's layers: Linear → BatchNorm1d → Tanh → Linear."""
    return mlp([inputs, hidden, classes], rng, activation=Tanh, batchnorm=True)


def params_of(model):
    """The parameters of ``network(...)`` as the dict ``forward`` takes (copies)."""
    lin1, bn, _, lin2 = model
    return {"W1": lin1.weight.data.copy(), "b1": lin1.bias.data.copy(),
            "gamma": bn.gamma.data.copy(), "beta": bn.beta.data.copy(),
            "W2": lin2.weight.data.copy(), "b2": lin2.bias.data.copy()}


def load_params(model, params):
    """Copy a parameter dict into ``network(...)``'s layers, in place."""
    lin1, bn, _, lin2 = model
    for p, name in ((lin1.weight, "W1"), (lin1.bias, "b1"), (bn.gamma, "gamma"), (bn.beta, "beta"),
                    (lin2.weight, "W2"), (lin2.bias, "b2")):
        p.data[...] = params[name]
    return model


class NeverZeroGrad(Callback):
    """Makes ``bp.fit`` behave like a loop that forgets ``zero_grad``: since backward adds into
    ``.grad``, each step would use the sum of every gradient so far, and this hands it that sum."""

    def on_train_begin(self, model):
        self.sums = [np.zeros_like(p.data) for p in model.parameters()]

    def on_backward_end(self, model):
        for p, total in zip(model.parameters(), self.sums):
            total += p.grad
            p.grad[...] = total
