"""Widgets for 02_forward_backward: step through a 2-3-1 network one operation at a time,
forward then backward, with every node's value and gradient on show."""
import ipywidgets as W
import numpy as np
from matplotlib.patches import FancyBboxPatch

from ..challenges import Challenge, register
from ..layers import Linear, ReLU
from ..losses import MSELoss
from .base import Explorer, View, new_figure

__all__ = ["network_stepper"]

# Hand-picked weights, small enough to follow with a pencil.
W1 = np.array([[1.0, -0.5, 0.8],
               [0.5, 1.0, -0.6]])
B1 = np.array([0.1, -0.2, 0.3])
W2 = np.array([[0.7], [-1.2], [0.5]])
B2 = np.array([0.2])

# (phase, what the step computes) — one operation each, in the order backprop runs them. The backward
# steps name what they produce, not the formulas: deriving those is the lesson's exercises.
STEPS = [
    ("forward", "Linear 1: z = x·W1 + b1"),
    ("forward", "ReLU: h = max(0, z)"),
    ("forward", "Linear 2: ŷ = h·W2 + b2"),
    ("forward", "MSE loss: L = (ŷ − t)²"),
    ("backward", "MSE loss: dL/dŷ"),
    ("backward", "Linear 2: dL/dh, and the parameter gradients dW2, db2"),
    ("backward", "ReLU: dL/dz from dL/dh"),
    ("backward", "Linear 1: dL/dx, and the parameter gradients dW1, db1"),
]


def tiny_network():
    """(Linear(2 → 3), ReLU(), Linear(3 → 1), MSELoss()) holding the fixed weights W1, B1, W2, B2."""
    rng = np.random.default_rng(0)                   # the random init is overwritten at once
    lin1, lin2 = Linear(2, 3, rng=rng), Linear(3, 1, rng=rng)
    lin1.weight.data[...], lin1.bias.data[...] = W1, B1
    lin2.weight.data[...], lin2.bias.data[...] = W2, B2
    return lin1, ReLU(), lin2, MSELoss()


def run_steps(x1, x2, target, step):
    """Run the first ``step`` operations of STEPS with the package's layers on one sample.

    Returns a dict of what is known so far: values "x", "z", "h", "yhat", "L" and gradients
    "dyhat", "dh", "dW2", "db2", "dz", "dx", "dW1", "db1" (1-D arrays, or floats for L).
    """
    lin1, relu, lin2, loss_fn = tiny_network()
    x = np.array([[x1, x2]], dtype=float)
    t = np.array([[target]], dtype=float)
    s = {"x": x[0]}
    ops = [
        lambda: s.update(z=lin1.forward(x)),
        lambda: s.update(h=relu.forward(s["z"])),
        lambda: s.update(yhat=lin2.forward(s["h"])),
        lambda: s.update(L=loss_fn.forward(s["yhat"], t)),
        lambda: s.update(dyhat=loss_fn.backward()),
        lambda: s.update(dh=lin2.backward(s["dyhat"]), dW2=lin2.weight.grad.copy(), db2=lin2.bias.grad.copy()),
        lambda: s.update(dz=relu.backward(s["dh"])),
        lambda: s.update(dx=lin1.backward(s["dz"]), dW1=lin1.weight.grad.copy(), db1=lin1.bias.grad.copy()),
    ]
    for op in ops[:step]:
        op()
    # one sample: show vectors as 1-D arrays; weight gradients keep their matrix shape
    return {k: v if k in ("L", "dW1", "dW2") else np.ravel(v) for k, v in s.items()}


# which nodes each step writes (value or grad), for the highlight
_TOUCHES = [{"z"}, {"h"}, {"yhat"}, {"L"}, {"yhat"}, {"h"}, {"z"}, {"x"}]
_GRAD_OF = {"yhat": "dyhat", "h": "dh", "z": "dz", "x": "dx"}


def _fmt(v):
    return f"{float(v) + 0.0:+.3f}"                 # + 0.0 turns -0.0 into 0.0


