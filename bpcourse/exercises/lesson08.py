"""Checks for 08_transfer_learning: freeze the body and attach a new head, parameter groups with
a lower body learning rate, one fine-tuning step by hand, the paired interval, which strategy wins.

Student functions that take or return objects (a model, an optimizer) run inside a module-level
scenario (``transfer_scenario``, ``groups_scenario``) beside the student's code; a scenario sends
back plain data (arrays, flags, learning rates), which the check verifies with its own math.
"""
__all__ = ["check_transfer_model", "check_param_groups", "check_fine_tune_step", "check_paired_interval",
           "check_which_wins"]

import numpy as np

from .core import Wrong, call, case_rng, exercise, expect_array
from ..core import Layer
from ..gradcheck import numerical_gradient, rel_error
from ..layers import Linear, Sequential
from ..models import mlp
from ..optim import SGD, Optimizer

LESSON = "08_transfer_learning"


def _leaves(layer):
    if isinstance(layer, Sequential):
        for child in layer:
            yield from _leaves(child)
    else:
        yield layer


# -- 1. freeze the body, attach a new head ------------------------------------------------------

def _pretrained(sizes, seed):
    """A small stand-in for a pretrained network: Linear, ReLU, Linear, ReLU, Linear (the old head)."""
    return mlp(list(sizes), np.random.default_rng(seed))


def transfer_scenario(make_transfer_model, sizes, seed, num_classes, x, dout, lr):
    """Runs beside the student's code: build the pretrained model, call the student's function,
    run the new model forward, backward (``dout``) and one SGD step. Returns plain data."""
    pretrained = _pretrained(sizes, seed)
    model = make_transfer_model(pretrained, num_classes, np.random.default_rng(seed + 1))
    report = {"type": type(model).__name__, "is_layer": isinstance(model, Layer),
              "pretrained_trainable": [bool(p.trainable) for p in pretrained.parameters()]}
    if not report["is_layer"]:
        return report
    params = model.parameters()
    out = model.forward(x)
    mine = pretrained.parameters()
    report.update(out=out, before=[p.data.copy() for p in params], trainable=[bool(p.trainable) for p in params],
                  shared=[any(p is q for q in mine) for p in params],
                  last_is_linear=isinstance(list(_leaves(model))[-1], Linear), stepped=out.shape == dout.shape)
    if report["stepped"]:
        model.zero_grad()
        model.backward(dout)
        SGD(params, lr=lr).step()
        report.update(after=[p.data.copy() for p in params], pretrained_after=[p.data.copy() for p in mine])
    return report


def _transfer_cases():
    rng = case_rng(801)
    cases = []
    for classes in (2, 3):                           # 3 = as many classes as the old head: it must still be new
        sizes = (int(rng.integers(5, 9)), int(rng.integers(4, 7)), int(rng.integers(3, 6)), 3)
        seed = int(rng.integers(0, 2**31 - 2))
        x = rng.standard_normal((6, sizes[0]))
        dout = rng.standard_normal((6, classes))
        cases.append((f"layers {sizes[0]} → {sizes[1]} → {sizes[2]} → 3, num_classes={classes}",
                      sizes, seed, classes, x, dout))
    return cases


