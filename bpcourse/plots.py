"""Matplotlib helpers the notebooks share. Each draws into given axes (or new ones) and returns them."""
import matplotlib.pyplot as plt
import numpy as np


def _axes(ax, ncols=1, figsize=(5, 3.2)):
    if ax is not None:
        return ax
    _, ax = plt.subplots(1, ncols, figsize=figsize, constrained_layout=True)
    return ax


def _numbers(a, who, name, ndim):
    """``a`` as a float array with ``ndim`` axes (a 1-D array counts as one column for 2)."""
    a = np.asarray(a, dtype=object if a is None else None)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{who} needs numbers as {name}, got {a.dtype}.")
    a = a.astype(np.float64)
    if ndim == 2 and a.ndim == 1:
        a = a[:, None]
    if a.ndim != ndim:
        raise ValueError(f"{who} needs {name} with {ndim} axes, got shape {a.shape}.")
    return a


def plot_history(history, axes=None):
    """Loss (left) and accuracy (right) per epoch, train versus validation."""
    if not all(hasattr(history, k) for k in ("epochs", "train_loss", "val_loss", "train_acc", "val_acc")):
        raise ValueError(f"plot_history draws the History that bp.fit returns, got {type(history).__name__}.")
    axes = _axes(axes, 2, (9, 3.2))
    for ax, metric in zip(axes, ("loss", "acc")):
        for split, style in (("train", "-"), ("val", "--")):
            values = np.asarray(getattr(history, f"{split}_{metric}"), dtype=float)
            if not np.all(np.isnan(values)):
                ax.plot(history.epochs, values, style, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if metric == "loss" else "accuracy")
        if ax.lines:
            ax.legend()
    return axes


def plot_gradient_norms(norms, ax=None, label=None, title="weight-gradient norm per layer"):
    """Bars of per-layer gradient norms on a log scale (layer 1 = closest to the input)."""
    norms = _numbers(norms, "plot_gradient_norms", "norms", 1)
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
    if not n:
        raise ValueError("plot_activation_histograms needs at least one activation layer's statistics.")
    axes = np.atleast_1d(_axes(axes, n, (1.8 * n + 1, 2.2)))
    for i, (ax, a) in enumerate(zip(axes, activations), start=1):
        ax.hist(a["values"], bins=bins, color="tab:blue")
        ax.set_title(f"layer {i}\n{100 * a['saturation']:.0f}% sat.", fontsize=9)
        ax.set_yticks([])
    return axes


def plot_update_ratios(ratios, ax=None):
    """log10 of ‖Δw‖/‖w‖ per step, one line per layer, with the 1e-3 rule of thumb."""
    ratios = _numbers(ratios, "plot_update_ratios", "ratios", 2)
    ax = _axes(ax)
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
    x = _numbers(x, "plot_decision_boundary", "x", 2)
    if x.shape[1] != 2 or not callable(predict_fn):
        raise ValueError(f"plot_decision_boundary shades a plane: it needs predict_fn(points) and points x of "
                         f"shape (N, 2), got x of shape {x.shape}.")
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
    weight = _numbers(weight, "plot_weight_images", "weight", 2)
    if weight.shape[0] != int(np.prod(shape)):
        raise ValueError(f"plot_weight_images shows each column as a {shape} image, so the weight needs "
                         f"{int(np.prod(shape))} rows (in_features), got {weight.shape}.")
    cols = min(n, weight.shape[1])
    axes = np.atleast_1d(_axes(ax, cols, (0.9 * cols, 1.1)))
    for j, a in enumerate(axes):
        w = weight[:, j].reshape(shape)
        limit = np.abs(w).max() or 1.0
        a.imshow(w, cmap="RdBu", vmin=-limit, vmax=limit)
        a.set_axis_off()
    return axes
