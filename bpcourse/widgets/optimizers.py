"""Widgets and experiments for 04_optimizers: trajectories on 2-D surfaces, and optimizers trained on
the digits.

The logic sits in plain functions (``surface_view``, ``digits_view``, ``train_digits``, ``lr_sweep``,
``gradient_noise``) that the notebook and the tests call directly; the builders
``optimizer_explorer()`` and ``optimizer_comparison()`` only wire controls to them.
"""
import functools

import ipywidgets as W
import numpy as np
import traitlets
from threadpoolctl import threadpool_limits

from .. import data
from ..challenges import Challenge, register
from ..layers import Linear, ReLU, Sequential
from ..losses import SoftmaxCrossEntropy
from ..surfaces import OPTIMIZERS, SURFACES, make_optimizer, run
from ..train import evaluate, fit
from .base import Explorer, View, new_figure

__all__ = ["optimizer_explorer", "optimizer_comparison"]

LESSON = "04_optimizers"
COLORS = dict(zip(OPTIMIZERS, ["k", "tab:blue", "tab:cyan", "tab:green", "tab:orange", "tab:red"]))
COLORS["SGD"] = "k"
WIDE = {"description_width": "initial"}          # labels never cut ("learning r…")


# ---------------------------------------------------------------- surfaces -------------

@functools.lru_cache(maxsize=None)
def _grid(name, n=140):
    s = SURFACES[name]
    gx, gy = np.meshgrid(np.linspace(*s.xlim, n), np.linspace(*s.ylim, n))
    gz = s.f(gx, gy)
    levels = np.unique(np.quantile(gz, np.linspace(0, 1, 17)))     # bands of equal area: contrast everywhere
    return gx, gy, gz, levels


def plot_surface(surface, trajectories=(), ax=None, legend=True):
    """Filled contours of ``surface`` (light: low, grey: high) with each trajectory on top (start ○, end ×).

    legend: True puts the legend outside the axes, on the right, so it never hides a path."""
    if isinstance(surface, str):
        surface = SURFACES[surface]
    if ax is None:
        _, ax = new_figure(figsize=(5, 3.6))
    gx, gy, gz, levels = _grid(surface.name)
    ax.contourf(gx, gy, gz, levels=levels, cmap="Greys", alpha=0.55)   # flat bands: small images
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
    if legend:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return ax


