"""Jacobians and the two modes of the chain rule: numerical Jacobians are right, both modes give
Value's gradients, and the chain-rule steps they count are what the graph implies."""
import math

import numpy as np
import pytest

from bpcourse.jacobians import (forward_mode, graph_size, local_derivatives, numerical_jacobian,
                                reverse_mode)
from bpcourse.scalar import Value


def test_numerical_jacobian_of_a_linear_map_is_its_matrix():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 5))
    J = numerical_jacobian(lambda x: A @ x, rng.normal(size=5))
    assert J.shape == (3, 5) and np.allclose(J, A, atol=1e-8)


def test_numerical_jacobian_of_an_elementwise_map_is_diagonal():
    x = np.array([0.3, -1.2, 2.0])
    J = numerical_jacobian(np.tanh, x)
    assert np.allclose(J, np.diag(1 - np.tanh(x) ** 2), atol=1e-9)


def test_local_derivatives_come_from_each_nodes_backward_and_leave_grads_alone():
    a, b = Value(3.0), Value(-2.0)
    a.grad, b.grad = 5.0, 7.0                 # gradients already there stay as they were
    square, product = a * a, a * b
    out = square + product.tanh()
    local = local_derivatives(out)
    assert local[square] == [(a, 6.0)]                         # x*x: one input, derivative 2x
    assert local[product] == [(a, -2.0), (b, 3.0)]
    (t, d), = local[out._prev[1]]
    assert t is product and d == pytest.approx(1 - math.tanh(-6.0) ** 2)
    assert (a.grad, b.grad) == (5.0, 7.0)


def test_graph_size_counts_operations_and_edges():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    size = graph_size(a * b + c)
    assert (size.operations, size.edges) == (2, 4)
    assert graph_size((a * a).tanh()).edges == 2                # a*a has one input, used twice


def expression(xs):
    """A function of many inputs and one output, with shared nodes and every kind of operation."""
    total = xs[0] * xs[-1]
    for i, x in enumerate(xs):
        total = total + (x * xs[(i + 1) % len(xs)] - 0.5).tanh() / (1.0 + x * x) + (0.1 * x).exp()
    return (total ** 2).log()


@pytest.mark.parametrize("n", [1, 3, 8])
def test_both_modes_give_values_gradient_and_count_their_steps(n):
    rng = np.random.default_rng(n)
    xs = [Value(v) for v in rng.normal(size=n)]
    out = expression(xs)
    forward, forward_steps = forward_mode(out, xs)
    reverse, reverse_steps = reverse_mode(out, xs)
    out.backward()
    assert np.allclose(forward, [x.grad for x in xs], rtol=1e-12, atol=1e-14)
    assert np.allclose(reverse, [x.grad for x in xs], rtol=1e-12, atol=1e-14)
    numeric = [(expression_float(x0, i, +1e-6) - expression_float(x0, i, -1e-6)) / 2e-6
               for x0 in [[x.data for x in xs]] for i in range(n)]
    assert np.allclose(reverse, numeric, rtol=1e-6, atol=1e-8)
    edges = graph_size(out).edges
    assert reverse_steps == edges and forward_steps == n * edges


def expression_float(x0, i, h):
    xs = [Value(v + (h if j == i else 0.0)) for j, v in enumerate(x0)]
    return expression(xs).data


def test_an_input_the_output_does_not_use_gets_zero():
    a, b = Value(2.0), Value(5.0)
    out = a * a
    assert forward_mode(out, [a, b])[0] == [4.0, 0.0]
    assert reverse_mode(out, [a, b])[0] == [4.0, 0.0]
