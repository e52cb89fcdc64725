"""Lesson 01's checks: the reference solutions pass, each typical mistake fails with its own hint,
a stub is "not attempted", and odd returns (None, exceptions, wrong types) get a kind verdict."""
import copy
import math

import numpy as np
import pytest

from bpcourse.exercises import (check_chain_rule, check_expression_grad, check_normalize_vjp,
                                check_train_mlp, check_value_mlp, check_value_sin)
from bpcourse.exercises.core import hidden_cases
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
    (lambda x: 2 * x * math.cos(x), "at the inner value x², not at x"),
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
    (lambda a, b, c: grads(a, b, c)[:2] + (a,), "its local derivative"),
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


# ---- ex01_normalize_vjp: y = x / ‖x‖ ---------------------------------------------------------

def normalize_vjp(x, g):
    r = np.sqrt(x @ x)
    y = x / r
    return (g - y * (y @ g)) / r


def unit(x):
    return x / np.linalg.norm(x)


def test_normalize_vjp_reference_passes():
    verdict = check_normalize_vjp(normalize_vjp)
    assert verdict and "gradient along y" in verdict.message


def test_normalize_vjp_through_the_built_jacobian_is_also_right():
    def with_jacobian(x, g):
        y, r = unit(x), np.linalg.norm(x)
        return g @ ((np.eye(x.size) - np.outer(y, y)) / r)
    assert check_normalize_vjp(with_jacobian)


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, g: g / np.linalg.norm(x), "only the direct path"),
    (lambda x, g: g - unit(x) * (unit(x) @ g), "divide by the norm"),
    (lambda x, g: g - unit(x) * (unit(x) @ g) / np.linalg.norm(x), "the direct one too"),
    (lambda x, g: normalize_vjp(x, g) / np.linalg.norm(x), "divide by the norm twice"),
    (lambda x, g: (g - x * (x @ g)) / np.linalg.norm(x), "unit vector y"),
    (lambda x, g: (g + unit(x) * (unit(x) @ g)) / np.linalg.norm(x), "is subtracted"),
    (lambda x, g: (np.eye(x.size) - np.outer(unit(x), unit(x))) / np.linalg.norm(x), "the VJP is a vector"),
    (lambda x, g: -normalize_vjp(x, g), "sign is flipped"),
], ids=["direct-only", "no-1/r", "direct-not-divided", "1/r²", "x-not-y", "plus", "jacobian", "sign"])
def test_normalize_vjp_typical_mistakes_get_their_hint(wrong, hint):
    verdict = check_normalize_vjp(wrong)
    assert verdict.status == "wrong"
    assert hint in verdict.hint, verdict


def test_normalize_vjp_a_gradient_along_y_must_give_zero():
    def wrong_along_y(x, g):               # right in general, wrong when g is parallel to y
        return g / np.linalg.norm(x) if abs(abs(unit(x) @ unit(g)) - 1) < 1e-12 else normalize_vjp(x, g)
    verdict = check_normalize_vjp(wrong_along_y)
    assert verdict.status == "wrong" and "expected 0" in verdict.message and "scaling x" in verdict.hint


def test_normalize_vjp_not_attempted_and_odd_returns():
    assert check_normalize_vjp(stub).status == "not attempted"
    assert "return" in check_normalize_vjp(lambda x, g: None).hint
    assert check_normalize_vjp(lambda x, g: float(unit(x) @ g)).status == "wrong"


# ---- ex01_value_mlp and ex01_train_mlp -------------------------------------------------------

