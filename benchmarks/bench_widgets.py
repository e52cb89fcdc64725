"""How long does one widget update take? Every lesson's explorer, measured without a
browser (computing the view and rendering its PNG): the median and the worst of a few
control changes each, slow settings included.

    .venv/bin/python benchmarks/bench_widgets.py

Target: every update well under 2 s on 2 cores.
"""
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import bpcourse as bp  # noqa: E402
from bpcourse import surfaces  # noqa: E402


def timed(widget, changes):
    """(median, worst) seconds of setting each (control, value) in turn."""
    times = []
    for control, value in changes:
        start = time.perf_counter()
        widget.controls[control].value = value
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def with_values(widget, **values):
    for control, value in values.items():
        widget.controls[control].value = value
    return widget


def main():
    w = bp.widgets
    cases = [
        ("neuron_explorer: x, w, b, h", w.neuron_explorer(),
         [("x", 1.5), ("w", -2.0), ("b", 0.7), ("h", 0.3), ("x", -1.0)]),
        ("network_stepper: inputs", w.network_stepper(), [("x1", 0.5), ("x2", -1.0), ("target", 0.2)]),
        ("loss_explorer: logit", w.loss_explorer(), [("z", 1.0), ("z", -2.0), ("z", 4.0), ("z", -5.0)]),
        ("optimizer_explorer: lr (GD + Adam, 60 steps)", w.optimizer_explorer(),
         [("lr", 0.05), ("lr", 0.2), ("lr", 0.01)]),
        ("optimizer_explorer: lr (6 optimizers, 300 steps)",
         with_values(w.optimizer_explorer(), optimizers=surfaces.OPTIMIZERS, steps=300),
         [("lr", 0.05), ("lr", 0.2), ("lr", 0.01)]),
        ("optimizer_comparison: lr (10 epochs)", with_values(w.optimizer_comparison(), epochs=10),
         [("lr", 0.1), ("lr", 0.3), ("lr", 0.03)]),
        ("gradient_explorer: activation, init, depth", w.gradient_explorer(),
         [("activation", "relu"), ("init", "he"), ("depth", 10), ("activation", "tanh"), ("depth", 20)]),
        ("gradient_explorer: depth 30, batch norm, residual", w.gradient_explorer(depth=30, batchnorm=True),
         [("residual", True), ("scale", 2.0), ("activation", "relu")]),
        ("moons_playground: regularisers", w.moons_playground(),
         [("l2", 1e-2), ("l1", 1e-3), ("dropout", 0.3), ("patience", 20)]),
        ("moons_playground: 200 points", w.moons_playground(train_size=200), [("l2", 1e-3), ("dropout", 0.5)]),
        ("cost_explorer: batch size, lr", w.cost_explorer(), [("batch_size", 8), ("batch_size", 128), ("lr", 0.3)]),
        ("transfer_explorer: frozen layers, body lr, examples", w.transfer_explorer(),
         [("freeze_layers", 1), ("body_lr", 1e-3), ("per_class", 10)]),
    ]
    for name, widget, changes in cases:
        median, worst = timed(widget, changes)
        print(f"{name:<54} median {median:.2f} s   worst {worst:.2f} s", flush=True)


if __name__ == "__main__":
    main()
