"""Widgets for 05_vanishing_exploding_gradients: how deep networks pass gradients back.

``gradient_explorer()``: depth, activation, initialisation, weight scale, batch norm and
residual toggles → per-layer weight-gradient norms (log scale) and activation histograms
of one forward/backward pass on a batch of digits. A gradient is healthy when the first
layer's is within a decade of the last layer's AND of a useful size relative to its weights.
"""
import functools

import ipywidgets as W
import numpy as np
from threadpoolctl import threadpool_limits

from .. import data
from ..challenges import Challenge, register
from ..deep import first_to_last, integer_ticks, make_mlp
from ..diagnostics import layer_statistics, linear_layers
from ..losses import SoftmaxCrossEntropy
from ..plots import plot_activation_histograms, plot_gradient_norms
from .base import Explorer, View, new_figure

__all__ = ["gradient_explorer"]

DEFAULTS = dict(depth=20, activation="sigmoid", init="xavier", scale=1.0, batchnorm=False, residual=False)
SCALES = (0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.3, 1.5, 2.0, 3.0, 5.0, 10.0)   # the weight-scale slider's stops
CHALLENGE_DEPTH = 20
# ‖∂L/∂W1‖/‖W1‖ outside this range: every gradient is too small to learn from, or huge (see the lesson)
USEFUL = (1e-3, 1.0)

register(Challenge(
    id="ch05_deep_gradients", lesson="05_vanishing_exploding_gradients", widget="gradient_explorer",
    goal=f"Make a network with at least {CHALLENGE_DEPTH} layers pass a useful gradient back to its first "
         "layer: less than one order of magnitude between the first and the last layer's gradient norm, and "
         f"‖∂L/∂W1‖/‖W1‖ between {USEFUL[0]:g} and {USEFUL[1]:g} (tiny gradients everywhere do not count).",
    metric="decades_lost", target=1.0, below=True))


@functools.lru_cache(maxsize=1)
def batch(n=256):
    """A fixed batch of n training digits (x (n, 64), y (n,))."""
    (x, y), _, _ = data.digits(seed=0)
    return x[:n], y[:n]


def measure(depth, activation, init, scale, batchnorm, residual, seed=0):
    """One forward/backward pass of a fresh ``make_mlp`` on the digits batch.

    Returns ``layer_statistics``' dict plus ``ratio`` = first/last gradient norm, ``relative`` =
    ‖∂L/∂W1‖/‖W1‖, and ``decades`` = |log10 ratio| (orders of magnitude the gradient changes from
    the last layer to the first; inf when ``relative`` is outside USEFUL: then the size is wrong
    everywhere, whatever the ratio).
    """
    x, y = batch()
    model = make_mlp(int(depth), 64, activation, init, float(scale), bool(batchnorm), bool(residual),
                     rng=np.random.default_rng(seed))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), threadpool_limits(1):
        stats = layer_statistics(model, SoftmaxCrossEntropy(), x, y)
        ratio = first_to_last(stats["grad_norms"])
        relative = float(stats["grad_norms"][0] / np.linalg.norm(linear_layers(model)[0].weight.data))
        useful = np.isfinite(ratio) and ratio > 0 and USEFUL[0] <= relative <= USEFUL[1]
        stats.update(ratio=ratio, relative=relative,
                     decades=float(abs(np.log10(ratio))) if useful else float("inf"))
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
    integer_ticks(axes[0])
    plot_activation_histograms([acts[i] for i in shown], axes=axes[1:], bins=30)
    for ax, i in zip(axes[1:], shown):
        ax.set_title(f"act. {i + 1}\n{100 * acts[i]['saturation']:.0f}% sat.", fontsize=9)
    sat = float(np.mean([a["saturation"] for a in acts]))
    kind = "ReLU inactive" if activation in ("relu", "leaky_relu") else "saturated"
    verdict = diagnose(stats["ratio"], stats["relative"])
    text = (f"<b>layer 1:</b> ‖∂L/∂W‖ = {norms[0]:.2e} &nbsp; <b>layer {len(norms)}:</b> {norms[-1]:.2e}"
            f" &nbsp; ratio first/last = {stats['ratio']:.1e} &nbsp; ‖∂L/∂W1‖/‖W1‖ = {stats['relative']:.1e}"
            f"<br><b>{verdict}</b><br>loss = {stats['loss']:.3g} (a uniform guess: ln 10 ≈ 2.30) &nbsp; "
            f"mean {kind}: {100 * sat:.0f}% of units")
    metrics = {"ratio": stats["ratio"], "saturation": sat,
               "decades_lost": stats["decades"] if depth >= CHALLENGE_DEPTH else float("nan")}
    return View(fig, text, metrics)


def diagnose(ratio, relative):
    """A one-line reading of the first/last ratio and of the first layer's relative gradient."""
    if not np.isfinite(ratio):
        return "overflow: the signal exploded to inf or nan"
    if ratio < 0.1 and relative < USEFUL[0]:
        return "vanishing: the first layer's gradient is over 10× smaller than the last layer's, and tiny"
    if ratio < 0.1:
        return ("uneven: the first layer's gradient is over 10× smaller than the last layer's, but not tiny — "
                "the last layer's is large (is the forward signal growing?)")
    if ratio > 10:
        return "exploding: the first layer's gradient is over 10× larger than the last layer's"
    if relative < USEFUL[0]:
        return ("flat but tiny everywhere: the signal died on the way forward and back alike "
                "(the ratio hides it: read the sizes)")
    if relative > USEFUL[1]:
        return "flat but huge everywhere: the signal grows forward and backward alike (exploding)"
    return "healthy: a flat ratio and a useful size"


def gradient_explorer(**overrides):
    """Change depth, activation, init, weight scale, batch norm, residual → gradient norms per layer."""
    v = {**DEFAULTS, **overrides}
    style = {"description_width": "initial"}
    controls = {
        "depth": W.IntSlider(value=v["depth"], min=2, max=30, description="depth (layers)", style=style,
                             continuous_update=False),
        "activation": W.Dropdown(options=["sigmoid", "tanh", "relu", "leaky_relu"], value=v["activation"],
                                 description="activation", style=style),
        "init": W.Dropdown(options=["small", "xavier", "he", "large"], value=v["init"],
                           description="init", style=style),
        "scale": W.SelectionSlider(options=SCALES, value=float(v["scale"]), description="weight scale ×",
                                   style=style, continuous_update=False),
        "batchnorm": W.Checkbox(value=v["batchnorm"], description="batch norm"),
        "residual": W.Checkbox(value=v["residual"], description="residual"),
    }
    c = list(controls.values())
    rows = [W.HBox(c[:3]), W.HBox(c[3:])]
    return Explorer(controls, update, "gradient_explorer", layout_rows=rows)
