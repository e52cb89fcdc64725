"""Optimizers, gradient clipping and learning-rate schedules.

Every optimizer follows the update rule documented for its namesake in
``torch.optim``, with the same argument names and defaults, so any number can
be checked against PyTorch. Each rule is elementwise: a state buffer has the
shape and dtype of ``p.data``, and updates happen in place, so float32
parameters stay float32 (hyperparameters are kept as Python floats, which
NumPy 2 never lets upcast an array).

    opt = Adam(model.parameters(), lr=1e-3)
    # parameter groups: a smaller lr for a pretrained body, the defaults for the head
    opt = SGD([{"params": body.parameters(), "lr": 1e-4},
               {"params": head.parameters()}], lr=1e-2, momentum=0.9)
"""
import math
import numbers

import numpy as np

from .core import Layer, Parameter, describe_object

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "clip_grad_norm", "clip_grad_value",
           "LRScheduler", "StepLR", "CosineAnnealingLR"]

# Hyperparameters that must be numbers >= 0 (torch checks the same ones).
_NON_NEGATIVE = ("lr", "momentum", "dampening", "weight_decay", "eps",
                 "lr_decay", "initial_accumulator_value", "alpha")


def _as_parameter_list(params, who):
    """Return ``params`` as a list, refusing the usual slips: arrays instead of Parameters,
    the model itself, or ``model.parameters`` without its call."""
    if isinstance(params, (Parameter, dict)):
        return [params]
    if isinstance(params, Layer):
        raise ValueError(f"{who} got the model itself: pass its parameters, model.parameters().")
    if callable(params) and not isinstance(params, np.ndarray):
        name = getattr(params, "__name__", "")
        cure = "model.parameters()" if name == "parameters" else f"{name or 'it'}() if it returns Parameters"
        raise ValueError(f"{who} got {describe_object(params)}: call it, {cure}.")
    if isinstance(params, (str, bytes, numbers.Number)) or not hasattr(params, "__iter__"):
        raise ValueError(f"{who} expects model.parameters() (a list of Parameters), got {describe_object(params)}.")
    # iterating an array would give its rows: report the array itself; a generator is read once
    items = [params] if isinstance(params, np.ndarray) else list(params)
    for p in items:
        if not isinstance(p, (Parameter, dict)):
            raise ValueError(f"{who} expects Parameter objects, got a {type(p).__name__}: "
                             f"pass model.parameters(), not the arrays inside them.")
    return items


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``step()`` and ``zero_grad()``.

    params: an iterable of Parameters (``model.parameters()``), or a list of
    parameter groups ``{"params": [...], "lr": ..., ...}``; a group takes the
    optimizer's ``defaults`` for every hyperparameter it does not set.
    Subclasses write ``_update(p, group, state)`` for one parameter.
    """

    def __init__(self, params, defaults):
        self.defaults = self._checked(dict(defaults))
        self.param_groups = []
        self.state = {}               # Parameter -> its buffers, created at its first step
        items = _as_parameter_list(params, type(self).__name__)
        if not items:
            raise ValueError(f"{type(self).__name__} got an empty parameter list: pass model.parameters() "
                             f"(if you passed a generator, it may already have been used up).")
        groups = items if all(isinstance(g, dict) for g in items) else [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a group ``{"params": [...], <hyperparameters>}``, e.g. layers unfrozen later in fine-tuning."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise ValueError(f"{name}: a parameter group is a dict with a 'params' key, got {group!r}.")
        unknown = set(group) - set(self.defaults) - {"params", "name", "initial_lr"}
        if unknown:
            raise ValueError(f"{name} has no hyperparameter {sorted(unknown)}; it takes {sorted(self.defaults)}.")
        params = _as_parameter_list(group["params"], name)
        if not params or any(isinstance(p, dict) for p in params):
            raise ValueError(f"{name}: the 'params' of a parameter group must be a non-empty list of Parameters.")
        params = list(dict.fromkeys(params))  # a shared Parameter listed twice is still updated once
        taken = {p for g in self.param_groups for p in g["params"]}
        if taken.intersection(params):
            raise ValueError(f"{name}: a parameter appears in more than one parameter group.")
        self.param_groups.append(self._checked({**self.defaults, **group, "params": params}))

    def _checked(self, group):
        """Validate hyperparameters and store numbers as Python floats (a NumPy float64 would upcast float32)."""
        name = type(self).__name__
        for key in _NON_NEGATIVE:
            if key in group:
                value = group[key]
                if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                        or not 0 <= value < math.inf):      # `not <=` also catches NaN
                    raise ValueError(f"{name}: {key} must be a number >= 0, got {value!r} (it must be finite too).")
                group[key] = float(value)
        if group.get("alpha", 0) > 1:
            raise ValueError(f"{name}: alpha is the weight of the running average of g², a number in [0, 1] "
                             f"(the usual 0.99), got {group['alpha']!r}: above 1 the average turns negative.")
        for key in ("nesterov", "centered"):
            if key in group and not isinstance(group[key], (bool, np.bool_)):
                raise ValueError(f"{name}: {key} must be True or False, got {group[key]!r}.")
        if "betas" in group:
            betas = group["betas"]
            if (not isinstance(betas, (tuple, list)) or len(betas) != 2
                    or not all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas)):
                raise ValueError(f"{name}: betas must be two numbers in [0, 1), a pair (beta1, beta2) such as "
                                 f"betas=(0.9, 0.999); got {betas!r}.")
            betas = tuple(float(b) for b in betas)
            if not all(0 <= b < 1 for b in betas):
                raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {group['betas']!r} "
                                 f"(the usual choice is (0.9, 0.999)).")
            group["betas"] = betas
        if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{name}: nesterov=True needs momentum > 0 and dampening=0, "
                             f"got momentum={group['momentum']}, dampening={group['dampening']}.")
        return group

    def step(self):
        """Update every trainable parameter in place from its ``.grad``; frozen ones are left untouched."""
        for group in self.param_groups:
            for p in group["params"]:
                if not p.trainable:
                    continue
                if p.grad.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}: parameter {p.name or '?'} has data of shape "
                                     f"{p.data.shape} but a gradient of shape {p.grad.shape}: a backward pass "
                                     f"wrote the wrong shape into .grad.")
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, **self._init_state(p, group)}
                state["step"] += 1
                self._update(p, group, state)

    def zero_grad(self):
        """Zero every parameter's ``.grad`` in place (the arrays stay the same objects)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad.fill(0)

    def _init_state(self, p, group):
        return {}                     # a subclass's buffers for p, each shaped like p.data

    def _update(self, p, group, state):
        raise NotImplementedError     # a subclass's rule: update p.data in place from p.grad

    def __repr__(self):
        settings = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        n = sum(len(g["params"]) for g in self.param_groups)
        return f"{type(self).__name__}({settings}; {n} parameters in {len(self.param_groups)} group(s))"


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (torch.optim.SGD).

        g = grad + weight_decay * p
        b = g at the first step, then b = momentum * b + (1 - dampening) * g
        g = g + momentum * b  if nesterov  else  b       (only when momentum > 0)
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _init_state(self, p, group):
        return {"momentum_buffer": None}

    def _update(self, p, group, state):
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data      # a new array: p.grad keeps the loss gradient
        momentum = group["momentum"]
        if momentum:
            buf = state["momentum_buffer"]
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()   # copy: p.grad is zeroed in place later
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= group["lr"] * g


