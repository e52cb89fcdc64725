"""Pretraining and transfer learning on the digits: pretrain on 0–4, transfer to 5–9.

    from bpcourse import transfer
    pretrained = transfer.pretrained()                     # the shipped MLP, trained on digits 0–4
    model, body, head = transfer.transfer_model(pretrained, rng, freeze_layers=2)   # linear probe
    opt = transfer.fine_tune_optimizer(body, head, body_lr=1e-3, head_lr=1e-2)

Target tasks, all the digits 5–9 (relabelled 0–4) with a few labelled images per class:

- ``"lit"``: the images under **uneven lighting** (each image plus a random brightness
  plane, ``uneven_lighting``), as if photographed by a cheap camera;
- ``"clean"``: the digits as scikit-learn ships them — centred, evenly lit;
- ``"corrected"``: the lit images with each one's best-fitting plane subtracted
  (``remove_lighting``): the hand-made cure for a nuisance one knows exactly.

The pretrained model (``pretrained()``, a file shipped with the package and built by
``tools/build_pretrained.py`` with ``pretrain()``) saw every training image of 0–4 and its 8
one-pixel shifts, each under 4 random lightings drawn like the lit target's: 19 440 images. Three strategies:

- ``"scratch"``: the same architecture, randomly initialised, all layers trained;
- ``"linear probe"``: the pretrained body frozen (feature extraction), only a new head trained;
- ``"fine-tune"``: the pretrained body and a new head all trained, the body with a smaller
  learning rate (two parameter groups) so the pretrained features are adjusted, not overwritten.
"""
import copy
import functools
from pathlib import Path

import numpy as np

from .checkpoint import load
from .data import Splits, digits, few_per_class
from .layers import Linear, Sequential
from .losses import SoftmaxCrossEntropy
from .models import mlp
from .optim import Adam
from .train import fit

__all__ = ["STRATEGIES", "TARGETS", "SOURCE_CLASSES", "TARGET_CLASSES", "WEIGHTS", "T95", "source_data",
           "target_data", "shifted", "uneven_lighting", "remove_lighting", "lighting_share", "pretraining_set",
           "build_mlp", "pretrain", "pretrained", "split", "freeze", "unfreeze", "new_head", "transfer_model",
           "fine_tune_optimizer", "train_steps", "train_strategy", "accuracy", "run_strategy", "compare",
           "paired_gain", "signed", "summarize", "gains", "plot_comparison", "one_blas_thread"]

STRATEGIES = ("scratch", "linear probe", "fine-tune")
COLORS = {"scratch": "tab:gray", "linear probe": "tab:orange", "fine-tune": "tab:blue"}   # in every plot
TARGETS = ("lit", "clean", "corrected")
SOURCE_CLASSES, TARGET_CLASSES = tuple(range(5)), tuple(range(5, 10))
WIDTH = 128
STEPS = 100            # optimizer steps for every strategy and every training-set size: a fair budget
HEAD_LR, BODY_LR = 1e-2, 1e-3
LIGHT = 0.5            # the lighting plane's coefficients are uniform in ±LIGHT (pixels lie in [0, 1])
LIGHTINGS = 4          # random lightings of each shifted source image in the pretraining set
WEIGHTS = Path(__file__).resolve().parent / "pretrained" / "digits04_mlp.npz"
_LIGHT_SEEDS = {"train": 1, "val": 2, "test": 3}     # each split's lighting is drawn once, fixed


def source_data(target="clean"):
    """Digits 0–4 (labels 0–4), split into train/val/test; ``target="lit"``: under uneven lighting."""
    return _digits(SOURCE_CLASSES, _check_target(target))


def target_data(target="lit"):
    """Digits 5–9, relabelled 0–4, split into train/val/test (the few labelled examples come from train)."""
    return _digits(TARGET_CLASSES, _check_target(target))