def make_classes(bias=True, last_tanh=False, tanh=True, bias_first=False, repeat_neuron=False,
                 copy_neuron=False, draw=lambda rng, n: rng.uniform(-1, 1, n), use_data=False, params_as_data=False):
    """The reference Neuron, Layer and MLP, or one of them with a typical mistake."""
    class Neuron:
        def __init__(self, n_in, rng, linear=False):
            self.w = [Value(float(v)) for v in draw(rng, n_in)]
            self.b = Value(0.0)
            self.linear = linear

        def __call__(self, x):
            if use_data:
                return Value(sum(w.data * xi for w, xi in zip(self.w, x)) + self.b.data).tanh()
            z = sum((w * xi for w, xi in zip(self.w, x)), self.b if bias else 0.0)
            return z if self.linear or not tanh else z.tanh()

        def parameters(self):
            params = ([self.b] + self.w if bias_first else self.w + [self.b]) if bias else list(self.w)
            return [p.data for p in params] if params_as_data else params

    class Layer:
        def __init__(self, n_in, n_out, rng, linear=False):
            first = Neuron(n_in, rng, linear)
            self.neurons = ([first] * n_out if repeat_neuron else
                            [first] + [copy.deepcopy(first) for _ in range(n_out - 1)] if copy_neuron else
                            [first] + [Neuron(n_in, rng, linear) for _ in range(n_out - 1)])

        def __call__(self, x):
            return [n(x) for n in self.neurons]

        def parameters(self):
            return [p for n in self.neurons for p in n.parameters()]

    class MLP:
        def __init__(self, sizes, rng):
            pairs = list(zip(sizes, sizes[1:]))
            self.layers = [Layer(a, b, rng, linear=(i == len(pairs) - 1 and not last_tanh))
                           for i, (a, b) in enumerate(pairs)]

        def __call__(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

        def parameters(self):
            return [p for layer in self.layers for p in layer.parameters()]

    return Neuron, Layer, MLP


def test_value_mlp_reference_passes():
    verdict = check_value_mlp(*make_classes())
    assert verdict and "MLP([1, 4, 4, 2])" in verdict.message and "centred differences" in verdict.message


def test_value_mlp_passes_on_hidden_cases_too():
    with hidden_cases(20261127):
        assert check_value_mlp(*make_classes())


@pytest.mark.parametrize("kwargs, hint", [
    (dict(bias=False), "every neuron has a bias"),
    (dict(last_tanh=True), "last layer is linear"),
    (dict(tanh=False), "a neuron applies tanh"),
    (dict(bias_first=True), "weights first, then its bias"),
    (dict(repeat_neuron=True), "create a new Neuron for each"),
    (dict(draw=lambda rng, n: np.random.default_rng().uniform(-1, 1, n)), "the rng you are given"),
    (dict(draw=lambda rng, n: np.random.default_rng(0).uniform(-1, 1, n)), "at random from the rng argument"),
    (dict(use_data=True), "never with their .data"),
    (dict(params_as_data=True), "the Value objects themselves"),
], ids=["no-bias", "tanh-on-output", "no-tanh", "bias-first", "one-neuron-repeated", "global-rng",
        "fixed-rng", "uses-data", "params-as-numbers"])
def test_value_mlp_typical_mistakes_get_their_hint(kwargs, hint):
    verdict = check_value_mlp(*make_classes(**kwargs))
    assert verdict.status == "wrong"
    assert hint in verdict.hint, verdict


def test_value_mlp_identical_neurons_are_diagnosed():
    verdict = check_value_mlp(*make_classes(copy_neuron=True))      # one neuron, deep-copied n_out times
    assert verdict.status == "wrong" and "same weights" in verdict.message and "stay identical" in verdict.hint


def test_value_mlp_not_attempted():
    class Stub:
        def __init__(self, *args):
            raise NotImplementedError()
    assert check_value_mlp(Stub, Stub, Stub).status == "not attempted"


def train(model, xs, ys, steps, lr):
    losses = []
    for _ in range(steps):
        loss = sum((model(x)[0] - y) ** 2 for x, y in zip(xs, ys)) / len(xs)
        for p in model.parameters():
            p.grad = 0.0
        loss.backward()
        for p in model.parameters():
            p.data -= lr * p.grad
        losses.append(loss.data)
    return losses


def make_train(zero=True, sign=-1.0, mean=True, record_after=False, in_place=True, returns="list"):
    def train(model, xs, ys, steps, lr):
        def loss_now():
            total = sum((model(x)[0] - y) ** 2 for x, y in zip(xs, ys))
            return total / len(xs) if mean else total
        losses = []
        for _ in range(steps):
            loss = loss_now()
            if zero:
                for p in model.parameters():
                    p.grad = 0.0
            loss.backward()
            for p in model.parameters():
                if in_place:
                    p.data += sign * lr * p.grad
                else:
                    p = p - lr * p.grad
            losses.append(loss_now().data if record_after else loss.data)
        return {"list": losses, "last": losses[-1] if losses else None, "values": None}[returns]
    return train


def test_train_reference_passes_and_reports_the_fall():
    verdict = check_train_mlp(train, make_classes()[2])
    assert verdict and "replayed in numpy" in verdict.message and "loss fell from" in verdict.message
    assert "quadratic model" in verdict.message


def test_train_passes_on_hidden_cases():
    for secret in (1, 2, 3, 4, 5, 6, 7, 8, 20261127):
        with hidden_cases(secret):
            assert check_train_mlp(train, make_classes()[2]), secret


@pytest.mark.parametrize("wrong, hint", [
    (make_train(zero=False), "reset every parameter's grad to 0 before each backward()"),
    (make_train(sign=+1.0), "the parameters climb"),
    (make_train(mean=False), "the sum over the samples"),
    (make_train(record_after=True), "recorded before any update"),
    (make_train(in_place=False), "still has its initial value"),
    (make_train(returns="last"), "append each step's loss"),
    (make_train(returns="values"), "return the list of losses"),
], ids=["no-zero-grad", "ascent", "sum", "record-after", "rebinding", "last-only", "none"])
def test_train_typical_mistakes_get_their_hint(wrong, hint):
    verdict = check_train_mlp(wrong, make_classes()[2])
    assert verdict.status == "wrong"
    assert hint in (verdict.hint or "") or hint in verdict.message, verdict


def test_train_needs_a_right_mlp_first():
    verdict = check_train_mlp(train, make_classes(last_tanh=True)[2])
    assert verdict.status == "wrong" and "exercise 5" in verdict.message and "check_value_mlp" in verdict.hint


def test_train_right_but_mlp_not_written_is_wrong_not_unattempted():
    class Stub:
        def __init__(self, *args):
            raise NotImplementedError()
    verdict = check_train_mlp(train, Stub)
    assert verdict.status == "wrong" and "right on a quadratic model" in verdict.message
    assert "not written yet" in verdict.message


def test_train_is_checked_on_the_checks_own_model_before_the_mlp():
    verdict = check_train_mlp(make_train(zero=False), make_classes(last_tanh=True)[2])
    assert verdict.status == "wrong" and "quadratic" in verdict.message and "reset" in verdict.hint


def test_train_not_attempted():
    class Stub:
        def __init__(self, *args):
            raise NotImplementedError()
    assert check_train_mlp(stub, make_classes()[2]).status == "not attempted"
    assert check_train_mlp(stub, Stub).status == "not attempted"
