"""2-D test functions for the optimizers lesson, and a runner for any ``bp`` optimizer on them.

    from bpcourse import surfaces
    s = surfaces.SURFACES["camel"]
    path = surfaces.run(s, surfaces.make_optimizer("Adam", lr=0.05), steps=100)
    path.points[-1], path.values[-1]

The point being optimised is a ``bp.Parameter`` of shape (2,), so the optimizer
is exactly the one a network uses; only the "loss" is a formula with its
gradient written by hand (and checked numerically in the tests).
"""
from dataclasses import dataclass

import numpy as np

from .core import Parameter
from .optim import SGD, Adagrad, Adam, RMSprop

__all__ = ["Surface", "SURFACES", "Trajectory", "OPTIMIZERS", "make_optimizer", "run"]


@dataclass(frozen=True)
class Surface:
    """f(x, y) with its gradient, a plotting window, a default start and the global minimum.

    ``f(x, y)`` works elementwise on arrays (for contour plots); ``grad(p)`` takes a
    point p = (x, y) and returns (∂f/∂x, ∂f/∂y) as an array of shape (2,).
    """

    name: str
    title: str
    f: callable
    grad: callable
    xlim: tuple
    ylim: tuple
    start: tuple
    minimum: tuple                     # one global minimiser (x, y), or None if unbounded below
    min_value: float

    def __call__(self, p):
        return float(self.f(p[0], p[1]))


def _bowl_f(x, y):
    return 0.5 * (x * x + 10 * y * y)


def _bowl_grad(p):
    x, y = p
    return np.array([x, 10 * y])


def _saddle_f(x, y):
    return x * x - y * y


def _saddle_grad(p):
    x, y = p
    return np.array([2 * x, -2 * y])


def _camel_f(x, y):
    return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2


def _camel_grad(p):
    x, y = p
    return np.array([8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3])


def _rosenbrock_f(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


# Gaussian wells: centre, depth, width; plus a gentle bowl 0.05·|p|² so f is bounded below.
_WELLS = [((-1.0, 0.6), 1.0, 0.45), ((1.0, -0.5), 1.5, 0.55), ((0.2, 1.4), 0.7, 0.35)]


def _gauss_f(x, y):
    total = 0.05 * (x * x + y * y)
    for (cx, cy), depth, width in _WELLS:
        total = total - depth * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width ** 2))
    return total


def _gauss_grad(p):
    x, y = p
    g = 0.1 * np.array([x, y])
    for (cx, cy), depth, width in _WELLS:
        e = depth * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width ** 2))
        g = g + e * np.array([x - cx, y - cy]) / width ** 2
    return g


def _gauss_minimum():
    """The deepest well's exact minimiser, by a few Newton-free GD steps from its centre."""
    p = np.array(_WELLS[1][0], dtype=float)
    for _ in range(2000):
        p = p - 0.05 * _gauss_grad(p)
    return tuple(float(v) for v in p)


_GAUSS_MIN = _gauss_minimum()

SURFACES = {s.name: s for s in [
    Surface("bowl", "elongated bowl  ½(x² + 10y²)", _bowl_f, _bowl_grad,
            (-2.0, 2.0), (-1.0, 1.0), (-1.8, 0.8), (0.0, 0.0), 0.0),
    Surface("saddle", "saddle  x² − y²", _saddle_f, _saddle_grad,
            (-2.0, 2.0), (-2.0, 2.0), (1.5, 0.0), None, -np.inf),
    Surface("camel", "six-hump camel", _camel_f, _camel_grad,
            (-2.0, 2.0), (-1.1, 1.1), (-1.5, -0.6), (0.08984, -0.71266), -1.031628),
    Surface("rosenbrock", "Rosenbrock  (1−x)² + 100(y−x²)²", _rosenbrock_f, _rosenbrock_grad,
            (-2.0, 2.0), (-1.0, 3.0), (-1.5, 2.0), (1.0, 1.0), 0.0),
    Surface("gaussians", "three Gaussian wells", _gauss_f, _gauss_grad,
            (-2.2, 2.2), (-1.6, 2.4), (-1.9, 1.6), _GAUSS_MIN, float(_gauss_f(*_GAUSS_MIN))),
]}


@dataclass
class Trajectory:
    """Where an optimizer went: ``points`` (k, 2) from the start on, ``values`` f at each point.

    ``diverged`` is True when the run stopped early because the point ran off to
    infinity (|p| > 1e6 or a NaN); then ``points`` ends at the last finite point.
    """

    name: str
    points: np.ndarray
    values: np.ndarray
    diverged: bool = False

    @property
    def final(self):
        return self.points[-1]

    @property
    def final_value(self):
        return float(self.values[-1])


OPTIMIZERS = ("GD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam")


def make_optimizer(name, lr, momentum=0.9, beta2=0.999, alpha=0.99):
    """A factory ``params -> optimizer`` for one of ``OPTIMIZERS``.

    ``momentum`` is SGD's momentum and Adam's beta1; ``beta2`` is Adam's beta2; ``alpha`` is
    RMSprop's decay rate. The defaults are PyTorch's; Nesterov with momentum 0 is plain GD.
    """
    lr, momentum, beta2, alpha = float(lr), float(momentum), float(beta2), float(alpha)
    factories = {
        "GD": lambda ps: SGD(ps, lr=lr),
        "Momentum": lambda ps: SGD(ps, lr=lr, momentum=momentum),
        "Nesterov": lambda ps: SGD(ps, lr=lr, momentum=momentum, nesterov=momentum > 0),   # μ = 0: plain GD
        "Adagrad": lambda ps: Adagrad(ps, lr=lr),
        "RMSprop": lambda ps: RMSprop(ps, lr=lr, alpha=alpha),
        "Adam": lambda ps: Adam(ps, lr=lr, betas=(momentum, beta2)),
    }
    if name not in factories:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}.")
    factory = factories[name]
    factory.__name__ = name
    return factory


def run(surface, optimizer, steps, start=None, noise=0.0, seed=0, scheduler=None, name=None):
    """Run ``steps`` optimizer steps on ``surface`` from ``start`` (default: the surface's start).

    optimizer: a factory ``params -> Optimizer`` (``make_optimizer(...)`` or e.g.
    ``lambda ps: bp.Adam(ps, lr=0.1)``). noise: standard deviation of Gaussian noise
    added to each gradient (a stand-in for mini-batch noise). scheduler: optional
    ``opt -> LRScheduler``, stepped after every step. Returns a ``Trajectory``.
    """
    if isinstance(surface, str):
        surface = SURFACES[surface]
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}.")
    rng = np.random.default_rng(seed)
    point = Parameter(np.array(surface.start if start is None else start, dtype=float), "xy")
    opt = optimizer([point])
    sched = scheduler(opt) if scheduler is not None else None
    points, diverged = [point.data.copy()], False
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(int(steps)):
            point.grad[...] = surface.grad(point.data)
            if noise:
                point.grad += noise * rng.standard_normal(2)
            opt.step()
            if sched is not None:
                sched.step()
            if not np.all(np.isfinite(point.data)) or np.abs(point.data).max() > 1e6:
                diverged = True
                break
            points.append(point.data.copy())
        points = np.array(points)
        values = np.array([surface(p) for p in points])
    label = name or getattr(optimizer, "__name__", type(opt).__name__)
    if label == "<lambda>":
        label = type(opt).__name__
    return Trajectory(label, points, values, diverged)
