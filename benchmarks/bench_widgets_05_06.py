"""How long does one widget update take in lessons 05 (gradient_explorer) and 06
(moons_playground)? The median and the worst of a few control changes each, measured
without a browser (computing the view and rendering the PNG), including the slowest
settings (depth 30 with batch norm and residual blocks; 200 moons points, no early stopping).

    .venv/bin/python benchmarks/bench_widgets_05_06.py

Target: every update well under 2 s on 2 cores.
"""
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import bpcourse as bp  # noqa: E402


def timed(widget, changes):
    times = []
    for control, value in changes:
        start = time.perf_counter()
        widget.controls[control].value = value
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times)


def main():
    cases = [
        ("gradient_explorer: activation/init/depth", bp.widgets.gradient_explorer(),
         [("activation", "relu"), ("init", "he"), ("depth", 10), ("activation", "tanh"), ("depth", 20)]),
        ("gradient_explorer: depth 30, batch norm + residual", bp.widgets.gradient_explorer(depth=30, batchnorm=True),
         [("residual", True), ("scale", 2.0), ("scale", 0.5), ("activation", "relu")]),
        ("moons_playground: 30 points, regularisers", bp.widgets.moons_playground(),
         [("l2", 1e-2), ("l1", 1e-3), ("dropout", 0.3), ("patience", 20), ("l2", 0.0)]),
        ("moons_playground: 200 points", bp.widgets.moons_playground(train_size=200),
         [("l2", 1e-3), ("dropout", 0.5), ("l1", 1e-4)]),
    ]
    for name, widget, changes in cases:
        median, worst = timed(widget, changes)
        print(f"{name:52} median {median:.2f} s   worst {worst:.2f} s")


if __name__ == "__main__":
    main()