class Adagrad(Optimizer):
    """Adagrad (torch.optim.Adagrad): each coordinate's step shrinks with its summed squared gradients.

        g = grad + weight_decay * p
        lr_t = lr / (1 + (t - 1) * lr_decay)                 (t = 1, 2, ... counts steps)
        s = s + g**2                                         (s starts at initial_accumulator_value)
        p = p - lr_t * g / (sqrt(s) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def _init_state(self, p, group):
        return {"sum": np.full_like(p.data, group["initial_accumulator_value"])}

    def _update(self, p, group, state):
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"]
        s += g * g
        denom = np.sqrt(s)
        denom += group["eps"]
        p.data -= lr * g / denom


class RMSprop(Optimizer):
    """RMSprop (torch.optim.RMSprop): divide by a running root-mean-square of the gradient.

        g = grad + weight_decay * p
        v = alpha * v + (1 - alpha) * g**2
        centered:  g_avg = alpha * g_avg + (1 - alpha) * g,  v~ = v - g_avg**2  (else v~ = v)
        momentum > 0:  b = momentum * b + g / (sqrt(v~) + eps),  p = p - lr * b
        otherwise:     p = p - lr * g / (sqrt(v~) + eps)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _init_state(self, p, group):
        state = {"square_avg": np.zeros_like(p.data)}
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(p.data)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(p.data)
        return state

    def _update(self, p, group, state):
        alpha = group["alpha"]
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if group["centered"]:
            g_avg = state["grad_avg"]
            g_avg *= alpha
            g_avg += (1 - alpha) * g
            denom = v - g_avg * g_avg           # a running variance of g instead of its mean square
            np.maximum(denom, 0, out=denom)     # rounding can push a zero variance below 0 (sqrt -> nan)
            np.sqrt(denom, out=denom)
        else:
            denom = np.sqrt(v)
        denom += group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / denom
            p.data -= group["lr"] * buf
        else:
            p.data -= group["lr"] * g / denom


