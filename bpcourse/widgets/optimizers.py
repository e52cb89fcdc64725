"""Widgets for 04_optimizers: trajectories on 2-D surfaces, and optimizers trained on digits.

The logic sits in plain functions (``surface_view``, ``digits_view``, ``train_digits``,
``gradient_noise``) that the notebook and the tests call directly; the builders
``optimizer_explorer()`` and ``optimizer_comparison()`` only wire controls to them.
"""
import functools

import ipywidgets as W
import numpy as np

from .. import data
from ..challenges import Challenge, register
from ..layers import Linear, ReLU, Sequential
from ..losses import SoftmaxCrossEntropy
from ..surfaces import OPTIMIZERS, SURFACES, make_optimizer, run
from ..train import fit
from .base import Explorer, View, new_figure

__all__ = ["optimizer_explorer", "optimizer_comparison"]

LESSON = "04_optimizers"
COLORS = dict(zip(OPTIMIZERS, ["k", "tab:blue", "tab:cyan", "tab:green", "tab:orange", "tab:red"]))


# ---------------------------------------------------------------- surfaces -------------

@functools.lru_cache(maxsize=None)
def _grid(name, n=140):
    s = SURFACES[name]
    gx, gy = np.meshgrid(np.linspace(*s.xlim, n), np.linspace(*s.ylim, n))
    gz = s.f(gx, gy)
    levels = np.unique(np.quantile(gz, np.linspace(0, 1, 32) ** 2))   # dense near the minima
    return gx, gy, gz, levels


def plot_surface(surface, trajectories=(), ax=None):
    """Contour lines of ``surface`` with each trajectory drawn on top (start ○, end ×)."""
    if isinstance(surface, str):
        surface = SURFACES[surface]
    if ax is None:
        _, ax = new_figure(figsize=(5, 3.6))
    gx, gy, gz, levels = _grid(surface.name)
    ax.contour(gx, gy, gz, levels=levels, cmap="viridis", linewidths=0.7)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, "*", color="gold", ms=13, mec="k", label="global min")
    for t in trajectories:
        color = COLORS.get(t.name, None)
        ax.plot(t.points[:, 0], t.points[:, 1], ".-", color=color, ms=3, lw=1, label=t.name)
        ax.plot(*t.points[0], "o", color=color, mfc="none")
        ax.plot(*t.points[-1], "x", color=color, ms=8)
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)
    ax.set_title(surface.title, fontsize=10)
    ax.legend(fontsize=7, loc="upper right")
    return ax


def run_all(surface, optimizers, lr, momentum=0.9, beta2=0.999, start=None, steps=50, noise=0.0, seed=0):
    """One ``Trajectory`` per optimizer name, all from the same start with the same settings."""
    return [run(surface, make_optimizer(name, lr, momentum, beta2), steps, start=start, noise=noise,
                seed=seed, name=name) for name in optimizers]


def _summary(surface, trajectories):
    rows = []
    for t in trajectories:
        x, y = t.final
        if t.diverged:
            where = f"<b>diverged</b> after {len(t.points) - 1} steps"
        else:
            where = f"ends at ({x:.3f}, {y:.3f}), f = {t.final_value:.4g}"
            if surface.minimum is not None:
                where += f", distance to the global minimum {np.hypot(x - surface.minimum[0], y - surface.minimum[1]):.3g}"
        rows.append(f"<b>{t.name}</b>: {where}")
    return "<br>".join(rows) or "Choose at least one optimizer."


def surface_view(surface="bowl", optimizers=("GD",), lr=0.1, momentum=0.9, beta2=0.999,
                 start_x=None, start_y=None, steps=50, noise=0.0):
    """Contours with trajectories (left) and f per step (right). Metrics: each optimizer's final f,
    ``best_f`` (the lowest), and ``best_f_from_default_start`` (only from the surface's default start)."""
    s = SURFACES[surface]
    start = s.start if start_x is None or start_y is None else (float(start_x), float(start_y))
    paths = run_all(s, list(optimizers), lr, momentum, beta2, start, int(steps), float(noise))
    fig, (ax, ax2) = new_figure(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [1.3, 1]})
    plot_surface(s, paths, ax)
    for t in paths:
        ax2.plot(t.values - (s.min_value if np.isfinite(s.min_value) else 0), color=COLORS[t.name], label=t.name)
    if np.isfinite(s.min_value):
        ax2.set_yscale("log")
        ax2.set_ylabel("f − f(min)")
    else:
        ax2.set_ylabel("f")
        ax2.set_ylim(-5, max(5.0, s(start) + 1))
    ax2.set_xlabel("step")
    metrics = {f"final_f_{t.name}": (np.inf if t.diverged else t.final_value) for t in paths}
    finals = [v for v in metrics.values()]
    metrics["best_f"] = min(finals) if finals else np.nan
    at_default = np.allclose(start, s.start)
    metrics["best_f_from_default_start"] = metrics["best_f"] if at_default else np.nan
    return View(fig, _summary(s, paths), metrics)


