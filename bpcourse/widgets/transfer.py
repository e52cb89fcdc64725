"""Widget for 08_transfer_learning: target task, labelled examples per class, frozen layers and the
body's learning rate -> test accuracy of training from scratch, a linear probe and fine-tuning, and
their paired gains over scratch with 95 % intervals.

The logic is ``transfer_accuracies`` and ``_update`` (plain functions, cached runs from
``bpcourse.transfer``).
"""
import ipywidgets as W
import numpy as np

from .. import transfer
from ..challenges import Challenge, register
from .base import Explorer, View, new_figure

__all__ = ["transfer_explorer"]

PER_CLASS = (1, 2, 5, 10, 25)
SEEDS = tuple(range(5))
BODY_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
FEW, GAIN = 2, 25.0

register(Challenge(
    id="ch08_fine_tune_few",
    lesson="08_transfer_learning",
    widget="transfer_explorer",
    goal=(f"With at most {FEW} labelled images per class, find a fine-tuning setting (target, frozen layers, "
          f"body lr) whose gain over scratch is far beyond the noise: the lower end of its 95 % paired "
          f"interval above +{GAIN:.0f} points."),
    metric="fine_tune_gain_lower_end",
    target=GAIN,
    below=False,
    budget={"per_class": FEW},
))


def lr_label(lr):
    """1e-3 -> "1e-3" (not "1e-03")."""
    return f"{lr:.0e}".replace("e-0", "e-")


def transfer_accuracies(target, per_class, freeze_layers, body_lr, seeds=SEEDS):
    """{strategy: test accuracies over ``seeds``} for scratch, linear probe and the chosen fine-tuning."""
    def runs(strategy, **options):
        return np.array([transfer.run_strategy(strategy, per_class, s, target, **options) for s in seeds])
    return {"scratch": runs("scratch"), "linear probe": runs("linear probe"),
            "fine-tune": runs("fine-tune", freeze_layers=int(freeze_layers), body_lr=float(body_lr))}


def _update(target, per_class, freeze_layers, body_lr):
    acc = transfer_accuracies(target, per_class, freeze_layers, body_lr)
    means = {k: 100 * v.mean() for k, v in acc.items()}
    gains = {k: [100 * g for g in transfer.paired_gain(acc[k], acc["scratch"])] for k in ("linear probe", "fine-tune")}
    fig, (ax, bx) = new_figure(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    names = list(acc)
    for i, name in enumerate(names):
        ax.bar(i, means[name], color=transfer.COLORS[name], alpha=0.8)
        ax.text(i, 2, f"{means[name]:.1f}%", ha="center", fontsize=9, color="white", fontweight="bold")
    ax.plot(range(3), 100 * np.array([acc[n] for n in names]), "k.-", lw=0.6, alpha=0.6, markersize=6)
    ax.set_xticks(range(3))
    ax.set_xticklabels(["scratch", "linear probe\n(body frozen)",
                        f"fine-tune\n({freeze_layers} frozen, body lr {lr_label(body_lr)})"], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{target} digits 5–9, {per_class} per class: {len(SEEDS)} draws (lines join a draw)", fontsize=9)
    for j, name in enumerate(gains):
        mean, low, high = gains[name]
        bx.errorbar(j, mean, yerr=[[mean - low], [high - mean]], fmt="o", color=transfer.COLORS[name], capsize=6, lw=2)
    bx.axhline(0, color="k", lw=0.8)
    bx.set_xticks(range(2))
    bx.set_xticklabels(["linear probe\n− scratch", "fine-tune\n− scratch"], fontsize=8)
    bx.set_xlim(-0.6, 1.6)
    bx.set_ylabel("paired gain (points)")
    bx.set_title("mean and 95 % interval", fontsize=9)
    note = {0: f"the whole body trained at lr {lr_label(body_lr)}",
            1: f"the body's first Linear layer frozen, its second at lr {lr_label(body_lr)}",
            2: "freezing both body layers makes fine-tuning a linear probe"}[int(freeze_layers)]
    verdicts = []
    for name, (mean, low, high) in gains.items():
        beyond = "beyond the noise" if low > 0 or high < 0 else "within the noise"
        verdicts.append(f"{name} − scratch {transfer.signed(mean)} points "
                        f"[{transfer.signed(low)}, {transfer.signed(high)}], {beyond}")
    text = (f"<b>{target} digits, {per_class} per class</b> ({5 * per_class} labelled images): scratch "
            f"{means['scratch']:.1f}%, linear probe {means['linear probe']:.1f}%, fine-tune {means['fine-tune']:.1f}% "
            f"({note}).<br>Paired over {len(SEEDS)} draws: " + "; ".join(verdicts) + ".")
    metrics = {"scratch": means["scratch"], "linear_probe": means["linear probe"], "fine_tune": means["fine-tune"],
               "fine_tune_gain": gains["fine-tune"][0], "fine_tune_gain_lower_end": gains["fine-tune"][1],
               "probe_gain": gains["linear probe"][0], "probe_gain_lower_end": gains["linear probe"][1]}
    return View(fig, text, metrics)


def transfer_explorer():
    """Target task, labelled examples per class, layers to freeze, body learning rate → accuracy of
    each strategy over 5 draws, and the paired gains over scratch.

    Every new setting trains the strategies on 5 random draws of the target's labelled images
    (about a second; settings seen before are remembered).
    """
    wide = {"description_width": "initial"}
    controls = {
        "target": W.ToggleButtons(options=[("uneven lighting", "lit"), ("clean", "clean")], value="lit",
                                  description="target digits 5–9", style=wide),
        "per_class": W.SelectionSlider(options=list(PER_CLASS), value=5, description="labelled images per class",
                                       continuous_update=False, style=wide),
        "freeze_layers": W.IntSlider(value=0, min=0, max=2, description="frozen body layers",
                                     continuous_update=False, style=wide),
        "body_lr": W.SelectionSlider(options=[(lr_label(lr), lr) for lr in BODY_LRS], value=transfer.BODY_LR,
                                     description="body learning rate", continuous_update=False, style=wide),
    }
    rows = [W.HBox([controls["target"]]), W.HBox([controls["per_class"], controls["freeze_layers"]]),
            W.HBox([controls["body_lr"]])]
    return Explorer(controls, _update, "transfer_explorer", layout_rows=rows)
