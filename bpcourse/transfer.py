"""Pretraining and transfer learning on the digits: pretrain on 0–4, transfer to 5–9.

    from bpcourse import transfer
    pretrained = transfer.pretrain()                       # an MLP trained on digits 0–4
    model, body, head = transfer.transfer_model(pretrained, freeze_layers=2, rng=rng)   # linear probe
    opt = transfer.fine_tune_optimizer(body, head, body_lr=1e-3, head_lr=1e-2)

Three strategies for the target task (digits 5–9, a few labelled examples per class):

- ``"scratch"``: the same architecture, randomly initialised, all layers trained;
- ``"linear probe"``: the pretrained body frozen (feature extraction), only a new head trained;
- ``"fine-tune"``: the pretrained body and a new head all trained, the body with a smaller
  learning rate (two parameter groups) so the pretrained features are adjusted, not overwritten.
"""
import copy
import functools

import numpy as np

from .data import digits, few_per_class
from .layers import Linear, Sequential
from .losses import SoftmaxCrossEntropy
from .models import mlp
from .optim import Adam
from .train import evaluate, fit

__all__ = ["STRATEGIES", "SOURCE_CLASSES", "TARGET_CLASSES", "source_data", "target_data", "shifted",
           "build_mlp", "pretrain", "pretrained", "split", "freeze", "unfreeze", "new_head",
           "transfer_model", "fine_tune_optimizer", "train_strategy", "run_strategy", "compare",
           "summarize", "plot_comparison", "one_blas_thread", "winner"]

STRATEGIES = ("scratch", "linear probe", "fine-tune")
SOURCE_CLASSES, TARGET_CLASSES = tuple(range(5)), tuple(range(5, 10))
WIDTH = 128
STEPS = 200            # optimizer steps for every strategy and every training-set size: a fair budget
HEAD_LR, BODY_LR = 1e-2, 1e-3


@functools.lru_cache(maxsize=None)
def source_data(seed=0):
    """Digits 0–4 (labels 0–4), split into train/val/test."""
    return digits(classes=SOURCE_CLASSES, seed=seed)


@functools.lru_cache(maxsize=None)
def target_data(seed=0):
    """Digits 5–9, relabelled 0–4, split into train/val/test (the few-shot examples come from train)."""
    return digits(classes=TARGET_CLASSES, seed=seed)


def shifted(x, y):
    """The images and their copies moved by one pixel in each of 8 directions (9× the data).

    Pretraining data is cheap, and seeing shifted digits teaches features that do not care
    where exactly a stroke lies — features that transfer. x: (N, 64) 8×8 images.
    """
    images = x.reshape(-1, 8, 8)
    out = [images]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            moved = np.zeros_like(images)
            moved[:, max(dy, 0):8 + min(dy, 0), max(dx, 0):8 + min(dx, 0)] = \
                images[:, max(-dy, 0):8 + min(-dy, 0), max(-dx, 0):8 + min(-dx, 0)]
            out.append(moved)
    return np.concatenate(out).reshape(-1, 64), np.tile(y, len(out))


def build_mlp(rng, classes=5, width=WIDTH):
    """The architecture of every strategy: 64 → width → width → classes, ReLU between."""
    return mlp([64, width, width, classes], rng)


def pretrain(seed=0, epochs=10, augment=True):
    """Train ``build_mlp`` on all of digits 0–4's training set (with shifted copies).

    Returns (model, history); the history's val columns are measured on 0–4's validation set.
    """
    rng = np.random.default_rng(seed)
    data = source_data()
    model = build_mlp(rng)
    train = shifted(*data.train) if augment else data.train
    history = fit(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=3e-3), train, val=data.val,
                  epochs=epochs, batch_size=64, rng=rng, progress=False)
    return model, history


@functools.lru_cache(maxsize=1)
def _pretrained_cached():
    with one_blas_thread():
        return pretrain()[0]