register(Challenge(
    id="ch04_deepest_well", lesson=LESSON, widget="optimizer_explorer",
    goal="On the three Gaussian wells, from the default start (−1.9, 1.6), end in the deepest well "
         "(f < −1.4) within 100 steps, without noise.",
    metric="best_f_from_default_start", target=-1.4, below=True, budget={"steps": 100, "noise": 0.0}))


class _SurfaceExplorer(Explorer):
    """An Explorer that moves the start sliders to the new surface's default start in one update."""

    def __init__(self, controls):
        self._hold = False
        controls["surface"].observe(self._new_surface, names="value")   # before Explorer's own observer
        super().__init__(controls, surface_view, "optimizer_explorer", layout_rows=[
            W.HBox([controls["surface"], controls["optimizers"],
                    W.VBox([controls[k] for k in ("lr", "momentum", "beta2")])]),
            W.HBox([W.VBox([controls["start_x"], controls["start_y"]]),
                    W.VBox([controls["steps"], controls["noise"]])]),
        ])

    def _new_surface(self, change):
        s = SURFACES[change["new"]]
        self._hold = True
        try:
            self.controls["start_x"].value, self.controls["start_y"].value = s.start
        finally:
            self._hold = False

    def refresh(self, change=None):
        if not self._hold:
            super().refresh(change)


def optimizer_explorer(surface="gaussians"):
    """Optimizer trajectories on a 2-D surface: choose surface, optimizers, lr, momentum/β₁, β₂,
    start, steps and gradient noise."""
    s = SURFACES[surface]
    style = {"description_width": "initial"}
    controls = {
        "surface": W.Dropdown(options=[(t.title, n) for n, t in SURFACES.items()], value=surface,
                              description="surface"),
        "optimizers": W.SelectMultiple(options=OPTIMIZERS, value=("GD", "Adam"), rows=6,
                                       description="optimizers"),
        "lr": W.FloatLogSlider(value=0.1, base=10, min=-3, max=0, step=0.1, description="lr",
                               readout_format=".3g"),
        "momentum": W.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum / β₁",
                                  style=style),
        "beta2": W.FloatSlider(value=0.999, min=0.8, max=0.999, step=0.001, description="β₂ (α)",
                               readout_format=".3f", style=style),
        "start_x": W.FloatSlider(value=s.start[0], min=-2.5, max=2.5, step=0.05, description="start x"),
        "start_y": W.FloatSlider(value=s.start[1], min=-2.5, max=2.5, step=0.05, description="start y"),
        "steps": W.IntSlider(value=60, min=1, max=300, description="steps"),
        "noise": W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="gradient noise",
                               style=style),
    }
    return _SurfaceExplorer(controls)


# ---------------------------------------------------------------- digits ---------------

DIGITS_OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam")
# The best of the grid 1e-3, 3e-3, ..., 0.3 by validation loss after 10 epochs (seed 0).
TUNED_LR = {"SGD": 0.3, "Momentum": 0.03, "Nesterov": 0.03, "Adagrad": 0.1, "RMSprop": 3e-3, "Adam": 1e-2}


@functools.lru_cache(maxsize=1)
def _digits():
    return data.digits(seed=0)


def digits_model(seed=0, hidden=32):
    """The lesson's fixed model: 64 → hidden → 10 with ReLU, He init, seeded."""
    rng = np.random.default_rng(seed)
    return Sequential(Linear(64, hidden, rng=rng), ReLU(), Linear(hidden, 10, rng=rng))


def train_digits(optimizer="Adam", lr=None, epochs=10, momentum=0.9, batch_size=32, seed=0, scheduler=None):
    """Train ``digits_model(seed)`` with one of ``DIGITS_OPTIMIZERS``; returns the History.

    lr=None uses the optimizer's tuned learning rate (``TUNED_LR``). The same seed gives
    the same initial weights and the same batch order for every optimizer.
    """
    if optimizer not in DIGITS_OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(DIGITS_OPTIMIZERS)}.")
    lr = TUNED_LR[optimizer] if lr is None else lr
    splits = _digits()
    model = digits_model(seed)
    factory = make_optimizer("GD" if optimizer == "SGD" else optimizer, lr, momentum)
    opt = factory(model.parameters())
    sched = scheduler(opt) if scheduler is not None else None
    return fit(model, SoftmaxCrossEntropy(), opt, splits.train, val=splits.val, epochs=epochs,
               batch_size=batch_size, rng=np.random.default_rng(seed), progress=False, scheduler=sched)


