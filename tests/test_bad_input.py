"""Random wrong shapes, dtypes and values thrown at every public layer, loss and optimizer.

Each call must either compute the right thing (gradients checked numerically) or refuse with
a ValueError or TypeError whose message names the object — never a raw error from inside numpy.
The classes come from the package's public API (tests/layer_zoo.py), so a layer, loss or
optimizer added later is tested here without being listed.
"""
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import bpcourse as bp
from layer_zoo import WIDTH, layer_examples, loss_examples, optimizer_classes

LAYERS = layer_examples()
LOSSES = loss_examples()
DTYPES = ["float64", "float32", "float16", "int64", "int8", "bool", "complex128", "object", "<U3"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def names(err, objects):
    """Does the error message name one of the objects (by class name)?"""
    return any(type(o).__name__ in str(err) or o.__name__ in str(err) if isinstance(o, type)
               else type(o).__name__ in str(err) for o in objects)


@st.composite
def arrays(draw, good_shape):
    """An input near ``good_shape`` (the same, one axis changed, one added or dropped) or any shape,
    of any dtype, with ordinary, huge, NaN, inf or zero values, as an array, a list or a ragged list."""
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape = list(good_shape)
    how = draw(st.sampled_from(["same", "axis", "extra", "fewer", "any"]))
    if how == "axis" and shape:
        shape[draw(st.integers(0, len(shape) - 1))] = draw(st.integers(0, 6))
    elif how == "extra":
        shape.insert(draw(st.integers(0, len(shape))), draw(st.integers(1, 3)))
    elif how == "fewer" and shape:
        shape.pop(draw(st.integers(0, len(shape) - 1)))
    elif how == "any":
        shape = draw(st.lists(st.integers(0, 5), max_size=4))
    values = draw(st.sampled_from(["normal", "normal", "huge", "nan", "inf", "zeros"]))
    x = np.asarray(rng.standard_normal(shape) * (1e200 if values == "huge" else 1.0))
    if values == "zeros":
        x[...] = 0.0
    elif values in ("nan", "inf") and x.size:
        x.flat[rng.integers(x.size)] = np.nan if values == "nan" else -np.inf
    dtype = draw(st.sampled_from(DTYPES))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # NaN cast to int: a garbage value, still bad input
        x = x.astype(dtype) if dtype != "<U3" else x.astype(str).astype("<U3")
    form = draw(st.sampled_from(["array", "array", "list", "ragged"]))
    if form == "list":
        return x.tolist()
    if form == "ragged" and x.ndim == 2 and x.shape[0] > 1 and x.shape[1] > 1:
        rows = x.tolist()
        return [rows[0][:-1]] + rows[1:]
    return x


def checkable(x):
    """A finite, moderate input of a float64/float32/int/bool dtype: its gradients must be right."""
    a = np.asarray(x) if not isinstance(x, list) or _rectangular(x) else None
    return (a is not None and a.dtype.kind in "biuf" and a.dtype != np.float16 and a.size
            and np.all(np.isfinite(a)) and np.abs(a.astype(float)).max(initial=0) < 1e3)


def _rectangular(x):
    try:
        np.asarray(x, dtype=float)
        return True
    except (ValueError, TypeError):
        return False


@pytest.mark.parametrize("layer,shape", LAYERS, ids=[type(l).__name__ for l, _ in LAYERS])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_every_layer_computes_right_or_refuses_by_name(layer, shape, mode):
    layer.train(mode == "train")
    named = list(layer.walk())

    @SETTINGS
    @given(x=arrays(shape), dout_seed=st.integers(0, 2**16))
    def check(x, dout_seed):
        with np.errstate(all="ignore"):                  # huge values overflow, as IEEE says
            try:
                y = layer.forward(x)
            except (ValueError, TypeError) as err:
                assert names(err, named), f"{type(err).__name__} does not name {layer!r}: {err}"
                return
        assert isinstance(y, (np.ndarray, np.floating)) and y.dtype.kind == "f", y
        if checkable(x):
            report = bp.check_layer(layer, x)
            assert report, report
        # backward with a dout of another shape or dtype: right, or refused by name
        dout = np.random.default_rng(dout_seed).standard_normal(y.shape)
        for bad in (dout, dout.astype(np.float32), dout[..., :-1] if y.ndim and y.shape[-1] > 1 else dout[None],
                    dout.astype(int), dout.tolist()):
            try:
                with np.errstate(all="ignore"):
                    dx = layer.backward(bad)
            except (ValueError, TypeError) as err:
                assert names(err, named), f"{type(err).__name__} does not name {layer!r}: {err}"
                continue
            assert np.shape(dx) == np.shape(np.asarray(x)) or isinstance(x, list), (np.shape(dx), np.shape(x))

    check()


@st.composite
def loss_arguments(draw, prediction, target):
    """(prediction, target): each the good one or a bad variant."""
    p = draw(st.one_of(st.just(prediction), arrays(prediction.shape)))
    t = draw(st.one_of(st.just(target), arrays(target.shape), st.just(target + 7),
                       st.just(target.astype(float) + 0.5), st.just(target[:-1])))
    return p, t


@pytest.mark.parametrize("loss,prediction,target", LOSSES, ids=[type(l).__name__ for l, _, _ in LOSSES])
def test_every_loss_computes_right_or_refuses_by_name(loss, prediction, target):
    @SETTINGS
    @given(args=loss_arguments(prediction, target))
    def check(args):
        p, t = args
        with np.errstate(all="ignore"):
            try:
                value = loss.forward(p, t)
            except (ValueError, TypeError) as err:
                assert names(err, [loss]), f"{type(err).__name__} does not name {loss!r}: {err}"
                return
        assert isinstance(value, float)
        grad = loss.backward()
        assert grad.shape == np.shape(np.asarray(p))
        if checkable(p) and checkable(t):
            x = np.asarray(p, dtype=np.float64)
            numeric = bp.numerical_gradient(lambda v: loss.forward(v, t), x.copy())
            loss.forward(x, t)
            np.testing.assert_allclose(loss.backward(), numeric, rtol=1e-5, atol=1e-9)

    check()


def hyperparameter_values():
    return st.sampled_from([-1.0, 0.0, 1e-3, 0.5, 0.999, 1.0, 10.0, np.nan, np.inf, "0.1", None, True,
                            np.float32(0.01), np.int64(1), (0.9, 0.999), (0.9,), [0.5, 0.5], 0.9])


def params_argument(kind, model):
    """The ``kind``-th way of passing (or mispassing) a model's parameters to an optimizer."""
    good = model.parameters()
    return [
        good, tuple(good), model, model.parameters, [p.data for p in good], [], None, 3, "weights",
        [good[0], good[0]], [{"params": good}], [{"params": good, "lr": -1}], [{"params": good, "momentum_x": 1}],
        [{"lr": 0.1}], [{"params": []}], {"params": good}, good[0], [good[0], {"params": good[1:]}],
        (p for p in good),
    ][kind]


@pytest.mark.parametrize("cls", optimizer_classes(), ids=lambda c: c.__name__)
def test_every_optimizer_steps_right_or_refuses_by_name(cls):
    names_ = [n for n in inspect.signature(cls).parameters if n != "params"]

    @SETTINGS
    @given(kind=st.integers(0, 18), settings_=st.dictionaries(st.sampled_from(names_), hyperparameter_values(),
                                                              max_size=3))
    def check(kind, settings_):
        model = bp.Sequential(bp.Linear(WIDTH, 2, rng=np.random.default_rng(0), dtype=np.float32))
        try:
            opt = cls(params_argument(kind, model), **settings_)
        except (ValueError, TypeError) as err:
            assert cls.__name__ in str(err), f"{type(err).__name__} does not name {cls.__name__}: {err}"
            return
        before = [p.data.copy() for p in model.parameters()]
        for p in model.parameters():
            p.grad[...] = 1.0
        with np.errstate(over="ignore"):
            opt.step()
        opt.zero_grad()
        group_of = {id(p): g for g in opt.param_groups for p in g["params"]}
        for p, b in zip(model.parameters(), before):
            assert p.data.dtype == np.float32 and p.data.shape == b.shape
            group = group_of.get(id(p))
            if group is None:
                assert np.array_equal(p.data, b) and p.grad.any()   # not given to the optimizer: untouched
                continue
            assert not p.grad.any()                                  # zero_grad zeroed it
            if group["lr"] > 0 and not group.get("weight_decay"):
                assert np.all(p.data < b), (p.data, b)               # the gradient is +1: every entry goes down

    check()