@exercise("ex08_transfer_model", LESSON, "freeze the body and attach a new head", hints=[
    "The body is every layer of the pretrained model but the last. Work on a copy (the pretrained "
    "model must stay as it was), switch off training for every parameter of the body, and put a "
    "new Linear layer for the new classes after it.",
    "copy.deepcopy gives an independent copy; a Sequential's .layers is a list you can slice; "
    "each Parameter has a .trainable flag. The new head's input size is the out_features of the "
    "body's last Linear — the body ends with a ReLU, which stays.",
])
def check_transfer_model(transfer_model):
    """transfer_model(pretrained, num_classes, rng) -> a model: the pretrained body, frozen, then a new head."""
    lr = 0.1
    cases = _transfer_cases()
    for case, sizes, seed, classes, x, dout in cases:
        r = call(transfer_scenario, transfer_model, sizes, seed, classes, x, dout, lr,
                 what=f"transfer_model(pretrained, {classes}, rng)")
        if r["type"] == "NoneType":
            raise Wrong(f"case {case}: transfer_model returned None.", "return the new model (a bp.Sequential).")
        if not r["is_layer"]:
            raise Wrong(f"case {case}: expected a model (a bp.Sequential), got a {r['type']}.",
                        "build it with bp.Sequential(*body_layers, head).")
        if not all(r["pretrained_trainable"]):
            raise Wrong(f"case {case}: the pretrained model itself is now frozen.",
                        "copy the body first (copy.deepcopy(pretrained)), then freeze the copy: the pretrained "
                        "model should stay usable for other experiments.")
        pretrained = _pretrained(sizes, seed)          # the check's own copy, built from the same seed
        old = [p.data for p in pretrained.parameters()]
        out = np.asarray(r["out"])
        if out.shape == (len(x), 3) and classes != 3:
            raise Wrong(f"case {case}: the model gives 3 outputs per sample, expected {classes}.",
                        "the old head is still there: drop the pretrained model's last layer and add a new "
                        "bp.Linear with num_classes outputs.")
        if out.shape != (len(x), classes):
            raise Wrong(f"case {case}: the model's output has shape {out.shape}, expected ({len(x)}, {classes}).",
                        f"the new head maps the body's features ({sizes[2]} here) to num_classes outputs.")
        before = r["before"]
        if len(before) != len(old):
            raise Wrong(f"case {case}: the model has {len(before)} parameter arrays, expected {len(old)} "
                        f"(the body's {len(old) - 2} and the head's weight and bias).",
                        "keep every body layer and add exactly one new Linear head.")
        for i, (got, want) in enumerate(zip(before[:-2], old[:-2])):
            if np.shape(got) != want.shape or not np.array_equal(got, want):
                raise Wrong(f"case {case}: the body's parameter array {i} (shape {np.shape(got)}) is not the "
                            f"pretrained one.", "take the body's layers from the pretrained model; do not "
                            "create new ones.")
        w, b = before[-2], before[-1]
        if any(r["shared"][-2:]) or (np.shape(w) == old[-2].shape and np.array_equal(w, old[-2])):
            raise Wrong(f"case {case}: the head is the pretrained model's old output layer.",
                        "the new task needs a new head: bp.Linear(in_features, num_classes, rng=rng).")
        body_flags, head_flags = r["trainable"][:-2], r["trainable"][-2:]
        if any(body_flags):
            raise Wrong(f"case {case}: {sum(body_flags)} of the body's {len(body_flags)} parameter arrays are "
                        f"still trainable.", "freeze the body: set p.trainable = False for every parameter of "
                        "the body (weights and biases).")
        if not all(head_flags):
            raise Wrong(f"case {case}: the new head is frozen too.",
                        "freeze only the body; the head is what learns the new task.")
        if not r["last_is_linear"]:
            raise Wrong(f"case {case}: the model's last layer is not the new Linear head.",
                        "put the head last: bp.Sequential(*body, head).")
        # the head must see exactly what the pretrained body computes, final ReLU included
        features = x
        for weight, bias in zip(old[:-2:2], old[1:-2:2]):
            features = np.maximum(features @ weight + bias, 0.0)
        if not np.allclose(out, features @ w + b, atol=1e-10):
            raise Wrong(f"case {case}: the head does not receive the pretrained body's features.",
                        "the body is ALL layers but the last, including the final ReLU: pretrained.layers[:-1].")
        # one SGD step: the body stays, the head moves by −lr times its gradient, the original is untouched
        after = r["after"]
        if any(not np.array_equal(a, p) for a, p in zip(after[:-2], before[:-2])):
            raise Wrong(f"case {case}: an optimizer step changed the body.", "freeze every body parameter.")
        expect_array(after[-2], w - lr * features.T @ dout, "the head's weight after one SGD step", case, tol=1e-8)
        expect_array(after[-1], b - lr * dout.sum(axis=0), "the head's bias after one SGD step", case, tol=1e-8)
        if any(not np.array_equal(a, p) for a, p in zip(r["pretrained_after"], old)):
            raise Wrong(f"case {case}: training the new model changed the pretrained model.",
                        "copy the body (copy.deepcopy) instead of sharing its layers.")
    return (f"on {len(cases)} random networks (2 and 3 new classes): the body is a frozen copy of the pretrained "
            "one (same features, untouched by an SGD step), the head is new and learns, and the pretrained "
            "model is unchanged.")


# -- 2. parameter groups ------------------------------------------------------------------------

