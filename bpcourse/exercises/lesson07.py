"""Checks for 07_minibatching_and_cost: FLOPs of a layer, the memory of a training step,
per-sample gradients without a loop, gradient accumulation over micro-batches.

Every check runs the student's code through ``call`` on cases drawn from ``case_rng``. Code that
must be watched while it runs (does it build a model? loop over samples? how large are its forward
passes?) is called through a module-level scenario (``_memory_scenario``, ``_per_sample_scenario``,
``_accumulate_scenario``) that runs beside the student's code and returns plain data.
"""
__all__ = ["check_linear_flops", "check_training_memory", "check_per_sample_grads", "check_accumulate_gradients"]


import numpy as np

from .core import Wrong, bound, call, case_rng, exercise, expect_array, expect_number
from ..flops import cached_bytes, count_linear_ops, flat_grad, gradient
from ..gradcheck import numerical_gradient
from ..layers import Linear
from ..losses import SoftmaxCrossEntropy
from ..models import mlp
from ..optim import SGD, Adam

LESSON = "07_minibatching_and_cost"


# -- 1. FLOPs of a Linear layer ---------------------------------------------------------------

def _flop_cases():
    """(3, 4, 5) and three random layer sizes, each dimension ≥ 2 (so a missing N, D or M shows)."""
    rng = case_rng(701)
    return [(3, 4, 5)] + [tuple(int(v) for v in rng.integers(2, 7, 3)) for _ in range(3)]


@exercise("ex07_linear_flops", LESSON, "FLOPs of a Linear layer", hints=[
    "Count scalar operations: a multiply is one FLOP, an add is one. The forward pass computes N·M "
    "outputs; each is a dot product of length D, plus one bias.",
    "A product of an (a × b) and a (b × c) matrix costs 2·a·b·c FLOPs (a·c dot products of length b). "
    "Which products does the backward pass compute (lesson 02: dW, dx, db), and what are their shapes? "
    "Adding up n numbers counts n adds here, as for the bias in the forward pass.",
])
def check_linear_flops(linear_flops_fn):
    """linear_flops(n, d_in, d_out) -> (forward, backward) FLOPs of Linear(d_in → d_out) with bias,
    compared with counting every scalar operation of the layer one by one."""
    cases = _flop_cases()
    for n, d, m in cases:
        case = f"N={n}, D={d}, M={m}"
        got = call(linear_flops_fn, n, d, m, what=f"linear_flops({n}, {d}, {m})")
        if got is None:
            raise Wrong(f"case {case}: linear_flops returned None.", "return a tuple (forward, backward).")
        if np.ndim(got) != 1 or len(got) != 2:
            raise Wrong(f"case {case}: expected a pair (forward, backward), got {got!r}.",
                        "return two numbers: return forward, backward")
        forward, backward = got
        want = count_linear_ops(n, d, m)                 # counted, one scalar operation at a time
        mm, bias = n * d * m, n * m
        if (forward, backward) == (want.backward, want.forward):
            raise Wrong(f"case {case}: forward and backward are swapped.", "return forward first, then backward.")
        expect_number(forward, want.forward, "forward FLOPs", case, tol=0, diagnoses=[
            (lambda g, e: g == mm + bias or g == mm,
             "a multiply-add is two FLOPs (one multiply, one add): x @ W costs 2·N·D·M."),
            (lambda g, e: g == 2 * mm, "x @ W is right, but adding the bias costs one more FLOP per output."),
            (lambda g, e: g == 2 * d * m + m, "that is the cost of one sample: multiply by the batch size N."),
        ])
        expect_number(backward, want.backward, "backward FLOPs", case, tol=0, diagnoses=[
            (lambda g, e: g == want.forward or g == 2 * mm,
             "backward needs two matrix products, dW = x.T @ dout and dx = dout @ W.T, each as large as "
             "the forward one."),
            (lambda g, e: g == 2 * mm + bias, "you counted one product (dW or dx) and db: the other product "
                                              "costs as much again."),
            (lambda g, e: g == 4 * mm, "both products are right; db = dout.sum(axis=0) adds its own FLOPs."),
            (lambda g, e: g == 2 * want.forward,
             "close to 2 × forward, but not exactly: the bias contributes once (db), not twice."),
            (lambda g, e: g == 4 * mm + m, "db sums over the batch: N·M additions, not M."),
        ])
    return (f"forward and backward FLOPs equal the count of every scalar operation, one by one, on "
            f"{len(cases)} layer sizes: the backward pass costs about twice the forward.")


