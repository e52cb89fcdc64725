"""Widget for 07_minibatching_and_cost: batch size and learning rate -> time per epoch,
gradient noise, and the loss curve per epoch and per second.

The logic is in ``cost_run`` and ``noise_curve`` (plain functions); the widget only draws.
The noise curve is exact (from every sample's own gradient), so it shows the 1/B law without
the scatter of random draws.
"""
import functools

import ipywidgets as W
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..challenges import Challenge, register
from ..data import digits
from ..flops import exact_gradient_noise, per_sample_gradients, train_timed
from ..models import mlp
from ..losses import SoftmaxCrossEntropy
from ..optim import SGD
from .base import Explorer, View, new_figure

__all__ = ["cost_explorer"]

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LEARNING_RATES = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0)   # what the slider can take
SAMPLES = 400          # a slice of the digits' training set: B = 1 stays well under a second
EPOCHS = 5
LARGE_BATCH = 128
TARGET_LOSS = 1.5      # at lr 0.1 a large batch stays above 1.8 on every seed; at lr 0.5 B = 128 is below 1.3

register(Challenge(
    id="ch07_large_batch",
    lesson="07_minibatching_and_cost",
    widget="cost_explorer",
    goal=(f"Large batches make few steps: with batch size ≥ {LARGE_BATCH} (at most 4 steps per epoch) "
          f"get the training loss after {EPOCHS} epochs below {TARGET_LOSS} — by choosing the learning rate "
          f"(at 0.1 it stays above 1.8)."),
    metric="large_batch_loss",
    target=TARGET_LOSS,
    below=True,
))


@functools.lru_cache(maxsize=1)
def _data():
    x, y = digits(seed=0).train
    return x[:SAMPLES], y[:SAMPLES]


def _model(seed=0):
    return mlp([64, 32, 10], np.random.default_rng(seed))


def cost_run(batch_size, lr, epochs=EPOCHS, seed=0):
    """Train the widget's MLP with plain SGD (initial weights from ``seed``, shuffling from
    ``seed + 1``); returns a dict with the per-epoch losses, the training seconds so far after
    each epoch, steps per epoch and samples per second."""
    x, y = _data()
    model = _model(seed)
    rng = np.random.default_rng(seed + 1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        losses, seconds = train_timed(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=float(lr)),
                                      x, y, epochs, int(batch_size), rng)
    steps = -(-len(x) // int(batch_size))
    per_epoch = seconds[-1] / epochs
    return {"losses": losses, "seconds": seconds, "steps_per_epoch": steps,
            "time_per_epoch": per_epoch, "samples_per_second": len(x) / per_epoch if per_epoch > 0 else np.inf}


@functools.lru_cache(maxsize=1)
def noise_curve():
    """Relative gradient noise E‖g_B − g‖² / ‖g‖² at the initial weights, for every batch size:
    exact, from the per-sample gradients of the widget's samples."""
    x, y = _data()
    noise = exact_gradient_noise(per_sample_gradients(_model(), SoftmaxCrossEntropy(), x, y), BATCH_SIZES)
    return tuple(noise[b] for b in BATCH_SIZES)


def _update(batch_size, lr, state):
    run = cost_run(batch_size, lr)
    noise = dict(zip(BATCH_SIZES, noise_curve()))
    final = run["losses"][-1]
    diverged = not np.isfinite(final)
    fig, (a1, a2, a3) = new_figure(1, 3, figsize=(11, 3.4))
    epochs = np.arange(1, EPOCHS + 1)
    previous = state.get("previous")
    if previous is not None:
        a1.plot(epochs, previous["losses"], "o-", color="0.75", label=previous["label"])
        a2.plot(previous["seconds"], previous["losses"], "o-", color="0.75", label=previous["label"])
    label = f"B={batch_size}, lr={lr:.3g}"
    a1.plot(epochs, run["losses"], "o-", color="tab:blue", label=label)
    a2.plot(run["seconds"], run["losses"], "o-", color="tab:blue", label=label)
    a1.set(xlabel="epoch", ylabel="training loss", title="loss per epoch")
    a2.set(xlabel="training time (s)", ylabel="training loss", title="loss per second (this machine)")
    for a in (a1, a2):
        a.set_ylim(0, 3)
    a1.xaxis.set_major_locator(MaxNLocator(integer=True))     # epochs are whole numbers
    fig.legend(*a1.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=8, frameon=False)
    bs = np.array(BATCH_SIZES, dtype=float)
    a3.loglog(bs, list(noise.values()), "o-", label="exact")
    a3.loglog(bs, noise[1] / bs, "k:", label="noise(1) / B")
    a3.plot([batch_size], [noise[batch_size]], "o", color="tab:red", markersize=10, label="your B")
    a3.set(xlabel="batch size B", ylabel="‖g_B − g‖² / ‖g‖²", title="gradient noise")
    a3.legend(fontsize=8, loc="lower left")              # the curve falls from the upper left
    state["previous"] = {"losses": run["losses"], "seconds": run["seconds"], "label": "previous: " + label}
    loss_text = "diverged (inf or NaN): lower the learning rate" if diverged else f"{final:.3f}"
    text = (f"<b>B = {batch_size}</b>: {run['steps_per_epoch']} steps per epoch, "
            f"{1000 * run['time_per_epoch']:.0f} ms per epoch ({run['samples_per_second']:,.0f} samples/s); "
            f"gradient noise {noise[batch_size]:.3g}; training loss after {EPOCHS} epochs: {loss_text}")
    metrics = {"final_loss": float(final) if not diverged else float("nan"),
               "time_per_epoch": run["time_per_epoch"], "grad_noise": noise[batch_size],
               "steps_per_epoch": run["steps_per_epoch"]}
    if batch_size >= LARGE_BATCH:
        metrics["large_batch_loss"] = metrics["final_loss"]
    return View(fig, text, metrics)


def cost_explorer():
    """Batch size and learning rate → time per epoch, gradient noise, loss per epoch and per second.

    Plain SGD trains a 64-32-10 MLP on 400 digits for 5 epochs. The grey curve is the previous setting.
    """
    style = {"description_width": "initial"}
    controls = {
        "batch_size": W.SelectionSlider(options=list(BATCH_SIZES), value=32, description="batch size",
                                        continuous_update=False, style=style),
        "lr": W.SelectionSlider(options=list(LEARNING_RATES), value=0.1, description="learning rate",
                                continuous_update=False, style=style, layout=W.Layout(width="380px")),
    }
    state = {}
    return Explorer(controls, lambda batch_size, lr: _update(batch_size, lr, state), "cost_explorer")
