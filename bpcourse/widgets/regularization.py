"""Widgets for 06_overfitting_regularization.

``moons_playground()``: training-set size, L2 λ, L1 λ, dropout p and early-stopping patience →
the decision boundary on two moons and the training/validation loss curves, in the spirit of
TensorFlow Playground. Every change retrains a small MLP (full batch, Adam) from the same seed.
"""
import functools

import ipywidgets as W

from .. import data
from ..challenges import Challenge, register
from ..overfitting import experiment
from ..plots import plot_decision_boundary
from ..train import predict
from .base import Explorer, View, new_figure

__all__ = ["moons_playground"]

DEFAULTS = dict(train_size=30, l2=0.0, l1=0.0, dropout=0.0, patience=0)
LAMBDAS = [0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
HIDDEN, EPOCHS, LR = (64, 64), 200, 0.015
CHALLENGE_SIZE, CHALLENGE_ACC = 30, 86.0

register(Challenge(
    id="ch06_thirty_points", lesson="06_overfitting_regularization", widget="moons_playground",
    goal=f"With at most {CHALLENGE_SIZE} training points, reach a validation accuracy above "
         f"{CHALLENGE_ACC:.0f} % (unregularised, the network memorises its points and gets about 83 %).",
    metric="val_acc", target=CHALLENGE_ACC, below=False, budget={"train_size": CHALLENGE_SIZE}))


@functools.lru_cache(maxsize=1)
def moons_data():
    """A pool of 200 training points (the first n are used) and 300 validation points, noise 0.3."""
    return data.moons(200, noise=0.3, seed=0), data.moons(300, noise=0.3, seed=1)


def train_moons(train_size, l2=0.0, l1=0.0, dropout=0.0, patience=0, seed=0):
    """Train the playground's MLP on the first ``train_size`` pool points; returns an ``overfitting.Result``."""
    (xp, yp), val = moons_data()
    n = int(train_size)
    return experiment((xp[:n], yp[:n]), val, hidden=HIDDEN, dropout=float(dropout), l2=float(l2), l1=float(l1),
                      patience=int(patience) or None, epochs=EPOCHS, lr=LR, batch_size=n, seed=seed)


def update(train_size, l2, l1, dropout, patience):
    (xp, yp), (xv, yv) = moons_data()
    xt, yt = xp[:int(train_size)], yp[:int(train_size)]
    result = train_moons(train_size, l2, l1, dropout, patience)
    h = result.history
    train_acc, val_acc = 100 * result.accuracy((xt, yt)), 100 * result.accuracy((xv, yv))

    fig, (ax0, ax1) = new_figure(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1, 1.3]})
    plot_decision_boundary(lambda p: predict(result.model, p).argmax(axis=1), xv, yv, ax=ax0, resolution=80)
    ax0.collections[-1].set_alpha(0.35)                       # validation points: faint
    ax0.scatter(xt[:, 0], xt[:, 1], c=yt, cmap="coolwarm", s=45, edgecolors="k", linewidths=1.2)
    ax0.set_title(f"{len(xt)} training points (bold), validation (faint)", fontsize=9)
    ax1.plot(h.epochs, h.train_loss, label="train")
    ax1.plot(h.epochs, h.val_loss, "--", label="validation")
    if result.best_epoch is not None:
        ax1.axvline(result.best_epoch, color="k", ls=":", label=f"best epoch {result.best_epoch}")
    ax1.set_yscale("log")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss (log scale)")
    ax1.legend(fontsize=8)

    if result.stopped_epoch is not None:
        stop = f"early stopping: stopped at epoch {result.stopped_epoch}, restored epoch {result.best_epoch}"
    elif patience:
        stop = f"early stopping never triggered in {len(h)} epochs"
    else:
        stop = f"{len(h)} epochs, no early stopping"
    text = (f"<b>train accuracy {train_acc:.1f}%</b> &nbsp; <b>validation accuracy {val_acc:.1f}%</b> "
            f"&nbsp; gap {train_acc - val_acc:.1f} points<br>{stop}")
    metrics = {"val_acc": val_acc, "train_acc": train_acc, "gap": train_acc - val_acc}
    return View(fig, text, metrics)


def moons_playground(**overrides):
    """Regularise a small MLP on two moons: training size, L2, L1, dropout, early stopping → boundary and curves."""
    v = {**DEFAULTS, **overrides}
    style = {"description_width": "initial"}
    controls = {
        "train_size": W.IntSlider(value=v["train_size"], min=10, max=200, step=10,
                                  description="training points", style=style),
        "l2": W.SelectionSlider(options=LAMBDAS, value=v["l2"], description="L2 λ", style=style),
        "l1": W.SelectionSlider(options=LAMBDAS, value=v["l1"], description="L1 λ", style=style),
        "dropout": W.FloatSlider(value=v["dropout"], min=0.0, max=0.7, step=0.1, description="dropout p",
                                 style=style),
        "patience": W.IntSlider(value=v["patience"], min=0, max=50, step=5,
                                description="patience (0 = off)", style=style),
    }
    c = list(controls.values())
    rows = [W.HBox(c[:3]), W.HBox(c[3:])]
    return Explorer(controls, update, "moons_playground", layout_rows=rows)