# -- 2. the memory of a training step -----------------------------------------------------------

OPTIMIZERS = ("sgd", "momentum", "adam")
MEMORY_KEYS = ("parameters", "gradients", "optimizer", "activations")


def _memory_cases():
    """(sizes, batch_size, optimizer, bytes_per_value): a fixed case and three drawn from the case seed."""
    rng = case_rng(702)
    cases = [([4, 6, 3], 5, "adam", 8)]
    for optimizer, bpv in zip(rng.permutation(OPTIMIZERS), (8, 4, 8)):
        depth = int(rng.integers(2, 4))                  # 1 or 2 hidden layers
        sizes = [int(v) for v in rng.integers(2, 10, depth + 1)]
        cases.append((sizes, int(rng.integers(2, 9)), str(optimizer), bpv))
    return cases


def measured_memory(sizes, batch_size, optimizer, bytes_per_value, seed=0):
    """Bytes of each part of one training step, measured on the package's own objects: build
    ``mlp(sizes)``, run a forward and backward pass and one optimizer step, and add up the arrays
    that the parameters, their gradients, the optimizer and the layers' caches hold."""
    dtype = {8: np.float64, 4: np.float32}[bytes_per_value]
    rng = np.random.default_rng(seed)
    model = mlp(sizes, rng, dtype=dtype)
    x = rng.standard_normal((batch_size, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], batch_size)
    opt = {"sgd": lambda ps: SGD(ps, lr=0.1), "momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
           "adam": lambda ps: Adam(ps)}[optimizer](model.parameters())
    loss_fn = SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    activations = cached_bytes(model)                    # what the forward pass left for backward
    model.backward(loss_fn.backward())
    opt.step()
    state = sum(a.nbytes for s in opt.state.values() for a in s.values() if isinstance(a, np.ndarray))
    return {"parameters": sum(p.data.nbytes for p in model.parameters()),
            "gradients": sum(p.grad.nbytes for p in model.parameters()),
            "optimizer": state, "activations": activations}


def _memory_scenario(training_memory, sizes, batch_size, optimizer, bytes_per_value):
    """Runs beside the student's code: call it, and count the Linear layers it builds meanwhile
    (the exercise is to predict the memory from the sizes, not to build the model and measure it)."""
    built = []
    original = Linear.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    Linear.__init__ = counting
    try:
        result = training_memory(list(sizes), batch_size, optimizer, bytes_per_value)
    finally:
        Linear.__init__ = original
    if isinstance(result, dict):
        result = {str(k): (v if isinstance(v, (int, float, np.integer, np.floating)) else repr(v)[:60])
                  for k, v in result.items()}
    elif result is not None:
        result = f"a {type(result).__name__}"
    return {"result": result, "built": len(built)}


def _activation_diagnoses(sizes, n, bpv):
    d0, hidden, out = sizes[0], sum(sizes[1:-1]), sizes[-1]
    return [
        (n * (d0 + 2 * hidden), "these are values, not bytes: multiply by bytes_per_value."),
        (bpv * n * 2 * hidden, "the first Linear layer caches its input x too (backward needs it for dW)."),
        (bpv * n * (d0 + 2 * hidden + out), "the last Linear's output goes to the loss: the model itself "
                                            "does not keep it."),
        (bpv * n * (d0 + hidden), "each hidden layer leaves two arrays: the Linear's output (ReLU's input, "
                                  "needed for its mask) and ReLU's output."),
        (bpv * n * (d0 + 3 * hidden), "ReLU's output IS the next Linear's input: one array held by two "
                                      "layers, counted once."),
        (bpv * (d0 + 2 * hidden), "that is one sample's cache: every sample of the batch has its own."),
    ]


