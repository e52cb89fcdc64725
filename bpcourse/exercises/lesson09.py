"""Checks for 09_backprop_by_hand: the whole backward pass of Linear → BatchNorm → tanh → Linear →
softmax cross-entropy, one intermediate at a time, and a training loop written without ``bp.fit``.

Every gradient is checked against a numerical gradient of the loss with respect to that very
intermediate (``bpcourse.by_hand.numerical_gradient``), in backward order, so a verdict names the
first intermediate that is wrong. The training loop runs beside the student's code through
``_train_scenario``, which watches the model it hands over (modes, stale gradients) and returns plain
data; the check then evaluates the returned weights on the test set with its own code.
"""
__all__ = ["check_head_backward", "check_loss_backward", "check_batchnorm_backward_steps",
           "check_backward_by_hand", "check_train_loop"]

import sys

import numpy as np

from .core import Wrong, _student_line, bound, call, case_rng, exercise, fmt, _shape_hint, _value_hint
from .. import by_hand
from ..data import digits
from ..gradcheck import rel_error
from ..layers import BatchNorm1d, Sequential
from ..losses import SoftmaxCrossEntropy
from ..train import fit

LESSON = "09_backprop_by_hand"

HEAD = ["h", "W2", "b2", "hpreact"]
LOSS = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits"]
BATCHNORM = ["gamma", "beta", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn"]
assert LOSS + HEAD + BATCHNORM + ["W1", "b1"] == by_hand.BACKWARD


# -- cases: small random networks, and one mini-batch of digits ------------------------------

def _random_case(rng):
    """A forward pass of a small random network: N samples, D inputs, H hidden, C classes."""
    n, d, h, c = int(rng.integers(3, 8)), int(rng.integers(3, 7)), int(rng.integers(2, 6)), int(rng.integers(3, 6))
    while True:
        params = {"W1": rng.standard_normal((d, h)) / np.sqrt(d), "b1": 0.1 * rng.standard_normal(h),
                  "gamma": rng.uniform(0.5, 1.5, h), "beta": 0.3 * rng.standard_normal(h),
                  "W2": rng.standard_normal((h, c)), "b2": 0.3 * rng.standard_normal(c)}
        x, y = rng.standard_normal((n, d)), rng.integers(0, c, n)
        values = by_hand.forward(params, x, y)
        top2 = np.sort(values["logits"], axis=1)[:, -2:]
        if np.min(top2[:, 1] - top2[:, 0]) > 1e-3:       # no near-tie at the max: a nudge never flips it
            return values


def _digits_case(rng, n=32, hidden=32):
    """The lesson's network at initialisation on a random mini-batch of n training digits."""
    x, y = digits().train
    pick = rng.choice(len(x), n, replace=False)
    model = by_hand.network(rng, hidden=hidden)
    return by_hand.forward(by_hand.params_of(model), x[pick], y[pick])


def _shown(values):
    """What the student's function receives: copies of the forward pass's arrays, x, y, eps."""
    return {k: (np.copy(v) if isinstance(v, np.ndarray) else v) for k, v in values.items()}


def _describe(values):
    (n, d), (h, c) = values["x"].shape, values["W2"].shape
    return f"N={n}, D={d}, H={h}, C={c}"


# -- comparing a dict of gradients, in backward order, with diagnoses -------------------------

def _broadcast_hint(name, got_shape, values):
    """A gradient shaped like what the node was broadcast against: its sum over those axes is missing."""
    want = np.shape(values[name])
    for consumer in by_hand.CONSUMERS[name]:
        if tuple(got_shape) == np.shape(values[consumer]) and tuple(got_shape) != want:
            return (f"{name} has shape {want}, but in `{consumer} = {dict(by_hand.FORWARD)[consumer]}` it was "
                    f"broadcast (copied) to {tuple(got_shape)}. A copied value collects the gradient of every "
                    f"copy: add them up over the copied axis so the result has the shape {want}.")
    return _shape_hint(tuple(got_shape), want)


def _one_path_hint(name, got, values, scale):
    """For a node that feeds several others: is the answer the gradient along only one of them?"""
    consumers = by_hand.CONSUMERS[name]
    if len(consumers) < 2:
        return None
    for path in consumers:
        part = by_hand.numerical_gradient(name, values, only_through=path)
        if by_hand.agrees(got, part, scale, tol=1e-5):
            others = " and ".join(c for c in consumers if c != path)
            return (f"{name} feeds {len(consumers)} intermediates ({', '.join(consumers)}); your d{name} is only "
                    f"the gradient along the path through {path}. Add the gradient that comes through "
                    f"{others}: a value used twice collects both (+=).")
    return None


def _specific_hint(name, got, values, numeric):
    """Typical mistakes at one intermediate, recognised from the numbers."""
    n = len(values["y"])
    dn = {k[1:]: v for k, v in numeric.items()}

    def close(a):
        return np.shape(a) == np.shape(got) and np.allclose(got, a, rtol=1e-5, atol=1e-12)

    if name == "logprobs":
        labels = np.zeros_like(values["logprobs"], dtype=bool)
        labels[np.arange(n), values["y"]] = True
        if np.any(np.abs(got[~labels]) > 1e-12):
            return ("only the log-probability of each sample's own label enters the loss: "
                    "d logprobs is 0 at every other class.")
    if name == "probs" and close(dn["logprobs"] * values["probs"]):
        return "d log(p)/dp = 1/p: divide by the probabilities, do not multiply."
    if name == "norm_logits" and close(dn["counts"]):
        return "that is d counts passed straight through: counts = exp(norm_logits) has a local derivative too."
    if name == "hpreact":
        if close(dn["h"]):
            return "that is dh passed straight through: multiply by tanh's local derivative."
        if close((1 - values["hpreact"] ** 2) * dn["h"]):
            return "tanh'(u) = 1 − tanh(u)²: square the tanh's output h, not its input hpreact."
    if name == "bnvar" and close(-0.5 * (values["bnvar"] + by_hand.EPS) ** -0.5 * dn["bnvar_inv"]):
        return "power rule: d v^k/dv = k·v^(k−1); here k = −1/2, so the exponent becomes −3/2."
    if name == "bndiff2" and n > 1:
        ratio = float(np.sum(got * dn["bndiff2"]) / max(np.sum(dn["bndiff2"] ** 2), 1e-300))
        if np.isclose(ratio, n / (n - 1), rtol=1e-6):
            return ("bnvar is the mean over the N rows (the biased variance, which batch norm uses in "
                    "training): each row's share is 1/N, not 1/(N − 1).")
    if name == "hprebn" and close(dn["bndiff"] + dn["bnmeani"]):
        return "bnmeani is a mean over the N rows: each row receives 1/N of its gradient, not all of it."
    return None


def _first(a, k=4):
    """The first entries of an array, in reading order, rounded: "[0.1, -0.25, 0, 1.5, …]"."""
    flat = np.ravel(a)
    shown = ", ".join("?" if np.isnan(v) else f"{v + 0.0:.4g}" for v in flat[:k])
    return f"[{shown}{', …' if flat.size > k else ''}]"


def _listed(names):
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _compare(got, values, names, numeric, what, case, scale=None):
    """Check the student's dict against ``numeric`` in the order of ``names``; raise Wrong at the first
    wrong intermediate. Returns the worst relative error among the non-zero gradients."""
    if got is None:
        raise Wrong(f"{what} returned None.", "end with `return {...}`: a dict of the gradients by name.")
    if not isinstance(got, dict):
        raise Wrong(f"{what} returned a {type(got).__name__}, expected a dict such as "
                    f"{{'d{names[0]}': …, 'd{names[1]}': …}}.",
                    "collect the gradients in a dict keyed by 'd' + the intermediate's name.")
    scale = scale or max(float(np.linalg.norm(v[~np.isnan(v)])) for v in numeric.values())
    worst, checked = 0.0, []
    for name in names:
        key = "d" + name
        if key not in got:
            raise Wrong(f"case {case}: your dict has no {key!r}" +
                        (f" (it has {', '.join(sorted(map(str, got)))})." if got else "."),
                        f"return every gradient of this step: {', '.join('d' + n for n in names)}.")
        try:
            g = np.asarray(got[key], dtype=float)
        except (TypeError, ValueError):
            raise Wrong(f"case {case}: {key} is a {type(got[key]).__name__}, expected numbers.") from None
        where = f"case {case}: {key}"
        want = np.shape(values[name])
        if g.shape != want:
            raise Wrong(f"{where} has shape {g.shape}, expected {want} (the shape of {name}).",
                        _broadcast_hint(name, g.shape, values))
        if not np.all(np.isfinite(g)):
            raise Wrong(f"{where} contains NaN or inf: {fmt(g)}.",
                        "look for a division by a zero entry or a power of a negative number.")
        expected = numeric[key]
        if not by_hand.agrees(g, expected, scale):
            known = ~np.isnan(expected)
            hint = (_specific_hint(name, g, values, numeric) or _one_path_hint(name, g, values, scale)
                    or _value_hint(g[known], expected[known], len(values["y"])))
            right = ("" if not checked else f" ({checked[0]} before it is right)" if len(checked) == 1 else
                     f" ({_listed(checked)} before it are right)" if len(checked) <= 4 else
                     f" (the {len(checked)} gradients before it are right)")
            raise Wrong(f"{where} is the first wrong intermediate{right}: the numerical gradient starts "
                        f"{_first(expected)}, yours {_first(g)} (relative error "
                        f"{rel_error(g[known], expected[known]):.1e}).", hint)
        if np.linalg.norm(expected[~np.isnan(expected)]) > 1e-7 * scale:
            worst = max(worst, rel_error(g[~np.isnan(expected)], expected[~np.isnan(expected)]))
        checked.append(key)
    return worst


def _stage(student_fn, what, names, args_of, seed, cases=3):
    """Run one backward step on ``cases`` random networks and compare with numerical gradients."""
    rng = case_rng(seed)
    worst = 0.0
    for _ in range(cases):
        values = _random_case(rng)
        numeric = by_hand.numerical_gradients(values, names)
        got = call(student_fn, *args_of(values), what=what)
        worst = max(worst, _compare(got, values, names, numeric, what, _describe(values)))
    return worst


# -- the three steps and the whole backward pass ----------------------------------------------

@exercise("ex09_head_backward", LESSON, "backward through Linear 2 and tanh", hints=[
    "Two layers you know from lesson 02: logits = h @ W2 + b2 is a Linear layer, h = tanh(hpreact) an "
    "activation. Each gradient has the shape of what it is the gradient of.",
    "dh (N, H) is a product of dlogits (N, C) and W2 (H, C): which one is transposed? dW2 (H, C) sums "
    "over the samples; db2 adds up the rows. tanh'(u) = 1 − tanh(u)²: which intermediate already "
    "holds tanh(hpreact)?",
])
def check_head_backward(head_backward):
    """head_backward(dlogits, c) -> {"dh", "dW2", "db2", "dhpreact"}, against numerical gradients."""
    worst = _stage(head_backward, "head_backward(dlogits, c)", HEAD,
                   lambda v: (by_hand.numerical_gradient("logits", v), _shown(v)), seed=901)
    return (f"dh, dW2, db2 and dhpreact agree with numerical gradients on 3 random networks "
            f"(max rel. error {bound(worst)}).")


@exercise("ex09_loss_backward", LESSON, "backward through softmax cross-entropy, step by step", hints=[
    "Start at the bottom line, loss = −logprobs[range(N), y].mean(), and go up one line at a time: each "
    "gradient is the local derivative of its line times the gradient arriving from below. Only the "
    "label entries of logprobs enter the loss.",
    "Two rules do the rest. A node broadcast in the forward pass (an (N, 1) column used against (N, C)) "
    "collects its gradient from every copy: sum over the copied axis, keepdims=True. A node used twice "
    "(counts feeds probs and counts_sum) collects the gradients of both paths.",
    "Local derivatives: d log p/dp = 1/p; d s⁻¹/ds = −s⁻²; d exp(u)/du = exp(u), which counts already "
    "holds. The max hands its gradient to the entry that was largest (np.argmax tells which).",
])
def check_loss_backward(loss_backward):
    """loss_backward(c) -> {"dlogprobs", …, "dlogits"}, against numerical gradients."""
    worst = _stage(loss_backward, "loss_backward(c)", LOSS, lambda v: (_shown(v),), seed=902)
    return (f"all 8 gradients from dlogprobs to dlogits agree with numerical gradients on 3 random "
            f"networks (max rel. error {bound(worst)}).")


@exercise("ex09_batchnorm_backward_steps", LESSON, "backward through batch norm, step by step", hints=[
    "Same rules as the loss: go up from hpreact = gamma * bnraw + beta one line at a time. gamma and "
    "beta are broadcast over the N rows, and so are bnmeani, bnvar and bnvar_inv (shape (1, H)).",
    "Two nodes feed two others: bndiff (bndiff2 and bnraw) and hprebn (bndiff and bnmeani) — their "
    "gradients collect both paths. A mean over N rows hands 1/N of its gradient to each row.",
    "Power rule for bnvar_inv = (bnvar + eps)^(−1/2): the derivative is −½ (bnvar + eps)^(−3/2). "
    "d(bndiff²)/d bndiff = 2·bndiff.",
])
def check_batchnorm_backward_steps(batchnorm_backward_steps):
    """batchnorm_backward_steps(dhpreact, c) -> {"dgamma", …, "dhprebn"}, against numerical gradients."""
    worst = _stage(batchnorm_backward_steps, "batchnorm_backward_steps(dhpreact, c)", BATCHNORM,
                   lambda v: (by_hand.numerical_gradient("hpreact", v), _shown(v)), seed=903)
    return (f"all 9 gradients from dgamma to dhprebn agree with numerical gradients on 3 random "
            f"networks (max rel. error {bound(worst)}).")


@exercise("ex09_backward_by_hand", LESSON, "the whole backward pass, by hand", hints=[
    "Chain your three functions: loss_backward gives dlogits, head_backward takes it and gives "
    "dhpreact, batchnorm_backward_steps takes that. What is left is Linear 1.",
    "dW1 and db1 come from dhprebn and x exactly as in lesson 02's linear_backward. Return one dict "
    "holding all 23 gradients: merge the three dicts and add the last two ({**a, **b, ...}).",
])
def check_backward_by_hand(backward_by_hand):
    """backward_by_hand(c) -> every gradient from dlogprobs to db1, against numerical gradients."""
    rng = case_rng(904)
    worst = 0.0
    for kind in ("random", "random", "digits"):
        values = _random_case(rng) if kind == "random" else _digits_case(rng)
        sample = None if kind == "random" else 40                  # 40 entries of each array: quick
        numeric = by_hand.numerical_gradients(values, by_hand.BACKWARD, sample=sample, rng=rng)
        got = call(backward_by_hand, _shown(values), what="backward_by_hand(c)")
        case = _describe(values) + (" (a mini-batch of digits)" if kind == "digits" else "")
        worst = max(worst, _compare(got, values, by_hand.BACKWARD, numeric, "backward_by_hand(c)", case))
    return (f"all 23 gradients agree with numerical gradients on 2 random networks and a mini-batch of "
            f"32 digits through the lesson's network (max rel. error {bound(worst)}).")


# -- the training loop ------------------------------------------------------------------------

MAX_EPOCHS, PATIENCE, MAX_STEPS, TARGET = 30, 3, 3000, 0.95


class _Stop(BaseException):
    """Ends a student's loop early once the watch has seen enough (a BaseException, so that a
    loop's own `except Exception` does not swallow it)."""


class _Watched(Sequential):
    """The model handed to the student's loop: a Sequential that notes how it is used.

    Notes: backward calls that find gradients left from a previous step (zero_grad missing), forward
    passes not followed by backward made in training mode (evaluation without eval()), backward after
    a forward made in eval mode (training without train()), and whether bp.fit drives it.
    """

    def __init__(self, *layers):
        super().__init__(*layers)
        self.log = {"steps": 0, "stale": 0, "eval_in_train_mode": 0, "train_in_eval_mode": 0, "used_fit": False}
        self.pending = None                          # the mode of a forward not yet followed by backward

    def _bn_training(self):
        return any(layer.training for layer in self.layers if isinstance(layer, BatchNorm1d))

    def _settle(self):
        """The last forward had no backward after it: it was an evaluation."""
        if self.pending:                             # made in training mode
            self.log["eval_in_train_mode"] += 1
            raise _Stop()

    def forward(self, x):
        self._settle()
        frame = sys._getframe(1)
        for _ in range(8):
            if frame is None:
                break
            if frame.f_code is fit.__code__:
                self.log["used_fit"] = True
                raise _Stop()
            frame = frame.f_back
        self.pending = self._bn_training()
        return super().forward(x)

    def backward(self, dout):
        if self.pending is False:
            self.log["train_in_eval_mode"] += 1
            raise _Stop()
        self.pending = None
        self.log["steps"] += 1
        if any(np.any(p.grad != 0) for p in self.parameters()):
            self.log["stale"] += 1
            if self.log["stale"] >= 3:
                raise _Stop()
        if self.log["steps"] > MAX_STEPS:
            raise _Stop()
        return super().backward(dout)


def _state(model):
    bn = model.layers[1]
    return {**by_hand.params_of(model), "running_mean": bn.running_mean.copy(), "running_var": bn.running_var.copy()}


def _plain_history(history):
    """The student's history as a list of {"train_loss", "val_loss", "val_acc"} floats, or a sentence
    saying what it is instead."""
    if not isinstance(history, (list, tuple)):
        return None, f"train_loop returned a {type(history).__name__}, expected a list with one dict per epoch."
    rows = []
    for i, row in enumerate(history):
        if not isinstance(row, dict) or not {"train_loss", "val_loss", "val_acc"} <= set(row):
            return None, (f"entry {i} of the history is {type(row).__name__}"
                          + (f" with keys {sorted(map(str, row))}" if isinstance(row, dict) else "")
                          + ", expected a dict with 'train_loss', 'val_loss' and 'val_acc'.")
        try:
            rows.append({k: float(row[k]) for k in ("train_loss", "val_loss", "val_acc")})
        except (TypeError, ValueError):
            return None, f"entry {i} of the history holds values that are not numbers."
    return rows, None


def _train_scenario(train_loop, init_seed, shuffle_seed):
    """Runs beside the student's code: build the lesson's network and the digits, hand them to
    ``train_loop``, and return plain data (the history, the final state, what the watch saw)."""
    data = digits()
    model = _Watched(*by_hand.network(np.random.default_rng(init_seed)).layers)
    result = {"raised": None, "history": None, "history_problem": None}
    try:
        history = train_loop(model, data.train, data.val, np.random.default_rng(shuffle_seed),
                             MAX_EPOCHS, PATIENCE)
        result["history"], result["history_problem"] = _plain_history(history)
        model._settle()                          # the loop's last forward pass, if it was an evaluation
    except NotImplementedError:
        raise
    except _Stop:
        pass
    except Exception as err:                     # keep what the watch saw, say what was raised
        result["raised"] = f"{type(err).__name__}: {err}{_student_line(err)}"
    result["log"] = dict(model.log)
    result["state"] = _state(model)
    return result


def _evaluate(state, init_seed, x, y):
    """(loss, accuracy) of the returned state, computed here: the lesson's network in eval mode."""
    model = by_hand.load_params(by_hand.network(np.random.default_rng(init_seed)), state)
    model[1].running_mean, model[1].running_var = state["running_mean"], state["running_var"]
    model.eval()
    logits = model.forward(x)
    return SoftmaxCrossEntropy().forward(logits, y), float(np.mean(logits.argmax(axis=1) == y))


def _diagnose_log(log):
    if log["used_fit"]:
        return Wrong("train_loop calls bp.fit: the point of this exercise is to write the loop yourself.",
                     "replace bp.fit with your own loop over epochs and mini-batches.")
    if log["stale"]:
        return Wrong("backward ran while the gradients of the previous step were still in .grad: backward "
                     "ADDS into .grad, so each step used the sum of all the gradients so far.",
                     "zero the gradients once per step, before backward: optimizer.zero_grad() "
                     "(or model.zero_grad()).")
    if log["eval_in_train_mode"]:
        return Wrong("your loop evaluated the model in training mode: a forward pass without a backward "
                     "after it ran with BatchNorm using the batch's own statistics — and updating its "
                     "running averages with the evaluation data.",
                     "call model.eval() before evaluating (and model.train() before training again).")
    if log["train_in_eval_mode"]:
        return Wrong("your loop trained in eval mode: backward ran after a forward pass made in eval mode, "
                     "so BatchNorm normalised with its running averages and never updated them.",
                     "after evaluating, switch back with model.train() at the start of the next epoch.")
    if log["steps"] > MAX_STEPS:
        return Wrong(f"your loop took more than {MAX_STEPS} optimizer steps: the check must stay quick.",
                     f"use mini-batches of 32 or more and at most max_epochs = {MAX_EPOCHS} epochs.")
    return None


@exercise("ex09_train_loop", LESSON, "your own training loop, to 95% on digits", hints=[
    "One epoch: model.train(); for each shuffled mini-batch (bp.data.batches(x, y, 64, rng=rng)): "
    "forward, loss, zero the gradients, backward, optimizer step. Then model.eval() and measure the "
    "whole validation set: loss and accuracy, appended to the history as a dict.",
    "Early stopping: keep the best validation loss so far and how many epochs ago it was reached; stop "
    "once that reaches patience. At each new best, save copies of the model's state; at the end copy "
    "them back in place.",
    "The state is more than model.parameters(): BatchNorm1d's running_mean and running_var decide what "
    "eval mode computes. Save and restore them too. Adam with lr = 1e-2 and batches of 64 reaches "
    "95% in about 15 epochs.",
])
def check_train_loop(train_loop):
    """train_loop(model, train, val, rng, max_epochs, patience) -> history; re-run here with a fixed seed."""
    init_seed, shuffle_seed = (int(s) for s in case_rng(905).integers(0, 2**31, 2))
    out = call(_train_scenario, train_loop, init_seed, shuffle_seed, what="train_loop")
    wrong = _diagnose_log(out["log"])
    if wrong is not None:
        if out["raised"]:
            wrong.message += f" (Then it raised {out['raised']}.)"
        raise wrong
    if out["raised"]:
        raise Wrong(f"train_loop raised {out['raised']}.")
    if out["log"]["steps"] == 0:
        raise Wrong("train_loop never ran a backward pass: the model was not trained.",
                    "for each mini-batch: forward, loss, backward through the model, optimizer step.")
    if out["history_problem"]:
        raise Wrong(out["history_problem"], "return the list you appended one dict per epoch to.")
    history = out["history"]
    if not history or len(history) > MAX_EPOCHS:
        raise Wrong(f"the history has {len(history)} epochs; expected between 1 and max_epochs = {MAX_EPOCHS}.",
                    "append one dict per epoch, and stop at max_epochs.")
    data = digits()
    val_losses = [row["val_loss"] for row in history]
    best = int(np.argmin(val_losses))
    stop_at = best + 1 + PATIENCE                    # epochs run when patience runs out
    if len(history) > stop_at:
        raise Wrong(f"the validation loss was lowest at epoch {best + 1} ({val_losses[best]:.4g}) and did "
                    f"not improve for {PATIENCE} epochs after it, but your loop ran {len(history)} epochs.",
                    "stop when the epochs since the best validation loss reach patience.")
    if len(history) < min(stop_at, MAX_EPOCHS):
        raise Wrong(f"your loop stopped after {len(history)} epochs, but the validation loss last improved at "
                    f"epoch {best + 1}: patience = {PATIENCE} allows {PATIENCE} epochs without improvement.",
                    "count the epochs since the best validation loss and stop only when that count reaches "
                    "patience (a single worse epoch is not enough).")
    val_loss, _ = _evaluate(out["state"], init_seed, *data.val)
    if abs(val_loss - val_losses[best]) > 1e-4 * val_losses[best]:
        restored_last = abs(val_loss - val_losses[-1]) <= 1e-4 * val_losses[-1]
        raise Wrong(f"the returned model has validation loss {val_loss:.4g} (measured here, in eval mode), but "
                    f"the best epoch of your history had {val_losses[best]:.4g}.",
                    "you returned the last epoch's model: restore the best epoch's state at the end."
                    if restored_last else
                    "restore the best epoch's whole state — the weights AND BatchNorm's running_mean and "
                    "running_var — and measure val_loss on the whole validation set in eval mode.")
    initial = by_hand.params_of(by_hand.network(np.random.default_rng(init_seed)))
    if all(np.array_equal(initial[k], out["state"][k]) for k in ("W1", "W2")):
        raise Wrong("the weights never changed: the optimizer stepped with zero gradients, or never stepped.",
                    "the order in each step is: zero_grad, backward, optimizer.step().")
    _, test_acc = _evaluate(out["state"], init_seed, *data.test)
    if test_acc < TARGET:
        losses = [row["train_loss"] for row in history]
        slow = losses[-1] > 0.5 * losses[0]
        raise Wrong(f"the returned model reaches {100 * test_acc:.1f}% test accuracy (measured here on "
                    f"{len(data.test[1])} held-out digits), below {100 * TARGET:.0f}%.",
                    ("the training loss barely fell: raise the learning rate (Adam with lr = 1e-2 works)."
                     if slow else "try Adam with lr = 1e-2 and mini-batches of 64."))
    return (f"re-run with a fixed seed: {len(history)} epochs, stopped {PATIENCE} epochs after the best "
            f"validation loss, that epoch's state restored; {100 * test_acc:.1f}% test accuracy on "
            f"{len(data.test[1])} held-out digits (measured here), zero_grad and eval/train modes used "
            f"correctly.")