def one_blas_thread():
    """A context in which matrix products use one thread: these matrices are small, and
    more threads only add waiting (badly so on a busy machine; lesson 07 measures it)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1, user_api="blas")


def pretrained():
    """A copy of the default pretrained model (trained once per session, then cached)."""
    return copy.deepcopy(_pretrained_cached())


def split(model):
    """(body, head) of a Sequential: every layer but the last, and the last."""
    return Sequential(*model.layers[:-1]), model.layers[-1]


def freeze(layers):
    """Mark every parameter of the given layer(s) as not trainable; optimizers skip them."""
    for layer in _as_list(layers):
        for p in layer.parameters():
            p.trainable = False
    return layers


def unfreeze(layers):
    """Make every parameter of the given layer(s) trainable again."""
    for layer in _as_list(layers):
        for p in layer.parameters():
            p.trainable = True
    return layers


def _as_list(layers):
    return list(layers) if isinstance(layers, (list, tuple)) else [layers]


def new_head(in_features, num_classes, rng):
    """A fresh, randomly initialised output layer for the new task."""
    return Linear(in_features, num_classes, rng=rng)


def transfer_model(pretrained_model, rng, freeze_layers=0, num_classes=5):
    """A copy of the pretrained body with its first ``freeze_layers`` Linear layers frozen,
    and a new head. Returns (model, body, head); the pretrained model is left untouched.

    freeze_layers=0: everything trainable (fine-tuning); = number of body Linear layers: linear probe.
    """
    body, _ = split(copy.deepcopy(pretrained_model))
    linears = [layer for layer in body.layers if isinstance(layer, Linear)]
    if not 0 <= freeze_layers <= len(linears):
        raise ValueError(f"freeze_layers must lie between 0 and {len(linears)} (the body's Linear layers), "
                         f"got {freeze_layers}.")
    freeze(linears[:freeze_layers])
    head = new_head(linears[-1].out_features, num_classes, rng)
    return Sequential(*body.layers, head), body, head


def fine_tune_optimizer(body, head, body_lr=BODY_LR, head_lr=HEAD_LR):
    """Adam with two parameter groups: the body's trainable parameters at ``body_lr``, the head's at ``head_lr``."""
    groups = [{"params": head.parameters()}]
    trainable = [p for p in body.parameters() if p.trainable]
    if trainable:
        groups.insert(0, {"params": trainable, "lr": body_lr})
    return Adam(groups, lr=head_lr)


def _epochs(n, batch_size, steps=STEPS):
    per_epoch = -(-n // batch_size)
    return max(1, round(steps / per_epoch))


def train_strategy(strategy, x, y, seed, pretrained_model=None, freeze_layers=None, body_lr=BODY_LR,
                   head_lr=HEAD_LR, steps=STEPS):
    """Train one strategy on (x, y) for about ``steps`` Adam steps. Returns the trained model.

    ``freeze_layers`` (fine-tune only): how many body Linear layers to keep frozen (default 0).
    A linear probe computes the frozen body's features once and trains only the head on them —
    the same result as training body + head with the body frozen, without the wasted passes.
    """
    rng = np.random.default_rng(seed)
    batch_size = min(32, len(x))
    epochs = _epochs(len(x), batch_size, steps)
    loss_fn = SoftmaxCrossEntropy()
    if strategy == "scratch":
        model = build_mlp(rng)
        fit(model, loss_fn, Adam(model.parameters(), lr=head_lr), (x, y), epochs=epochs,
            batch_size=batch_size, rng=rng, progress=False)
        return model
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}.")
    if pretrained_model is None:
        raise ValueError(f"strategy {strategy!r} needs the pretrained model.")
    if strategy == "linear probe":
        model, body, head = transfer_model(pretrained_model, rng, freeze_layers=2)
        features = body.forward(x)                  # the frozen body never changes: compute once
        fit(head, loss_fn, Adam(head.parameters(), lr=head_lr), (features, y), epochs=epochs,
            batch_size=batch_size, rng=rng, progress=False)
        return model
    if strategy == "fine-tune":
        model, body, head = transfer_model(pretrained_model, rng, freeze_layers=freeze_layers or 0)
        fit(model, loss_fn, fine_tune_optimizer(body, head, body_lr, head_lr), (x, y), epochs=epochs,
            batch_size=batch_size, rng=rng, progress=False)
        return model
    raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}.")


def run_strategy(strategy, per_class, seed, pretrained_model=None, **options):
    """Test accuracy on digits 5–9 after training ``strategy`` on ``per_class`` examples per class.

    The examples are drawn with ``seed`` (the same for every strategy); the test set is always the same.
    Without ``pretrained_model`` the default one (``pretrained()``) is used and the result is
    remembered for the session, so the notebook, its widget and its checks share the runs.
    """
    if pretrained_model is None:
        return _run_default(strategy, per_class, seed, _options_key(strategy, options))
    return _run(strategy, per_class, seed, pretrained_model, **options)


def _options_key(strategy, options):
    """The options that matter for this strategy, defaults filled in: equal runs share one cache entry."""
    used = {"head_lr": float(HEAD_LR), "steps": STEPS}
    if strategy == "fine-tune":
        used.update(freeze_layers=0, body_lr=float(BODY_LR))
    unknown = set(options) - {"head_lr", "steps", "freeze_layers", "body_lr"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; run_strategy takes head_lr, steps, freeze_layers, body_lr.")
    for name, value in options.items():
        if name in used:
            used[name] = type(used[name])(value)
    return tuple(sorted(used.items()))


@functools.lru_cache(maxsize=None)
def _run_default(strategy, per_class, seed, options):
    return _run(strategy, per_class, seed, _pretrained_cached(), **dict(options))


def _run(strategy, per_class, seed, pretrained_model, **options):
    data = target_data()
    x, y = few_per_class(*data.train, per_class, seed=seed)
    with one_blas_thread():
        model = train_strategy(strategy, x, y, seed, pretrained_model, **options)
        return evaluate(model, SoftmaxCrossEntropy(), *data.test)[1]


def compare(per_class_list, seeds, pretrained_model=None, strategies=STRATEGIES, **options):
    """{strategy: array (len(per_class_list), len(seeds)) of test accuracies}."""
    return {s: np.array([[run_strategy(s, k, seed, pretrained_model, **options) for seed in seeds]
                         for k in per_class_list]) for s in strategies}


def summarize(results, per_class_list):
    """A text table: mean ± standard deviation (over seeds) of the test accuracy in %."""
    strategies = list(results)
    lines = [f"{'per class':>9}  " + "".join(f"{s:>16}" for s in strategies)]
    for i, k in enumerate(per_class_list):
        cells = [f"{100 * results[s][i].mean():6.1f} ± {100 * results[s][i].std():4.1f}" for s in strategies]
        lines.append(f"{k:>9}  " + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def plot_comparison(results, per_class_list, ax=None):
    """Test accuracy versus labelled examples per class (log axis), one line per strategy,
    with the spread over seeds as a band."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    for s, acc in results.items():
        mean, std = 100 * acc.mean(axis=1), 100 * acc.std(axis=1)
        ax.plot(per_class_list, mean, "o-", label=s)
        ax.fill_between(per_class_list, mean - std, mean + std, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(per_class_list)
    ax.set_xticklabels([str(k) for k in per_class_list])
    ax.set(xlabel="labelled examples per class (digits 5–9)", ylabel="test accuracy (%)")
    ax.legend()
    return ax


def winner(results, index, margin=2.0):
    """The strategy that wins at row ``index`` of ``compare``'s results, or ``"tie"``.

    A strategy wins when its mean accuracy beats every other strategy's by more than ``margin``
    standard errors of the per-seed differences (each seed uses the same examples for every
    strategy, so the differences are paired). Otherwise the measurement cannot separate them.
    """
    means = {s: acc[index].mean() for s, acc in results.items()}
    best = max(means, key=means.get)
    for other in results:
        if other == best:
            continue
        diff = results[best][index] - results[other][index]
        spread = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else 0.0
        if diff.mean() <= margin * spread or diff.mean() <= 0:
            return "tie"
    return best