class Adam(Optimizer):
    """Adam (torch.optim.Adam); weight decay is L2, added to the gradient.

        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g,       m^ = m / (1 - beta1**t)
        v = beta2 * v + (1 - beta2) * g**2,    v^ = v / (1 - beta2**t)
        p = p - lr * m^ / (sqrt(v^) + eps)
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _init_state(self, p, group):
        return {"exp_avg": np.zeros_like(p.data), "exp_avg_sq": np.zeros_like(p.data)}

    def _update(self, p, group, state):
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data      # L2: the decay is rescaled like the gradient
        self._adam_step(p, g, group, state)

    def _adam_step(self, p, g, group, state):
        beta1, beta2 = group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        # m and v start at 0, so early averages are too small; 1 - beta**t undoes exactly that bias
        t = state["step"]
        bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
        denom = v / bias2
        np.sqrt(denom, out=denom)
        denom += group["eps"]                           # sqrt(v^) + eps
        p.data -= (group["lr"] / bias1) * m / denom     # lr * m^ / (sqrt(v^) + eps)


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay.

        p = p * (1 - lr * weight_decay)        the weights shrink directly ...
        then the Adam step on the raw gradient ... so the decay is not rescaled by sqrt(v^).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _update(self, p, group, state):
        if group["weight_decay"]:
            p.data *= 1 - group["lr"] * group["weight_decay"]
        self._adam_step(p, p.grad, group, state)


def _trainable(p, who):
    if isinstance(p, dict):
        raise ValueError(f"{who} takes a list of Parameters, not parameter groups: "
                         f"pass model.parameters().")
    return p.trainable


def clip_grad_norm(params, max_norm):
    """Rescale all gradients together so their total L2 norm is at most ``max_norm``.

    The gradients are treated as one long vector, as torch.nn.utils.clip_grad_norm_
    does: its direction is kept, only its length shrinks (by max_norm / (norm + 1e-6)).
    Frozen parameters (``trainable=False``) are left out, as PyTorch leaves out parameters
    without a gradient. Returns the total norm BEFORE clipping, as a Python float.
    """
    params = [p for p in _as_parameter_list(params, "clip_grad_norm") if _trainable(p, "clip_grad_norm")]
    if not isinstance(max_norm, numbers.Real) or not max_norm > 0:
        raise ValueError(f"clip_grad_norm: max_norm must be a number > 0, got {max_norm!r}.")
    # per-parameter norms combined in Python floats: no float32 overflow for huge gradients
    total = math.hypot(*(float(np.linalg.norm(p.grad)) for p in params))
    scale = float(max_norm) / (total + 1e-6)            # 1e-6 keeps a zero norm from dividing by 0
    if scale < 1:
        for p in params:
            p.grad *= scale
    return total


def clip_grad_value(params, clip_value):
    """Clip every gradient entry of the trainable parameters in place to [-clip_value, clip_value]."""
    params = [p for p in _as_parameter_list(params, "clip_grad_value") if _trainable(p, "clip_grad_value")]
    if not isinstance(clip_value, numbers.Real) or not clip_value > 0:
        raise ValueError(f"clip_grad_value: clip_value must be a number > 0, got {clip_value!r}.")
    clip_value = float(clip_value)
    for p in params:
        np.clip(p.grad, -clip_value, clip_value, out=p.grad)


class LRScheduler:
    """Base class: sets each group's ``lr`` to ``lr_at(base_lr, epoch)``.

    Call ``step()`` once per epoch, after ``optimizer.step()``. Each group keeps
    its own base lr (recorded as ``group["initial_lr"]``), so a group with a
    smaller lr keeps it smaller throughout.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            name = type(self).__name__
            if isinstance(optimizer, type):
                raise ValueError(f"{name} got the class {optimizer.__name__}: create the optimizer first, "
                                 f"opt = {optimizer.__name__}(model.parameters(), lr=...), then {name}(opt, ...).")
            raise ValueError(f"{name} needs an optimizer such as SGD(model.parameters(), lr=0.1), "
                             f"got {describe_object(optimizer)}.")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])  # a second schedule starts from the same base
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, base_lr, epoch):
        raise NotImplementedError     # a subclass's schedule

    def step(self):
        """Advance one epoch and set the new learning rates."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self):
        """The learning rate of each parameter group, as set by the last step."""
        return list(self._last_lr)

    def _apply(self):
        self._last_lr = [float(self.lr_at(base, self.last_epoch)) for base in self.base_lrs]
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): multiply by gamma every step_size epochs."""

    def __init__(self, optimizer, step_size, gamma=0.1):
        if not isinstance(step_size, numbers.Integral) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a whole number of epochs >= 1, got {step_size!r}.")
        if not isinstance(gamma, numbers.Real) or not gamma > 0:
            raise ValueError(f"StepLR: gamma must be a number > 0, got {gamma!r}.")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.

    Falls from base_lr at epoch 0 to eta_min at epoch T_max (and rises again after).
    """

    def __init__(self, optimizer, T_max, eta_min=0):
        if not isinstance(T_max, numbers.Real) or not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a number of epochs > 0, got {T_max!r}.")
        if not isinstance(eta_min, numbers.Real) or not eta_min >= 0:
            raise ValueError(f"CosineAnnealingLR: eta_min must be a number >= 0, got {eta_min!r}.")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2
