"""Widget for 08_transfer_learning: labelled examples per class, frozen layers and the body's
learning rate -> test accuracy of training from scratch, a linear probe and fine-tuning.

The logic is ``transfer_accuracies`` (plain function, cached runs from ``bpcourse.transfer``).
"""
import ipywidgets as W
import numpy as np

from .. import transfer
from ..challenges import Challenge, register
from .base import Explorer, View, new_figure

__all__ = ["transfer_explorer"]

PER_CLASS = (1, 2, 5, 10, 25, 50)
SEEDS = (0, 1, 2)
FEW = 5

register(Challenge(
    id="ch08_fine_tune_few",
    lesson="08_transfer_learning",
    widget="transfer_explorer",
    goal=(f"With at most {FEW} labelled examples per class, find a fine-tuning setting (frozen layers, body "
          f"learning rate) that beats training from scratch by more than 4.5 points."),
    metric="fine_tune_gain",
    target=4.5,
    below=False,
    budget={"per_class": FEW},
))


def transfer_accuracies(per_class, freeze_layers, body_lr, seeds=SEEDS):
    """{strategy: test accuracies over ``seeds``} for scratch, linear probe and the chosen fine-tuning."""
    return {
        "scratch": np.array([transfer.run_strategy("scratch", per_class, s) for s in seeds]),
        "linear probe": np.array([transfer.run_strategy("linear probe", per_class, s) for s in seeds]),
        "fine-tune": np.array([transfer.run_strategy("fine-tune", per_class, s, freeze_layers=int(freeze_layers),
                                                     body_lr=float(body_lr)) for s in seeds]),
    }


def _update(per_class, freeze_layers, body_lr):
    acc = transfer_accuracies(per_class, freeze_layers, body_lr)
    means = {k: 100 * v.mean() for k, v in acc.items()}
    fig, ax = new_figure(figsize=(6, 3.2))
    names = list(acc)
    ft_label = f"fine-tune\n({freeze_layers} frozen, body lr {body_lr:.2g})"
    colors = ["tab:gray", "tab:orange", "tab:blue"]
    for i, name in enumerate(names):
        ax.bar(i, means[name], color=colors[i])
        ax.plot([i] * len(SEEDS), 100 * acc[name], "k.", markersize=6)
        ax.text(i, 101, f"{means[name]:.1f}%", ha="center", fontsize=9)
    ax.set_xticks(range(3))
    ax.set_xticklabels(["scratch", "linear probe\n(body frozen)", ft_label], fontsize=8)
    ax.set_ylim(min(50, min(means.values()) - 5), 108)
    ax.set_ylabel("test accuracy (%), digits 5–9")
    ax.set_title(f"{per_class} labelled examples per class · mean of {len(SEEDS)} draws (dots)", fontsize=10)
    gain = means["fine-tune"] - means["scratch"]
    note = ("freezing both body layers makes fine-tuning a linear probe"
            if int(freeze_layers) == 2 else f"the body's first {freeze_layers} layer(s) frozen, the rest at lr {body_lr:.2g}")
    text = (f"<b>{per_class} per class</b> ({5 * per_class} labelled images): scratch {means['scratch']:.1f}%, "
            f"linear probe {means['linear probe']:.1f}%, fine-tune {means['fine-tune']:.1f}% "
            f"({gain:+.1f} points against scratch; {note}).")
    metrics = {"scratch": means["scratch"], "linear_probe": means["linear probe"],
               "fine_tune": means["fine-tune"], "fine_tune_gain": gain}
    return View(fig, text, metrics)


def transfer_explorer():
    """Labelled examples per class, layers to freeze, body learning rate → accuracy of each strategy.

    Pretrains once (about a second), then every setting trains the strategies on the chosen
    number of digits 5–9 per class (3 random draws) and shows their test accuracy.
    """
    controls = {
        "per_class": W.SelectionSlider(options=list(PER_CLASS), value=10, description="per class",
                                       continuous_update=False),
        "freeze_layers": W.IntSlider(value=0, min=0, max=2, description="frozen layers",
                                     continuous_update=False),
        "body_lr": W.FloatLogSlider(value=transfer.BODY_LR, base=10, min=-4, max=-1, step=0.5,
                                    description="body lr", readout_format=".0e", continuous_update=False),
    }
    return Explorer(controls, _update, "transfer_explorer")