def run_all(surface, optimizers, lr, momentum=0.9, beta2=0.999, alpha=0.99, start=None, steps=50,
            noise=0.0, seed=0):
    """One ``Trajectory`` per optimizer name, all from the same start with the same settings."""
    return [run(surface, make_optimizer(name, lr, momentum, beta2, alpha), steps, start=start, noise=noise,
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
                gap = np.hypot(x - surface.minimum[0], y - surface.minimum[1])
                where += f", distance to the global minimum {gap:.3g}"
        rows.append(f"<b>{t.name}</b>: {where}")
    return "<br>".join(rows) or "Choose at least one optimizer: tick its box."


def surface_view(surface="bowl", optimizers=("GD",), lr=0.1, momentum=0.9, beta2=0.999, alpha=0.99,
                 start_x=None, start_y=None, steps=50, noise=0.0):
    """Contours with trajectories (left) and f per step (right). Metrics: each optimizer's final f,
    ``best_f`` (the lowest), and ``best_f_from_default_start`` (only from the surface's default start)."""
    s = SURFACES[surface]
    start = s.start if start_x is None or start_y is None else (float(start_x), float(start_y))
    paths = run_all(s, list(optimizers), lr, momentum, beta2, alpha, start, int(steps), float(noise))
    fig, (ax, ax2) = new_figure(1, 2, figsize=(9, 3.8), gridspec_kw={"width_ratios": [1.3, 1]})
    plot_surface(s, paths, ax, legend=False)
    for t in paths:
        ax2.plot(t.values - (s.min_value if np.isfinite(s.min_value) else 0), color=COLORS[t.name])
    if np.isfinite(s.min_value):
        ax2.set_yscale("log")
        ax2.set_ylabel("f − f(min)")
    else:
        ax2.set_ylabel("f")
        ax2.set_ylim(-5, max(5.0, s(start) + 1))
    ax2.set_xlabel("step")
    handles, labels = ax.get_legend_handles_labels()
    if handles:                                  # below both plots, where it covers nothing
        fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8, frameon=False)
    metrics = {f"final_f_{t.name}": (np.inf if t.diverged else t.final_value) for t in paths}
    finals = [v for v in metrics.values()]
    metrics["best_f"] = min(finals) if finals else np.nan
    at_default = np.allclose(start, s.start)
    metrics["best_f_from_default_start"] = metrics["best_f"] if at_default else np.nan
    return View(fig, _summary(s, paths), metrics)


register(Challenge(
    id="ch04_deepest_well", lesson=LESSON, widget="optimizer_explorer",
    goal="On the three Gaussian wells, from the default start (−1.9, 1.6), end in the deepest well "
         "(f < −1.4) within 100 steps, without noise, with a learning rate of at most 0.15.",
    metric="best_f_from_default_start", target=-1.4, below=True,
    budget={"steps": 100, "noise": 0.0, "lr": 0.15}))


class Choices(W.VBox):
    """Tick boxes for a choice of several options (no Ctrl-click). ``value`` is the tuple of ticked
    options in their listed order; setting it ticks the boxes, ticking a box changes it once."""

    value = traitlets.Tuple()

    def __init__(self, options, value=(), description="", columns=3):
        self.options, self._syncing = tuple(options), False
        self.boxes = {o: W.Checkbox(value=o in value, description=str(o), indent=False,
                                    layout=W.Layout(width="auto")) for o in self.options}
        grid = W.GridBox(list(self.boxes.values()),
                         layout=W.Layout(grid_template_columns=f"repeat({columns}, auto)"))
        super().__init__([W.Label(description), grid])
        self.value = tuple(value)
        for box in self.boxes.values():
            box.observe(self._ticked, names="value")
        self.observe(self._tick_boxes, names="value")

    @traitlets.validate("value")
    def _valid(self, proposal):
        unknown = [o for o in proposal["value"] if o not in self.options]
        if unknown:
            raise traitlets.TraitError(f"unknown choice {unknown[0]!r}; the options are "
                                       f"{', '.join(map(str, self.options))}.")
        return tuple(o for o in self.options if o in proposal["value"])

    def _ticked(self, change):
        if not self._syncing:
            self.value = tuple(o for o, box in self.boxes.items() if box.value)

    def _tick_boxes(self, change):
        self._syncing = True
        try:
            for o, box in self.boxes.items():
                box.value = o in change["new"]
        finally:
            self._syncing = False


class _SurfaceExplorer(Explorer):
    """An Explorer that moves the start sliders to the new surface's default start in one update."""

    def __init__(self, controls):
        self._hold = False
        controls["surface"].observe(self._new_surface, names="value")   # before Explorer's own observer
        super().__init__(controls, surface_view, "optimizer_explorer", layout_rows=[
            W.HBox([W.VBox([controls["surface"], controls["steps"], controls["noise"]]), controls["optimizers"]]),
            W.HBox([W.VBox([controls["lr"], controls["momentum"]]), W.VBox([controls["beta2"], controls["alpha"]])]),
            W.HBox([controls["start_x"], controls["start_y"]]),
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


# Every value a learning-rate slider offers is shown as it is: no log slider snapping a typed 0.3 to 0.316.
SURFACE_LRS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.18, 0.2, 0.22, 0.3, 0.5, 1.0)


def _lr_slider(options, value):
    return W.SelectionSlider(options=[(f"{v:g}", v) for v in options], value=value, description="learning rate",
                             continuous_update=False, style=WIDE, layout=W.Layout(width="420px"))


def optimizer_explorer(surface="gaussians"):
    """Optimizer trajectories on a 2-D surface: choose surface, optimizers, lr, momentum/β₁, β₂, α,
    start, steps and gradient noise."""
    s = SURFACES[surface]
    slider = dict(continuous_update=False, style=WIDE)
    controls = {
        "surface": W.Dropdown(options=[(t.title, n) for n, t in SURFACES.items()], value=surface,
                              description="surface", style=WIDE),
        "optimizers": Choices(OPTIMIZERS, ("GD", "Adam"), "optimizers (tick one or more):"),
        "lr": _lr_slider(SURFACE_LRS, 0.1),
        "momentum": W.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum / β₁ (Adam)",
                                  **slider),
        "beta2": W.FloatSlider(value=0.999, min=0.9, max=0.999, step=0.001, description="β₂ (Adam)",
                               readout_format=".3f", **slider),
        "alpha": W.FloatSlider(value=0.99, min=0.8, max=0.999, step=0.001, description="α (RMSprop)",
                               readout_format=".3f", **slider),
        "start_x": W.FloatSlider(value=s.start[0], min=-2.5, max=2.5, step=0.05, description="start x", **slider),
        "start_y": W.FloatSlider(value=s.start[1], min=-2.5, max=2.5, step=0.05, description="start y", **slider),
        "steps": W.IntSlider(value=60, min=1, max=300, description="steps", **slider),
        "noise": W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="gradient noise", **slider),
    }
    return _SurfaceExplorer(controls)


# ---------------------------------------------------------------- digits ---------------

DIGITS_OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam")
DIGITS_LRS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)   # half-decades, as in the lesson
WIDGET_SEEDS = (0, 1, 2)


