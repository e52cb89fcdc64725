"""Checks for 08_transfer_learning: freeze the body and attach a new head, parameter groups
with a lower body learning rate, predicting which strategy wins."""
__all__ = ["check_transfer_model", "check_param_groups", "check_which_wins"]

import numpy as np

from .core import Wrong, call, exercise
from ..core import Layer
from ..models import mlp
from ..layers import Linear, Sequential
from ..optim import SGD, Optimizer

LESSON = "08_transfer_learning"


def _pretrained(classes=3):
    """A small stand-in for a pretrained network: Linear(6→5), ReLU, Linear(5→4), ReLU, Linear(4→classes)."""
    return mlp([6, 5, 4, classes], np.random.default_rng(11))


def _leaves(layer):
    if isinstance(layer, Sequential):
        for child in layer:
            yield from _leaves(child)
    else:
        yield layer


# -- freeze the body, attach a new head ----------------------------------------------------

@exercise("ex08_transfer_model", LESSON, "freeze the body and attach a new head", hints=[
    "The body is every layer of the pretrained model but the last (model.layers[:-1]). Copy it "
    "(copy.deepcopy) so the pretrained model stays as it was, set p.trainable = False for each of "
    "its parameters, and append a new bp.Linear for the new classes.",
    "body = copy.deepcopy(pretrained).layers[:-1]; for p in bp.Sequential(*body).parameters(): "
    "p.trainable = False; head = bp.Linear(body's last Linear out_features, num_classes, rng=rng); "
    "return bp.Sequential(*body, head).",
])
def check_transfer_model(transfer_model):
    """transfer_model(pretrained, num_classes, rng) -> a model: the pretrained body, frozen, then a new head."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 6))
    for classes in (2, 3):
        pretrained = _pretrained()
        saved = [p.data.copy() for p in pretrained.parameters()]
        case = f"num_classes={classes}"
        model = call(transfer_model, pretrained, classes, np.random.default_rng(1),
                     what=f"transfer_model(pretrained, {classes}, rng)")
        if model is None:
            raise Wrong(f"case {case}: transfer_model returned None.", "return the new model (a bp.Sequential).")
        if not isinstance(model, Layer):
            raise Wrong(f"case {case}: expected a model (a bp.Sequential), got a {type(model).__name__}.",
                        "build it with bp.Sequential(*body_layers, head).")
        if any(not p.trainable for p in pretrained.parameters()):
            raise Wrong(f"case {case}: the pretrained model itself is now frozen.",
                        "copy the body first (copy.deepcopy(pretrained)), then freeze the copy: the pretrained "
                        "model should stay usable for other experiments.")
        try:
            out = model.forward(x)
        except Exception as err:
            raise Wrong(f"case {case}: model.forward(x) with x of shape {x.shape} raised "
                        f"{type(err).__name__}: {err}") from None
        if out.shape == (7, 3) and classes == 2:
            raise Wrong(f"case {case}: the model gives 3 outputs per sample, expected {classes}.",
                        "the old head is still there: drop the pretrained model's last layer and add a new "
                        "bp.Linear with num_classes outputs.")
        if out.shape != (7, classes):
            raise Wrong(f"case {case}: the model's output has shape {out.shape}, expected (7, {classes}).",
                        "the new head maps the body's features (4 here) to num_classes outputs.")
        params = model.parameters()
        pre_params = pretrained.parameters()
        if len(params) != len(pre_params):
            raise Wrong(f"case {case}: the model has {len(params)} parameter arrays, expected "
                        f"{len(pre_params)} (the body's {len(pre_params) - 2} and the head's weight and bias).",
                        "keep every body layer and add exactly one new Linear head.")
        body, head = params[:-2], params[-2:]
        for p, q, old in zip(body, pre_params, saved):
            if p.data.shape != q.data.shape or not np.array_equal(p.data, old):
                raise Wrong(f"case {case}: the body's {p.name or 'parameter'} of shape {p.data.shape} is not the "
                            f"pretrained one.", "take the body's layers from the pretrained model; do not "
                            "create new ones.")
        if any(p is q for p, q in zip(head, pre_params[-2:])) or (
                classes == 3 and np.array_equal(head[0].data, pre_params[-2].data)):
            raise Wrong(f"case {case}: the head is the pretrained model's old output layer.",
                        "the new task needs a new head: bp.Linear(in_features, num_classes, rng=rng).")
        if any(p.trainable for p in body):
            raise Wrong(f"case {case}: {sum(p.trainable for p in body)} of the body's {len(body)} parameter "
                        f"arrays are still trainable.", "freeze the body: set p.trainable = False for every "
                        "parameter of the body (weights and biases).")
        if not all(p.trainable for p in head):
            raise Wrong(f"case {case}: the new head is frozen too.", "freeze only the body; the head is what "
                        "learns the new task.")
        # features: the head must see exactly what the pretrained body computes (final ReLU included)
        leaves = list(_leaves(model))
        head_layer = leaves[-1]
        if not isinstance(head_layer, Linear):
            raise Wrong(f"case {case}: the model's last layer is {head_layer!r}, expected the new Linear head.",
                        "put the head last: bp.Sequential(*body, head).")
        features = Sequential(*pretrained.layers[:-1]).forward(x)
        expected = features @ head_layer.weight.data + (head_layer.bias.data if head_layer.bias is not None else 0)
        if not np.allclose(out, expected):
            raise Wrong(f"case {case}: the head does not receive the pretrained body's features.",
                        "the body is ALL layers but the last, including the final ReLU: pretrained.layers[:-1].")
        # behaviour: one optimizer step changes the head only
        before = [p.data.copy() for p in params]
        model.zero_grad()
        model.backward(np.ones_like(out))
        SGD(params, lr=0.1).step()
        model.zero_grad()
        if any(not np.array_equal(p.data, b) for p, b in zip(body, before)):
            raise Wrong(f"case {case}: an optimizer step changed the body.", "freeze every body parameter.")
        if all(np.array_equal(p.data, b) for p, b in zip(head, before[-2:])):
            raise Wrong(f"case {case}: an optimizer step did not change the head.", "leave the head trainable.")
        if any(not np.array_equal(q.data, s) for q, s in zip(pretrained.parameters(), saved)):
            raise Wrong(f"case {case}: training the new model changed the pretrained model.",
                        "copy the body (copy.deepcopy) instead of sharing its layers.")
    return ("for 2 and 3 classes: the body is a frozen copy of the pretrained one (same features, "
            "untouched by an SGD step), the head is new and trainable, and the pretrained model is unchanged.")


# -- parameter groups ---------------------------------------------------------------------------

def _body_head():
    rng = np.random.default_rng(5)
    model = mlp([4, 3, 3, 2], rng)
    return Sequential(*model.layers[:-1]), model.layers[-1]


@exercise("ex08_param_groups", LESSON, "parameter groups with a lower body learning rate", hints=[
    "An optimizer accepts a list of parameter groups instead of a list of parameters: each group is a "
    "dict with its 'params' and, optionally, its own 'lr'; groups without 'lr' use the optimizer's lr.",
    "bp.SGD([{'params': body.parameters(), 'lr': body_lr}, {'params': head.parameters()}], lr=head_lr) "
    "— or the same with bp.Adam.",
])
def check_param_groups(make_optimizer):
    """make_optimizer(body, head, body_lr, head_lr) -> an optimizer updating the body at body_lr, the head at head_lr."""
    for body_lr, head_lr in ((1e-3, 1e-1), (0.02, 0.5)):
        body, head = _body_head()
        case = f"body_lr={body_lr}, head_lr={head_lr}"
        opt = call(make_optimizer, body, head, body_lr, head_lr,
                   what=f"make_optimizer(body, head, {body_lr}, {head_lr})")
        if opt is None:
            raise Wrong(f"case {case}: make_optimizer returned None.", "return the optimizer.")
        if not isinstance(opt, Optimizer):
            raise Wrong(f"case {case}: expected an optimizer such as bp.SGD(...), got a {type(opt).__name__}.",
                        "return the optimizer object itself, e.g. bp.SGD([...], lr=head_lr).")
        lr_of = {}
        for group in opt.param_groups:
            for p in group["params"]:
                lr_of[p] = group["lr"]
        missing_body = [p for p in body.parameters() if p not in lr_of]
        missing_head = [p for p in head.parameters() if p not in lr_of]
        if missing_head and missing_body:
            raise Wrong(f"case {case}: the optimizer updates neither the body's nor the head's parameters.",
                        "pass body.parameters() and head.parameters() in the groups.")
        if missing_head:
            raise Wrong(f"case {case}: the head's parameters are in no parameter group: the head would never learn.",
                        "add a group {'params': head.parameters()} (it uses the optimizer's lr, head_lr).")
        if missing_body:
            raise Wrong(f"case {case}: the body's parameters are in no parameter group: that freezes the body, "
                        f"it does not fine-tune it.", "add a group {'params': body.parameters(), 'lr': body_lr}.")
        body_lrs = {lr_of[p] for p in body.parameters()}
        head_lrs = {lr_of[p] for p in head.parameters()}
        if body_lrs == {head_lr} and head_lrs == {body_lr}:
            raise Wrong(f"case {case}: the learning rates are swapped (body {head_lr}, head {body_lr}).",
                        "the pretrained body gets the SMALL learning rate, the new head the large one.")
        if body_lrs == head_lrs and len(body_lrs) == 1:
            raise Wrong(f"case {case}: body and head share one learning rate ({body_lrs.pop()}).",
                        "use two parameter groups so the body can have its own, smaller lr.")
        if body_lrs != {body_lr}:
            raise Wrong(f"case {case}: the body's learning rate is {sorted(body_lrs)}, expected {body_lr}.",
                        "give the body's group 'lr': body_lr.")
        if head_lrs != {head_lr}:
            raise Wrong(f"case {case}: the head's learning rate is {sorted(head_lrs)}, expected {head_lr}.",
                        "the head's group uses head_lr (set it, or make it the optimizer's default lr).")
        # behaviour: one step with every gradient equal to 1 moves body and head by their own lr
        params = body.parameters() + head.parameters()
        before = [p.data.copy() for p in params]
        for p in params:
            p.grad[...] = 1.0
        opt.step()
        for p, b in zip(params, before):
            step = float(np.abs(p.data - b).max())
            want = body_lr if p in body.parameters() else head_lr
            if not np.isclose(step, want, rtol=1e-3):
                raise Wrong(f"case {case}: after one step with gradient 1 a parameter moved by {step:.3g}, "
                            f"expected {want} (lr × 1).", "use a plain optimizer (no weight decay) with the "
                            "learning rates of the exercise.")
    return ("the body's parameters are updated with body_lr and the head's with head_lr (checked in the "
            "parameter groups and by one step), for two pairs of learning rates.")


# -- which strategy wins? -------------------------------------------------------------------------

CHOICES = ("scratch", "linear probe", "fine-tune", "tie")
WIN_SEEDS = (0, 1, 2)
REGIMES = {"2 per class": 2, "50 per class": 50}


def _measured():
    """Accuracies of the three strategies at 2 and 50 per class (the runs of the notebook's table)."""
    from .. import transfer
    return transfer.compare(list(REGIMES.values()), WIN_SEEDS)


def _best_set(results, index, margin=2.0):
    """The strategies the measurement cannot tell apart from the best one (paired over seeds)."""
    means = {s: acc[index].mean() for s, acc in results.items()}
    best = max(means, key=means.get)
    keep = [best]
    for other, acc in results.items():
        if other == best:
            continue
        diff = results[best][index] - acc[index]
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        if diff.mean() <= margin * se:
            keep.append(other)
    return keep, means


def _names(items):
    """["a", "b", "c"] -> "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@exercise("ex08_which_wins", LESSON, "which strategy wins with few and with many labels", hints=[
    "With 2 labelled images per class, how much can a new network learn from scratch — and how much "
    "does each strategy's result vary with WHICH 2 images were drawn? With 50 per class, what limits a "
    "frozen body?",
    "Answer 'tie' when the differences are smaller than the seed-to-seed spread. With many labels the "
    "linear probe is stuck with features made for digits 0–4, while fine-tuning can adapt them.",
])
def check_which_wins(which_wins):
    """which_wins() -> {"2 per class": choice, "50 per class": choice}, each one of CHOICES."""
    answer = call(which_wins, what="which_wins()")
    if not isinstance(answer, dict):
        raise Wrong(f"expected a dict like {{'2 per class': 'tie', '50 per class': 'scratch'}}, "
                    f"got {type(answer).__name__}.", "return a dict with the two keys.")
    for key in REGIMES:
        if key not in answer:
            raise Wrong(f"the answer has no key {key!r}.", f"use the keys {list(REGIMES)}.")
        if answer[key] not in CHOICES:
            raise Wrong(f"{key}: {answer[key]!r} is not one of {list(CHOICES)}.", "spell it exactly as listed.")
    results = _measured()
    lines = []
    for index, (key, k) in enumerate(REGIMES.items()):
        best, means = _best_set(results, index)
        measured = ", ".join(f"{s} {100 * m:.1f}%" for s, m in means.items())
        behind = [s for s in results if s not in best]
        if len(best) > 1:
            verdict = _names([s for s in results if s in best]) + " tie" + (f", {_names(behind)} behind" if behind else "")
            right_answer = "tie"
        else:
            verdict = f"{best[0]} wins"
            right_answer = best[0]
        chosen = answer[key]
        if chosen != right_answer:
            if chosen == "tie":
                why = f"{best[0]} is ahead of the others by more than the spread between draws."
                hint = "compare each difference of means with the ± spread in the table of section 6."
            elif chosen in best:
                others = [b for b in best if b != chosen]
                why = (f"{chosen} has {'the best' if chosen == best[0] else 'a good'} mean, but "
                       f"{_names(others)} {'is' if len(others) == 1 else 'are'} within the spread between draws: "
                       f"the measurement cannot name a winner, so the answer is 'tie'.")
                hint = "a difference smaller than the spread between draws is not a win."
            else:
                why = f"{chosen} is measurably behind ({verdict})."
                hint = ("a frozen body cannot adapt its features to the new digits; with enough labels that "
                        "costs accuracy." if chosen == "linear probe" and k >= 50 else
                        "compare the means and the spread over the draws in the table of section 6.")
            raise Wrong(f"{key}: you said {chosen!r}; measured over {len(WIN_SEEDS)} draws: {measured} — {why}", hint)
        lines.append(f"{key}: {verdict} ({measured})")
    return "your predictions agree with the measurement. " + "; ".join(lines) + "."