def groups_scenario(make_optimizer, sizes, seed, body_lr, head_lr, grads):
    """Runs beside the student's code: build a body and a head, call the student's function, then
    one step with the gradients ``grads``. Returns each parameter's group lr (None if in no group)
    and how far the step moved it."""
    model = mlp(list(sizes), np.random.default_rng(seed))
    body, head = Sequential(*model.layers[:-1]), model.layers[-1]
    opt = make_optimizer(body, head, body_lr, head_lr)
    report = {"type": type(opt).__name__, "is_optimizer": isinstance(opt, Optimizer)}
    if not report["is_optimizer"]:
        return report
    params = body.parameters() + head.parameters()
    lr_of = {id(p): float(group["lr"]) for group in opt.param_groups for p in group["params"]}
    before = [p.data.copy() for p in params]
    for p, g in zip(params, grads):
        p.grad[...] = g
    opt.step()
    report.update(lrs=[lr_of.get(id(p)) for p in params], n_body=len(body.parameters()),
                  steps=[p.data - b for p, b in zip(params, before)])
    return report


def _groups_cases():
    rng = case_rng(802)
    cases = []
    for body_lr, head_lr in ((1e-3, 1e-1), (0.02, 0.5)):
        sizes = (int(rng.integers(3, 7)), int(rng.integers(3, 6)), int(rng.integers(3, 6)), 2)
        seed = int(rng.integers(0, 2**31))
        shapes = [p.data.shape for p in mlp(list(sizes), np.random.default_rng(seed)).parameters()]
        grads = [rng.choice([-1.0, 1.0], s) for s in shapes]     # |g| = 1: SGD and Adam take the same first step
        cases.append((f"body_lr={body_lr}, head_lr={head_lr}", sizes, seed, body_lr, head_lr, grads))
    return cases


@exercise("ex08_param_groups", LESSON, "parameter groups with a lower body learning rate", hints=[
    "An optimizer accepts a list of parameter groups instead of a list of parameters: each group is a "
    "dict with its 'params' and, optionally, its own 'lr'; a group without 'lr' uses the optimizer's lr.",
    "Each group is a dict like {'params': some_layer.parameters(), 'lr': ...}. Which learning rate does "
    "each of your two groups need — and which of them can the optimizer's own lr= argument provide?",
])
def check_param_groups(make_optimizer):
    """make_optimizer(body, head, body_lr, head_lr) -> an optimizer updating the body at body_lr, the head at head_lr."""
    cases = _groups_cases()
    for case, sizes, seed, body_lr, head_lr, grads in cases:
        r = call(groups_scenario, make_optimizer, sizes, seed, body_lr, head_lr, grads,
                 what=f"make_optimizer(body, head, {body_lr}, {head_lr})")
        if r["type"] == "NoneType":
            raise Wrong(f"case {case}: make_optimizer returned None.", "return the optimizer.")
        if not r["is_optimizer"]:
            raise Wrong(f"case {case}: expected an optimizer such as bp.SGD(...), got a {r['type']}.",
                        "return the optimizer object itself, e.g. bp.SGD([...], lr=head_lr).")
        n = r["n_body"]
        body_lrs, head_lrs = r["lrs"][:n], r["lrs"][n:]
        if None in head_lrs and None in body_lrs:
            raise Wrong(f"case {case}: the optimizer updates neither the body's nor the head's parameters.",
                        "pass body.parameters() and head.parameters() in the groups.")
        if None in head_lrs:
            raise Wrong(f"case {case}: the head's parameters are in no parameter group: the head would never learn.",
                        "add a group {'params': head.parameters()} (it uses the optimizer's lr, head_lr).")
        if None in body_lrs:
            raise Wrong(f"case {case}: the body's parameters are in no parameter group: that freezes the body, "
                        f"it does not fine-tune it.", "add a group {'params': body.parameters(), 'lr': body_lr}.")
        body_set, head_set = set(body_lrs), set(head_lrs)
        if body_set == {head_lr} and head_set == {body_lr}:
            raise Wrong(f"case {case}: the learning rates are swapped (body {head_lr}, head {body_lr}).",
                        "the pretrained body gets the SMALL learning rate, the new head the large one.")
        if body_set == head_set and len(body_set) == 1:
            raise Wrong(f"case {case}: body and head share one learning rate ({body_lrs[0]}).",
                        "use two parameter groups so the body can have its own, smaller lr.")
        if body_set != {body_lr}:
            raise Wrong(f"case {case}: the body's learning rate is {sorted(body_set)}, expected {body_lr}.",
                        "give the body's group 'lr': body_lr.")
        if head_set != {head_lr}:
            raise Wrong(f"case {case}: the head's learning rate is {sorted(head_set)}, expected {head_lr}.",
                        "the head's group uses head_lr (set it, or make it the optimizer's default lr).")
        # behaviour: one step with gradients of ±1 moves each entry by −lr · g (SGD, and Adam's first step)
        for i, (step, g) in enumerate(zip(r["steps"], grads)):
            lr = body_lr if i < n else head_lr
            part = "body" if i < n else "head"
            if rel_error(step, -lr * g) > 1e-6:
                raise Wrong(f"case {case}: after one step with gradients of ±1 the {part}'s parameter array {i} "
                            f"moved by up to {np.abs(step).max():.3g}, expected −{lr} × gradient.",
                            "use a plain optimizer (no weight decay) with the learning rates of the exercise.")
    return (f"on {len(cases)} random networks, the body's parameters are updated with body_lr and the head's with "
            "head_lr (checked in the parameter groups and by one step).")