@exercise("ex07_training_memory", LESSON, "the memory of a training step", hints=[
    "Four parts, each in bytes: the parameters (every Linear has a weight (d_in, d_out) and a bias "
    "(d_out,)); a gradient for every parameter; the optimizer's state; the arrays the forward pass caches "
    "for backward. Count values, then multiply by bytes_per_value.",
    "The optimizer's state, per parameter value (lesson 04): plain SGD keeps nothing, momentum keeps a "
    "velocity, Adam keeps two running averages (m and v).",
    "The activations: follow one batch through Linear, ReLU, Linear, … and list the arrays the layers keep "
    "(section 2): each Linear its input, each ReLU its input and its output. An array that two layers hold "
    "is one array; what the last layer returns is not kept by the model.",
])
def check_training_memory(training_memory):
    """training_memory(sizes, batch_size, optimizer, bytes_per_value) -> dict of the bytes of the
    parameters, gradients, optimizer state and cached activations, for mlp(sizes) with ReLU; compared
    with the arrays the package's own model and optimizer hold after a training step."""
    cases = _memory_cases()
    for sizes, n, optimizer, bpv in cases:
        case = f"sizes={sizes}, batch_size={n}, optimizer={optimizer!r}, bytes_per_value={bpv}"
        out = call(_memory_scenario, training_memory, sizes, n, optimizer, bpv,
                   what=f"training_memory({sizes}, {n}, {optimizer!r}, {bpv})")
        got = out["result"]
        if got is None:
            raise Wrong(f"case {case}: training_memory returned None.",
                        "return a dict with the keys " + ", ".join(repr(k) for k in MEMORY_KEYS) + ".")
        if not isinstance(got, dict):
            raise Wrong(f"case {case}: training_memory returned {got}, expected a dict.",
                        "return a dict with the keys " + ", ".join(repr(k) for k in MEMORY_KEYS) + ".")
        missing = [k for k in MEMORY_KEYS if k not in got]
        if missing:
            raise Wrong(f"case {case}: the dict has no key {', '.join(repr(k) for k in missing)} "
                        f"(it has {', '.join(repr(k) for k in got) or 'none'}).",
                        "use exactly the keys " + ", ".join(repr(k) for k in MEMORY_KEYS) + ".")
        if out["built"]:
            raise Wrong(f"case {case}: your function built {out['built']} Linear layer(s): it measured a model "
                        f"instead of predicting its memory from the sizes.",
                        "count with arithmetic on sizes and batch_size alone; no model, no bp.flops.")
        want = measured_memory(sizes, n, optimizer, bpv)
        params = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
        for key in MEMORY_KEYS:
            value = got[key]
            if isinstance(value, str):
                raise Wrong(f"case {case}: {key!r} is {value}, expected a number of bytes.")
            diagnoses = [(lambda g, e: g == e / bpv, "these are values, not bytes: multiply by bytes_per_value.")]
            if key in ("parameters", "gradients"):
                diagnoses.append((lambda g, e: g == bpv * sum(a * b for a, b in zip(sizes[:-1], sizes[1:])),
                                  "each Linear layer also has a bias: d_out more values."))
            if key == "gradients":
                diagnoses.insert(0, (lambda g, e: g == 0, "every parameter has a .grad of its own shape: "
                                                          "as many values as the parameters."))
            if key == "optimizer":
                diagnoses = [
                    (lambda g, e: optimizer == "sgd" and g > 0, "plain SGD (no momentum) keeps no state at all."),
                    (lambda g, e: optimizer == "momentum" and g == 0,
                     "SGD with momentum keeps a velocity for every parameter value."),
                    (lambda g, e: optimizer == "adam" and g == bpv * params,
                     "Adam keeps TWO arrays per parameter: the running mean of the gradient (m) and of its "
                     "square (v)."),
                    (lambda g, e: g == params, "these are values, not bytes: multiply by bytes_per_value."),
                ] + diagnoses
            if key == "activations":
                diagnoses = [(lambda g, e, w=w: g == w, hint) for w, hint in _activation_diagnoses(sizes, n, bpv)]
            expect_number(value, want[key], f"{key!r} (bytes)", case, tol=0, diagnoses=diagnoses)
    return (f"parameters, gradients, optimizer state (SGD, momentum and Adam) and cached activations equal the "
            f"bytes the package's own model and optimizer hold after a training step, on {len(cases)} cases "
            f"(float64 and float32), predicted from the sizes alone.")


