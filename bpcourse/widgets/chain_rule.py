"""Widgets for 01_chain_rule: a neuron's computational graph with live values and gradients,
and a nudge panel comparing the gradient's prediction grad·h with the actual change."""
import math

import ipywidgets as W

from ..challenges import Challenge, register
from ..scalar import Value, draw_graph
from .base import Explorer, View, new_figure

__all__ = ["neuron_explorer"]

INPUTS = ("x", "w", "b")


def neuron(x, w, b):
    """y = tanh(w·x + b) built from labelled ``Value``s, backward already run.

    Returns (y, {"x": Value, "w": Value, "b": Value}).
    """
    leaves = {name: Value(float(v), label=name) for name, v in zip(INPUTS, (x, w, b))}
    wx = leaves["w"] * leaves["x"]
    wx.label = "w·x"
    z = wx + leaves["b"]
    z.label = "z"
    y = z.tanh()
    y.label = "y"
    y.backward()
    return y, leaves


def neuron_output(x, w, b):
    """The forward value alone, in plain floats."""
    return math.tanh(w * x + b)


def nudges(x, w, b, h):
    """For each input: its gradient, the predicted change grad·h and the actual change
    of y when only that input grows by h. Returns {name: (grad, predicted, actual, miss)},
    where miss = |predicted − actual| / |actual|, the error relative to the true change
    (0 when both are 0)."""
    y, leaves = neuron(x, w, b)
    point = {"x": x, "w": w, "b": b}
    rows = {}
    for name in INPUTS:
        grad = leaves[name].grad
        moved = dict(point, **{name: point[name] + h})
        actual = neuron_output(**moved) - y.data
        predicted = grad * h
        miss = abs(predicted - actual) / max(abs(actual), 1e-15)
        rows[name] = (grad, predicted, actual, miss if max(abs(predicted), abs(actual)) > 1e-15 else 0.0)
    return rows


def number(v):
    """A signed number with 4 significant digits, so that a small one never shows as 0.00000."""
    return f"{v:+.4g}"


def _table(rows, h):
    head = ("<tr><th>nudge</th><th>∂y/∂·</th><th>predicted Δy = grad·h</th>"
            "<th>actual Δy</th><th>miss</th></tr>")
    body = "".join(
        f"<tr><td>{name} + {h:.2f}</td><td>{number(g)}</td><td>{number(p)}</td><td>{number(a)}</td>"
        f"<td>{100 * m:.1f}%</td></tr>" for name, (g, p, a, m) in rows.items())
    return f"<table>{head}{body}</table>"


def neuron_view(x=1.0, w=0.5, b=0.0, h=0.1, nudge="b"):
    """The graph of y = tanh(w·x + b) (data and grad on every node) and, for the input
    ``nudge``, y against that input with the tangent line the gradient predicts."""
    y, leaves = neuron(x, w, b)
    rows = nudges(x, w, b, h)
    fig, (ax_graph, ax_tan) = new_figure(1, 2, figsize=(9.5, 3.2), width_ratios=[2.6, 1])
    draw_graph(y, ax=ax_graph)
    point = {"x": x, "w": w, "b": b}
    at = point[nudge]
    grid = [at - 1.5 + 3 * i / 120 for i in range(121)]
    ax_tan.plot(grid, [neuron_output(**dict(point, **{nudge: u})) for u in grid], label="y")
    grad = rows[nudge][0]
    ax_tan.plot([at - 1.5, at + 1.5], [y.data - 1.5 * grad, y.data + 1.5 * grad], "--",
                label="tangent: y + grad·h")
    ax_tan.plot([at, at + h], [y.data, y.data + rows[nudge][2]], "o", color="tab:red", ms=4,
                label="actual")
    ax_tan.plot([at + h], [y.data + rows[nudge][1]], "x", color="k", ms=5, label="predicted")
    ax_tan.set_ylim(-1.15, 1.15)
    ax_tan.set_xlabel(nudge)
    ax_tan.set_title(f"nudging {nudge} by h = {h:.2f}", fontsize=9)
    ax_tan.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2,
                  frameon=False)                # below the axes: never over the curve
    text = (f"<b>y = tanh(w·x + b) = tanh({w:.2f}·{x:.2f} + {b:.2f}) = {y.data:.4f}</b><br>"
            + _table(rows, h))
    metrics = {"largest_grad": max(abs(leaves[n].grad) for n in INPUTS),
               "nudge_miss": max(r[3] for r in rows.values())}
    return View(fig, text, metrics)


def neuron_explorer():
    """Sliders for x, w, b (the graph redraws with live data and gradients) and a nudge panel."""
    slider = dict(min=-3.0, max=3.0, step=0.1, continuous_update=False, readout_format=".1f")
    controls = {
        "x": W.FloatSlider(value=1.0, description="x", **slider),
        "w": W.FloatSlider(value=0.5, description="w", **slider),
        "b": W.FloatSlider(value=0.0, description="b", **slider),
        "h": W.FloatSlider(value=0.1, min=0.01, max=1.0, step=0.01, description="nudge h",
                           continuous_update=False),
        "nudge": W.Dropdown(options=list(INPUTS), value="b", description="plot vs"),
    }
    rows = [W.HBox([controls["x"], controls["w"], controls["b"]]),
            W.HBox([controls["h"], controls["nudge"]])]
    return Explorer(controls, neuron_view, "neuron_explorer", layout_rows=rows)


register(Challenge(
    id="ch01_saturate", lesson="01_chain_rule", widget="neuron_explorer",
    goal="Saturate the neuron: make all three gradients (x, w and b) smaller than 0.01 in size.",
    metric="largest_grad", target=0.01, below=True))

register(Challenge(
    id="ch01_nudge_miss", lesson="01_chain_rule", widget="neuron_explorer",
    goal="Break the linear prediction: find a point where grad·h misses the actual change by "
         "more than 50% for some input, with a nudge h of at most 0.3.",
    metric="nudge_miss", target=0.5, below=False, budget={"h": 0.3}))
