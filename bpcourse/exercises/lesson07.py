"""Checks for 07_minibatching_and_cost: FLOPs of a layer, the vectorised batch gradient,
gradient accumulation over micro-batches."""
__all__ = ["check_linear_flops", "check_linear_grads", "check_accumulate_gradients"]


import numpy as np

from .core import Wrong, bound, call, exercise, expect_array, expect_number
from ..flops import count_linear_ops, flat_grad, gradient, linear_flops, per_sample_linear_grads
from ..models import mlp
from ..gradcheck import numerical_gradient
from ..losses import SoftmaxCrossEntropy

LESSON = "07_minibatching_and_cost"


# -- FLOPs of a Linear layer -------------------------------------------------------------

FLOP_CASES = [(3, 4, 5), (2, 7, 3), (1, 1, 1), (32, 64, 128), (256, 784, 512)]


@exercise("ex07_linear_flops", LESSON, "FLOPs of a Linear layer", hints=[
    "Count scalar operations: one multiply-add is 2 FLOPs. The forward pass computes N·M outputs, "
    "each a dot product of length D, plus the bias.",
    "Forward: 2·N·D·M for x @ W, plus N·M for adding b. Backward has TWO products of the same size "
    "(dW = x.T @ dout and dx = dout @ W.T) and one sum for db (N·M).",
])
def check_linear_flops(linear_flops_fn):
    """linear_flops(n, d_in, d_out) -> (forward, backward) FLOPs of Linear(d_in → d_out) with bias."""
    for n, d, m in FLOP_CASES:
        case = f"N={n}, D={d}, M={m}"
        got = call(linear_flops_fn, n, d, m, what=f"linear_flops({n}, {d}, {m})")
        if got is None:
            raise Wrong(f"case {case}: linear_flops returned None.", "return a tuple (forward, backward).")
        if np.ndim(got) != 1 or len(got) != 2:
            raise Wrong(f"case {case}: expected a pair (forward, backward), got {got!r}.",
                        "return two numbers: return forward, backward")
        forward, backward = got
        want = linear_flops(n, d, m)
        mm, bias = n * d * m, n * m
        if (forward, backward) == (want.backward, want.forward) and want.forward != want.backward:
            raise Wrong(f"case {case}: forward and backward are swapped.", "return forward first, then backward.")
        expect_number(forward, want.forward, "forward FLOPs", case, tol=0, diagnoses=[
            (lambda g, e: g == mm + bias or g == mm,
             "a multiply-add is two FLOPs (one multiply, one add): x @ W costs 2·N·D·M."),
            (lambda g, e: g == 2 * mm, "x @ W is right (2·N·D·M), but adding the bias costs one more FLOP "
                                       "per output: + N·M."),
            (lambda g, e: g == 2 * d * m + m, "that is the cost of one sample: multiply by the batch size N."),
        ])
        expect_number(backward, want.backward, "backward FLOPs", case, tol=0, diagnoses=[
            (lambda g, e: g == want.forward or g == 2 * mm,
             "backward needs two matrix products, dW = x.T @ dout and dx = dout @ W.T, each as large as "
             "the forward one."),
            (lambda g, e: g == 2 * mm + bias, "you counted one product (dW or dx) and db: the other product "
                                              "costs another 2·N·D·M."),
            (lambda g, e: g == 4 * mm, "both products are right (4·N·D·M); db = dout.sum(axis=0) adds N·M."),
            (lambda g, e: g == 2 * want.forward,
             "close to 2 × forward, but not exactly: the two products cost 4·N·D·M, and the bias "
             "contributes once (db, N·M), not twice."),
            (lambda g, e: g == 2 * mm + 2 * mm + bias // n if n > 1 else False,
             "db sums over the batch: N·M additions, not M."),
        ])
    counted = count_linear_ops(3, 4, 5)
    return (f"forward 2·N·D·M + N·M and backward 4·N·D·M + N·M on {len(FLOP_CASES)} layer sizes; the same as "
            f"counting every scalar operation one by one (N=3, D=4, M=5: {counted.forward} and {counted.backward}).")


# -- the vectorised batch gradient ---------------------------------------------------------

def _grad_cases():
    rng = np.random.default_rng(7)
    return [(rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal((n, m)))
            for n, d, m in [(4, 3, 2), (1, 3, 2), (6, 5, 4)]]