# -- 3. per-sample gradients without a loop ------------------------------------------------------

class _SampleCounter(np.ndarray):
    """An array that counts the single samples taken out of it (``x[n]`` or iterating):
    a Python loop over a batch takes N of them, broadcasting takes none."""

    taken = 0

    def __getitem__(self, key):
        first = key[0] if isinstance(key, tuple) and key else key
        if isinstance(first, (int, np.integer)):
            _SampleCounter.taken += 1
        return super().__getitem__(key)

    def __iter__(self):
        return (self[n] for n in range(len(self)))


def _per_sample_scenario(per_sample_grads, x, dout):
    """Runs beside the student's code: hand it arrays that count the samples taken out of them."""
    _SampleCounter.taken = 0
    result = per_sample_grads(np.asarray(x).view(_SampleCounter), np.asarray(dout).view(_SampleCounter))
    if isinstance(result, (tuple, list)):
        result = tuple(np.asarray(r).view(np.ndarray) if isinstance(r, np.ndarray) else r for r in result)
    elif isinstance(result, np.ndarray):
        result = np.asarray(result).view(np.ndarray)
    return {"result": result, "taken": _SampleCounter.taken}


def _sample_loss(x_n, dout_n):
    """L_n(W, b) = Σ_j (x_n W + b)_j · dout_nj: sample n's loss, whose gradient at y_n is dout_n."""
    return lambda w, b: float(np.sum((x_n @ w + b) * dout_n))