@functools.lru_cache(maxsize=1)
def _digits():
    return data.digits(seed=0)


def digits_model(seed=0, hidden=32):
    """The lesson's fixed model: 64 → hidden → 10 with ReLU, He init, seeded."""
    rng = np.random.default_rng(seed)
    return Sequential(Linear(64, hidden, rng=rng), ReLU(), Linear(hidden, 10, rng=rng))


def _train(optimizer, lr, epochs, momentum, batch_size, seed, scheduler):
    """The trained model and its History (see ``train_digits``)."""
    if optimizer not in DIGITS_OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(DIGITS_OPTIMIZERS)}.")
    splits = _digits()
    model = digits_model(seed)
    opt = make_optimizer("GD" if optimizer == "SGD" else optimizer, lr, momentum)(model.parameters())
    sched = scheduler(opt) if scheduler is not None else None
    with threadpool_limits(1):                   # one BLAS thread: faster for these small matrices
        history = fit(model, SoftmaxCrossEntropy(), opt, splits.train, val=splits.val, epochs=epochs,
                      batch_size=batch_size, rng=np.random.default_rng(seed), progress=False, scheduler=sched)
    return model, history


def train_digits(optimizer, lr, epochs=3, momentum=0.9, batch_size=32, seed=0, scheduler=None):
    """Train ``digits_model(seed)`` with one of ``DIGITS_OPTIMIZERS`` at learning rate ``lr``; the History.

    The same seed gives the same initial weights and the same batch order for every optimizer, so
    runs with the same seed are paired. A diverging run raises FloatingPointError (from ``fit``).
    """
    return _train(optimizer, lr, epochs, momentum, batch_size, seed, scheduler)[1]


def final_scores(optimizer, lr, seeds, epochs=3, scheduler=None, split="val"):
    """Loss and accuracy after ``epochs``, one per seed: two arrays of shape (len(seeds),).

    split: "val", the validation set that learning rates are picked on, or "test", the held-out test
    set that scores a choice made on the validation set. A run that diverged (``fit`` stopped it)
    scores loss inf and accuracy nan."""
    if split not in ("val", "test"):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}.")
    loss, acc = [], []
    for seed in seeds:
        try:
            model, h = _train(optimizer, lr, epochs, 0.9, 32, seed, scheduler)
        except FloatingPointError:
            loss.append(np.inf)
            acc.append(np.nan)
            continue
        if split == "val":
            loss.append(h.val_loss[-1])
            acc.append(h.val_acc[-1])
        else:
            test_loss, test_acc = evaluate(model, SoftmaxCrossEntropy(), *_digits().test)
            loss.append(test_loss)
            acc.append(test_acc)
    return np.array(loss), np.array(acc)


def lr_sweep(grid, seeds=range(5), epochs=3):
    """Each optimizer at each of its learning rates, on the same seeds (paired runs).

    grid: {optimizer: learning rates}. Returns {optimizer: {"lrs": array (L,), "loss": array (L, S),
    "acc": array (L, S)}}: the validation loss and accuracy after ``epochs``, per learning rate and seed.
    """
    seeds = list(seeds)
    out = {}
    for name, lrs in grid.items():
        scores = [final_scores(name, lr, seeds, epochs) for lr in lrs]
        out[name] = {"lrs": np.array(lrs, dtype=float), "loss": np.array([s[0] for s in scores]),
                     "acc": np.array([s[1] for s in scores])}
    return out


def best_lr(result):
    """The learning rate with the lowest mean validation loss over the seeds, and its index."""
    i = int(np.argmin(result["loss"].mean(axis=1)))
    return float(result["lrs"][i]), i


def sweep_table(sweep):
    """The sweep as text: the mean validation loss over the seeds per optimizer and lr (blank where
    not run); * marks each optimizer's best, 'div.' a learning rate at which a run diverged."""
    lrs = sorted({float(lr) for r in sweep.values() for lr in r["lrs"]})
    lines = [f"{'':<9}" + "".join(f"{lr:>9g}" for lr in lrs)]
    for name, r in sweep.items():
        _, best = best_lr(r)
        cells = []
        for lr in lrs:
            where = np.flatnonzero(r["lrs"] == lr)
            if where.size == 0:
                cells.append(f"{'':>9}")
                continue
            i = int(where[0])
            mean = r["loss"][i].mean()
            cells.append(f"{'div.':>9}" if not np.isfinite(mean) else f"{mean:>8.3f}" + ("*" if i == best else " "))
        lines.append(f"{name:<9}" + "".join(cells).rstrip())
    return "\n".join(lines)