@functools.lru_cache(maxsize=None)
def _digits(classes, target):
    splits = digits(classes=classes, seed=0)
    if target == "clean":
        return splits
    lit = Splits(*[(uneven_lighting(x, np.random.default_rng([_LIGHT_SEEDS[name], classes[0]])), y)
                   for name, (x, y) in splits._asdict().items()])
    return lit if target == "lit" else Splits(*[(remove_lighting(x), y) for x, y in lit])


def _check_target(target):
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {TARGETS}.")
    return target


def _plane_basis():
    """(64, 3): the constant, row and column coordinates of the 8×8 pixels, from −1 to 1."""
    coords = np.linspace(-1.0, 1.0, 8)
    return np.column_stack([np.ones(64), np.repeat(coords, 8), np.tile(coords, 8)])   # pixel k: (k // 8, k % 8)


def uneven_lighting(x, rng, strength=LIGHT):
    """Each 8×8 image plus its own brightness plane a + b·row + c·col (a, b, c uniform in ±strength;
    row and col run from −1 at the top/left to 1 at the bottom/right). x: (N, 64) -> (N, 64)."""
    planes = rng.uniform(-strength, strength, (len(x), 3))
    return x + planes @ _plane_basis().T


def remove_lighting(x):
    """Each image minus its least-squares plane a + b·row + c·col: removes any lighting plane
    exactly (and with it the digit's own mean and tilt). x: (N, 64) -> (N, 64)."""
    basis = _plane_basis()
    coef, *_ = np.linalg.lstsq(basis, x.T, rcond=None)              # (3, N)
    return x - (basis @ coef).T


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


def pretraining_set(lightings=LIGHTINGS, seed=0):
    """Every training image of 0–4 and its 8 one-pixel shifts (×9), each copy under ``lightings``
    random lightings (×``lightings``); ``lightings=0``: the shifted images once, without lighting."""
    x, y = shifted(*source_data().train)
    if lightings == 0:
        return x, y
    rng = np.random.default_rng(seed)
    return np.concatenate([uneven_lighting(x, rng) for _ in range(lightings)]), np.tile(y, lightings)


def lighting_share(weights):
    """The fraction of the squared norm of a first layer's weights (64, k) that lies in the span of
    the lighting planes (constant, row, column): 0 for units blind to every lighting plane, 1 for units
    that see nothing else, about 3/64 ≈ 0.047 for random weights (3 of 64 directions)."""
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != 64 or not np.any(w):
        raise ValueError(f"lighting_share needs a nonzero first-layer weight of shape (64, k), got shape {w.shape}.")
    q, _ = np.linalg.qr(_plane_basis())                            # (64, 3), orthonormal
    return float(np.sum((q.T @ w) ** 2) / np.sum(w ** 2))


def build_mlp(rng, classes=5, width=WIDTH):
    """The architecture of every strategy: 64 → width → width → classes, ReLU between."""
    return mlp([64, width, width, classes], rng)


def pretrain(seed=0, epochs=10, lightings=LIGHTINGS):
    """Train ``build_mlp`` on ``pretraining_set(lightings, seed)`` (the defaults: what
    ``tools/build_pretrained.py`` ships; ``lightings=0``: the same recipe without the lighting).

    Returns (model, history); the history's val columns are measured on 0–4's lit validation set.
    """
    rng = np.random.default_rng(seed)
    model = build_mlp(rng)
    with one_blas_thread():
        history = fit(model, SoftmaxCrossEntropy(), Adam(model.parameters(), lr=1e-3),
                      pretraining_set(lightings, seed), val=source_data("lit").val,
                      epochs=epochs, batch_size=128, rng=rng, progress=False)
    return model, history


@functools.lru_cache(maxsize=1)
def _pretrained_cached():
    if not WEIGHTS.exists():
        raise FileNotFoundError(f"the pretrained weights {WEIGHTS} are missing: rebuild them with "
                                f"`python tools/build_pretrained.py` (or reinstall bpcourse).")
    return load(build_mlp(np.random.default_rng(0)), WEIGHTS)