@exercise("ex07_per_sample_grads", LESSON, "per-sample gradients without a loop", hints=[
    "Sample n's weight gradient is the outer product of x[n] (shape (D,)) and dout[n] (shape (M,)): "
    "its entry [i, j] is x[n, i] · dout[n, j]. Keep the samples apart: all of them together have shape "
    "(N, D, M). Sample n's bias gradient is its own row of dout.",
    "Broadcasting multiplies two arrays entry by entry and stretches every axis of length 1 to match the "
    "other array. Give x and dout three axes each, with a 1 where the other one has its data, so that their "
    "product has shape (N, D, M).",
    "x[:, :, None] has shape (N, D, 1). Which shape must dout have, and how do you get it?",
])
def check_per_sample_grads(per_sample_grads):
    """per_sample_grads(x, dout) -> (dW (N, D, M), db (N, M)), each sample's own gradient of
    y = x @ W + b, checked against numerical gradients of each sample's loss and for loops."""
    rng = case_rng(703)
    worst = 0.0
    for n, d, m in [(3, 4, 2)] + [tuple(int(v) for v in rng.integers(2, 6, 3)) for _ in range(2)]:
        x, dout = rng.standard_normal((n, d)), rng.standard_normal((n, m))
        case = f"N={n}, D={d}, M={m}"
        out = call(_per_sample_scenario, per_sample_grads, x, dout, what="per_sample_grads(x, dout)")
        got = out["result"]
        if got is None or not isinstance(got, tuple) or len(got) != 2:
            raise Wrong(f"case {case}: expected a pair (dW, db), got "
                        f"{'None' if got is None else type(got).__name__}.",
                        "return dW, db: two arrays, dW of shape (N, D, M) and db of shape (N, M).")
        dw, db = got
        w0, b0 = rng.standard_normal((d, m)), rng.standard_normal(m)
        num_dw = np.stack([numerical_gradient(lambda w, f=_sample_loss(x[i], dout[i]): f(w, b0), w0.copy())
                           for i in range(n)])
        num_db = np.stack([numerical_gradient(lambda b, f=_sample_loss(x[i], dout[i]): f(w0, b), b0.copy())
                           for i in range(n)])
        shape_dw = np.shape(dw)
        if shape_dw == (d, m):
            raise Wrong(f"case {case}: dW has shape {shape_dw}, expected {(n, d, m)}: that is ONE gradient for "
                        f"the whole batch.", "keep one gradient per sample: do not sum over the samples.")
        if shape_dw == (n, m, d):
            raise Wrong(f"case {case}: dW has shape {shape_dw}, expected {(n, d, m)}.",
                        "each sample's gradient has the shape of W, (D, M): x's axis comes before dout's.")
        worst = max(worst, expect_array(dw, num_dw, "dW", case, tol=1e-7, diagnoses=[
            (lambda g, e: np.allclose(g, num_dw / n),
             "dout already holds each sample's own gradient dL_n/dy_n: do not divide by N."),
        ]))
        if np.shape(db) == (m,):
            raise Wrong(f"case {case}: db has shape {(m,)}, expected {(n, m)}: that is the batch's bias gradient.",
                        "keep one bias gradient per sample: its own row of dout.")
        worst = max(worst, expect_array(db, num_db, "db", case, tol=1e-7))
    n, d, m = 400, 6, 4                                   # long enough that a loop over samples shows
    x, dout = rng.standard_normal((n, d)), rng.standard_normal((n, m))
    out = call(_per_sample_scenario, per_sample_grads, x, dout, what="per_sample_grads(x, dout)")
    dw, db = out["result"]
    expect_array(dw, np.stack([np.outer(a, b) for a, b in zip(x, dout)]), "dW", f"N={n}, D={d}, M={m}", tol=1e-10)
    expect_array(db, dout, "db", f"N={n}, D={d}, M={m}", tol=1e-10)
    if out["taken"] >= n // 2:
        raise Wrong(f"the values are right, but your function took {out['taken']} single samples out of x and "
                    f"dout for a batch of {n}: it still loops over the samples in Python.",
                    "let broadcasting form all N outer products in one operation.")
    return (f"dW and db agree with the numerical gradient of each sample's own loss on 3 cases (max rel. error "
            f"{bound(worst)}), and a batch of {n} is computed without a loop over the samples.")


# -- 4. gradient accumulation ----------------------------------------------------------------------

ACCUMULATION_SIZES = [5, 4, 3]
MICRO_BATCHES = (2, 4, 3, 10)


def _accumulation_case():
    """(model seed, x, y): 10 samples for mlp([5, 4, 3]), drawn from the case seed."""
    rng = case_rng(704)
    seed = int(rng.integers(0, 2**31))
    return seed, rng.standard_normal((10, 5)), rng.integers(0, 3, 10)


def _accumulate_scenario(accumulate_gradients, seed, x, y, micro):
    """Runs beside the student's code: build the model with stale gradients in .grad, watch the size of
    every forward pass, and return the loss, the gradients left in .grad and the sizes seen."""
    model = mlp(ACCUMULATION_SIZES, np.random.default_rng(seed))
    for p in model.parameters():
        p.grad[...] = 1.0                               # stale gradients from an earlier step
    first, seen = model[0], []
    forward = type(first).forward

    def spy(batch):
        seen.append(len(batch))
        return forward(first, batch)

    first.forward = spy                                 # every forward pass goes through the first layer
    returned = accumulate_gradients(model, SoftmaxCrossEntropy(), x, y, micro)
    if not (returned is None or isinstance(returned, (int, float, np.integer, np.floating))
            or (isinstance(returned, np.ndarray) and returned.size == 1)):
        returned = f"a {type(returned).__name__}"
    return {"loss": returned, "grad": flat_grad(model), "forward_sizes": seen}


