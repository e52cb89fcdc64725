"""How long does one widget update take in lessons 03 (loss_explorer) and 04
(optimizer_explorer, optimizer_comparison)? The median of a few control changes each,
measured without a browser (computing the view and rendering the PNG).

    .venv/bin/python benchmarks/bench_widgets_03_04.py

Target: every update well under 2 s on 2 cores (the slowest setting included).
"""
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import bpcourse as bp  # noqa: E402
from bpcourse import surfaces  # noqa: E402


def median_update(widget, control, values):
    times = []
    for value in values:
        start = time.perf_counter()
        widget.controls[control].value = value
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main():
    cases = [
        ("loss_explorer: logit slider", bp.widgets.loss_explorer(), "z", [1.0, -2.0, 4.0, -5.0, 0.5]),
        ("optimizer_explorer: lr (GD + Adam, 60 steps)", bp.widgets.optimizer_explorer(), "lr",
         [0.05, 0.2, 0.3, 0.01, 0.1]),
    ]
    heavy = bp.widgets.optimizer_explorer()
    heavy.controls["optimizers"].value = surfaces.OPTIMIZERS
    heavy.controls["steps"].value = 300
    cases.append(("optimizer_explorer: lr (6 optimizers, 300 steps)", heavy, "lr", [0.05, 0.2, 0.01]))
    comparison = bp.widgets.optimizer_comparison()
    cases.append(("optimizer_comparison: lr (3 epochs)", comparison, "lr", [0.1, 0.3, 0.03]))
    long = bp.widgets.optimizer_comparison()
    long.controls["epochs"].value = 10
    cases.append(("optimizer_comparison: lr (10 epochs)", long, "lr", [0.1, 0.3, 0.03]))
    for name, widget, control, values in cases:
        median, worst = median_update(widget, control, values)
        print(f"{name:<50} median {median:.2f} s, max {worst:.2f} s")


if __name__ == "__main__":
    main()
