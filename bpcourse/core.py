"""Parameter and Layer: the contract every layer keeps.

A layer's ``forward(x)`` caches what its ``backward(dout)`` needs;
``backward`` returns dL/dx and ADDS (``+=``) into each parameter's ``.grad``,
so shared weights, residual branches and gradient accumulation are correct.
A model's state is its parameters and its buffers (arrays that are not trained but
decide the output, such as BatchNorm's running statistics): ``state_dict()``.
"""
import inspect

import numpy as np


class Parameter:
    """A trainable array and the gradient accumulated for it.

    ``grad`` has the shape and dtype of ``data`` from the start (never None).
    A frozen parameter (``trainable=False``) is skipped by every optimizer.
    """

    def __init__(self, data, name="", trainable=True):
        data = as_array(data, f"Parameter {name}".strip())
        if data.dtype.kind not in "biuf":
            raise ValueError(f"Parameter {name} holds numbers, got dtype {data.dtype}.".replace("  ", " "))
        self.data = data if data.dtype.kind == "f" else data.astype(np.float64)   # an optimizer needs floats
        self.grad = np.zeros_like(self.data)
        self.name = name
        self.trainable = trainable

    @property
    def shape(self):
        return self.data.shape

    def zero_grad(self):
        self.grad.fill(0)

    def __repr__(self):
        frozen = "" if self.trainable else ", frozen"
        return f"Parameter({self.name or '?'}, shape={self.data.shape}, dtype={self.data.dtype}{frozen})"


class ParameterSlot:
    """A layer attribute that holds a Parameter (or None): ``layer.weight = W`` with a plain
    array would drop the Parameter (no gradient, never trained, silently), so it is refused.

    Only assignment goes through here; reading ``layer.weight`` stays a plain attribute lookup.
    """

    def __set_name__(self, owner, name):
        self.name = name

    def __set__(self, layer, value):
        if value is not None and not isinstance(value, Parameter):
            raise ValueError(f"{type(layer).__name__}.{self.name} is a Parameter: assign into its data "
                             f"({self.name}.data[...] = w), or assign a Parameter (bp.Parameter(w), or "
                             f"another layer's .{self.name} to share it).")
        layer.__dict__[self.name] = value


class Layer:
    """Base class: ``forward``, ``backward``, ``parameters``, ``train``/``eval``, ``state_dict``."""

    training = True
    buffer_names = ()            # array attributes that are state but not trained (BatchNorm1d's running statistics)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)


    def named_parameters(self, prefix=""):
        """(name, Parameter) pairs in a stable order: own weight before bias, then children's.

        Names are paths such as ``"0.weight"`` or ``"2.block.1.bias"``.
        """
        pairs = [(prefix + name, p) for name, p in vars(self).items() if isinstance(p, Parameter)]
        for child_name, child in self.named_children():
            pairs.extend(child.named_parameters(f"{prefix}{child_name}."))
        return pairs

    def parameters(self):
        """Every Parameter of this layer and its children, in the order of ``named_parameters``;
        a Parameter shared by two layers is listed once."""
        unique = {}
        for _, p in self.named_parameters():
            unique.setdefault(id(p), p)
        return list(unique.values())

    def named_buffers(self, prefix=""):
        """(name, array) pairs of the state that is not trained but decides the output
        (``BatchNorm1d``'s running_mean and running_var), named like parameters: ``"1.running_mean"``."""
        pairs = [(prefix + name, getattr(self, name)) for name in self.buffer_names]
        for child_name, child in self.named_children():
            pairs.extend(child.named_buffers(f"{prefix}{child_name}."))
        return pairs

    def state_dict(self):
        """Copies of everything that decides the output, by name: every parameter's data, then every
        buffer. What a checkpoint saves and early stopping restores."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.copy(b)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state):
        """Copy the arrays of ``state`` (a dict such as ``state_dict()`` returns) into this model, in place.

        Everything is checked before anything changes (names, shapes, numbers, finite values):
        a mismatch raises ValueError and leaves the model as it was.
        """
        check_state(state, self, "load_state_dict: the state")
        for name, target in [(name, p.data) for name, p in self.named_parameters()] + self.named_buffers():
            target[...] = state[name]
        return self

    def named_children(self):
        """(name, layer) pairs of the layers this layer contains (none for a plain layer)."""
        return []

    def children(self):
        return [child for _, child in self.named_children()]

    def walk(self):
        """This layer, then every layer inside it, depth first in forward order."""
        yield self
        for child in self.children():
            yield from child.walk()

    def train(self, mode=True):
        """Switch to training behaviour (Dropout drops, BatchNorm uses batch statistics)."""
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self):
        """Switch to evaluation behaviour; same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self):
        for p in self.parameters():
            p.zero_grad()

    def extra_repr(self):
        return ""

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"

    # -- helpers for clear errors -------------------------------------------------

    def _cached(self, name):
        """Return a value cached by forward, or explain that forward must run first."""
        value = getattr(self, name, None)
        if value is None:
            raise RuntimeError(
                f"{self!r}.backward() called before forward(): run a forward pass first."
            )
        return value

    def _check_dout(self, dout, expected_shape):
        if type(dout) is not np.ndarray or dout.dtype.kind != "f":
            dout = np.asarray(dout)
            if dout.dtype.kind in "iub":             # whole numbers: the layer's floats
                dout = dout.astype(getattr(self, "dtype", np.float64))
            elif dout.dtype.kind != "f":
                raise ValueError(f"{self!r}.backward() expected a float array dout, got dtype {dout.dtype}.")
        if dout.shape != tuple(expected_shape):
            raise ValueError(
                f"{self!r}.backward() expected dout of shape {tuple(expected_shape)} "
                f"(the shape of its forward output), got {dout.shape}."
            )
        return dout


