"""Widget for 10_putting_it_together: read a loss curve.

``loss_curve_quiz()`` shows five real training runs whose loss curves have the classic bad
shapes, unlabelled and in a fixed shuffled order, beside a healthy run. The student picks a
diagnosis for each; the widget says right (with the cause and the cure) or what to look at again.
The runs are ``debugging.curve_run``; the judging is the plain function ``judge``.
"""
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullLocator

from ..challenges import Challenge, register
from ..debugging import CURVES, curve_run
from .base import Explorer, View, png

__all__ = ["loss_curve_quiz"]

ORDER = ("overfitting", "lr_too_low", "diverging", "too_noisy", "lr_too_high")   # curve 1 … 5
CHOICES = {
    "lr_too_high": "learning rate too high",
    "lr_too_low": "learning rate too low",
    "too_noisy": "too noisy: batch too small",
    "diverging": "diverging",
    "overfitting": "overfitting",
}
UNANSWERED = "— your diagnosis —"
LOOK_AGAIN = {      # true shape -> what to look at, for a wrong diagnosis (never the answer itself)
    "lr_too_high": "the loss fell in the first steps, so the step size is not too small; compare where it "
                   "settles with the healthy run, and how much it jumps there.",
    "lr_too_low": "nothing is unstable or noisy here; look at the slope at the end: is the loss anywhere "
                  "near flat, and how far has it come from ln 10 ≈ 2.3?",
    "diverging": "look at the last steps and at the vertical scale: where does the curve end, and why?",
    "too_noisy": "follow the trend rather than single steps: it does go down. What makes consecutive "
                 "mini-batch losses differ by a factor of 100?",
    "overfitting": "two curves tell different stories here: compare the dashed validation loss with the "
                   "training loss after step 50.",
}
MADE_BY = {"overfitting": " (This run trains on 100 images, 30 % of them relabelled at random: memorising "
                           "wrong labels is what turns the validation loss upward.)"}
Y_LIMITS = (1e-3, 30.0)

register(Challenge(
    id="ch10_read_the_curves", lesson="10_putting_it_together", widget="loss_curve_quiz",
    goal="Diagnose all five curves correctly.", metric="correct", target=4.5, below=False))


def judge(curve, diagnosis):
    """(status, feedback) for the diagnosis of curve ``curve`` (1 … 5): status is "right",
    "wrong" or "open" (no diagnosis yet)."""
    truth = ORDER[curve - 1]
    if diagnosis in (None, UNANSWERED):
        return "open", ""
    if diagnosis == CHOICES[truth]:
        return "right", f"✓ {CHOICES[truth]}. {CURVES[truth]}{MADE_BY.get(truth, '')}"
    return "wrong", f"✗ not {diagnosis}. Look again: {LOOK_AGAIN[truth]}"


def _draw(ax, run, title, reference=None):
    steps = np.arange(1, len(run.train) + 1)
    if reference is not None:
        ax.plot(np.arange(1, len(reference.train) + 1), reference.train, color="0.8", lw=0.8,
                label="healthy run (training)")
    shown = np.clip(run.train, *Y_LIMITS)
    ax.plot(steps, shown, lw=0.8, color="tab:blue", label="training (each mini-batch)")
    ax.plot(run.val_steps, np.clip(run.val, *Y_LIMITS), "--", color="tab:orange", lw=1.5, label="validation")
    if run.diverged_at is not None:
        ax.plot(run.diverged_at, Y_LIMITS[1], "x", color="k", ms=9, mew=2, clip_on=False)
        ax.annotate(f"loss = {run.train[-1]} at step {run.diverged_at}", (run.diverged_at, Y_LIMITS[1]),
                    xytext=(8, -12), textcoords="offset points", ha="left", fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())         # (minor log ticks triple the drawing time)
    ax.set_ylim(*Y_LIMITS)
    ax.set_xlim(0, len(reference.train) if reference is not None else len(run.train))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("step")


def quiz_figure():
    """The five curves and the healthy run, one panel each."""
    with plt.ioff():                                   # shown through the widget's Image only
        fig, axes = plt.subplots(2, 3, figsize=(11, 6), sharey=True)
    fig.subplots_adjust(left=0.07, right=0.98, top=0.95, bottom=0.17, hspace=0.4, wspace=0.06)
    healthy = curve_run("healthy")
    for ax, (i, name) in zip(axes.flat, enumerate(ORDER, start=1)):
        _draw(ax, curve_run(name), f"curve {i}", reference=healthy)
    _draw(axes.flat[5], healthy, "healthy: for comparison")
    for ax in axes[:, 0]:
        ax.set_ylabel("loss (log scale)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    return fig


def update(**answers):
    """answers: curve1 … curve5 -> a diagnosis each. The figure is drawn once (it never changes)."""
    lines, correct = [], 0
    for i in range(1, len(ORDER) + 1):
        status, feedback = judge(i, answers[f"curve{i}"])
        correct += status == "right"
        if feedback:
            lines.append(f"<b>curve {i}</b> {feedback}")
    text = f"<b>{correct} of {len(ORDER)} diagnosed</b><br>" + "<br>".join(lines)
    return View(None, text, {"correct": correct})


def loss_curve_quiz():
    """Five loss curves with the classic problems: choose a diagnosis for each."""
    style, layout = {"description_width": "initial"}, W.Layout(width="250px")
    options = [UNANSWERED] + list(CHOICES.values())
    controls = {f"curve{i}": W.Dropdown(options=options, value=UNANSWERED, description=f"curve {i}",
                                        style=style, layout=layout) for i in range(1, len(ORDER) + 1)}
    c = list(controls.values())
    rows = [W.HBox(c[:3]), W.HBox(c[3:])]
    explorer = Explorer(controls, update, "loss_curve_quiz", layout_rows=rows)
    explorer.image.value = png(quiz_figure())
    explorer.children = (explorer.image, *rows, explorer.text, explorer.challenge)   # the curves first
    explorer.add_class("bp-fixed-figure")             # answers change the text, never the curves
    return explorer
