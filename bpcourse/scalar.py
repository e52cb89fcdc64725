"""Scalar reverse-mode automatic differentiation: ``Value`` and its graph.

Every operation on ``Value``s records its inputs and a small ``_backward``
closure holding the local derivative (the chain rule's one link);
``backward()`` runs the closures from the output back to the inputs.
"""
import math
import numbers

__all__ = ["Value", "topological_order", "draw_graph"]


def _lift(x):
    """Wrap a plain number as a constant ``Value``; pass a ``Value`` through."""
    if isinstance(x, Value):
        return x
    if isinstance(x, numbers.Real):
        return Value(x)
    raise TypeError(f"a Value combines with int, float or Value, not {type(x).__name__}")


class Value:
    """One real number in a computational graph, and dL/d(this number) in ``grad``.

    ``Value(data, label="", _children=(), _op="")``: ``data`` is the number,
    ``label`` a name for drawings, ``_children`` the inputs it was computed
    from and ``_op`` the operation's name.  A new operation is a function that
    builds its output and tells it how to send gradient back to its inputs::

        def my_exp(v):
            out = Value(math.exp(v.data), _children=(v,), _op="exp")
            def _backward():
                v.grad += out.data * out.grad   # d exp(v)/dv = exp(v); += as v may be reused
            out._backward = _backward
            return out
    """

    def __init__(self, data, label="", _children=(), _op=""):
        if not isinstance(data, numbers.Real):
            cure = ": pass float(x)" if hasattr(data, "__float__") else ""
            raise TypeError(f"Value holds one real number, got {type(data).__name__}{cure}")
        if not math.isfinite(data):
            if _op:                                  # an operation overflowed
                inputs = ", ".join(f"{c.data:g}" for c in _children)
                raise OverflowError(f"{_op} of {inputs} overflows to {float(data)}: beyond the largest float "
                                    f"(about 1.8e308); rescale the inputs")
            raise ValueError(f"Value holds a finite real number, got {float(data)}")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._prev = tuple(_children)
        self._op = _op
        self._backward = lambda: None       # a leaf has no inputs to send gradient to

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.4f}, grad={self.grad:.4f}{label})"

    # ---- binary operations: out = self (op) other ----------------------------
    def __add__(self, other):
        other = _lift(other)
        out = Value(self.data + other.data, _children=(self, other), _op="+")
        def _backward():
            self.grad += out.grad               # d(a+b)/da = 1
            other.grad += out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = _lift(other)
        out = Value(self.data - other.data, _children=(self, other), _op="-")
        def _backward():
            self.grad += out.grad
            other.grad -= out.grad              # d(a-b)/db = -1
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = _lift(other)
        out = Value(self.data * other.data, _children=(self, other), _op="*")
        def _backward():
            self.grad += other.data * out.grad  # d(ab)/da = b
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = _lift(other)
        if other.data == 0:
            raise ZeroDivisionError(f"{self.data:g} / 0: division by zero (the divisor Value is 0)")
        out = Value(self.data / other.data, _children=(self, other), _op="/")
        def _backward():
            self.grad += out.grad / other.data                    # d(a/b)/da = 1/b
            other.grad -= self.data / other.data ** 2 * out.grad  # d(a/b)/db = -a/b²
        out._backward = _backward
        return out

    def __pow__(self, k):
        if not isinstance(k, numbers.Real):
            raise TypeError("the exponent must be a plain number; for a Value exponent "
                            "write (k * x.log()).exp()")
        if self.data < 0 and not float(k).is_integer():
            raise ValueError(f"({self.data}) ** {k} is not a real number: "
                             "a negative base needs a whole-number exponent")
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"0 ** {k:g} is a division by zero: keep the base away from 0")
        try:
            result = self.data ** k
        except OverflowError:
            result = math.inf                        # refused just below, with the operation named
        out = Value(result, _children=(self,), _op=f"**{k:g}")
        def _backward():
            if k == 0:
                return                               # x**0 = 1 is constant (even at x = 0)
            if self.data == 0 and k < 1:
                raise ValueError(f"the derivative of x**{k:g} is infinite at x = 0: "
                                 "keep x away from 0 (e.g. x + 1e-12) before the power")
            self.grad += k * self.data ** (k - 1) * out.grad      # d x^k/dx = k x^(k-1)
        out._backward = _backward
        return out

    # number (op) Value: Python calls these when the left operand is a plain number
    def __radd__(self, other):
        return _lift(other) + self

    def __rsub__(self, other):
        return _lift(other) - self

    def __rmul__(self, other):
        return _lift(other) * self

    def __rtruediv__(self, other):
        return _lift(other) / self

    def __rpow__(self, base):
        if not isinstance(base, numbers.Real) or base <= 0:
            raise ValueError(f"base ** x needs a positive number as base, got {base!r}")
        try:
            result = base ** self.data
        except OverflowError:
            result = math.inf                        # refused by Value, with the operation named
        out = Value(result, _children=(self,), _op=f"{base:g}**")
        def _backward():
            self.grad += out.data * math.log(base) * out.grad    # d b^x/dx = b^x ln b
        out._backward = _backward
        return out

    # ---- unary operations ----------------------------------------------------
    def __neg__(self):
        out = Value(-self.data, _children=(self,), _op="neg")
        def _backward():
            self.grad -= out.grad
        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data) if self.data < 709.78 else math.inf, _children=(self,), _op="exp")
        def _backward():
            self.grad += out.data * out.grad    # d e^x/dx = e^x
        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log is only defined for positive numbers, got log({self.data})")
        out = Value(math.log(self.data), _children=(self,), _op="log")
        def _backward():
            self.grad += out.grad / self.data   # d ln x/dx = 1/x
        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), _children=(self,), _op="tanh")
        def _backward():
            self.grad += (1.0 - out.data ** 2) * out.grad   # d tanh/dx = 1 - tanh²
        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data   # never exp of a large positive number: no overflow for any x
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, _children=(self,), _op="sigmoid")
        def _backward():
            self.grad += out.data * (1.0 - out.data) * out.grad  # dσ/dx = σ(1-σ)
        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), _children=(self,), _op="relu")
        def _backward():
            self.grad += (self.data > 0) * out.grad          # slope 1 right of 0, else 0
        out._backward = _backward
        return out

    # ---- the backward pass ---------------------------------------------------
    def backward(self):
        """Fill ``.grad`` of every node in this graph with d(self)/d(node).

        Gradients ACCUMULATE in the leaves (inputs, parameters), as in PyTorch:
        calling ``backward()`` twice doubles them; call ``zero_grad()`` between
        passes.  Computed nodes start each pass from 0 (they hold this pass's
        gradient only).  The order is reverse topological: a node's gradient
        is complete before it passes it on to its inputs.
        """
        order = topological_order(self)
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0                        # dL/dL = 1
        for node in reversed(order):
            node._backward()

    def zero_grad(self):
        """Set ``.grad`` of every node in this graph to 0."""
        for node in topological_order(self):
            node.grad = 0.0