# -- 3. one fine-tuning step by hand ------------------------------------------------------------

def _loss(x, y, W1, b1, W2, b2):
    """Mean softmax cross-entropy of relu(x W1 + b1) W2 + b2 (the check's own forward pass)."""
    logits = np.maximum(x @ W1 + b1, 0.0) @ W2 + b2
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def fine_tune_reference(x, y, params, body_lr, head_lr, mistake=None):
    """The step from numerical gradients of ``_loss``. ``mistake`` replays a typical error with
    analytic gradients ("sum", "no_mask", "swapped", "ascent", "frozen", "no_bias") to recognise it."""
    params = [np.array(p, dtype=float) for p in params]
    if mistake is None:
        grads = []
        for i in range(4):
            def f(value, i=i):
                return _loss(x, y, *params[:i], value, *params[i + 1:])
            grads.append(numerical_gradient(f, params[i].copy()))
    else:
        W1, b1, W2, b2 = params
        z = x @ W1 + b1
        h = np.maximum(z, 0.0)
        logits = h @ W2 + b2
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1.0
        d = p if mistake == "sum" else p / len(y)
        dz = d @ W2.T if mistake == "no_mask" else (d @ W2.T) * (z > 0)
        grads = [x.T @ dz, dz.sum(axis=0), h.T @ d, d.sum(axis=0)]
        if mistake == "no_bias":
            grads[1], grads[3] = 0 * grads[1], 0 * grads[3]
    lrs = [body_lr, body_lr, head_lr, head_lr]
    if mistake == "swapped":
        lrs = [head_lr, head_lr, body_lr, body_lr]
    if mistake == "frozen":
        lrs = [0.0, 0.0, head_lr, head_lr]
    sign = -1.0 if mistake == "ascent" else 1.0
    return [p - sign * lr * g for p, lr, g in zip(params, lrs, grads)]


STEP_MISTAKES = {
    "sum": "your step is N times too large: the loss is the MEAN over the batch, so dL/dlogits = (p − onehot(y)) / N.",
    "no_mask": "the body's gradient misses the ReLU: multiply the gradient flowing back into the hidden layer "
               "by its derivative, (z > 0), before the first Linear layer.",
    "swapped": "the learning rates are swapped: the body (W1, b1) steps with body_lr, the head (W2, b2) with head_lr.",
    "ascent": "the parameters moved UP the gradient: a descent step subtracts lr × gradient.",
    "frozen": "the body did not move: with body_lr > 0 fine-tuning updates W1 and b1 too (only body_lr = 0 freezes it).",
    "no_bias": "the biases did not move: each bias gradient is the sum over the batch of the gradient at its "
               "layer's output.",
}


def _step_cases():
    rng = case_rng(803)
    cases = []
    for n, d, h, c, body_lr, head_lr in ((5, 4, 6, 3, 0.05, 0.5), (8, 6, 5, 4, 0.01, 0.2), (6, 3, 4, 3, 0.0, 0.3)):
        x = rng.standard_normal((n, d))
        y = rng.integers(0, c, n)
        params = [rng.standard_normal((d, h)) / np.sqrt(d), 0.1 * rng.standard_normal(h),
                  rng.standard_normal((h, c)) / np.sqrt(h), 0.1 * rng.standard_normal(c)]
        label = f"N={n}, D={d}, H={h}, C={c}, body_lr={body_lr}, head_lr={head_lr}"
        cases.append((label + (" (a frozen body)" if body_lr == 0 else ""), x, y, params, body_lr, head_lr))
    return cases


