"""Widget for 09_backprop_by_hand: step through the whole backward pass of Linear → BatchNorm → tanh →
Linear → softmax cross-entropy on one mini-batch of digits, one intermediate at a time.

Every gradient shown is a numerical one (``bpcourse.by_hand.numerical_gradient``): what a correct
backward pass must produce at that step, computed without any backward formula.
"""
from functools import lru_cache

import ipywidgets as W
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator
import numpy as np

from .. import by_hand
from ..challenges import Challenge, register
from ..data import digits
from .base import View
from .forward_backward import Stepper

__all__ = ["backward_walkthrough"]

BATCH, HIDDEN, BATCHES = 32, 32, 5
GAMMAS = [0.5, 1, 2, 4, 8, 16]
FORMULA = dict(by_hand.FORWARD)


@lru_cache(maxsize=None)
def forward_pass(batch, gamma):
    """The forward pass (every intermediate) on mini-batch ``batch`` (1 … 5) of 32 training digits,
    for the lesson's network at initialisation with BatchNorm's scale set to ``gamma``."""
    x, y = digits().train
    rows = np.random.default_rng(0).permutation(len(x))[(batch - 1) * BATCH:batch * BATCH]
    params = by_hand.params_of(by_hand.network(np.random.default_rng(0), hidden=HIDDEN))
    params["gamma"] = np.full(HIDDEN, float(gamma))
    return by_hand.forward(params, x[rows], y[rows])


@lru_cache(maxsize=None)
def gradient(batch, gamma, name):
    """dL/d(name), numerically, on that mini-batch (cached: stepping back and forth is instant)."""
    return by_hand.numerical_gradient(name, forward_pass(batch, gamma))


def _is_zero(norm, values):
    """A norm at the level of rounding noise: a gradient that is zero."""
    return norm < 1e-9 * max(1.0, abs(float(values["loss"])))


def _norm_text(norm, values):
    return "0 (up to rounding noise)" if _is_zero(norm, values) else f"{norm:.3g}"


def _origin(name):
    """Where the intermediate comes from and what it feeds, for the text."""
    if name in by_hand.PARAMETERS:
        user = by_hand.CONSUMERS[name][0]
        return f"a parameter, used in <code>{user} = {FORMULA[user]}</code>"
    feeds = by_hand.CONSUMERS[name]
    text = f"made by <code>{name} = {FORMULA[name]}</code>; feeds {', '.join(feeds)}"
    return text + (f" — {len(feeds)} paths, so its gradient collects both" if len(feeds) > 1 else "")


def walkthrough_view(batch=1, gamma=1, step=0):
    """After ``step`` steps of the backward pass: the current gradient's histogram, the norms so far."""
    values = forward_pass(batch, gamma)
    names = by_hand.BACKWARD
    done = names[:step]
    norms = {n: float(np.linalg.norm(gradient(batch, gamma, n))) for n in done}
    with plt.ioff():                                 # a fixed layout: constrained layout doubles the drawing time
        fig, (hist, bars) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [1, 1.15]})
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.92, wspace=0.3)
    if step:
        name = names[step - 1]
        g = gradient(batch, gamma, name)
        hist.hist(g.ravel(), bins=40, color="tab:blue")
        zero = _is_zero(float(np.linalg.norm(g)), values)
        hist.set_title(f"entries of dL/d{name}, shape {g.shape}" + (": zero up to rounding" if zero else ""),
                       fontsize=10)
        hist.set_xlabel("gradient entry")
        hist.locator_params(axis="x", nbins=5)
        hist.yaxis.set_major_locator(MaxNLocator(integer=True))
        hist.set_ylabel("how many entries")
    else:
        hist.text(0.5, 0.5, "Press Step ▶ to start\nat the loss", ha="center", va="center", fontsize=11)
        hist.set_axis_off()
    positions = np.arange(len(names))
    nonzero = [v for n, v in norms.items() if not _is_zero(v, values)]
    low, high = (min(nonzero) / 3, max(nonzero) * 3) if nonzero else (1e-3, 1e2)
    widths = [norms[n] - low if n in norms and not _is_zero(norms[n], values) else 0.0 for n in names]
    colours = ["tab:orange" if i == step - 1 else "tab:blue" for i in positions]
    bars.barh(positions, widths, left=low, color=colours)      # bars start at the axis' left edge
    bars.set_xscale("log")
    bars.set_xlim(low, high)
    for i, n in enumerate(done):
        if _is_zero(norms[n], values):
            bars.text(low * 1.15, i, "0 (rounding level)", va="center", fontsize=7, color="tab:red")
    bars.set_yticks(positions, ["d" + n for n in names], fontsize=7)
    bars.invert_yaxis()
    bars.set_xlabel("norm ‖dL/d·‖ (log scale)")
    bars.set_title("the backward pass so far", fontsize=10)
    text = (f"mini-batch {batch}, γ = {gamma}: loss {float(values['loss']):.4f}. "
            + ("Press Step ▶: the backward pass starts at the loss." if not step else
               f"<b>Step {step}/{len(names)}: dL/d{names[step - 1]}</b>, shape {np.shape(values[names[step - 1]])}, "
               f"norm {_norm_text(norms[names[step - 1]], values)}. {_origin(names[step - 1])}."))
    metrics = {}
    if "hpreact" in done:
        metrics["tanh_kept"] = norms["hpreact"] / norms["h"]
        text += f"<br>Through tanh: ‖dL/dhpreact‖ / ‖dL/dh‖ = {metrics['tanh_kept']:.3f}."
    if step == len(names):
        text += " <i>Backward pass done: every parameter has its gradient.</i>"
    return View(fig, text, metrics)


class Walkthrough(Stepper):
    """A Stepper with a Back button as well."""

    def __init__(self, controls, update, name, steps):
        self.back_button = W.Button(description="◀ Back")
        self.back_button.on_click(lambda _: self.go(self.step - 1))
        super().__init__(controls, update, name, steps)
        buttons = self.children[1]
        buttons.children = (self.back_button, *buttons.children)


def backward_walkthrough():
    """Step through the whole backward pass of the lesson's network on one mini-batch of digits."""
    controls = {
        "batch": W.Dropdown(options=list(range(1, BATCHES + 1)), value=1, description="mini-batch",
                            style={"description_width": "initial"}, layout=W.Layout(width="160px")),
        "gamma": W.SelectionSlider(options=GAMMAS, value=1, description="BatchNorm scale γ",
                                   continuous_update=False, style={"description_width": "initial"},
                                   layout=W.Layout(width="380px")),
    }
    return Walkthrough(controls, walkthrough_view, "backward_walkthrough", steps=len(by_hand.BACKWARD))


register(Challenge(
    id="ch09_saturate_tanh", lesson="09_backprop_by_hand", widget="backward_walkthrough",
    goal="Saturate the tanh: pick a γ at which less than 30% of the gradient's norm gets through tanh "
         "(‖dL/dhpreact‖ < 0.3 ‖dL/dh‖), and step past tanh to see it.",
    metric="tanh_kept", target=0.3, below=True))