def pretrained():
    """A copy of the shipped pretrained model (loaded once per session; copies cannot spoil it)."""
    return copy.deepcopy(_pretrained_cached())


def one_blas_thread():
    """A context in which matrix products use one thread: these matrices are small, and
    more threads only add waiting (badly so on a busy machine; lesson 07 measures it)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(1, user_api="blas")


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


def train_steps(model, optimizer, x, y, steps, rng, batch_size=32):
    """Exactly ``steps`` optimizer steps of softmax cross-entropy on mini-batches of (x, y).

    A fixed number of steps gives every strategy and every training-set size the same budget
    (``bp.fit`` counts epochs, which would give 1 labelled image per class far fewer steps).
    """
    loss_fn, n = SoftmaxCrossEntropy(), len(x)
    batch_size = min(batch_size, n)
    order, start = rng.permutation(n), 0
    model.train()
    for _ in range(steps):
        if start + batch_size > n:                   # a new epoch: a new order
            order, start = rng.permutation(n), 0
        batch = order[start:start + batch_size]
        start += batch_size
        loss_fn.forward(model.forward(x[batch]), y[batch])
        model.backward(loss_fn.backward())
        optimizer.step()
        model.zero_grad()
    model.eval()
    return model


def train_strategy(strategy, x, y, seed, pretrained_model=None, freeze_layers=None, body_lr=BODY_LR,
                   head_lr=HEAD_LR, steps=STEPS):
    """Train one strategy on (x, y) for ``steps`` Adam steps. Returns the trained model.

    ``freeze_layers`` (fine-tune only): how many body Linear layers to keep frozen (default 0).
    A linear probe computes the frozen body's features once and trains only the head on them —
    the same result as training body + head with the body frozen, without the wasted passes.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {STRATEGIES}.")
    rng = np.random.default_rng(seed)
    if strategy == "scratch":
        model = build_mlp(rng)
        return train_steps(model, Adam(model.parameters(), lr=head_lr), x, y, steps, rng)
    if pretrained_model is None:
        raise ValueError(f"strategy {strategy!r} needs the pretrained model.")
    if strategy == "linear probe":
        model, body, head = transfer_model(pretrained_model, rng, freeze_layers=2)
        body.eval()
        features = body.forward(x)                  # the frozen body never changes: compute once
        train_steps(head, Adam(head.parameters(), lr=head_lr), features, y, steps, rng)
        return model
    model, body, head = transfer_model(pretrained_model, rng, freeze_layers=freeze_layers or 0)
    return train_steps(model, fine_tune_optimizer(body, head, body_lr, head_lr), x, y, steps, rng)


def accuracy(model, x, y):
    """The fraction of rows of x whose largest logit is the label (the model in eval mode)."""
    model.eval()
    return float(np.mean(model.forward(x).argmax(axis=1) == y))


def run_strategy(strategy, per_class, seed, target="lit", pretrained_model=None, **options):
    """Test accuracy on the target task after training ``strategy`` on ``per_class`` examples per class.

    The examples are drawn with ``seed`` (the same for every strategy); the test set is always the same.
    Without ``pretrained_model`` the shipped one (``pretrained()``) is used and the result is
    remembered for the session, so the notebook, its widget and its checks share the runs.
    """
    _check_target(target)
    if pretrained_model is None:
        return _run_default(strategy, int(per_class), int(seed), target, _options_key(strategy, options))
    return _run(strategy, per_class, seed, target, pretrained_model, **options)


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
def _run_default(strategy, per_class, seed, target, options):
    return _run(strategy, per_class, seed, target, _pretrained_cached(), **dict(options))


