"""Matplotlib helpers the notebooks share. Each draws into given axes (or new ones) and returns them."""
import matplotlib.pyplot as plt
import numpy as np


def _axes(ax, ncols=1, figsize=(5, 3.2)):
    if ax is not None:
        return ax
    _, ax = plt.subplots(1, ncols, figsize=figsize, constrained_layout=True)
    return ax


def plot_history(history, axes=None):
    """Loss (left) and accuracy (right) per epoch, train versus validation."""
    axes = _axes(axes, 2, (9, 3.2))
    for ax, metric in zip(axes, ("loss", "acc")):
        for split, style in (("train", "-"), ("val", "--")):
            values = np.asarray(getattr(history, f"{split}_{metric}"), dtype=float)
            if not np.all(np.isnan(values)):
                ax.plot(history.epochs, values, style, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if metric == "loss" else "accuracy")
        ax.legend()
    return axes


def plot_gradient_norms(norms, ax=None, label=None, title="weight-gradient norm per layer"):
    """Bars of per-layer gradient norms on a log scale (layer 1 = closest to the input)."""
    ax = _axes(ax)
    layers = np.arange(1, len(norms) + 1)
    ax.bar(layers, np.maximum(norms, 1e-30), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel("‖∂L/∂W‖")
    ax.set_title(title)
    return ax


def plot_activation_histograms(activations, axes=None, bins=40):
    """One histogram per activation layer, titled with its saturation percentage."""
    n = len(activations)
    axes = np.atleast_1d(_axes(axes, n, (1.8 * n + 1, 2.2)))
    for i, (ax, a) in enumerate(zip(axes, activations), start=1):
        ax.hist(a["values"], bins=bins, color="tab:blue")
        ax.set_title(f"layer {i}\n{100 * a['saturation']:.0f}% sat.", fontsize=9)
        ax.set_yticks([])
    return axes


def plot_update_ratios(ratios, ax=None):
    """log10 of ‖Δw‖/‖w‖ per step, one line per layer, with the 1e-3 rule of thumb."""
    ax = _axes(ax)
    ratios = np.asarray(ratios)
    for j in range(ratios.shape[1]):
        ax.plot(np.log10(ratios[:, j] + 1e-30), label=f"layer {j + 1}")
    ax.axhline(-3, color="k", ls=":", label="1e-3")
    ax.set_xlabel("step")
    ax.set_ylabel("log10 update / data")
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_decision_boundary(predict_fn, x, y, ax=None, resolution=150):
    """Shade the class ``predict_fn`` gives each point of the plane; scatter (x, y) on top.

    predict_fn: (M, 2) points -> (M,) class labels.
    """
    ax = _axes(ax, figsize=(4, 4))
    pad = 0.5
    (x0, y0), (x1, y1) = x.min(axis=0) - pad, x.max(axis=0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    labels = predict_fn(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contourf(gx, gy, labels, alpha=0.3, cmap="coolwarm")
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def plot_weight_images(weight, ax=None, n=16, shape=(8, 8)):
    """The first ``n`` columns of a first-layer weight (in_features, units) as images."""
    cols = min(n, weight.shape[1])
    axes = np.atleast_1d(_axes(ax, cols, (0.9 * cols, 1.1)))
    for j, a in enumerate(axes):
        w = weight[:, j].reshape(shape)
        limit = np.abs(w).max() or 1.0
        a.imshow(w, cmap="RdBu", vmin=-limit, vmax=limit)
        a.set_axis_off()
    return axes
