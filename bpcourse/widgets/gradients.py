"""Widgets for 05_vanishing_exploding_gradients: how deep networks pass gradients back.

``gradient_explorer()``: depth, activation, initialisation, weight scale, batch norm and
residual toggles → per-layer weight-gradient norms (log scale) and activation histograms
of one forward/backward pass on a batch of digits.
"""
import functools

import ipywidgets as W
import numpy as np
from threadpoolctl import threadpool_limits

from .. import data
from ..challenges import Challenge, register
from ..deep import first_to_last, make_mlp
from ..diagnostics import layer_statistics
from ..losses import SoftmaxCrossEntropy
from ..plots import plot_activation_histograms, plot_gradient_norms
from .base import Explorer, View, new_figure

__all__ = ["gradient_explorer"]

DEFAULTS = dict(depth=20, activation="sigmoid", init="xavier", scale=1.0, batchnorm=False, residual=False)
CHALLENGE_DEPTH = 20
DEAD_LAST = 1e-3     # the last layer's gradient below this: the signal already died in the forward pass

register(Challenge(
    id="ch05_deep_gradients", lesson="05_vanishing_exploding_gradients", widget="gradient_explorer",
    goal=f"Make a network with at least {CHALLENGE_DEPTH} layers pass its gradient back intact: "
         "less than one order of magnitude between the first and the last layer's gradient norm.",
    metric="decades_lost", target=1.0, below=True))


@functools.lru_cache(maxsize=1)
def batch(n=256):
    """A fixed batch of n training digits (x (n, 64), y (n,))."""
    (x, y), _, _ = data.digits(seed=0)
    return x[:n], y[:n]


def measure(depth, activation, init, scale, batchnorm, residual, seed=0):
    """One forward/backward pass of a fresh ``make_mlp`` on the digits batch.

    Returns ``layer_statistics``' dict plus ``ratio`` = first/last gradient norm and
    ``decades`` = |log10 ratio| (orders of magnitude the gradient changes; inf when even the
    last layer's gradient is below DEAD_LAST, i.e. the signal died on the way forward).
    """
    x, y = batch()
    model = make_mlp(int(depth), 64, activation, init, float(scale), bool(batchnorm), bool(residual),
                     rng=np.random.default_rng(seed))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), threadpool_limits(1):
        stats = layer_statistics(model, SoftmaxCrossEntropy(), x, y)
        ratio = first_to_last(stats["grad_norms"])
        stats["ratio"] = ratio
        last = stats["grad_norms"][-1]
        alive = np.isfinite(ratio) and ratio > 0 and last >= DEAD_LAST
        stats["decades"] = float(abs(np.log10(ratio))) if alive else float("inf")
    return stats


def pick_layers(n, k=5):
    """Up to k evenly spread layer indices out of n, always the first and the last."""
    return sorted(set(np.linspace(0, n - 1, min(k, n)).round().astype(int).tolist()))


def update(depth, activation, init, scale, batchnorm, residual):
    stats = measure(depth, activation, init, scale, batchnorm, residual)
    norms, acts = stats["grad_norms"], stats["activations"]
    shown = pick_layers(len(acts))
    fig, axes = new_figure(1, 1 + len(shown), figsize=(4 + 1.7 * len(shown), 2.9),
                           gridspec_kw={"width_ratios": [3] + [1] * len(shown)})
    plot_gradient_norms(np.nan_to_num(norms, nan=1e-30, posinf=1e300), ax=axes[0])
    plot_activation_histograms([acts[i] for i in shown], axes=axes[1:], bins=30)
    for ax, i in zip(axes[1:], shown):
        ax.set_title(f"act. {i + 1}\n{100 * acts[i]['saturation']:.0f}% sat.", fontsize=9)
    sat = float(np.mean([a["saturation"] for a in acts]))
    kind = "ReLU inactive" if activation in ("relu", "leaky_relu") else "saturated"
    if not norms[-1] >= DEAD_LAST:
        verdict = "the signal died in the forward pass: even the last layer's gradient is tiny"
    else:
        verdict = "vanishing" if stats["ratio"] < 0.1 else "exploding" if stats["ratio"] > 10 else "healthy"
    text = (f"<b>layer 1:</b> ‖∂L/∂W‖ = {norms[0]:.2e} &nbsp; <b>layer {len(norms)}:</b> {norms[-1]:.2e}"
            f" &nbsp; ratio first/last = {stats['ratio']:.1e} ({verdict})<br>"
            f"loss = {stats['loss']:.3g} &nbsp; mean {kind}: {100 * sat:.0f}% of units")
    metrics = {"ratio": stats["ratio"], "saturation": sat,
               "decades_lost": stats["decades"] if depth >= CHALLENGE_DEPTH else float("nan")}
    return View(fig, text, metrics)


def gradient_explorer(**overrides):
    """Change depth, activation, init, weight scale, batch norm, residual → gradient norms per layer."""
    v = {**DEFAULTS, **overrides}
    style = {"description_width": "initial"}
    controls = {
        "depth": W.IntSlider(value=v["depth"], min=2, max=30, description="depth", style=style),
        "activation": W.Dropdown(options=["sigmoid", "tanh", "relu", "leaky_relu"], value=v["activation"],
                                 description="activation", style=style),
        "init": W.Dropdown(options=["small", "xavier", "he", "large"], value=v["init"],
                           description="init", style=style),
        "scale": W.FloatLogSlider(value=v["scale"], base=10, min=-1, max=1, step=0.05,
                                  description="weight scale ×", style=style),
        "batchnorm": W.Checkbox(value=v["batchnorm"], description="batch norm"),
        "residual": W.Checkbox(value=v["residual"], description="residual"),
    }
    c = list(controls.values())
    rows = [W.HBox(c[:3]), W.HBox(c[3:])]
    return Explorer(controls, update, "gradient_explorer", layout_rows=rows)
