"""Widgets for 06_overfitting_regularization.

``moons_playground()``: training-set size, L2 λ, L1 λ, dropout p and early-stopping patience →
the decision boundary on two moons, the loss curves, and the validation accuracy over several
draws of the training set, with its gain over the unregularised network on the same draws.
Every change retrains a small MLP (full batch, Adam) once per draw; the sliders act on release.
"""
import functools
import textwrap

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from .. import data
from ..challenges import Challenge, register
from ..overfitting import experiment, paired
from ..plots import plot_decision_boundary
from ..train import predict
from .base import Explorer, View

__all__ = ["moons_playground"]

DRAWS, NOISE = 5, 0.3
HIDDEN, EPOCHS, LR = (64, 64), 150, 0.01
SIZES = [10, 20, 30, 50, 100, 200]
LAMBDAS = [0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
DROPOUTS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
PATIENCES = [("off", 0), ("5", 5), ("10", 10), ("20", 20), ("40", 40)]
DEFAULTS = dict(train_size=20, l2=0.0, l1=0.0, dropout=0.0, patience=0)
CHALLENGE_SIZE = 20

register(Challenge(
    id="ch06_beyond_noise", lesson="06_overfitting_regularization", widget="moons_playground",
    goal=f"With at most {CHALLENGE_SIZE} training points, regularise so that the validation accuracy rises by "
         f"more than the draw-to-draw noise: the 95 % interval of the gain over the unregularised network "
         f"(same {DRAWS} draws) must lie above 0.",
    metric="gain_low", target=0.0, below=False, budget={"train_size": CHALLENGE_SIZE}))


def moons_draw(n, draw):
    """Training set number ``draw``: n fresh points of two noisy moons, x (n, 2), y (n,)."""
    return data.moons(int(n), noise=NOISE, seed=100 + int(draw))


@functools.lru_cache(maxsize=1)
def moons_val():
    """The validation set every draw is measured on: 300 points, x (300, 2), y (300,)."""
    return data.moons(300, noise=NOISE, seed=1)


def train_moons(train_size, draw=0, l2=0.0, l1=0.0, dropout=0.0, patience=0, curves=False):
    """Train the playground's MLP on draw ``draw`` (seed = draw); ``curves``: measure the
    validation loss every epoch (early stopping always does). Returns an ``overfitting.Result``."""
    watch = bool(patience) or curves
    return experiment(moons_draw(train_size, draw), moons_val() if watch else None, hidden=HIDDEN,
                      dropout=float(dropout), l2=float(l2), l1=float(l1), patience=int(patience) or None,
                      epochs=EPOCHS, lr=LR, batch_size=int(train_size), seed=int(draw))


@functools.lru_cache(maxsize=64)
def runs(train_size, l2=0.0, l1=0.0, dropout=0.0, patience=0):
    """The setting trained on each of the DRAWS draws (draw 0 with its validation curve), as a tuple."""
    return tuple(train_moons(train_size, d, l2, l1, dropout, patience, curves=d == 0) for d in range(DRAWS))


def val_accuracies(train_size, l2=0.0, l1=0.0, dropout=0.0, patience=0):
    """Validation accuracy (%) of the setting on each draw, as an array."""
    return np.array([100 * r.accuracy(moons_val()) for r in runs(train_size, l2, l1, dropout, patience)])


def update(train_size, l2, l1, dropout, patience):
    xt, yt = moons_draw(train_size, 0)
    xv, yv = moons_val()
    try:
        shown = runs(train_size, l2, l1, dropout, patience)[0]                   # draw 0, drawn in full
        accs, base = val_accuracies(train_size, l2, l1, dropout, patience), val_accuracies(train_size)
    except FloatingPointError as err:                       # fit stopped a run that diverged
        return View(_message(f"Training stopped: {err}"), f"<b>Training stopped</b> on one of the draws: {err}",
                    {})
    h = shown.history
    gain = paired(accs, base)
    low, high = gain.interval
    train_acc = 100 * shown.accuracy((xt, yt))

    with plt.ioff():                    # fixed margins: a constrained layout would double the drawing time
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1, 1.3]})
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.13, top=0.87, wspace=0.3)
    plot_decision_boundary(lambda p: predict(shown.model, p).argmax(axis=1), xv, yv, ax=ax0, resolution=80)
    ax0.collections[-1].set_alpha(0.35)                       # validation points: faint
    ax0.scatter(xt[:, 0], xt[:, 1], c=yt, cmap="coolwarm", s=45, edgecolors="k", linewidths=1.2)
    ax0.set_title(f"draw 1: {len(xt)} training points (bold), validation (faint)", fontsize=9)
    ax1.plot(h.epochs, h.train_loss, label="train")
    ax1.plot(h.epochs, h.val_loss, "--", label="validation")
    if shown.best_epoch is not None:
        ax1.axvline(shown.best_epoch, color="k", ls=":", label=f"restored epoch {shown.best_epoch}")
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_ylabel("loss, draw 1 (log scale)")
    ax1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)

    if shown.stopped_epoch is not None:
        stop = f"early stopping stopped at epoch {shown.stopped_epoch}, restored epoch {shown.best_epoch}"
    elif patience:
        stop = f"early stopping never triggered in {len(h)} epochs"
    else:
        stop = f"{len(h)} epochs, no early stopping"
    text = (f"draw 1: train accuracy {train_acc:.1f}%, validation {accs[0]:.1f}%; {stop}.<br>"
            f"<b>validation accuracy over {DRAWS} draws: {accs.mean():.1f} ± {accs.std(ddof=1):.1f}%</b> "
            f"(mean ± sd); gain over the unregularised network on the same draws: "
            f"<b>{gain.mean:+.1f} points</b> (95 % interval {low:+.1f} … {high:+.1f})")
    metrics = {"val_acc": float(accs.mean()), "train_acc": train_acc, "gain": gain.mean, "gain_low": low}
    return View(fig, text, metrics)


def _message(text):
    """A figure holding only a message (it replaces the plots when training stopped)."""
    with plt.ioff():
        fig = plt.figure(figsize=(9, 1.2))
    fig.text(0.01, 0.5, textwrap.fill(text, 130), va="center", fontsize=9)
    return fig


def _slider(options, value, description):
    """A SelectionSlider of the values it can take, acting on release. Set by index: given a falsy
    value (0, 0.0), ipywidgets 8 leaves the readout label empty."""
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    return W.SelectionSlider(options=options, index=values.index(value), description=description,
                             continuous_update=False, style={"description_width": "initial"},
                             layout=W.Layout(width="320px"))


def moons_playground(**overrides):
    """Regularise a small MLP on two moons: training size, L2, L1, dropout, early stopping → boundary,
    curves, and the validation accuracy over several draws."""
    v = {**DEFAULTS, **overrides}
    controls = {
        "train_size": _slider(SIZES, v["train_size"], "training points"),
        "l2": _slider(LAMBDAS, v["l2"], "L2 λ"),
        "l1": _slider(LAMBDAS, v["l1"], "L1 λ"),
        "dropout": _slider(DROPOUTS, v["dropout"], "dropout p"),
        "patience": _slider(PATIENCES, v["patience"], "early stopping patience"),
    }
    c = list(controls.values())
    rows = [W.HBox(c[:3]), W.HBox(c[3:])]
    return Explorer(controls, update, "moons_playground", layout_rows=rows)
