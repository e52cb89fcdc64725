"""Lesson 01's checks: the reference solutions pass, each typical mistake fails with its own hint,
a stub is "not attempted", and odd returns (None, exceptions, wrong types) get a kind verdict."""
import math

import pytest

from bpcourse.exercises import check_chain_rule, check_expression_grad, check_value_sin
from bpcourse.scalar import Value


# ---- ex01_chain_rule: d/dx sin(x²) -------------------------------------------------------

def dfdx(x):
    return math.cos(x * x) * 2 * x


def stub(*args):
    raise NotImplementedError


def test_chain_rule_reference_passes():
    verdict = check_chain_rule(dfdx)
    assert verdict and verdict.status == "right"
    assert "centred differences" in verdict.message


def test_chain_rule_accepts_numpy_code():
    import numpy as np
    assert check_chain_rule(lambda x: np.cos(x ** 2) * 2 * x)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x: math.cos(x * x), "multiply by the inner derivative"),
    (lambda x: 2 * x * math.cos(x), "cos(x²), not cos(x)"),
    (lambda x: math.cos(2 * x), "puts the inner derivative inside"),
    (lambda x: math.sin(x * x) * 2 * x, "derivative of sin is cos"),
    (lambda x: -math.cos(x * x) * 2 * x, "sign is flipped"),
], ids=["outer-only", "outer-at-x", "cos-2x", "sin-not-cos", "sign"])
def test_chain_rule_typical_mistakes_get_their_hint(wrong, hint):
    verdict = check_chain_rule(wrong)
    assert verdict.status == "wrong"
    assert hint in verdict.hint
    assert "expected" in verdict.message and "got" in verdict.message


def test_chain_rule_not_attempted_and_odd_returns():
    assert check_chain_rule(stub).status == "not attempted"
    none = check_chain_rule(lambda x: None)
    assert none.status == "wrong" and "None" in none.message and "return" in none.hint
    boom = check_chain_rule(lambda x: 1 / 0)
    assert boom.status == "wrong" and "ZeroDivisionError" in boom.message
    array = check_chain_rule(lambda x: [1.0, 2.0])
    assert array.status == "wrong" and "single number" in array.message
    text = check_chain_rule(lambda x: "cos(x^2)*2x")
    assert text.status == "wrong"
    assert check_chain_rule(dfdx(0.3)).status == "wrong"        # a number, not the function


# ---- ex01_value_sin: a backward rule for Value ---------------------------------------------

def make_sin(assign=False, upstream=True, local=math.cos, children=True, set_backward=True,
             forward=math.sin):
    def value_sin(v):
        out = Value(forward(v.data), _children=(v,) if children else (), _op="sin")

        def _backward():
            g = local(v.data) * (out.grad if upstream else 1.0)
            if assign:
                v.grad = g
            else:
                v.grad += g
        if set_backward:
            out._backward = _backward
        return out
    return value_sin


def test_value_sin_reference_passes():
    verdict = check_value_sin(make_sin())
    assert verdict, verdict
    assert "used twice" in verdict.message


@pytest.mark.parametrize("wrong, hint", [
    (make_sin(assign=True), "use v.grad += …"),
    (make_sin(upstream=False), "multiply the local derivative by out.grad"),
    (make_sin(local=math.sin), "local derivative of sin is cos"),
    (make_sin(local=lambda x: -math.cos(x)), "sign is flipped"),
    (make_sin(set_backward=False), "out._backward = _backward"),
    (make_sin(children=False), "_children=(v,)"),
    (make_sin(forward=math.cos), "the forward value is sin(v.data)"),
], ids=["assign", "no-upstream", "sin-not-cos", "sign", "no-backward", "no-children", "forward"])
def test_value_sin_typical_mistakes_get_their_hint(wrong, hint):
    verdict = check_value_sin(wrong)
    assert verdict.status == "wrong"
    assert hint in verdict.hint, verdict


def test_value_sin_not_attempted_and_odd_returns():
    assert check_value_sin(stub).status == "not attempted"
    none = check_value_sin(lambda v: None)
    assert none.status == "wrong" and "return out" in none.hint
    number = check_value_sin(lambda v: math.sin(v.data))
    assert number.status == "wrong" and "expected a Value" in number.message
    # math.sin(v) on a Value itself: a TypeError from the student's line, reported, not raised
    typeerr = check_value_sin(lambda v: Value(math.sin(v)))
    assert typeerr.status == "wrong" and "TypeError" in typeerr.message


# ---- ex01_expression_grad: L = a·tanh(a·b + c) ---------------------------------------------

def grads(a, b, c):
    t = math.tanh(a * b + c)
    return t + a * (1 - t * t) * b, a * a * (1 - t * t), a * (1 - t * t)


def with_da(f):
    return lambda a, b, c: (f(a, b, c),) + grads(a, b, c)[1:]


def test_expression_grad_reference_passes():
    assert check_expression_grad(grads)


@pytest.mark.parametrize("wrong, hint", [
    (with_da(lambda a, b, c: a * (1 - math.tanh(a * b + c) ** 2) * b), "add the direct path"),
    (with_da(lambda a, b, c: math.tanh(a * b + c)), "add the path through u"),
    (with_da(lambda a, b, c: math.tanh(a * b + c) + a * b), "tanh's local derivative"),
    (lambda a, b, c: (grads(a, b, c)[0], a * (1 - math.tanh(a * b + c) ** 2), grads(a, b, c)[2]),
     "both factors"),
    (lambda a, b, c: grads(a, b, c)[:2] + (1 - math.tanh(a * b + c) ** 2,), "outer factor"),
    (lambda a, b, c: grads(a, b, c)[:2] + (a,), "local derivative 1 − t²"),
], ids=["da-direct", "da-through-u", "da-no-tanh'", "db-one-factor", "dc-outer", "dc-tanh'"])
def test_expression_grad_typical_mistakes_get_their_hint(wrong, hint):
    verdict = check_expression_grad(wrong)
    assert verdict.status == "wrong"
    assert hint in verdict.hint, verdict


def test_expression_grad_not_attempted_and_odd_returns():
    assert check_expression_grad(stub).status == "not attempted"
    assert "return" in check_expression_grad(lambda a, b, c: None).hint
    two = check_expression_grad(lambda a, b, c: (1.0, 2.0))
    assert two.status == "wrong" and "three numbers" in two.message
    values = check_expression_grad(lambda a, b, c: (Value(a), Value(b), Value(c)))
    assert values.status == "wrong" and "by hand" in values.message
    assert check_expression_grad(lambda a, b, c: 1 / 0).status == "wrong"