@exercise("ex08_fine_tune_step", LESSON, "one fine-tuning step by hand", hints=[
    "Three parts: the forward pass, keeping what the backward pass needs (the hidden layer's input z and "
    "output h, the probabilities p); the backward pass from the loss to all four arrays, as in lessons 02 "
    "and 03; then one gradient-descent step per array, each with its own group's learning rate.",
    "Start from the gradient of the mean cross-entropy with respect to the logits (lesson 03: it involves p, "
    "the one-hot labels and N). Every gradient has the shape of its array; the biases collect a sum over the "
    "batch; on its way into the body the gradient passes the ReLU, which lets it through only where z > 0.",
])
def check_fine_tune_step(fine_tune_step):
    """fine_tune_step(x, y, W1, b1, W2, b2, body_lr, head_lr) -> (W1, b1, W2, b2) after one SGD step."""
    names = ("W1", "b1", "W2", "b2")
    cases = _step_cases()
    for case, x, y, params, body_lr, head_lr in cases:
        got = call(fine_tune_step, x, y, *params, body_lr, head_lr,
                   what="fine_tune_step(x, y, W1, b1, W2, b2, body_lr, head_lr)")
        if got is None:
            raise Wrong(f"case {case}: fine_tune_step returned None.", "return the four updated arrays.")
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            raise Wrong(f"case {case}: expected the four arrays (W1, b1, W2, b2), got "
                        f"{type(got).__name__}{f' of length {len(got)}' if isinstance(got, (tuple, list)) else ''}.",
                        "return W1_new, b1_new, W2_new, b2_new.")
        want = fine_tune_reference(x, y, params, body_lr, head_lr)
        try:
            for name, g, w in zip(names, got, want):
                expect_array(g, w, f"the new {name}", case, tol=1e-6, batch=len(x))
        except Wrong as wrong:
            hint = next((h for m, h in STEP_MISTAKES.items()
                         if all(np.shape(g) == np.shape(w) and rel_error(np.asarray(g, float), w) < 1e-6
                                for g, w in zip(got, fine_tune_reference(x, y, params, body_lr, head_lr, m)))),
                        wrong.hint)
            raise Wrong(wrong.message, hint) from None
    return (f"the four arrays after one step agree with a step along numerical gradients of the loss, each with "
            f"its group's learning rate, on {len(cases)} random networks, one with a frozen body "
            f"(each within a relative error of 1e-6).")


# -- 4. the paired interval -------------------------------------------------------------------

def _interval_cases():
    from ..transfer import T95
    rng = case_rng(804)
    cases = []
    for n in (5, 3, 8):
        shared = rng.normal(0.0, 0.08, n)           # how hard each draw is: shared by both strategies
        a = 0.8 + shared + 0.01 * rng.standard_normal(n) + 0.02
        b = 0.8 + shared + 0.01 * rng.standard_normal(n)
        cases.append((f"{n} draws", a, b, T95[n - 2]))
    return cases


def _interval(a, b, t, paired=True, ddof=1, root=True):
    d = a - b
    sd = d.std(ddof=ddof) if paired else np.sqrt(a.var(ddof=ddof) + b.var(ddof=ddof))
    half = t * sd / (np.sqrt(len(d)) if root else 1.0)
    return np.array([d.mean(), d.mean() - half, d.mean() + half])


