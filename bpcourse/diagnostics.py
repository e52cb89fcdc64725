"""What happens inside a deep network: per-layer activation and gradient statistics.

``layer_statistics`` measures one forward/backward pass; ``Recorder`` is a ``fit``
callback that records the same per step, with the update-to-data ratio
‖Δw‖ / ‖w‖ (a healthy learning rate gives about 1e-3).
"""
import numpy as np

from .core import Layer, require_instance
from .layers import Activation, Linear
from .losses import require_loss
from .train import Callback


def activation_layers(model):
    return [layer for layer in model.walk() if isinstance(layer, Activation)]


def linear_layers(model):
    return [layer for layer in model.walk() if isinstance(layer, Linear)]


def _ran(layer, who):
    """An activation layer that has run forward, or an error saying which is missing."""
    require_instance(layer, Activation, who, "an activation layer such as bp.ReLU() or bp.Tanh()")
    if layer.y is None:
        raise RuntimeError(f"{who}({layer!r}) describes the last forward pass: run one first.")
    return layer


def saturation(layer):
    """Fraction of a layer's last inputs where its slope is below 10 % of its maximum
    (sigmoid/tanh: saturated; ReLU: inactive, x ≤ 0)."""
    _ran(layer, "saturation")
    slope = np.asarray(layer.df(), dtype=np.float64)
    return float(np.mean(slope < 0.1 * layer.max_slope))


def activation_stats(layer):
    """Mean, standard deviation and saturation of an activation layer's last output."""
    y = _ran(layer, "activation_stats").y
    return {"mean": float(y.mean()), "std": float(y.std()), "saturation": saturation(layer)}


def layer_statistics(model, loss_fn, x, y):
    """One forward and backward pass; per Linear layer the weight-gradient norm, and per
    activation layer its output statistics and values (for histograms).

    Gradients are zeroed before and after, so the model is left as it was.
    """
    require_instance(model, Layer, "layer_statistics", "the model, e.g. bp.Sequential(...)")
    require_loss(loss_fn, "layer_statistics")
    model.zero_grad()
    loss = loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    stats = {
        "loss": loss,
        "grad_norms": np.array([np.linalg.norm(l.weight.grad) for l in linear_layers(model)]),
        "activations": [dict(activation_stats(l), values=l.y.ravel().copy())
                        for l in activation_layers(model)],
    }
    model.zero_grad()
    return stats


class Recorder(Callback):
    """Records per optimizer step and per Linear layer: weight-gradient norm and
    update-to-data ratio; and per activation layer: mean, std and saturation.

    Arrays after training: ``grad_norms`` and ``update_ratios`` (steps, linear layers),
    ``act_mean``, ``act_std``, ``saturation`` (steps, activation layers).
    """

    def __init__(self):
        self.rows = {"grad_norms": [], "update_ratios": [], "act_mean": [], "act_std": [], "saturation": []}

    def on_backward_end(self, model):
        self.linears = linear_layers(model)
        self.rows["grad_norms"].append([np.linalg.norm(l.weight.grad) for l in self.linears])
        stats = [activation_stats(l) for l in activation_layers(model)]
        for key, name in (("act_mean", "mean"), ("act_std", "std"), ("saturation", "saturation")):
            self.rows[key].append([s[name] for s in stats])
        self.before = [l.weight.data.copy() for l in self.linears]

    def on_step_end(self, model):
        self.rows["update_ratios"].append([
            np.linalg.norm(l.weight.data - w) / (np.linalg.norm(w) + 1e-12)
            for l, w in zip(self.linears, self.before)])

    def __getattr__(self, key):
        rows = self.__dict__.get("rows", {})
        if key in rows:
            return np.array(rows[key], dtype=np.float64)
        raise AttributeError(key)