def topological_order(root):
    """Every node of root's graph once, each after all of its inputs (root last).

    Depth-first search with an explicit stack, so a graph 100,000 nodes deep
    needs no recursion.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))          # comes back after its inputs
            stack.extend((c, False) for c in reversed(node._prev) if c not in visited)
    return order


# ---- drawing: one data unit is one inch at scale 1 ---------------------------
_FONT = 9                                       # points
_CHAR, _LINE = 0.6 * _FONT / 72, 1.25 * _FONT / 72   # monospace char width, line height
_PAD, _GAP, _RANK_GAP = 0.07, 0.22, 0.32


def _layout(root, rankdir):
    """Centre and size (x, y, w, h) of every node: ("v", value) boxes, ("op", value) ellipses."""
    values = topological_order(root)
    size, consumers = {}, {v: [] for v in values}
    for v in values:
        chars = max(len(v.label), len(f"data {v.data:.4f}"), len(f"grad {v.grad:.4f}"))
        size["v", v] = (_CHAR * chars + 2 * _PAD, _LINE * (2 + bool(v.label)) + 3 * _PAD)
        if v._op:
            size["op", v] = (max(0.42, _CHAR * len(v._op) + 0.2), 0.34)
        for c in dict.fromkeys(v._prev):
            consumers[c].append(v)
    # column = longest path to the output, so every node sits just before its first use
    dist = {root: 0}
    for v in reversed(values):
        if v is not root:
            dist[v] = max(dist[u] + 2 for u in consumers[v])    # u's op sits between
    depth = max(dist.values())
    rank = {n: depth - dist[n[1]] - (n[0] == "op") for n in size}
    along, across = (0, 1) if rankdir == "LR" else (1, 0)   # size index along / across ranks
    step = sum(size["v", v][across] for v in values) / len(values) + _GAP
    spread = {}
    for r in range(depth, -1, -1):              # output first: inputs go near their use
        target = {}
        for n in (n for n in size if rank[n] == r):
            if n[0] == "op" or n[1] is root:
                target[n] = spread.get(("v", n[1]), 0.0)
            else:                               # fan a node's inputs out around it
                wants = []
                for u in consumers[n[1]]:
                    ins = list(dict.fromkeys(u._prev))
                    wants.append(spread["op", u] + ((len(ins) - 1) / 2 - ins.index(n[1])) * step)
                target[n] = sum(wants) / len(wants)
        column = sorted(target, key=lambda n: -target[n])    # first input on top / left
        spread[column[0]] = target[column[0]]
        for above, n in zip(column, column[1:]):             # push overlapping nodes on
            gap = (size[above][across] + size[n][across]) / 2 + _GAP
            spread[n] = min(target[n], spread[above] - gap)
        shift = sum(target[n] - spread[n] for n in column) / len(column)
        for n in column:
            spread[n] += shift
    extent = [max(size[n][along] for n in size if rank[n] == r) for r in range(depth + 1)]
    at = [sum(extent[:r]) + r * _RANK_GAP + extent[r] / 2 for r in range(depth + 1)]
    if rankdir == "LR":
        return {n: (at[rank[n]], spread[n], *size[n]) for n in size}
    return {n: (-spread[n], -at[rank[n]], *size[n]) for n in size}


def draw_graph(root, ax=None, rankdir="LR"):
    """Draw root's computational graph with matplotlib and return the Axes.

    Each ``Value`` is a box (label, data, grad), each operation an ellipse
    between its inputs and its output.  ``rankdir`` is "LR" (inputs on the
    left) or "TB" (inputs on top).  Without ``ax`` a figure sized to the graph
    is created.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch

    if not isinstance(root, Value):
        raise TypeError(f"draw_graph draws the graph behind a Value, got {type(root).__name__}")
    if rankdir not in ("LR", "TB"):
        raise ValueError(f'rankdir must be "LR" or "TB", got {rankdir!r}')
    pos = _layout(root, rankdir)
    x0 = min(x - w / 2 for x, y, w, h in pos.values()) - 0.1     # 0.1 inch margin
    x1 = max(x + w / 2 for x, y, w, h in pos.values()) + 0.1
    y0 = min(y - h / 2 for x, y, w, h in pos.values()) - 0.1
    y1 = max(y + h / 2 for x, y, w, h in pos.values()) + 0.1
    if ax is None:
        ax = plt.figure(figsize=(x1 - x0, y1 - y0)).add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    box, fig = ax.get_position(), ax.figure     # shrink the text if the Axes is small
    scale = min(box.width * fig.get_figwidth() / (x1 - x0),
                box.height * fig.get_figheight() / (y1 - y0))
    text = dict(family="monospace", fontsize=_FONT * scale, ha="center", va="center", zorder=3)
    for (kind, v), (x, y, w, h) in pos.items():
        if kind == "op":
            ax.add_patch(Ellipse((x, y), w, h, fc="#fde2b8", ec="#8a5a00", lw=0.8, zorder=2))
            ax.text(x, y, v._op, **text)
            continue
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, zorder=2, lw=0.8,
                                    boxstyle="round,pad=0,rounding_size=0.05",
                                    fc="#dcebf7", ec="#2b5b84"))
        top = y + h / 2 - _PAD
        if v.label:
            ax.text(x, top - _LINE / 2, v.label, fontweight="bold", **text)
            top -= _LINE + _PAD / 2
            ax.plot([x - w / 2, x + w / 2], [top, top], color="#2b5b84", lw=0.6, zorder=3)
        ax.text(x, (top + y - h / 2) / 2, f"data {v.data:.4f}\ngrad {v.grad:.4f}",
                multialignment="left", **text)
    def port(n, out):                           # where an arrow leaves or enters a node
        x, y, w, h = pos[n]
        if rankdir == "LR":
            return (x + w / 2, y) if out else (x - w / 2, y)
        return (x, y - h / 2) if out else (x, y + h / 2)
    for kind, v in pos:
        if kind == "v" and v._op:
            edges = [(("v", c), ("op", v)) for c in v._prev] + [(("op", v), ("v", v))]
            for i, (a, b) in enumerate(edges):      # x*x: two arrows, bent apart
                start, end = port(a, True), port(b, False)
                twin = edges[:i].count((a, b)) - (edges.count((a, b)) - 1) / 2
                bend = 0.3 * twin / math.dist(start, end)
                ax.add_patch(FancyArrowPatch(
                    start, end, arrowstyle="-|>", color="0.35", mutation_scale=9 * scale,
                    shrinkA=0, shrinkB=0, lw=0.8, zorder=1, connectionstyle=f"arc3,rad={bend}"))
    return ax