def _run(strategy, per_class, seed, target, pretrained_model, **options):
    data = target_data(target)
    x, y = few_per_class(*data.train, per_class, seed=seed)
    with one_blas_thread():
        model = train_strategy(strategy, x, y, seed, pretrained_model, **options)
        return accuracy(model, *data.test)


def compare(per_class_list, seeds, target="lit", pretrained_model=None, strategies=STRATEGIES, **options):
    """{strategy: array (len(per_class_list), len(seeds)) of test accuracies}; row i, column j:
    ``per_class_list[i]`` labelled images per class drawn with ``seeds[j]``, the same for every strategy."""
    return {s: np.array([[run_strategy(s, k, seed, target, pretrained_model, **options) for seed in seeds]
                         for k in per_class_list]) for s in strategies}


# two-sided 95 % quantiles of Student's t for 1 … 10 degrees of freedom (n − 1 for n paired draws)
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


def paired_gain(a, b):
    """(mean, low, high): the mean of the paired differences a − b over draws and its 95 % interval.

    a, b: (n,) results of two strategies on the same n draws (2 ≤ n ≤ 11). The interval is
    mean ± t · sd / √n with the differences' sample sd (ddof=1) and Student's t for n − 1 degrees of freedom.
    """
    d = np.asarray(a, float) - np.asarray(b, float)
    if d.ndim != 1 or not 2 <= len(d) <= len(T95) + 1:
        raise ValueError(f"paired_gain needs two 1-D arrays of 2 to {len(T95) + 1} paired results, "
                         f"got shape {d.shape}.")
    half = T95[len(d) - 2] * d.std(ddof=1) / np.sqrt(len(d))
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half)


def signed(value, width=0):
    """A number of points with its sign and one decimal, never "-0.0": signed(2.04) -> "+2.0"."""
    text = f"{value:+.1f}"
    return ("+0.0" if text == "-0.0" else text).rjust(width)


def summarize(results, per_class_list):
    """A text table: mean ± standard deviation (over draws) of the test accuracy in %."""
    strategies = list(results)
    lines = [f"{'per class':>9}  " + "".join(f"{s:>16}" for s in strategies)]
    for i, k in enumerate(per_class_list):
        cells = [f"{100 * results[s][i].mean():6.1f} ± {100 * results[s][i].std(ddof=1):4.1f}" for s in strategies]
        lines.append(f"{k:>9}  " + "".join(f"{c:>16}" for c in cells))
    return "\n".join(lines)


def gains(results, per_class_list, baseline="scratch"):
    """A text table: each strategy's paired gain over ``baseline`` in points, mean [95 % interval]."""
    others = [s for s in results if s != baseline]
    lines = [f"{'per class':>9}  " + "".join(f"{s + ' − ' + baseline:>26}" for s in others)]
    for i, k in enumerate(per_class_list):
        cells = []
        for s in others:
            mean, low, high = (100 * v for v in paired_gain(results[s][i], results[baseline][i]))
            cells.append(f"{signed(mean, 6)} [{signed(low, 6)}, {signed(high, 6)}]")
        lines.append(f"{k:>9}  " + "".join(f"{c:>26}" for c in cells))
    return "\n".join(lines)


def plot_comparison(results, per_class_list, ax=None):
    """Test accuracy versus labelled examples per class (log axis), one line per strategy,
    with every draw as a dot."""
    import matplotlib.pyplot as plt
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    for s, acc in results.items():
        line, = ax.plot(per_class_list, 100 * acc.mean(axis=1), "o-", label=s, color=COLORS.get(s))
        ax.plot(np.repeat(per_class_list, acc.shape[1]), 100 * acc.ravel(), ".", color=line.get_color(),
                alpha=0.35, markersize=4)
    ax.set_xscale("log")
    ax.set_xticks(per_class_list)
    ax.set_xticklabels([str(k) for k in per_class_list])
    ax.minorticks_off()
    ax.set(xlabel="labelled examples per class", ylabel="test accuracy (%)")
    ax.legend(loc="lower right")
    return ax