def plot_sweep(sweep, ax=None):
    """Validation loss against learning rate (log axis) for each optimizer: the mean over the seeds,
    a band from the lowest to the highest seed, the best learning rate circled."""
    if ax is None:
        _, ax = new_figure(figsize=(6, 3.2))
    for name, r in sweep.items():
        finite = np.isfinite(r["loss"]).all(axis=1)
        lrs, loss = r["lrs"][finite], r["loss"][finite]
        color = COLORS.get(name)
        ax.plot(lrs, loss.mean(axis=1), "o-", color=color, ms=4, label=name)
        ax.fill_between(lrs, loss.min(axis=1), loss.max(axis=1), color=color, alpha=0.15, lw=0)
        lr, i = best_lr(r)
        ax.plot(lr, r["loss"][i].mean(), "o", ms=11, mfc="none", color=color)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0)
    return ax


def digits_view(optimizer="SGD", lr=1e-3, epochs=3):
    """Train on digits with one optimizer and lr, on each of ``WIDGET_SEEDS``: validation loss and
    accuracy per epoch (the mean over the seeds, a band from the lowest to the highest). Metrics:
    ``val_loss`` and ``val_acc`` (in %) after the last epoch, means over the seeds; ``nesterov_val_loss``
    the same loss, only for Nesterov momentum."""
    histories, diverged = [], []
    for seed in WIDGET_SEEDS:
        try:
            histories.append(train_digits(optimizer, float(lr), int(epochs), seed=seed))
        except FloatingPointError:
            diverged.append(seed)
    if diverged:
        fig, ax = new_figure(figsize=(8, 3))
        ax.text(0.5, 0.5, "training diverged (fit stopped it)", ha="center", va="center")
        ax.set_axis_off()
        return View(fig, f"<b>{optimizer}</b>, lr = {lr:g}: <b>diverged</b> with seed "
                         f"{', '.join(map(str, diverged))}: the learning rate is too large.",
                    {"val_loss": np.inf, "val_acc": 0.0,
                     "nesterov_val_loss": np.inf if optimizer == "Nesterov" else np.nan})
    epochs_axis = histories[0].epochs
    loss = np.array([h.val_loss for h in histories])
    acc = 100 * np.array([h.val_acc for h in histories])
    fig, (a1, a2) = new_figure(1, 2, figsize=(8, 3))
    for ax, values, label in ((a1, loss, "validation loss"), (a2, acc, "validation accuracy (%)")):
        ax.plot(epochs_axis, values.mean(axis=0), "o-")
        ax.fill_between(epochs_axis, values.min(axis=0), values.max(axis=0), alpha=0.2, lw=0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.get_major_locator().set_params(integer=True)
    a2.set_ylim(0, 100)
    final_loss, final_acc = loss[:, -1], acc[:, -1]
    text = (f"<b>{optimizer}</b>, lr = {lr:g}, {int(epochs)} epochs, seeds {', '.join(map(str, WIDGET_SEEDS))}: "
            f"validation loss {final_loss.mean():.3f} (from {final_loss.min():.3f} to {final_loss.max():.3f}), "
            f"validation accuracy {final_acc.mean():.1f}% (from {final_acc.min():.1f} to {final_acc.max():.1f})")
    return View(fig, text, {"val_loss": float(final_loss.mean()), "val_acc": float(final_acc.mean()),
                            "nesterov_val_loss": float(final_loss.mean()) if optimizer == "Nesterov" else np.nan})


register(Challenge(
    id="ch04_nesterov_lr", lesson=LESSON, widget="optimizer_comparison",
    goal="Nesterov momentum is not in section 8's sweep: find a learning rate at which it brings the validation "
         "loss below 0.25 (mean of the three seeds) within 3 epochs.",
    metric="nesterov_val_loss", target=0.25, below=True, budget={"epochs": 3}))


def optimizer_comparison():
    """Digits with a fixed small network, three seeds: pick the optimizer, learning rate and epochs."""
    controls = {
        "optimizer": W.Dropdown(options=DIGITS_OPTIMIZERS, value="SGD", description="optimizer", style=WIDE),
        "lr": _lr_slider(DIGITS_LRS, 1e-3),
        "epochs": W.IntSlider(value=3, min=1, max=10, description="epochs", continuous_update=False, style=WIDE),
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
    """How far a mini-batch gradient g_B is from the full-batch gradient g: for each batch size B,
    the root-mean-square of ‖g_B − g‖ / ‖g‖ over ``repeats`` batches drawn without replacement.
    Returns {B: value}."""
    rng = np.random.default_rng(seed)
    full = _gradient(model, loss_fn, x, y)
    out = {}
    for b in batch_sizes:
        errs = []
        for _ in range(repeats):
            idx = rng.choice(len(x), size=b, replace=False)
            errs.append(np.sum((_gradient(model, loss_fn, x[idx], y[idx]) - full) ** 2))
        out[b] = float(np.sqrt(np.mean(errs)) / np.linalg.norm(full))
    return out
