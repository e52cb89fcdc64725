"""Value: every operation's gradient against centred differences, deep graphs,
accumulation, topological order, errors and the graph drawing."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.patches import Ellipse, FancyBboxPatch  # noqa: E402

from bpcourse.scalar import Value, draw_graph, topological_order  # noqa: E402


def numerical_grad(f, xs, h=1e-6):
    """Centred differences of f at xs, using only the forward values (.data)."""
    def at(values):
        return f(*[Value(v) for v in values]).data

    grads = []
    for i in range(len(xs)):
        plus, minus = list(xs), list(xs)
        plus[i] += h
        minus[i] -= h
        grads.append((at(plus) - at(minus)) / (2 * h))
    return grads


def backprop_grad(f, xs):
    inputs = [Value(x) for x in xs]
    f(*inputs).backward()
    return [v.grad for v in inputs]


def rel_error(a, b):
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


# (name, f, point): together they use every operation, with numbers on both sides.
CASES = [
    ("add_mul_reuse", lambda a, b: a * b + a + 2.5, [1.3, -0.7]),
    ("rsub_div_rdiv", lambda a, b: 3 - a / b + 2 / b, [1.3, -0.7]),
    ("cube_by_reuse", lambda a: a * a * a - 2 * a + 1, [0.9]),
    ("neg", lambda a, b: -a + 1 - (-b) * a, [0.4, 2.0]),
    ("pow_negative_fractional", lambda a, b: a ** -2 + b ** 0.5 - a ** 3 / 4, [1.7, 2.3]),
    ("pow_integer_negative_base", lambda a: a ** 3 + 0.5 * a ** -1, [-1.4]),
    ("rpow", lambda a: 2 ** a + 0.5 ** (a * a), [0.8]),
    ("exp_log", lambda a, b: (a * b).exp() - (a + 3).log(), [0.3, -1.1]),
    ("log_of_reused_quotient", lambda a: (a / (a * a + 1)).log(), [2.0]),
    ("tanh_neuron", lambda x, w, b: (x * w + b).tanh(), [0.5, -1.2, 0.3]),
    ("sigmoid", lambda a: 5 * a.sigmoid(), [0.7]),
    ("sigmoid_negative_large", lambda a: a.sigmoid() * 3, [-30.0]),
    ("sigmoid_positive", lambda a: a.sigmoid(), [6.0]),
    ("sigmoid_matches_formula", lambda a: a.sigmoid() - 1 / (1 + (-a).exp()) + a, [0.9]),
    ("relu_both_sides", lambda a, b: (a - b).relu() * 2 + (b - a).relu() * a, [1.5, -0.5]),
    ("relu_negative_input", lambda a: a.relu() + a * 0.1, [-2.0]),
    ("relu_positive_input", lambda a: a.relu() * a, [3.0]),
    ("reused_many_times", lambda a, b: (a * b + a) * (a - b) / (a + 4) + a * a, [1.1, 0.6]),
    ("division_by_itself", lambda a, b: a / a + b / (a * b) + a * b, [1.5, 2.5]),
]


@pytest.mark.parametrize("name, f, xs", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_centred_differences(name, f, xs):
    analytic, numeric = backprop_grad(f, xs), numerical_grad(f, xs)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert rel_error(a, n) < 1e-6, f"{name}: d/dx{i} backprop {a!r} vs numerical {n!r}"


def test_forward_values_match_plain_arithmetic():
    a, b = 1.3, -0.7
    va, vb = Value(a), Value(b)
    pairs = [
        (va + vb, a + b), (va + 2, a + 2), (2 + va, 2 + a),
        (va - vb, a - b), (va - 2, a - 2), (2 - va, 2 - a),
        (va * vb, a * b), (va * 3, a * 3), (3 * va, 3 * a),
        (va / vb, a / b), (va / 4, a / 4), (4 / va, 4 / a),
        (va ** 3, a ** 3), (va ** -0.5, a ** -0.5), (2 ** va, 2 ** a), (-va, -a),
        (va.exp(), math.exp(a)), (va.log(), math.log(a)), (vb.tanh(), math.tanh(b)),
        (vb.sigmoid(), 1 / (1 + math.exp(-b))), (va.sigmoid(), 1 / (1 + math.exp(-a))),
        (va.relu(), a), (vb.relu(), 0.0),
    ]
    for i, (v, expected) in enumerate(pairs):
        assert v.data == pytest.approx(expected, rel=1e-12), f"pair {i}"


def test_known_gradients_by_hand():
    x1, w1, x2, w2 = Value(2.0), Value(-3.0), Value(0.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(math.sqrt(0.5))
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0))


def test_relu_is_zero_left_of_zero_and_identity_right():
    left, right = Value(-2.0), Value(3.0)
    left.relu().backward()
    right.relu().backward()
    assert (left.grad, right.grad) == (0.0, 1.0)
    assert (Value(-2.0).relu().data, Value(3.0).relu().data) == (0.0, 3.0)


@pytest.mark.parametrize("x, expected", [(-1000.0, 0.0), (1000.0, 1.0), (-745.0, 0.0)])
def test_sigmoid_is_stable_for_large_inputs(x, expected):
    v = Value(x)
    s = v.sigmoid()
    s.backward()
    assert s.data == pytest.approx(expected, abs=1e-300)
    assert math.isfinite(v.grad) and v.grad == pytest.approx(0.0, abs=1e-300)


# ---- property-based: random points --------------------------------------------
reals = st.floats(-3.0, 3.0, allow_nan=False)
positives = st.floats(0.2, 5.0)

PROPERTY_CASES = {
    "poly_tanh": lambda a, b: (a * b + a).tanh() * b - a * a,
    "sigmoid_exp": lambda a, b: (a - b).sigmoid() * (0.5 * b).exp() + 1 / (1 + a * a),
    "log_pow": lambda a, b: (a * a + b * b + 1).log() + (a * a + 2) ** -1.5,
    "rational": lambda a, b: (a + 2 * b) / (b * b + 1) - 3 / (a * a + 0.5),
}


def assert_close(analytic, numeric, name, xs):
    for a, n in zip(analytic, numeric):
        # gradients can be ~0 at random points, so an absolute floor next to the relative one
        assert abs(a - n) <= 1e-6 * max(abs(a), abs(n)) + 1e-7, f"{name} at {xs}: {a} vs {n}"


@pytest.mark.parametrize("name", PROPERTY_CASES)
@settings(max_examples=60, deadline=None)
@given(a=reals, b=reals)
def test_gradient_matches_at_random_points(name, a, b):
    f = PROPERTY_CASES[name]
    assert_close(backprop_grad(f, [a, b]), numerical_grad(f, [a, b]), name, [a, b])


@settings(max_examples=60, deadline=None)
@given(a=positives, k=st.floats(-2.5, 2.5))
def test_power_gradient_at_random_points(a, k):
    def f(x):
        return x ** k * x.log() + 2 ** x

    assert_close(backprop_grad(f, [a]), numerical_grad(f, [a]), "power", [a, k])


@settings(max_examples=60, deadline=None)
@given(a=reals.filter(lambda x: abs(x) > 1e-3), b=reals)
def test_relu_gradient_at_random_points(a, b):
    def f(x, y):
        return x.relu() * y + (-x).relu()

    assert_close(backprop_grad(f, [a, b]), numerical_grad(f, [a, b]), "relu", [a, b])


# ---- deep graphs: the topological sort must not recurse ------------------------
@pytest.mark.parametrize("depth", [20_000])
def test_deep_chain_backpropagates_without_recursion(depth):
    x = Value(1.0)
    y = x
    for _ in range(depth):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** depth, rel=1e-9)

    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y + 1
    y.backward()
    assert x.grad == 1.0 and y.data == depth + 0.5


# ---- accumulation -------------------------------------------------------------
def test_a_node_used_twice_gets_both_contributions():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Value(3.0)
    (b * b).backward()
    assert b.grad == 6.0


def test_backward_twice_accumulates_in_leaves_and_zero_grad_resets():
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    loss = c + b
    loss.backward()
    once = (a.grad, b.grad)
    assert once == (-3.0, 3.0)
    loss.backward()
    assert (a.grad, b.grad) == (2 * once[0], 2 * once[1])  # exactly twice, as in PyTorch
    assert c.grad == 1.0 and loss.grad == 1.0               # computed nodes: this pass only
    loss.zero_grad()
    assert all(v.grad == 0.0 for v in (a, b, c, loss))
    loss.backward()
    assert (a.grad, b.grad) == once


def test_topological_order_puts_inputs_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = (c + a).tanh() * c - b
    order = topological_order(d)
    assert order[-1] is d
    assert len(order) == len({id(v) for v in order})        # every node once
    index = {id(v): i for i, v in enumerate(order)}
    for v in order:
        for child in v._prev:
            assert index[id(child)] < index[id(v)]
    assert {id(v) for v in (a, b, c)} <= set(index)


# ---- errors and repr ----------------------------------------------------------
@pytest.mark.parametrize("x", [0.0, -2.0])
def test_log_of_non_positive_number_raises(x):
    with pytest.raises(ValueError, match="log is only defined for positive numbers"):
        Value(x).log()


def test_bad_operands_raise_clear_errors():
    with pytest.raises(ValueError, match="not a real number"):
        Value(-8.0) ** 0.5
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="not str"):
        Value(1.0) + "1"
    with pytest.raises(TypeError, match="one real number"):
        Value([1.0, 2.0])
    with pytest.raises(ValueError, match="positive number as base"):
        (-2) ** Value(1.0)


def test_repr_shows_four_decimals_and_label():
    v = Value(0.76159415, label="o")
    v.grad = 0.42
    assert repr(v) == "Value(data=0.7616, grad=0.4200, label='o')"
    assert repr(Value(1)) == "Value(data=1.0000, grad=0.0000)"


def test_a_student_can_add_an_operation():
    def my_exp(v):
        out = Value(math.exp(v.data), _children=(v,), _op="exp")

        def _backward():
            v.grad += out.data * out.grad

        out._backward = _backward
        return out

    x = Value(0.5)
    y = my_exp(x) * x
    y.backward()
    assert x.grad == pytest.approx(math.exp(0.5) * 1.5)


# ---- drawing ------------------------------------------------------------------
def neuron():
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_draw_graph_shows_every_node_with_data_and_grad(rankdir):
    o = neuron()
    values = topological_order(o)
    ax = draw_graph(o, rankdir=rankdir)
    try:
        texts = [t.get_text() for t in ax.texts]
        for v in values:
            assert f"data {v.data:.4f}\ngrad {v.grad:.4f}" in texts
        assert sum("grad" in t for t in texts) == len(values)
        assert {"x1", "w1", "x2", "w2", "b", "n", "o"} <= set(texts)
        boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
        ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
        assert len(boxes) == len(values) == 10
        assert len(ellipses) == sum(1 for v in values if v._op) == 5
        assert sorted(t.get_text() for t in ax.texts if t.get_text() in {"+", "*", "tanh"}) == [
            "*", "*", "+", "+", "tanh"]
        assert not ax.axison
    finally:
        plt.close(ax.figure)


def test_draw_graph_is_deterministic_and_boxes_do_not_overlap():
    layouts = []
    for _ in range(2):
        ax = draw_graph(neuron())
        layouts.append([(t.get_text(), t.get_position()) for t in ax.texts])
        boxes = [p.get_bbox() for p in ax.patches if isinstance(p, FancyBboxPatch)]
        plt.close(ax.figure)
    assert layouts[0] == layouts[1]
    for i, p in enumerate(boxes):
        for q in boxes[i + 1:]:
            overlap_x = min(p.x1, q.x1) - max(p.x0, q.x0)
            overlap_y = min(p.y1, q.y1) - max(p.y0, q.y0)
            assert overlap_x <= 0 or overlap_y <= 0


def test_draw_graph_into_given_axes():
    fig, ax = plt.subplots(figsize=(4, 3))
    try:
        assert draw_graph(neuron(), ax=ax) is ax
        assert draw_graph(Value(1.5, label="leaf"), ax=plt.subplots()[1]).texts
        with pytest.raises(ValueError, match="rankdir"):
            draw_graph(neuron(), rankdir="RL")
    finally:
        plt.close("all")


def test_power_zero_at_zero_has_a_zero_gradient():
    # before: (Value(0.)**0 + 2*v).backward() raised ZeroDivisionError from 0 * 0.0 ** -1
    x, v = Value(0.0), Value(3.0)
    out = x ** 0 + 2 * v
    out.backward()
    assert (out.data, x.grad, v.grad) == (7.0, 0.0, 2.0)
    y = Value(0.0)
    (y ** 1).backward()
    assert y.grad == 1.0
    z = Value(0.0)
    with pytest.raises(ValueError, match=r"derivative of x\*\*0.5 is infinite at x = 0"):
        (z ** 0.5).backward()
    with pytest.raises(ZeroDivisionError, match=r"0 \*\* -1 is a division by zero"):
        Value(0.0) ** -1


def test_extremes_refuse_with_the_operation_named():
    with pytest.raises(OverflowError, match=r"exp of 1000 overflows to inf"):
        Value(1000.0).exp()
    with pytest.raises(OverflowError, match=r"\* of 1e\+308, 10 overflows"):
        Value(1e308) * 10
    with pytest.raises(OverflowError, match=r"\*\*400 of 10 overflows"):
        Value(10.0) ** 400
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        Value(1.0) / 0
    with pytest.raises(ValueError, match="finite real number, got nan"):
        Value(float("nan"))
    assert Value(-1000.0).exp().data == 0.0 and Value(-1000.0).tanh().data == -1.0
    assert Value(-745.0).sigmoid().data > 0 and Value(800.0).sigmoid().data == 1.0