def draw_network(state, step, ax):
    """Columns x (2) → z (3) → h (3) → ŷ → L; each node shows its value and, once the backward
    pass reaches it, its gradient dL/d(node). The nodes the last step wrote are highlighted."""
    columns = [("x", 2), ("z", 3), ("h", 3), ("yhat", 1), ("L", 1)]
    names = {"x": "x", "z": "z", "h": "h", "yhat": "ŷ", "L": "L"}
    pos = {}
    for c, (key, n) in enumerate(columns):
        for i in range(n):
            pos[key, i] = (2.2 * c, (n - 1) / 2 - i)
    edges = [(("x", i), ("z", j)) for i in range(2) for j in range(3)] + \
            [(("z", j), ("h", j)) for j in range(3)] + [(("h", j), ("yhat", 0)) for j in range(3)] + \
            [(("yhat", 0), ("L", 0))]
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.plot([xa + 0.7, xb - 0.7], [ya, yb], color="0.7", lw=0.8, zorder=1)
    touched = _TOUCHES[step - 1] if step > 0 else set()
    for (key, i), (x, y) in pos.items():
        value = state.get(key)
        grad = state.get("dL" if key == "L" else _GRAD_OF.get(key, ""))
        if key == "L" and step >= 5:
            grad = 1.0                                   # dL/dL
        lines = [f"{names[key]}{i + 1 if key in ('x', 'z', 'h') else ''}"]
        lines.append("val " + (_fmt(np.ravel(value)[i]) if value is not None else "   ?"))
        lines.append("grad " + (_fmt(np.ravel(grad)[i]) if grad is not None else "   ?"))
        dead = key in ("z", "h") and "z" in state and np.ravel(state["z"])[i] <= 0
        face = "#ffe08a" if key in touched else ("#eeeeee" if dead else "#dcebf7")
        ax.add_patch(FancyBboxPatch((x - 0.7, y - 0.36), 1.4, 0.72, boxstyle="round,pad=0.02",
                                    fc=face, ec="#2b5b84", lw=0.8, zorder=2))
        ax.text(x, y, "\n".join(lines), ha="center", va="center", family="monospace", fontsize=9,
                zorder=3)
    for c, head in enumerate(["input", "Linear 1", "ReLU", "Linear 2", "MSE loss"]):
        ax.text(2.2 * c, 1.6, head, ha="center", va="center", fontsize=10, color="0.3")
    ax.set_xlim(-0.85, 2.2 * 4 + 0.85)
    ax.set_ylim(-1.45, 1.75)
    ax.set_axis_off()
    return ax


def _matrix(a):
    return "[" + ", ".join(_fmt(v) for v in np.ravel(a)) + "]"


def stepper_view(x1=1.0, x2=0.5, target=1.0, step=0):
    """The network after the first ``step`` operations, the step list, and the numbers."""
    s = run_steps(x1, x2, target, step)
    fig, ax = new_figure(figsize=(10.5, 3.4))
    draw_network(s, step, ax)
    items = []
    for i, (phase, what) in enumerate(STEPS, start=1):
        mark = "✓" if i < step else "▶" if i == step else "·"
        style = "font-weight:bold" if i == step else ""
        items.append(f"<div style='{style}'>{mark} {i}. [{phase}] {what}</div>")
    numbers = []
    if step >= 6:
        numbers.append(f"dW2 = {_matrix(s['dW2'])}ᵀ, db2 = {_matrix(s['db2'])}")
    if step >= 8:
        numbers.append(f"dW1 = {_matrix(s['dW1'][0])} (row 1), {_matrix(s['dW1'][1])} (row 2); "
                       f"db1 = {_matrix(s['db1'])}")
    done = ("Forward and backward done: every parameter has its gradient." if step == len(STEPS)
            else "Press Step to run the next operation." if step else "Press Step to start the forward pass.")
    legend = ("<span style='background:#ffe08a'>&nbsp;yellow&nbsp;</span>: written by the last step; "
              "<span style='background:#eeeeee'>&nbsp;grey&nbsp;</span>: hidden unit switched off by ReLU (z ≤ 0).")
    text = ("".join(items) + ("<br>" + "<br>".join(numbers) if numbers else "")
            + f"<br><i>{done}</i><br><small>{legend}</small>")
    metrics = {}
    if step == len(STEPS):
        metrics["dead_units"] = float(np.sum(s["z"] <= 0))
        metrics["grad_W1_norm"] = float(np.linalg.norm(s["dW1"]))
    return View(fig, text, metrics)


class Stepper(Explorer):
    """An Explorer with Step / Reset buttons; the step count is passed to ``update`` as ``step``."""

    def __init__(self, controls, update, name, steps):
        self.step, self.steps = 0, steps
        self.step_button = W.Button(description="Step ▶", button_style="primary")
        self.back_button = W.Button(description="◀ Back", disabled=True)
        self.reset_button = W.Button(description="Reset")
        self.step_button.on_click(lambda _: self.go(self.step + 1))
        self.back_button.on_click(lambda _: self.go(self.step - 1))
        self.reset_button.on_click(lambda _: self.go(0))
        rows = [W.HBox(list(controls.values())),
                W.HBox([self.back_button, self.step_button, self.reset_button])]
        super().__init__(controls, update, name, layout_rows=rows)

    def go(self, step):
        self.step = max(0, min(step, self.steps))
        self.step_button.disabled = self.step == self.steps
        self.back_button.disabled = self.step == 0
        self.refresh()

    def values(self):
        return {**super().values(), "step": self.step}


def network_stepper():
    """Step through a 2-3-1 ReLU network one operation at a time: forward, then backward."""
    slider = dict(min=-2.0, max=2.0, step=0.1, continuous_update=False, readout_format=".1f",
                  style={"description_width": "initial"})
    controls = {
        "x1": W.FloatSlider(value=1.0, description="x1", **slider),
        "x2": W.FloatSlider(value=0.5, description="x2", **slider),
        "target": W.FloatSlider(value=1.0, description="target t", **slider),
    }
    return Stepper(controls, stepper_view, "network_stepper", steps=len(STEPS))


register(Challenge(
    id="ch02_dead_relus", lesson="02_forward_backward", widget="network_stepper",
    goal="Switch off all three hidden ReLUs (every z ≤ 0) with the input sliders, then step "
         "through the whole backward pass: no gradient reaches W1.",
    metric="dead_units", target=2.5, below=False))