@exercise("ex07_linear_grads", LESSON, "vectorised batch gradient of a Linear layer", hints=[
    "Per sample, dW_n = outer(x_n, dout_n), db_n = dout_n and dx_n = W @ dout_n. The batch gradient "
    "of W and b is the sum over n; each of these sums is one matrix product or one .sum over axis 0.",
    "Σ_n outer(x_n, dout_n) = x.T @ dout (shape (D, M)); Σ_n dout_n = dout.sum(axis=0) (shape (M,)); "
    "stacking the rows W @ dout_n gives dout @ W.T (shape (N, D)). No Python loop.",
])
def check_linear_grads(linear_grads):
    """linear_grads(x, W, dout) -> (dx, dW, db) for y = x @ W + b, without a loop over samples."""
    worst = 0.0
    for x, w, dout in _grad_cases():
        n, d = x.shape
        m = w.shape[1]
        case = f"N={n}, D={d}, M={m}"
        got = call(linear_grads, x, w, dout, what="linear_grads(x, W, dout)")
        if got is None or not isinstance(got, (tuple, list)) or len(got) != 3:
            raise Wrong(f"case {case}: expected a tuple (dx, dW, db), got {type(got).__name__}.",
                        "return dx, dW, db (three arrays, in this order).")
        dx, dw, db = got
        b = np.zeros(m)

        def loss_of(xx=x, ww=w, bb=b):
            return float(np.sum((xx @ ww + bb) * dout))     # L = Σ y * dout has dL/dy = dout

        num_dx = numerical_gradient(lambda v: loss_of(xx=v), x.copy())
        num_dw = numerical_gradient(lambda v: loss_of(ww=v), w.copy())
        num_db = numerical_gradient(lambda v: loss_of(bb=v), b.copy())
        worst = max(worst, expect_array(dw, num_dw, "dW", case, tol=1e-7, batch=n, diagnoses=[
            (lambda g, e: n > 1 and np.allclose(g, num_dw / n),
             "dW should be the SUM of the per-sample outer products (the loss's 1/N is already in dout)."),
        ]))
        worst = max(worst, expect_array(db, num_db, "db", case, tol=1e-7, batch=n, diagnoses=[
            (lambda g, e: n > 1 and np.allclose(g, num_db / n),
             "db is dout.sum(axis=0), not the mean: the 1/N of the loss is already in dout."),
        ]))
        worst = max(worst, expect_array(dx, num_dx, "dx", case, tol=1e-7, batch=n))
    # agreement with the per-sample loop on a larger batch, and no loop over its samples
    rng = np.random.default_rng(8)
    x, w, dout = rng.standard_normal((2000, 16)), rng.standard_normal((16, 10)), rng.standard_normal((2000, 10))
    _SampleCounter.taken = 0
    got = call(linear_grads, x.view(_SampleCounter), w, dout.view(_SampleCounter), what="linear_grads(x, W, dout)")
    for name, g, e in zip(("dx", "dW", "db"), got, per_sample_linear_grads(x, w, dout)):
        expect_array(g, e, name, "N=2000, D=16, M=10 (against the per-sample loop)", tol=1e-8)
    if _SampleCounter.taken >= len(x) // 2:
        raise Wrong(f"the values are right, but your function took {_SampleCounter.taken} single samples out "
                    f"of x and dout for a batch of {len(x)}: it still loops in Python.",
                    "replace the loop by matrix products: x.T @ dout, dout.sum(axis=0), dout @ W.T.")
    return (f"dx, dW, db agree with numerical gradients on 3 cases (max rel. error {bound(worst)}) and with "
            f"the per-sample loop on N=2000, and are computed without a loop over the samples.")


class _SampleCounter(np.ndarray):
    """An array that counts the single samples taken out of it (``x[n]`` or iterating):
    a Python loop over a batch takes N of them, matrix products take none."""

    taken = 0

    def __getitem__(self, key):
        first = key[0] if isinstance(key, tuple) and key else key
        if isinstance(first, (int, np.integer)):
            _SampleCounter.taken += 1
        return super().__getitem__(key)

    def __iter__(self):
        return (self[n] for n in range(len(self)))


# -- gradient accumulation --------------------------------------------------------------------

def _accumulation_case():
    rng = np.random.default_rng(3)
    model = mlp([5, 4, 3], rng)
    x, y = rng.standard_normal((10, 5)), rng.integers(0, 3, 10)
    return model, x, y


