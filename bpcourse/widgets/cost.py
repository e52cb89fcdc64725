"""Widget for 07_minibatching_and_cost: batch size and learning rate -> time per epoch,
gradient noise, and the loss curve per epoch and per second.

The logic is in ``cost_run`` and ``noise_curve`` (plain functions); the widget only draws.
"""
import functools

import ipywidgets as W
import numpy as np

from ..challenges import Challenge, register
from ..data import digits
from ..flops import gradient_noise, train_timed
from ..models import mlp
from ..losses import SoftmaxCrossEntropy
from ..optim import SGD
from .base import Explorer, View, new_figure

__all__ = ["cost_explorer"]

BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
SAMPLES = 400          # a slice of the digits' training set: B = 1 stays well under a second
EPOCHS = 5
LARGE_BATCH = 128

register(Challenge(
    id="ch07_large_batch",
    lesson="07_minibatching_and_cost",
    widget="cost_explorer",
    goal=(f"Large batches make few steps: with batch size ≥ {LARGE_BATCH} (at most 4 steps per epoch) "
          f"get the training loss after {EPOCHS} epochs below 1.0 — by choosing the learning rate."),
    metric="large_batch_loss",
    target=1.0,
    below=True,
))


@functools.lru_cache(maxsize=1)
def _data():
    x, y = digits(seed=0).train
    return x[:SAMPLES], y[:SAMPLES]


def _model():
    return mlp([64, 32, 10], np.random.default_rng(0))


def cost_run(batch_size, lr, epochs=EPOCHS):
    """Train the widget's MLP with plain SGD; returns a dict with the per-epoch losses,
    the training seconds so far after each epoch, steps per epoch and samples per second."""
    x, y = _data()
    model = _model()
    rng = np.random.default_rng(1)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        losses, seconds = train_timed(model, SoftmaxCrossEntropy(), SGD(model.parameters(), lr=float(lr)),
                                      x, y, epochs, int(batch_size), rng)
    steps = -(-len(x) // int(batch_size))
    per_epoch = seconds[-1] / epochs
    return {"losses": losses, "seconds": seconds, "steps_per_epoch": steps,
            "time_per_epoch": per_epoch, "samples_per_second": len(x) / per_epoch if per_epoch > 0 else np.inf}


@functools.lru_cache(maxsize=1)
def noise_curve(draws=30):
    """Relative gradient noise E‖g_B − g‖² / ‖g‖² at the initial weights, for every batch size."""
    x, y = _data()
    noise = gradient_noise(_model(), SoftmaxCrossEntropy(), x, y, BATCH_SIZES, draws=draws,
                           rng=np.random.default_rng(2))
    return tuple(noise[b] for b in BATCH_SIZES)


def _update(batch_size, lr, state):
    run = cost_run(batch_size, lr)
    noise = dict(zip(BATCH_SIZES, noise_curve()))
    final = run["losses"][-1]
    diverged = not np.isfinite(final)
    fig, (a1, a2, a3) = new_figure(1, 3, figsize=(11, 3.1))
    epochs = np.arange(1, EPOCHS + 1)
    previous = state.get("previous")
    if previous is not None:
        a1.plot(epochs, previous["losses"], "o-", color="0.75", label=previous["label"])
        a2.plot(previous["seconds"], previous["losses"], "o-", color="0.75", label=previous["label"])
    label = f"B={batch_size}, lr={lr:.3g}"
    a1.plot(epochs, run["losses"], "o-", color="tab:blue", label=label)
    a2.plot(run["seconds"], run["losses"], "o-", color="tab:blue", label=label)
    a1.set(xlabel="epoch", ylabel="training loss", title="loss per epoch")
    a2.set(xlabel="training time (s)", ylabel="training loss", title="loss per second")
    for a in (a1, a2):
        a.set_ylim(0, 3)
        a.legend(fontsize=8)
    bs = np.array(BATCH_SIZES, dtype=float)
    a3.loglog(bs, list(noise.values()), "o-", label="measured")
    a3.loglog(bs, noise[1] / bs, "k:", label="∝ 1/B")
    a3.plot([batch_size], [noise[batch_size]], "o", color="tab:red", markersize=10)
    a3.set(xlabel="batch size B", ylabel="‖g_B − g‖² / ‖g‖²", title="gradient noise")
    a3.legend(fontsize=8)
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
    controls = {
        "batch_size": W.SelectionSlider(options=list(BATCH_SIZES), value=32, description="batch size",
                                        continuous_update=False),
        "lr": W.FloatLogSlider(value=0.1, base=10, min=-2, max=0.5, step=0.1, description="learning rate",
                               readout_format=".3g", continuous_update=False),
    }
    state = {}
    return Explorer(controls, lambda batch_size, lr: _update(batch_size, lr, state), "cost_explorer")
