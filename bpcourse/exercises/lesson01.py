"""Checks for 01_chain_rule: a derivative by hand, a backward rule for ``Value``, an expression's gradient."""
__all__ = ["check_chain_rule", "check_value_sin", "check_expression_grad"]

import math

import numpy as np

from .core import Wrong, bound, call, exercise, expect_number
from ..gradcheck import numerical_gradient
from ..scalar import Value

LESSON = "01_chain_rule"


def _numeric(f, x):
    """df/dx at the float x by centred differences."""
    return float(numerical_gradient(lambda v: f(float(v[0])), np.array([float(x)]))[0])


# ---- 1. sin(x²) by the chain rule ----------------------------------------------------------

CHAIN_POINTS = [0.8, -1.3, 2.0, 0.0]   # not 0.5: there 2x = 1 would hide a missing factor


@exercise("ex01_chain_rule", LESSON, "the chain rule by hand: d/dx sin(x²)", hints=[
    "Name the inner function: u = x², f = sin(u). The chain rule says df/dx = df/du · du/dx.",
    "df/du = cos(u) — evaluated at u = x², not at x — and du/dx = 2x. Multiply the two.",
])
def check_chain_rule(dfdx):
    """dfdx(x): the derivative of f(x) = sin(x²) at a float x."""
    for x in CHAIN_POINTS:
        expected = _numeric(lambda v: math.sin(v * v), x)
        got = call(dfdx, x, what=f"dfdx({x})")
        expect_number(got, expected, f"dfdx({x})", case=f"x = {x}", tol=1e-6, diagnoses=[
            (lambda g, e: np.isclose(g, math.cos(x * x)),
             "that is only the outer derivative cos(x²): multiply by the inner derivative d(x²)/dx = 2x."),
            (lambda g, e: np.isclose(g, 2 * x * math.cos(x)),
             "evaluate the outer derivative at the inner value: cos(x²), not cos(x)."),
            (lambda g, e: np.isclose(g, math.cos(2 * x)) or np.isclose(g, 2 * x * math.cos(2 * x)),
             "cos(2x) puts the inner derivative inside the outer one; the chain rule multiplies: cos(x²) · 2x."),
            (lambda g, e: np.isclose(g, math.sin(x * x) * 2 * x),
             "the derivative of sin is cos, not sin."),
        ])
    return (f"dfdx agrees with centred differences of sin(x²) at x = "
            f"{', '.join(str(x) for x in CHAIN_POINTS)}.")


# ---- 2. a backward rule for a new operation ------------------------------------------------

def _value_out(value_sin, v, what):
    out = call(value_sin, v, what=what)
    if out is None:
        raise Wrong(f"{what} returned None.", "end the function with `return out`.")
    if not isinstance(out, Value):
        raise Wrong(f"{what} returned a {type(out).__name__}, expected a Value.",
                    "build the result as out = Value(math.sin(v.data), _children=(v,), _op='sin') "
                    "and return out, so that backward can reach v.")
    return out


def _grad_of(value_sin, build, x, what):
    """Build a graph with the student's op at Value(x), backprop, return (x's grad, output)."""
    v = Value(x, label="v")
    out = build(lambda u: _value_out(value_sin, u, what), v)
    out.backward()
    return v.grad


@exercise("ex01_value_sin", LESSON, "a backward rule for Value: sin", hints=[
    "An operation builds its output Value with its input as a child, and gives the output a "
    "_backward closure that sends gradient to the input: input.grad += local derivative × out.grad.",
    "d sin(v)/dv = cos(v). Inside _backward write `v.grad += math.cos(v.data) * out.grad`, then "
    "`out._backward = _backward`. Use += (v may be used elsewhere too) and multiply by out.grad "
    "(the gradient arriving from further up).",
])
def check_value_sin(value_sin):
    """value_sin(v: Value) -> Value holding sin(v.data), with a _backward that sends gradient to v."""
    # forward and the graph's structure
    v = Value(0.7, label="v")
    out = _value_out(value_sin, v, "value_sin(Value(0.7))")
    expect_number(out.data, math.sin(0.7), "value_sin(Value(0.7)).data", case="v = 0.7", diagnoses=[
        (lambda g, e: np.isclose(g, math.cos(0.7)), "the forward value is sin(v.data); cos belongs in _backward."),
    ])
    if not any(child is v for child in out._prev):
        raise Wrong("the output does not record its input, so backward() can never reach v.",
                    "create it with Value(math.sin(v.data), _children=(v,), _op='sin').")
    # the local derivative, alone (out.grad = 1)
    cases = [
        ("sin(v)", lambda op, v: op(v), lambda x: math.sin(x)),
        ("3·sin(v)", lambda op, v: op(v) * 3.0, lambda x: 3 * math.sin(x)),
        ("sin(v)·v (v used twice)", lambda op, v: op(v) * v, lambda x: math.sin(x) * x),
        ("sin(v) + sin(v)", lambda op, v: op(v) + op(v), lambda x: 2 * math.sin(x)),
        ("sin(sin(v))", lambda op, v: op(op(v)), lambda x: math.sin(math.sin(x))),
    ]
    worst = 0.0
    for x in (0.7, -2.1):
        for name, build, f in cases:
            got = _grad_of(value_sin, build, x, f"value_sin in {name}")
            expected = _numeric(f, x)
            case = f"L = {name} at v = {x}"
            worst = max(worst, expect_number(got, expected, "v.grad", case=case, diagnoses=[
                (lambda g, e: g == 0, "no gradient arrived at v: did you set out._backward = _backward "
                                      "(the function itself, without calling it)?"),
                (lambda g, e: np.isclose(g, math.sin(x) * (e / math.cos(x))),
                 "the local derivative of sin is cos(v.data), not sin."),
                (lambda g, e: name == "3·sin(v)" and np.isclose(g, math.cos(x)),
                 "multiply the local derivative by out.grad, the gradient arriving from above."),
                (lambda g, e: name.startswith("sin(v)·v") and np.isclose(g, x * math.cos(x)),
                 "v's gradient from the product was overwritten: use v.grad += …, not v.grad = …."),
                (lambda g, e: name == "sin(v) + sin(v)" and np.isclose(g, math.cos(x)),
                 "only one of the two uses of v counted: use v.grad += …, not v.grad = …."),
            ]))
    return (f"value_sin computes sin and its backward matches centred differences in "
            f"{2 * len(cases)} graphs, including v used twice and sin(sin(v)) (max rel. error {bound(worst)}).")