def compare_on_digits(optimizers=DIGITS_OPTIMIZERS, epochs=10, lrs=None, seed=0):
    """{name: History} for each optimizer, same model, data, batches and epochs."""
    lrs = lrs or {}
    return {name: train_digits(name, lrs.get(name), epochs, seed=seed) for name in optimizers}


def digits_view(optimizer="SGD", lr=1e-3, epochs=5):
    """Train on digits with one optimizer and lr; loss and validation-accuracy curves.
    Metrics: ``val_acc`` (in %), and ``sgd_val_acc`` (the same, only for plain SGD)."""
    try:
        history = train_digits(optimizer, float(lr), int(epochs))
    except FloatingPointError:
        fig, ax = new_figure(figsize=(8, 3))
        ax.text(0.5, 0.5, "training diverged (the loss became inf or NaN)", ha="center", va="center")
        ax.set_axis_off()
        return View(fig, f"<b>{optimizer}</b>, lr = {lr:.3g}: <b>diverged</b>: the learning rate is too large.",
                    {"val_acc": 0.0, "sgd_val_acc": 0.0 if optimizer == "SGD" else np.nan})
    fig, (a1, a2) = new_figure(1, 2, figsize=(8, 3))
    a1.plot(history.epochs, history.train_loss, "o-", label="train")
    a1.plot(history.epochs, history.val_loss, "s--", label="validation")
    a1.set_xlabel("epoch")
    a1.set_ylabel("loss")
    a1.legend()
    a2.plot(history.epochs, 100 * np.array(history.val_acc), "s--", color="tab:orange")
    a2.set_xlabel("epoch")
    a2.set_ylabel("validation accuracy (%)")
    a2.set_ylim(0, 100)
    acc = 100 * history.val_acc[-1]
    text = (f"<b>{optimizer}</b>, lr = {lr:.3g}, {len(history)} epochs: train loss {history.train_loss[-1]:.3f}, "
            f"validation loss {history.val_loss[-1]:.3f}, validation accuracy {acc:.1f}%")
    return View(fig, text, {"val_acc": acc, "sgd_val_acc": acc if optimizer == "SGD" else np.nan})


register(Challenge(
    id="ch04_sgd_lr", lesson=LESSON, widget="optimizer_comparison",
    goal="With plain SGD, reach a validation accuracy above 90% in at most 3 epochs: choose the learning rate.",
    metric="sgd_val_acc", target=90.0, below=False, budget={"epochs": 3}))


def optimizer_comparison():
    """Digits with a fixed small network: pick the optimizer, learning rate and number of epochs."""
    controls = {
        "optimizer": W.Dropdown(options=DIGITS_OPTIMIZERS, value="SGD", description="optimizer"),
        "lr": W.FloatLogSlider(value=1e-3, base=10, min=-4, max=0.5, step=0.1, description="lr",
                               readout_format=".3g"),
        "epochs": W.IntSlider(value=3, min=1, max=10, description="epochs"),
    }
    return Explorer(controls, digits_view, "optimizer_comparison")


# ---------------------------------------------------------------- mini-batch noise ------

def _gradient(model, loss_fn, x, y):
    model.zero_grad()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    g = np.concatenate([p.grad.ravel() for p in model.parameters()])
    model.zero_grad()
    return g


def gradient_noise(model, loss_fn, x, y, batch_sizes, repeats=30, seed=0):
    """How far a mini-batch gradient is from the full-batch one: for each batch size B,
    the mean of ‖g_B − g‖ / ‖g‖ over ``repeats`` random batches. Returns {B: value}."""
    rng = np.random.default_rng(seed)
    full = _gradient(model, loss_fn, x, y)
    out = {}
    for b in batch_sizes:
        errs = []
        for _ in range(repeats):
            idx = rng.choice(len(x), size=b, replace=False)
            errs.append(np.linalg.norm(_gradient(model, loss_fn, x[idx], y[idx]) - full))
        out[b] = float(np.mean(errs) / np.linalg.norm(full))
    return out