def _spy_on_forward(model):
    """Record the batch size of every forward pass through the model."""
    sizes = []
    forward = type(model).forward

    def spy(x):
        sizes.append(len(x))
        return forward(model, x)

    model.forward = spy
    return sizes


@exercise("ex07_accumulate", LESSON, "gradient accumulation over micro-batches", hints=[
    "Zero the gradients once, then run forward and backward on each micro-batch in turn: backward "
    "ADDS into .grad, so the gradients of the micro-batches add up by themselves.",
    "Each micro-batch's loss is a mean over its own n_k samples, but the goal is the mean over all N: "
    "scale each micro-batch's dL/dlogits by n_k / N before model.backward, and add n_k / N × its loss "
    "to the returned loss. Do not zero inside the loop.",
])
def check_accumulate_gradients(accumulate_gradients):
    """accumulate_gradients(model, loss_fn, x, y, micro_batch_size) leaves the full-batch mean-loss
    gradient in every .grad (forward passes of at most micro_batch_size samples) and returns the mean loss."""
    loss_fn = SoftmaxCrossEntropy()
    worst = 0.0
    for micro in (2, 4, 3, 10):
        model, x, y = _accumulation_case()
        params = model.parameters()
        n = len(x)
        shards = [slice(s, s + micro) for s in range(0, n, micro)]
        case = f"N={n}, micro_batch_size={micro}"

        def full_loss(_):
            return SoftmaxCrossEntropy().forward(model.forward(x), y)

        expected = np.concatenate([numerical_gradient(full_loss, p.data).ravel() for p in params])
        per_shard = [gradient(model, loss_fn, x[s], y[s]) for s in shards]
        loss_expected = full_loss(None)
        loss_sum = sum(SoftmaxCrossEntropy().forward(model.forward(x[s]), y[s]) for s in shards)
        for p in params:
            p.grad[...] = 1.0                   # stale gradients from an earlier step
        sizes = _spy_on_forward(model)
        returned = call(accumulate_gradients, model, loss_fn, x, y, micro,
                        what=f"accumulate_gradients(model, loss_fn, x, y, {micro})")
        if sizes and max(sizes) > micro:
            raise Wrong(f"case {case}: a forward pass saw {max(sizes)} samples, more than the micro-batch size.",
                        "slice the batch: x[start:start + micro_batch_size] for start in range(0, N, micro_batch_size).")
        if sum(sizes) < n:
            raise Wrong(f"case {case}: the forward passes covered only {sum(sizes)} of the {n} samples.",
                        "cover every sample: the last micro-batch may be smaller.")
        got = flat_grad(model)
        k = len(shards)
        equal = n % micro == 0
        worst = max(worst, expect_array(got, expected, "the accumulated gradient", case, tol=1e-6, diagnoses=[
            (lambda g, e: np.allclose(g, expected + 1.0),
             "the old gradients are still in .grad: call model.zero_grad() once, before the first micro-batch."),
            (lambda g, e: np.allclose(g, per_shard[-1]) or np.allclose(g, per_shard[-1] * len(y[shards[-1]]) / n),
             "only the last micro-batch's gradient is left: zero the gradients once before the loop, not inside it."),
            (lambda g, e: k > 1 and np.allclose(g, sum(per_shard)),
             f"the result is the sum of {k} micro-batch means, {'exactly ' + str(k) + '× ' if equal else ''}too "
             f"large: scale each micro-batch's gradient by n_k / N."),
            (lambda g, e: not equal and np.allclose(g, sum(per_shard) / k),
             "dividing by the number of micro-batches is right only when all are equally large: here the last "
             "one is smaller, so weight each by n_k / N."),
        ]))
        expect_number(returned, loss_expected, "the returned loss", case, tol=1e-6, diagnoses=[
            (lambda g, e: k > 1 and np.isclose(g, loss_sum),
             "that is the sum of the micro-batch losses: weight each by n_k / N for the mean over all samples."),
        ])
    return (f"the accumulated gradient equals the numerical full-batch gradient for micro-batch sizes "
            f"2, 4, 3 and 10 on N=10 (max rel. error {bound(worst)}); every forward pass stayed within the "
            f"micro-batch size, and the returned loss is the full-batch mean.")