# ---- 3. the gradient of a small expression, by hand ----------------------------------------

EXPRESSION_POINTS = [(0.5, -1.0, 0.3), (1.2, 0.4, -0.8), (-0.7, 2.0, 0.5)]


def _expression(a, b, c):
    return a * (a * b + c).tanh()


@exercise("ex01_expression_grad", LESSON, "gradients of L = a·tanh(a·b + c) by hand", hints=[
    "Name the intermediate values: u = a·b + c, t = tanh(u), L = a·t. Then go backwards: "
    "dL/dt, dL/du = dL/dt · (1 − t²), and from u to a, b, c.",
    "a is used twice (in L = a·t and in u = a·b + c), so dL/da is the SUM of both paths: "
    "t + a·(1 − t²)·b. Likewise dL/db = a·(1 − t²)·a and dL/dc = a·(1 − t²).",
])
def check_expression_grad(grads):
    """grads(a, b, c) -> (dL/da, dL/db, dL/dc) for L = a·tanh(a·b + c), floats in, floats out."""
    for a, b, c in EXPRESSION_POINTS:
        va, vb, vc = Value(a), Value(b), Value(c)
        _expression(va, vb, vc).backward()
        got = call(grads, a, b, c, what=f"grads({a}, {b}, {c})")
        if got is None:
            raise Wrong(f"grads({a}, {b}, {c}) returned None.", "return the three numbers: return da, db, dc")
        if isinstance(got, Value) or not hasattr(got, "__len__") or len(got) != 3:
            raise Wrong(f"grads({a}, {b}, {c}) returned {got!r}, expected three numbers (dL/da, dL/db, dL/dc).",
                        "return a tuple: return da, db, dc")
        if any(isinstance(g, Value) for g in got):
            raise Wrong("grads returned Values; the exercise is to derive the formulas by hand.",
                        "compute with math.tanh on plain floats and return three floats.")
        t = math.tanh(a * b + c)
        case = f"a, b, c = {a}, {b}, {c}"
        expect_number(got[0], va.grad, "dL/da", case, diagnoses=[
            (lambda g, e: np.isclose(g, a * (1 - t * t) * b),
             "a is used twice: add the direct path from L = a·t, which contributes t = tanh(a·b + c)."),
            (lambda g, e: np.isclose(g, t),
             "a is used twice: add the path through u = a·b + c, which contributes a·(1 − t²)·b."),
            (lambda g, e: np.isclose(g, t + a * b),
             "you skipped tanh's local derivative on the path through u: multiply by 1 − tanh²(u)."),
        ])
        expect_number(got[1], vb.grad, "dL/db", case, diagnoses=[
            (lambda g, e: np.isclose(g, (1 - t * t) * a),
             "u = a·b + c gives du/db = a, and L = a·t gives dL/dt = a: both factors, so a²·(1 − t²)."),
            (lambda g, e: np.isclose(g, (1 - t * t) * b),
             "du/db is a (the other factor), not b."),
        ])
        expect_number(got[2], vc.grad, "dL/dc", case, diagnoses=[
            (lambda g, e: np.isclose(g, 1 - t * t),
             "do not forget the outer factor: L = a·t, so dL/dt = a."),
            (lambda g, e: np.isclose(g, a),
             "between t and u sits tanh: multiply by its local derivative 1 − t²."),
        ])
    return f"all three gradients agree with Value's backward at {len(EXPRESSION_POINTS)} points."
