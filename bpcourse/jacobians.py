"""Jacobians, and the chain rule's two orders: forward mode and reverse mode.

``numerical_jacobian`` builds a function's whole Jacobian by centred differences (a
test, never a method: it costs two evaluations per input). ``forward_mode`` and
``reverse_mode`` differentiate a ``Value`` graph with the same local derivatives (each
node's d node / d input), multiplied in two orders. Forward mode carries d node / d x_i
from one input to the output: one sweep per input. Reverse mode carries d output / d node
from the output back to every input: one sweep for all of them. Each sweep counts its
chain-rule steps, one multiply-add along one edge of the graph, so the costs compare exactly.

    J = numerical_jacobian(f, x)                  # (m, n), for tests and small examples

    loss = ...                                    # a Value computed from the Values in ``inputs``
    grad, steps = forward_mode(loss, inputs)      # len(inputs) sweeps
    grad, steps = reverse_mode(loss, inputs)      # one sweep
"""
from dataclasses import dataclass

import numpy as np

from .scalar import topological_order

__all__ = ["numerical_jacobian", "GraphSize", "graph_size", "local_derivatives",
           "forward_mode", "reverse_mode"]


def numerical_jacobian(f, x, h=1e-6):
    """J[i, j] = d f(x)_i / d x_j by centred differences.

    f: array (n,) -> array (m,); x: (n,). Returns J: (m, n), one column per input,
    from 2n evaluations of f.
    """
    x = np.array(x, dtype=float)
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((np.asarray(f(x + step), float) - np.asarray(f(x - step), float)) / (2 * h))
    return np.stack(columns, axis=-1)


@dataclass
class GraphSize:
    """operations: computed nodes (one forward operation each); edges: (node, input) pairs,
    one chain-rule step each in a sweep."""

    operations: int
    edges: int


def local_derivatives(root):
    """{node: [(input, d node / d input), ...]} for every computed node of root's graph.

    Read from each node's own ``_backward``: with 1 arriving from above, what it adds
    into an input's ``grad`` is that input's local derivative (summed if the input is
    used twice, as in x*x). Every ``grad`` is left as it was found.
    """
    local = {}
    for node in topological_order(root):
        if not node._prev:
            continue
        inputs = list(dict.fromkeys(node._prev))         # x*x: one input, derivative 2x
        saved = [(v, v.grad) for v in (node, *inputs)]
        for v in inputs:
            v.grad = 0.0
        node.grad = 1.0
        node._backward()
        local[node] = [(v, v.grad) for v in inputs]
        for v, grad in saved:
            v.grad = grad
    return local


def graph_size(root):
    """How many operations the forward pass ran and how many edges the graph has."""
    local = local_derivatives(root)
    return GraphSize(len(local), sum(len(inputs) for inputs in local.values()))


def forward_mode(root, inputs):
    """d root / d x for each x in ``inputs``, one forward sweep per input.

    A sweep seeds the tangent dx/dx = 1 (0 for every other leaf) and computes, inputs
    first, each node's tangent: the sum over its inputs of local derivative × tangent.
    Returns (gradient as a list, chain-rule steps taken in all sweeps).
    """
    local, order = local_derivatives(root), topological_order(root)
    gradient, steps = [], 0
    for x in inputs:
        tangent = {x: 1.0}
        for node in order:
            if node in local:
                tangent[node] = sum(d * tangent.get(v, 0.0) for v, d in local[node])
                steps += len(local[node])
        gradient.append(tangent.get(root, 0.0))
    return gradient, steps


def reverse_mode(root, inputs):
    """d root / d x for every x in ``inputs``, from one reverse sweep.

    The sweep seeds the adjoint d root / d root = 1 and, output first, adds into each
    node's inputs local derivative × the node's adjoint (what ``Value.backward`` does).
    Returns (gradient as a list, chain-rule steps taken).
    """
    local, order = local_derivatives(root), topological_order(root)
    adjoint, steps = {root: 1.0}, 0
    for node in reversed(order):
        for v, d in local.get(node, ()):
            adjoint[v] = adjoint.get(v, 0.0) + d * adjoint.get(node, 0.0)
            steps += 1
    return [adjoint.get(x, 0.0) for x in inputs], steps