def as_array(x, who):
    """``np.asarray(x)``, with a sentence instead of numpy's error for a ragged nested list."""
    try:
        return np.asarray(x)
    except (ValueError, TypeError):
        raise ValueError(f"{who} expected an array of numbers, got {describe_object(x)} that numpy cannot "
                         f"turn into one (rows of different lengths?).") from None


def check_array(layer, x, ndim=None, features=None, dtype=None):
    """Validate a layer's input: a finite-size floating array of the right shape and dtype.

    Raises ValueError naming the layer, the expected and the received shape or dtype.
    """
    if (type(x) is np.ndarray and x.dtype.kind == "f" and x.size and (dtype is None or x.dtype == dtype)
            and (ndim is None or x.ndim == ndim) and (features is None or x.ndim and x.shape[-1] == features)):
        return x                                     # the common case, kept cheap: it runs every step
    x = as_array(x, repr(layer))
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{layer!r} expected a numeric array, got dtype {x.dtype}.")
    if x.size == 0 or (x.ndim > 0 and x.shape[0] == 0):
        raise ValueError(f"{layer!r} got an empty batch of shape {x.shape}: need at least one sample.")
    if (ndim is not None and x.ndim != ndim) or (features is not None and (x.ndim == 0 or x.shape[-1] != features)):
        want = "(N, " + ("?" if features is None else str(features)) + ")" if ndim in (None, 2) else f"{ndim}-D"
        one = (f" For one sample, add the batch axis: x.reshape(1, {x.shape[0]})."
               if ndim == 2 and x.ndim == 1 and (features is None or x.shape[0] == features) else "")
        raise ValueError(f"{layer!r} expected input of shape {want}, got {x.shape}.{one}")
    if x.dtype.kind in "biu":
        x = x.astype(np.float64 if dtype is None else dtype)        # whole numbers become floats
    elif dtype is not None and x.dtype != dtype:
        raise ValueError(f"{layer!r} holds {np.dtype(dtype)} parameters but got {x.dtype} input: "
                         f"convert it with x.astype(np.{np.dtype(dtype)}).")
    return x


def check_state(state, model, source):
    """Refuse a ``state`` (name -> array) that does not fit ``model``'s parameters and buffers;
    ``source`` names where the state comes from ("the checkpoint w.npz")."""
    if not isinstance(state, dict):
        raise ValueError(f"{source} should be a dict of arrays by name, as model.state_dict() returns, "
                         f"got {describe_object(state)}.")
    targets = {name: p.data for name, p in model.named_parameters()}
    buffers = dict(model.named_buffers())
    targets.update(buffers)
    missing, unexpected = sorted(set(targets) - set(state)), sorted(set(state) - set(targets), key=str)
    if missing and not unexpected and set(missing) <= set(buffers):
        raise ValueError(f"{source} holds the parameters but not the buffers {missing} (BatchNorm's running "
                         f"statistics; bp.save wrote parameters only before they became part of the state): "
                         f"this model would keep its own statistics, and eval mode would compute another model "
                         f"than the one saved. Nothing was loaded: save the trained model again with bp.save.")
    if missing or unexpected:
        raise ValueError(f"{source} does not fit this model: missing {missing}, unexpected {unexpected}.")
    for name, target in targets.items():
        what = f"{'buffer' if name in buffers else 'parameter'} {name!r}"
        a = as_array(state[name], f"{source}: {what}")
        if a.shape != target.shape:
            raise ValueError(f"{source}: {what} has shape {a.shape}, the model expects {target.shape}.")
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{source}: {what} holds {a.dtype} data, not numbers: it is not a state of "
                             f"this model.")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{source}: {what} holds NaN or inf (saved from a diverged run?); "
                             f"nothing was loaded.")


def describe_object(obj):
    """What a student passed, in words: "the class ReLU", "a list of 3 items", "an int64 array of shape (3,)"."""
    if isinstance(obj, type):
        return f"the class {obj.__name__}"
    if inspect.ismethod(obj):
        return f"the method {type(obj.__self__).__name__}.{obj.__name__} (not called)"
    if isinstance(obj, np.ndarray):
        return f"a {obj.dtype} array of shape {obj.shape}"
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    if isinstance(obj, Layer):
        text = repr(obj)
        return text if "\n" not in text else f"the model {type(obj).__name__}(...)"
    return f"a {type(obj).__name__}" if not isinstance(obj, (int, float, str)) else repr(obj)


def require_instance(obj, cls, who, what):
    """Refuse a class given instead of an object, a method given without its call, or anything else
    that is not a ``cls``; ``what`` names the expected object with an example."""
    if isinstance(obj, cls):
        return obj
    if isinstance(obj, type) and issubclass(obj, cls):
        raise ValueError(f"{who} got the class {obj.__name__}, not an object: create one with "
                         f"{obj.__name__}(...) (expected {what}).")
    if inspect.ismethod(obj):
        raise ValueError(f"{who} got {describe_object(obj)}: add the parentheses, "
                         f"{obj.__name__}() (expected {what}).")
    raise ValueError(f"{who} expected {what}, got {describe_object(obj)}.")