@exercise("ex07_accumulate", LESSON, "gradient accumulation over micro-batches", hints=[
    "Zero the gradients once, then run forward and backward on each micro-batch in turn: backward ADDS "
    "into .grad, so the micro-batches' gradients add up by themselves.",
    "Each micro-batch's loss is a mean over its own n_k samples, but the goal is the mean over all N "
    "samples. By what factor must each micro-batch's contribution be scaled so that the contributions add "
    "up to that mean — also when the last micro-batch is smaller?",
    "Scaling a loss scales its gradient: multiply what loss_fn.backward() returns by the micro-batch's factor "
    "before passing it to model.backward. The returned loss adds up the same way.",
])
def check_accumulate_gradients(accumulate_gradients):
    """accumulate_gradients(model, loss_fn, x, y, micro_batch_size) leaves the full-batch mean-loss
    gradient in every .grad (forward passes of at most micro_batch_size samples) and returns the mean loss."""
    seed, x, y = _accumulation_case()
    model = mlp(ACCUMULATION_SIZES, np.random.default_rng(seed))       # the same model, here
    params, n = model.parameters(), len(x)

    def full_loss(_):
        return SoftmaxCrossEntropy().forward(model.forward(x), y)

    expected = np.concatenate([numerical_gradient(full_loss, p.data).ravel() for p in params])
    loss_expected = full_loss(None)
    worst = 0.0
    for micro in MICRO_BATCHES:
        shards = [slice(s, s + micro) for s in range(0, n, micro)]
        case = f"N={n}, micro_batch_size={micro}"
        out = call(_accumulate_scenario, accumulate_gradients, seed, x, y, micro,
                   what=f"accumulate_gradients(model, loss_fn, x, y, {micro})")
        sizes = out["forward_sizes"]
        if sizes and max(sizes) > micro:
            raise Wrong(f"case {case}: a forward pass saw {max(sizes)} samples, more than the micro-batch size.",
                        "slice the batch: x[start:start + micro_batch_size] for start in range(0, N, micro_batch_size).")
        if sum(sizes) < n:
            raise Wrong(f"case {case}: the forward passes covered only {sum(sizes)} of the {n} samples.",
                        "cover every sample: the last micro-batch may be smaller.")
        per_shard = [gradient(model, SoftmaxCrossEntropy(), x[s], y[s]) for s in shards]   # for diagnoses
        k, equal = len(shards), n % micro == 0
        worst = max(worst, expect_array(out["grad"], expected, "the accumulated gradient", case, tol=1e-6, diagnoses=[
            (lambda g, e: np.allclose(g, expected + 1.0),
             "the old gradients are still in .grad: call model.zero_grad() once, before the first micro-batch."),
            (lambda g, e: np.allclose(g, per_shard[-1]) or np.allclose(g, per_shard[-1] * len(y[shards[-1]]) / n),
             "only the last micro-batch's gradient is left: zero the gradients once before the loop, not inside it."),
            (lambda g, e: k > 1 and np.allclose(g, sum(per_shard)),
             f"the result is the sum of {k} micro-batch means, {'exactly ' + str(k) + '× ' if equal else ''}too "
             f"large: scale each micro-batch's gradient by its share of the N samples."),
            (lambda g, e: not equal and np.allclose(g, sum(per_shard) / k),
             "dividing by the number of micro-batches is right only when all are equally large: here the last "
             "one is smaller, so weight each by its share of the N samples, n_k / N."),
        ]))
        loss = out["loss"]
        if isinstance(loss, str):
            raise Wrong(f"case {case}: accumulate_gradients returned {loss}, expected the mean loss (a number).",
                        "return the mean loss over all N samples, a float.")
        loss_sum = sum(SoftmaxCrossEntropy().forward(model.forward(x[s]), y[s]) for s in shards)
        expect_number(loss, loss_expected, "the returned loss", case, tol=1e-6, diagnoses=[
            (lambda g, e: k > 1 and np.isclose(g, loss_sum),
             "that is the sum of the micro-batch losses: weight each by n_k / N for the mean over all samples."),
        ])
    return (f"the accumulated gradient equals the numerical full-batch gradient for micro-batch sizes "
            f"{', '.join(map(str, MICRO_BATCHES))} on N={n} (max rel. error {bound(worst)}); every forward pass "
            f"stayed within the micro-batch size, and the returned loss is the full-batch mean.")