@exercise("ex08_paired_interval", LESSON, "the paired difference and its 95 % interval", hints=[
    "Pair the results: every draw gave both strategies the same labelled images, so subtract draw by draw "
    "first and work with the n differences from then on — their mean, and how much they vary.",
    "Compare your formula with section 6: whose spread enters — that of a, that of b, or that of the "
    "differences? And which standard deviation does numpy's .std() compute unless you pass ddof?",
])
def check_paired_interval(paired_interval):
    """paired_interval(a, b, t) -> (mean, low, high) of the differences a − b over paired draws."""
    cases = _interval_cases()
    for case, a, b, t in cases:
        got = call(paired_interval, a, b, t, what="paired_interval(a, b, t)")
        if got is None:
            raise Wrong(f"case {case}: paired_interval returned None.", "return (mean, low, high).")
        want = _interval(a, b, t)
        diagnoses = [
            (lambda g, w: np.allclose(g, -w[[0, 2, 1]]), "the sign is flipped: the differences are a − b."),
            (lambda g, w: np.allclose(g, _interval(a, b, t, paired=False)),
             "that is the unpaired interval (the spreads of a and of b combined): it ignores that a hard draw "
             "lowers both strategies. Subtract draw by draw and use the spread of the differences."),
            (lambda g, w: np.allclose(g, _interval(a, b, t, ddof=0)),
             "the standard deviation of a few differences is the sample one, dividing by n − 1 (ddof=1)."),
            (lambda g, w: np.allclose(g, _interval(a, b, t, root=False)),
             "the interval is too wide by √n: the standard error of the mean is sd / √n."),
            (lambda g, w: np.allclose(g, _interval(a, b, 1.96)),
             "use the t given as an argument: with few draws t is larger than the normal 1.96."),
        ]
        expect_array(got, want, "(mean, low, high)", case, tol=1e-9, diagnoses=diagnoses)
        offset = case_rng(805 + len(a)).normal(0.0, 0.2, len(a))     # a per-draw effect shared by both
        shifted = call(paired_interval, a + offset, b + offset, t, what="paired_interval(a + c, b + c, t)")
        expect_array(shifted, want, "(mean, low, high) after adding the same c_j to a_j and b_j", case, tol=1e-9)
    return (f"(mean, low, high) agree with mean ± t · sd/√n of the paired differences on {len(cases)} cases "
            f"(3 to 8 draws), and do not change when both results of a draw shift by the same amount — what "
            f"pairing is for.")


# -- 5. which strategy wins? --------------------------------------------------------------------

CHOICES = ("linear probe", "fine-tune", "tie")
WIN_SEEDS = tuple(range(5))
QUESTIONS = {"lit, 2 per class": ("lit", 2), "lit, 25 per class": ("lit", 25), "clean, 25 per class": ("clean", 25)}


def _measured():
    """{question: (probe accuracies, fine-tune accuracies)} over WIN_SEEDS: the runs of the notebook's tables."""
    from .. import transfer
    out = {}
    for key, (target, k) in QUESTIONS.items():
        r = transfer.compare([k], WIN_SEEDS, target, strategies=("linear probe", "fine-tune"))
        out[key] = (r["linear probe"][0], r["fine-tune"][0])
    return out


@exercise("ex08_which_wins", LESSON, "linear probe or fine-tuning", hints=[
    "Every draw gave both strategies the same labelled images, so compare them draw by draw: the paired "
    "interval of exercise 4, on the rows of `lit` and `clean` from sections 6 and 7.",
    "A strategy wins only when the whole 95 % interval of its paired difference lies on its side of zero; "
    "an interval that contains zero is a tie, however different the two means look.",
])
def check_which_wins(which_wins):
    """which_wins() -> {question: "linear probe", "fine-tune" or "tie"} for each key of QUESTIONS."""
    from ..transfer import paired_gain, signed
    answer = call(which_wins, what="which_wins()")
    if not isinstance(answer, dict):
        raise Wrong(f"expected a dict like {{'lit, 2 per class': 'tie', ...}}, got {type(answer).__name__}.",
                    f"return a dict with the keys {list(QUESTIONS)}.")
    for key in QUESTIONS:
        if key not in answer:
            raise Wrong(f"the answer has no key {key!r}.", f"use the keys {list(QUESTIONS)}.")
        if answer[key] not in CHOICES:
            raise Wrong(f"{key}: {answer[key]!r} is not one of {list(CHOICES)}.", "spell it exactly as listed.")
    lines = []
    for key, (probe, tuned) in _measured().items():
        mean, low, high = paired_gain(probe, tuned)
        right = "linear probe" if low > 0 else "fine-tune" if high < 0 else "tie"
        measured = (f"linear probe − fine-tune = {signed(100 * mean)} points, 95 % interval "
                    f"[{signed(100 * low)}, {signed(100 * high)}] over {len(WIN_SEEDS)} paired draws")
        chosen = answer[key]
        if chosen != right:
            if right == "tie":
                why, hint = ("the interval contains zero: the measurement cannot name a winner.",
                             "a difference of means is a win only when its whole paired interval excludes zero.")
            elif chosen == "tie":
                why, hint = (f"the whole interval lies on the side of {right}: that is a win beyond the noise.",
                             "an interval that excludes zero is a measured difference, however small the means' gap.")
            else:
                why, hint = (f"{chosen} is measurably behind.",
                             "check the sign: the interval is for linear probe − fine-tune.")
            raise Wrong(f"{key}: you said {chosen!r}; measured {measured} — {why}", hint)
        lines.append(f"{key}: {right} ({measured})")
    return "your answers agree with the measurement. " + "; ".join(lines) + "."
