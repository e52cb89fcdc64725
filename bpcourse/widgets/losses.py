"""The widget of 03_loss_functions: MSE and cross-entropy side by side, for one logit.

Plain functions (``loss_and_gradient``, ``loss_view``) hold the logic; ``loss_explorer()``
wires a logit slider and a task switch to them. (The lesson's training experiment is
``bpcourse.mse_vs_ce``.)
"""
import functools

import ipywidgets as W
import numpy as np

from ..challenges import Challenge, register
from .base import Explorer, View, new_figure

__all__ = ["loss_explorer"]

LESSON = "03_loss_functions"
TASKS = ("regression", "binary", "multi-class")
N_CLASSES = 3            # the multi-class case: the true class's logit z, the other two logits 0

ADVICE = {
    "regression": ("MSELoss on the raw output",
                   "The target is a real number (a price, a temperature): the output is not a probability, "
                   "so cross-entropy does not apply. MSE's gradient 2(ŷ − y) grows with the error."),
    "binary": ("BCEWithLogits (sigmoid + binary cross-entropy)",
               "One output unit, the logit z; p = σ(z) is the probability of class 1. Cross-entropy's "
               "gradient p − 1 stays near −1 when the model is confidently wrong; MSE on σ(z) fades to 0 there."),
    "multi-class": ("SoftmaxCrossEntropy (softmax + cross-entropy)",
                    "One logit per class; softmax turns them into probabilities. The gradient on the true "
                    "class's logit is p − 1, again large exactly when the model is wrong."),
}


def loss_and_gradient(task, z):
    """MSE and cross-entropy, and their derivatives with respect to the true class's logit ``z``.

    regression: z is the prediction ŷ itself, target 1: MSE = (ŷ − 1)²; cross-entropy is not defined (NaN).
    binary: p = σ(z), label 1: MSE = (p − 1)², CE = −log p.
    multi-class (3 classes, the other logits 0): p = softmax, MSE = Σ_k (p_k − y_k)², CE = −log p_true.
    z may be a number or an array. Returns a dict of arrays (or floats): p, mse, mse_grad, ce, ce_grad.
    """
    z = np.asarray(z, dtype=float)
    if task == "regression":
        nan = np.full(z.shape, np.nan)
        out = dict(p=nan, mse=(z - 1) ** 2, mse_grad=2 * (z - 1), ce=nan, ce_grad=nan)
    elif task == "binary":
        p = 0.5 * (1 + np.tanh(0.5 * z))                  # σ(z) without overflow
        out = dict(p=p, mse=(p - 1) ** 2, mse_grad=2 * (p - 1) * p * (1 - p),
                   ce=np.logaddexp(0, -z), ce_grad=p - 1)   # −log σ(z) = log(1 + e^−z), stable
    elif task == "multi-class":
        others = N_CLASSES - 1
        log_norm = np.logaddexp(z, np.log(others))           # log(e^z + 2·e^0)
        p = np.exp(z - log_norm)
        q = np.exp(-log_norm)                                # each wrong class's probability
        mse = (p - 1) ** 2 + others * q ** 2
        # dp/dz = p(1 − p), dq/dz = −q·p
        mse_grad = 2 * (p - 1) * p * (1 - p) + others * 2 * q * (-q * p)
        out = dict(p=p, mse=mse, mse_grad=mse_grad, ce=log_norm - z, ce_grad=p - 1)
    else:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    return {k: (float(v) if v.ndim == 0 else v) for k, v in out.items()}


def logit(p):
    """The z with σ(z) = p."""
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


@functools.lru_cache(maxsize=None)
def largest_push(task):
    """The largest |∂MSE/∂z| over the slider's range (−8 to 8): the squared error's hardest push."""
    return float(np.max(np.abs(loss_and_gradient(task, np.linspace(-8, 8, 16001))["mse_grad"])))


def loss_view(task="binary", z=-1.0):
    """Loss (left) and gradient with respect to z (right) of MSE and cross-entropy, at the slider's z."""
    grid = np.linspace(-8, 8, 321)
    curves, here = loss_and_gradient(task, grid), loss_and_gradient(task, z)
    fig, (a1, a2) = new_figure(1, 2, figsize=(9, 3.6))
    slope = "∂loss/∂ŷ" if task == "regression" else "∂loss/∂z"
    for ax, key, label in ((a1, "", "loss"), (a2, "_grad", slope)):
        ax.plot(grid, curves["mse" + key], color="tab:blue", label="MSE" if task != "multi-class"
                else "squared error (summed over the 3 classes)")
        if task != "regression":
            ax.plot(grid, curves["ce" + key], color="tab:red", label="cross-entropy")
        ax.axvline(z, color="k", lw=0.8, ls=":")
        ax.plot([z], [here["mse" + key]], "o", color="tab:blue")
        if task != "regression":
            ax.plot([z], [here["ce" + key]], "o", color="tab:red")
        ax.set_xlabel("prediction ŷ (target 1)" if task == "regression" else "logit z of the true class")
        ax.set_ylabel(label)
    # the whole slider range stays in view, so the markers never leave the plot
    shown = [curves["mse"]] + ([curves["ce"]] if task != "regression" else [])
    a1.set_ylim(-0.03 * max(np.max(c) for c in shown), 1.05 * max(np.max(c) for c in shown))
    fig.legend(*a1.get_legend_handles_labels(), loc="outside upper center", ncols=2, fontsize=9,
               frameon=False)                       # above the plots: never over the curves
    fits, why = ADVICE[task]
    if task == "regression":
        numbers = (f"ŷ = {z:.2f}, target 1: MSE = {here['mse']:.4g}, gradient {here['mse_grad']:.4g}. "
                   f"Cross-entropy: not defined for a real-valued target.")
        push = np.nan
    else:
        push = abs(here["mse_grad"]) / largest_push(task)
        numbers = (f"z = {z:.2f}, p(true class) = {here['p']:.4f}. "
                   f"MSE: loss {here['mse']:.4g}, gradient {here['mse_grad']:.4g}. "
                   f"Cross-entropy: loss {here['ce']:.4g}, gradient {here['ce_grad']:.4g}. "
                   f"|MSE gradient| / |CE gradient| = {abs(here['mse_grad']) / abs(here['ce_grad']):.3g}.")
    text = f"<b>Task: {task}.</b> The loss that fits: <b>{fits}</b>. {why}<br>{numbers}"
    return View(fig, text, {"p": here["p"], "mse_push_of_its_largest": push})


register(Challenge(
    id="ch03_mse_hardest_push", lesson=LESSON, widget="loss_explorer",
    goal="Find the logit where the squared error pushes the true class hardest (|MSE gradient| above 99% "
         "of its largest). How wrong is the prediction there, in the binary and in the multi-class task?",
    metric="mse_push_of_its_largest", target=0.99, below=False))


def loss_explorer():
    """Slider: the logit z of the true class; switch: the task. Shows MSE and cross-entropy side by side."""
    controls = {
        "task": W.ToggleButtons(options=TASKS, value="binary", description="task",
                                style={"description_width": "initial", "button_width": "7.5em"}),
        "z": W.FloatSlider(value=-1.0, min=-8.0, max=8.0, step=0.1, description="logit z / ŷ",
                           style={"description_width": "initial"}),
    }
    return Explorer(controls, loss_view, "loss_explorer")
