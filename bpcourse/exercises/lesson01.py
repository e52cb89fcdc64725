"""Checks for 01_chain_rule: a derivative by hand, a backward rule for ``Value``, an expression's
gradient, a vector-Jacobian product, an MLP made of ``Value``s and its training loop.

Student code that takes or returns ``Value``s runs inside a module-level scenario (``_sin_scenario``,
``_model_scenario``, ``_train_scenario``) beside the student's code; a scenario sends back plain
numbers, which the checks verify with independent math: centred differences, and a numpy replica
of the network built from the student's own parameters.
"""
__all__ = ["check_chain_rule", "check_value_sin", "check_expression_grad", "check_normalize_vjp",
           "check_value_mlp", "check_train_mlp"]

import math

import numpy as np

from .core import NotAttempted, Wrong, bound, call, case_rng, exercise, expect_array, expect_number, fmt
from ..gradcheck import numerical_gradient, rel_error
from ..jacobians import numerical_jacobian
from ..scalar import Value

LESSON = "01_chain_rule"


def _numeric(f, x):
    """df/dx at the float x by centred differences."""
    return float(numerical_gradient(lambda v: f(float(v[0])), np.array([float(x)]))[0])


# ---- 1. sin(x²) by the chain rule ----------------------------------------------------------

CHAIN_POINTS = [0.8, -1.3, 2.0, 0.0]   # not 0.5: there 2x = 1 would hide a missing factor


@exercise("ex01_chain_rule", LESSON, "the chain rule by hand: d/dx sin(x²)", hints=[
    "Name the inner function: u = x², f = sin(u). The chain rule says df/dx = df/du · du/dx.",
    "df/du is the derivative of sin, evaluated at the inner value u — not at x. "
    "Then find du/dx for u = x², and multiply the two.",
])
def check_chain_rule(dfdx):
    """dfdx(x): the derivative of f(x) = sin(x²) at a float x."""
    points = CHAIN_POINTS + [round(float(case_rng(10).uniform(-2.5, 2.5)), 3)]
    for x in points:
        expected = _numeric(lambda v: math.sin(v * v), x)
        got = call(dfdx, x, what=f"dfdx({x})")
        expect_number(got, expected, f"dfdx({x})", case=f"x = {x}", tol=1e-6, diagnoses=[
            (lambda g, e: np.isclose(g, math.cos(x * x)),
             "that is only the outer derivative cos(x²): multiply by the inner derivative d(x²)/dx."),
            (lambda g, e: np.isclose(g, 2 * x * math.cos(x)),
             "evaluate the outer derivative at the inner value x², not at x."),
            (lambda g, e: np.isclose(g, math.cos(2 * x)) or np.isclose(g, 2 * x * math.cos(2 * x)),
             "cos(2x) puts the inner derivative inside the outer one; the chain rule multiplies them."),
            (lambda g, e: np.isclose(g, math.sin(x * x) * 2 * x),
             "the derivative of sin is cos, not sin."),
        ])
    return f"dfdx agrees with centred differences of sin(x²) at x = {', '.join(str(x) for x in points)}."


# ---- 2. a backward rule for a new operation ------------------------------------------------

SIN_GRAPHS = {       # name -> (build(op, v) -> output Value, the same function on floats)
    "sin(v)": (lambda op, v: op(v), math.sin),
    "3·sin(v)": (lambda op, v: op(v) * 3.0, lambda x: 3 * math.sin(x)),
    "sin(v)·v (v used twice)": (lambda op, v: op(v) * v, lambda x: math.sin(x) * x),
    "sin(v) + sin(v)": (lambda op, v: op(v) + op(v), lambda x: 2 * math.sin(x)),
    "sin(sin(v))": (lambda op, v: op(op(v)), lambda x: math.sin(math.sin(x))),
}


def _sin_scenario(value_sin, x, graph):
    """Runs beside the student's code. value_sin(Value(x)) alone, then the graph named ``graph``
    built with value_sin at a fresh v = Value(x) and backpropagated. Returns plain data:
    {"type": the output's type name, "data": its value, "records_v": whether it lists v among
    its inputs, "grad": v.grad in the graph}."""
    v = Value(x, label="v")
    out = value_sin(v)
    if not isinstance(out, Value):
        return {"type": type(out).__name__}
    report = {"type": "Value", "data": out.data, "records_v": any(c is v for c in out._prev)}
    v = Value(x, label="v")
    SIN_GRAPHS[graph][0](value_sin, v).backward()
    report["grad"] = v.grad
    return report


@exercise("ex01_value_sin", LESSON, "a backward rule for Value: sin", hints=[
    "An operation builds its output Value with its input recorded as a child, and gives the output "
    "a _backward function that sends gradient to that input: input's grad += (local derivative) × "
    "(gradient arriving at the output).",
    "Here the local derivative is d sin(v)/dv, evaluated at v.data, and the gradient arriving is "
    "out.grad. Use += (v may be used elsewhere as well), and attach the function itself, without "
    "calling it, as out._backward.",
])
def check_value_sin(value_sin):
    """value_sin(v: Value) -> Value holding sin(v.data), with a _backward that sends gradient to v."""
    report = call(_sin_scenario, value_sin, 0.7, "sin(v)", what="value_sin(Value(0.7))")
    if report["type"] == "NoneType":
        raise Wrong("value_sin(Value(0.7)) returned None.", "end the function with `return out`.")
    if report["type"] != "Value":
        raise Wrong(f"value_sin(Value(0.7)) returned a {report['type']}, expected a Value.",
                    "build the result as a Value that records its input, "
                    "Value(math.sin(v.data), _children=(v,), _op='sin'), and return it, so that "
                    "backward can reach v.")
    expect_number(report["data"], math.sin(0.7), "value_sin(Value(0.7)).data", case="v = 0.7", diagnoses=[
        (lambda g, e: np.isclose(g, math.cos(0.7)), "the forward value is sin(v.data); cos belongs in _backward."),
    ])
    if not report["records_v"]:
        raise Wrong("the output does not record its input, so backward() can never reach v.",
                    "create it with Value(math.sin(v.data), _children=(v,), _op='sin').")
    worst = 0.0
    points = (0.7, -2.1, round(float(case_rng(11).uniform(-3, 3)), 3))
    for x in points:
        for name, (_, f) in SIN_GRAPHS.items():
            got = call(_sin_scenario, value_sin, x, name, what=f"value_sin in L = {name}")["grad"]
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
            f"{len(points) * len(SIN_GRAPHS)} graphs, including v used twice and sin(sin(v)) "
            f"(max rel. error {bound(worst)}).")


# ---- 3. the gradient of a small expression, by hand ----------------------------------------

EXPRESSION_POINTS = [(0.5, -1.0, 0.3), (1.2, 0.4, -0.8), (-0.7, 2.0, 0.5)]


@exercise("ex01_expression_grad", LESSON, "gradients of L = a·tanh(a·b + c) by hand", hints=[
    "Name the intermediate values: u = a·b + c, t = tanh(u), L = a·t. Then go backwards from "
    "dL/dL = 1: first dL/dt, then dL/du (through tanh), then from u to a, b and c.",
    "a is used twice — as a factor in L = a·t and inside u — so dL/da is the sum of two paths: the "
    "direct one (∂(a·t)/∂a with t held fixed) and the one through u (dL/du times ∂u/∂a). "
    "b and c reach L only through u.",
])
def check_expression_grad(grads):
    """grads(a, b, c) -> (dL/da, dL/db, dL/dc) for L = a·tanh(a·b + c), floats in, floats out."""
    extra = tuple(round(float(v), 2) for v in case_rng(12).uniform(-1.5, 1.5, 3))
    points = EXPRESSION_POINTS + [extra]
    for a, b, c in points:
        expected = (_numeric(lambda v: v * math.tanh(v * b + c), a),      # centred differences
                    _numeric(lambda v: a * math.tanh(a * v + c), b),
                    _numeric(lambda v: a * math.tanh(a * b + v), c))
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
        expect_number(got[0], expected[0], "dL/da", case, diagnoses=[
            (lambda g, e: np.isclose(g, a * (1 - t * t) * b),
             "a is used twice: add the direct path from L = a·t, which contributes t = tanh(a·b + c)."),
            (lambda g, e: np.isclose(g, t),
             "a is used twice: add the path through u = a·b + c."),
            (lambda g, e: np.isclose(g, t + a * b),
             "you skipped tanh's local derivative on the path through u: multiply by 1 − tanh²(u)."),
        ])
        expect_number(got[1], expected[1], "dL/db", case, diagnoses=[
            (lambda g, e: np.isclose(g, (1 - t * t) * a),
             "u = a·b + c gives du/db = a, and L = a·t gives dL/dt = a: you need both factors."),
            (lambda g, e: np.isclose(g, (1 - t * t) * b),
             "du/db is a (the other factor), not b."),
        ])
        expect_number(got[2], expected[2], "dL/dc", case, diagnoses=[
            (lambda g, e: np.isclose(g, 1 - t * t),
             "do not forget the outer factor: L = a·t, so dL/dt = a."),
            (lambda g, e: np.isclose(g, a),
             "between t and u sits tanh: multiply by its local derivative."),
        ])
    return f"all three gradients agree with centred differences at {len(points)} points."


# ---- 4. a vector-Jacobian product ----------------------------------------------------------

def _normalize(x):
    return x / np.linalg.norm(x)


@exercise("ex01_normalize_vjp", LESSON, "a vector-Jacobian product: y = x / ‖x‖", hints=[
    "Write y = x / r with r = ‖x‖ = √(x·x). Nudging x_j moves y in two ways: directly (only y_j, "
    "by 1/r), and through r, which every y_i divides by. Start with ∂r/∂x_j, written with y.",
    "∂r/∂x_j = x_j / r = y_j, so ∂y_i/∂x_j = δ_ij / r − y_i·y_j / r (δ_ij is 1 when i = j, else 0). "
    "The VJP is Σ_i g_i ∂y_i/∂x_j: sum each of the two terms over i separately — the second one "
    "needs only the single number y·g, never an n × n matrix.",
])
def check_normalize_vjp(normalize_vjp):
    """normalize_vjp(x, g) -> dL/dx for y = x / ‖x‖, given g = dL/dy; x, g: (n,) -> (n,)."""
    rng = case_rng(13)
    cases = [(np.array([3.0, 4.0]), np.array([1.0, 0.0]), "x = [3, 4], g = [1, 0]"),
             (rng.normal(size=5), rng.normal(size=5), "random x and g of length 5"),
             (3 * rng.normal(size=40), rng.normal(size=40), "random x and g of length 40")]
    worst = 0.0
    for x, g, case in cases:
        expected = g @ numerical_jacobian(_normalize, x)       # g J, J built column by column
        got = call(normalize_vjp, x, g, what="normalize_vjp(x, g)")
        if np.shape(got) == (x.size, x.size):
            raise Wrong(f"case {case}: normalize_vjp returned a matrix of shape {np.shape(got)}, "
                        f"expected the vector g J of shape ({x.size},).",
                        "the VJP is a vector like x: sum over i of g_i ∂y_i/∂x_j, for each j.")
        r = np.linalg.norm(x)
        y = x / r
        worst = max(worst, expect_array(got, expected, "normalize_vjp(x, g)", case, tol=1e-7, diagnoses=[
            (lambda o, e: np.allclose(o, g / r),
             "that is only the direct path: y also changes through ‖x‖, which every y_i divides by."),
            (lambda o, e: np.allclose(o, g - y * (y @ g)),
             "both terms carry a factor 1/‖x‖: divide by the norm."),
            (lambda o, e: np.allclose(o, g - y * (y @ g) / r),
             "both terms carry a factor 1/‖x‖, the direct one too."),
            (lambda o, e: np.allclose(o, (g - y * (y @ g)) / r ** 2),
             "one factor 1/‖x‖ is enough: you divide by the norm twice."),
            (lambda o, e: np.allclose(o, (g - x * (x @ g)) / r),
             "the second term is built from the unit vector y = x/‖x‖, not from x."),
            (lambda o, e: np.allclose(o, (g + y * (y @ g)) / r),
             "the term that comes through ‖x‖ is subtracted: a larger ‖x‖ makes every y_i smaller."),
        ]))
    x = rng.normal(size=6)
    g = 2.5 * _normalize(x)
    got = np.asarray(call(normalize_vjp, x, g, what="normalize_vjp(x, g)"), dtype=float)
    if got.shape != x.shape or not np.linalg.norm(got) < 1e-9 * np.linalg.norm(g) / np.linalg.norm(x):
        raise Wrong(f"case g = 2.5·y (a gradient along y itself): expected 0, got {fmt(got)}.",
                    "scaling x does not move y = x/‖x‖, so a gradient pointing along y cannot reach x: "
                    "your formula should give 0 there. Check the term that comes through ‖x‖.")
    return (f"normalize_vjp agrees with g J, J built column by column from centred differences, "
            f"for n = 2, 5 and 40 (max rel. error {bound(worst)}), and gives 0 for a gradient along y.")


# ---- 5. an MLP made of Values ----------------------------------------------------------------

def _n_params(sizes):
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def _squared_error(outputs, targets):
    """mean over samples of Σ_j (out_j − t_j)²: with Values (in a scenario) or floats."""
    total = 0.0
    for out, t in zip(outputs, targets):
        for o, tj in zip(out, t):
            total = total + (o - tj) * (o - tj)
    return total / len(outputs)


def _model_scenario(cls, args, seed, xs, targets):
    """Runs beside the student's code: model = cls(*args, rng) with rng seeded by ``seed``; its
    parameters, its outputs on xs, and the gradients that backward() gives for the mean squared
    error against targets. Also the parameters of two more models, from the same seed and from
    another one. Returns plain data (see the keys below)."""
    model = cls(*args, np.random.default_rng(seed))
    params = list(model.parameters())
    report = {"n_params": len(params), "unique": len({id(p) for p in params}),
              "not_values": sorted({type(p).__name__ for p in params if not isinstance(p, Value)})}
    if report["not_values"]:
        return report
    report["params"] = [p.data for p in params]
    outputs = []
    for x in xs:
        out = model([float(v) for v in x])
        out = [out] if isinstance(out, Value) else list(out)
        kinds = sorted({type(o).__name__ for o in out if not isinstance(o, Value)})
        if kinds:
            report["output_types"] = kinds
            return report
        outputs.append(out)
    _squared_error(outputs, targets).backward()
    report.update(outputs=[[o.data for o in out] for out in outputs], grads=[p.grad for p in params],
                  same_seed=[p.data for p in cls(*args, np.random.default_rng(seed)).parameters()],
                  other_seed=[p.data for p in cls(*args, np.random.default_rng(seed + 1)).parameters()])
    return report


def _unflatten(flat, sizes, bias_first=False):
    """[(W, b), ...] per layer from the flat parameter list: neuron after neuron, each its weights
    then its bias (or its bias first)."""
    layers, k = [], 0
    for n_in, n_out in zip(sizes, sizes[1:]):
        W, b = np.empty((n_in, n_out)), np.empty(n_out)
        for j in range(n_out):
            chunk = np.asarray(flat[k:k + n_in + 1], dtype=float)
            k += n_in + 1
            W[:, j], b[j] = (chunk[1:], chunk[0]) if bias_first else (chunk[:-1], chunk[-1])
        layers.append((W, b))
    return layers


def _replica(flat, sizes, X, last_linear, hidden=np.tanh, bias_first=False):
    """The network's outputs on the rows of X, computed in numpy from its flat parameters."""
    h = np.asarray(X, dtype=float)
    layers = _unflatten(flat, sizes, bias_first)
    for i, (W, b) in enumerate(layers):
        z = h @ W + b
        h = z if last_linear and i == len(layers) - 1 else hidden(z)
    return h


def _replica_loss(sizes, X, T, last_linear):
    """Mean squared error as a function of the flat parameters (for centred differences)."""
    return lambda flat: float(np.mean(np.sum((_replica(flat, sizes, X, last_linear) - T) ** 2, axis=1)))


def _verify_model(cls, name, args, sizes, last_linear, seed, X, T):
    """Check one of the student's classes (Neuron, Layer or MLP) against the numpy replica;
    returns the largest relative error of its gradients."""
    what = f"{name}({', '.join(map(repr, args))}, rng)"
    r = call(_model_scenario, cls, args, seed, X.tolist(), T.tolist(), what=what)
    want = _n_params(sizes)
    if r["not_values"]:
        raise Wrong(f"{what}.parameters() holds {', '.join(r['not_values'])} objects, expected Values.",
                    "parameters() returns the Value objects themselves, not their numbers (.data), "
                    "so that training can read their .grad and change their .data.")
    if r["n_params"] != want:
        neurons = sum(sizes[1:])
        hint = ("every neuron has a bias as well as its weights: include it in parameters()."
                if r["n_params"] == want - neurons else
                f"a neuron with n_in inputs has n_in weights and one bias, and a layer holds n_out neurons: "
                f"{what} has {want} parameters in all.")
        raise Wrong(f"{what}.parameters() lists {r['n_params']} Values, expected {want}.", hint)
    if r["unique"] != r["n_params"]:
        raise Wrong(f"{what}.parameters() lists the same Value more than once.",
                    "each neuron needs its own weights: create a new Neuron for each of the layer's "
                    "neurons (and a new Layer for each layer), rather than repeating one object.")
    if "output_types" in r:
        raise Wrong(f"{what} called on an input returned {', '.join(r['output_types'])} objects, expected Values.",
                    "compute with the Values themselves (w * x, then .tanh()), never with their .data, "
                    "so that backward() can reach the parameters.")
    flat = np.array(r["params"])
    if not np.array_equal(np.array(r["same_seed"]), flat):
        raise Wrong(f"two {name}s built from generators with the same seed start with different weights.",
                    "draw the weights from the rng you are given (rng.uniform(...)), not from "
                    "np.random or the random module, so that a run can be repeated.")
    if np.array_equal(np.array(r["other_seed"]), flat):
        raise Wrong(f"two {name}s built from generators with different seeds start with the same weights.",
                    "draw the weights at random from the rng argument.")
    for (W, _), n_out in zip(_unflatten(flat, sizes), sizes[1:]):
        if n_out > 1 and np.allclose(W, W[:, :1]):
            raise Wrong(f"all the neurons of a layer of {what} start with the same weights.",
                        "identical neurons compute the same output and get the same gradient, so they "
                        "stay identical forever: draw every weight independently from rng.")
    got, X = np.array(r["outputs"], dtype=float), np.asarray(X, dtype=float)
    expected = _replica(flat, sizes, X, last_linear)
    if got.shape == expected.shape:                  # one row of numbers reads best in a message
        got, expected = got.ravel(), expected.ravel()
    case = f"{what} on {len(X)} random inputs"
    expect_array(got, expected, "the outputs", case, tol=1e-9, diagnoses=[
        (lambda g, e: np.allclose(g, _replica(flat, sizes, X, False).ravel()),
         "the MLP's last layer is linear (Layer(..., linear=True)): no tanh on the output."),
        (lambda g, e: np.allclose(g, _replica(flat, sizes, X, True, hidden=lambda z: z).ravel()),
         "a neuron applies tanh to w·x + b unless it is linear (in the MLP, only the last layer is)."),
        (lambda g, e: np.allclose(g, _replica(flat, sizes, X, last_linear, bias_first=True).ravel()),
         "parameters() lists each neuron's weights first, then its bias."),
    ])
    numeric = numerical_gradient(_replica_loss(sizes, X, T, last_linear), flat.copy())
    grads = np.array(r["grads"], dtype=float)
    if not np.any(grads) and np.any(numeric):
        raise Wrong(f"case {case}: after backward() every parameter's grad is 0.",
                    "compute with the Values themselves, never with their .data, so that the "
                    "graph links the output to every parameter.")
    return expect_array(grads, numeric, "the parameters' gradients from backward()", case, tol=1e-6)


def _model_cases():
    """(class name, constructor arguments, sizes, last layer linear, seed, inputs, targets)."""
    rng = case_rng(14)
    seeds = rng.integers(0, 2**31, size=4)
    return [
        ("Neuron", (3,), [3, 1], False, seeds[0], rng.normal(size=(4, 3)), rng.normal(size=(4, 1))),
        ("Layer", (3, 2), [3, 2], False, seeds[1], rng.normal(size=(4, 3)), rng.normal(size=(4, 2))),
        ("MLP", ([2, 3, 1],), [2, 3, 1], True, seeds[2], rng.normal(size=(5, 2)), rng.normal(size=(5, 1))),
        ("MLP", ([1, 4, 4, 2],), [1, 4, 4, 2], True, seeds[3], rng.normal(size=(5, 1)), rng.normal(size=(5, 2))),
    ]


@exercise("ex01_value_mlp", LESSON, "an MLP made of Values", hints=[
    "Build from the bottom up. A Neuron keeps a list of n_in weight Values drawn from rng and a bias "
    "Value; calling it computes w·x + b with Value arithmetic, then tanh unless it is linear. A Layer "
    "keeps a list of n_out Neurons and calls each on the same x. An MLP keeps one Layer per pair of "
    "consecutive sizes and feeds each layer's output to the next.",
    "parameters() returns the Value objects themselves, in order: a neuron's weights, then its bias; "
    "a layer's neurons one after another; an MLP's layers from first to last. Only the MLP's last "
    "layer is linear. Never use .data in the forward computation: backward can only reach what the "
    "Value arithmetic connected.",
])
def check_value_mlp(Neuron, Layer, MLP):
    """Neuron(n_in, rng, linear=False), Layer(n_in, n_out, rng, linear=False), MLP(sizes, rng):
    each callable on a list of numbers, each with parameters()."""
    classes = {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}
    worst = 0.0
    for name, args, sizes, last_linear, seed, X, T in _model_cases():
        worst = max(worst, _verify_model(classes[name], name, args, sizes, last_linear, int(seed), X, T))
    return (f"Neuron(3), Layer(3, 2), MLP([2, 3, 1]) and MLP([1, 4, 4, 2]): the outputs agree with a "
            f"numpy network built from your parameters, and the gradients from backward() agree with "
            f"centred differences (max rel. error {bound(worst)}).")


# ---- 6. the training loop ------------------------------------------------------------------

class _Polynomial:
    """A small model the check owns, to test a training loop on its own: the prediction
    c_0 + c_1·x + … + c_d·x^d for an input x = [x], its coefficients Values drawn from rng."""

    def __init__(self, degree, rng):
        self.c = [Value(float(v)) for v in rng.normal(size=degree + 1)]

    def __call__(self, x):
        return [sum((c * float(x[0]) ** k for k, c in enumerate(self.c[1:], start=1)), self.c[0])]

    def parameters(self):
        return list(self.c)


def _train_scenario(make, args, train, seed, xs, ys, steps, lr):
    """Runs beside the student's code: model = make(*args, rng), then train(model, xs, ys, steps, lr).
    Returns plain data: the parameters before and after, and what train returned (Values as numbers)."""
    model = make(*args, np.random.default_rng(seed))
    params = list(model.parameters())
    before = [p.data for p in params]
    losses = train(model, [list(x) for x in xs], list(ys), steps, lr)
    if losses is not None and not isinstance(losses, (str, Value)) and hasattr(losses, "__len__"):
        losses = [v.data if isinstance(v, Value) else v for v in losses]
    elif isinstance(losses, Value):
        losses = losses.data
    return {"before": before, "after": [p.data for p in params], "losses": losses}


def _replay(loss, p, steps, lr, accumulate=False, sign=-1.0):
    """Gradient descent in numpy with centred-difference gradients: (losses, final parameters).
    ``accumulate``: gradients never reset (a missing zero_grad); ``sign`` +1: ascent."""
    p, total, losses = np.array(p, dtype=float), 0.0, []
    for _ in range(steps):
        losses.append(loss(p))
        grad = numerical_gradient(loss, p.copy())
        total = total + grad if accumulate else grad
        p = p + sign * lr * total
    return np.array(losses), p


def _verify_training(train, make, args, name, loss, seed, X, Y, steps, lr):
    """Run train on make(*args, rng) and compare with gradient descent replayed in numpy on
    ``loss`` (a function of the flat parameters). Returns (losses, relative error)."""
    what = f"train(model, xs, ys, {steps}, {lr})"
    r = call(_train_scenario, make, args, train, seed, X.tolist(), Y.tolist(), steps, lr, what=what)
    case = f"{name} on {len(X)} points, {steps} steps, lr = {lr}"
    losses = r["losses"]
    if losses is None:
        raise Wrong(f"case {case}: {what} returned None.", "return the list of losses, one per step.")
    if np.ndim(losses) == 0:
        raise Wrong(f"case {case}: {what} returned one number, expected the list of the {steps} losses.",
                    "append each step's loss (a float, .data) to a list and return the list.")
    try:
        losses = np.asarray(losses, dtype=float).ravel()
    except (TypeError, ValueError):
        raise Wrong(f"case {case}: {what} should return a list of {steps} numbers.") from None
    if losses.size != steps:
        raise Wrong(f"case {case}: {what} returned {losses.size} losses, expected {steps} (one per step).")
    start, after = np.array(r["before"]), np.array(r["after"])
    if np.array_equal(after, start):
        raise Wrong(f"case {case}: after training, every parameter still has its initial value.",
                    "change each parameter's number in place (p.data); p = p - … only rebinds the "
                    "loop variable, and zeroing the gradients after backward() leaves nothing to step with.")
    first = loss(start)
    if not np.isclose(losses[0], first, rtol=1e-6):
        hint = ("your loss is the sum over the samples: the exercise asks for the mean (divide by N)."
                if np.isclose(losses[0], len(X) * first, rtol=1e-6) else
                "the first loss is recorded before any update: the mean over the samples of "
                "(model(x)[0] − y)².")
        raise Wrong(f"case {case}: your first loss is {losses[0]:.6g}, the model's mean squared "
                    f"error at its initial parameters is {first:.6g}.", hint)
    expected, final = _replay(loss, start, steps, lr)
    alternatives = [
        (_replay(loss, start, steps, lr, accumulate=True),
         "the gradients accumulate from step to step: reset every parameter's grad to 0 before each backward()."),
        (_replay(loss, start, steps, lr, sign=+1.0),
         "the parameters climb: step against the gradient (minus lr times it)."),
        (_replay(loss, start, steps, len(X) * lr),
         "the steps follow the gradient of the sum of the squared errors, not of their mean."),
    ]
    for kind, got, want, index in (("losses", losses, expected, 0), ("final parameters", after, final, 1)):
        if rel_error(got, want) > 1e-6:
            hint = next((h for alt, h in alternatives if rel_error(got, alt[index]) < 1e-6), None)
            raise Wrong(f"case {case}: your {kind} differ from gradient descent replayed in numpy from "
                        f"your initial parameters: expected {fmt(want)}, got {fmt(got)}.",
                        hint or "go through one step by hand: the loss, the grads reset, backward(), then "
                                "every parameter's .data moved against its grad, scaled by lr.")
    return losses, max(rel_error(losses, expected), rel_error(after, final))


def _training_cases():
    """A polynomial model the check owns (the loop alone), then the student's MLP([1, 4, 1])."""
    rng = case_rng(15)
    Xp = rng.uniform(-1.5, 1.5, size=(6, 1))
    Yp = rng.normal(size=6)
    X = rng.uniform(-2, 2, size=(8, 1))
    Y = 0.8 * np.sin(1.5 * X[:, 0]) + 0.1 * rng.normal(size=8)
    seeds = [int(s) for s in rng.integers(0, 2**31, size=2)]
    return (Xp, Yp, seeds[0]), (X, Y, seeds[1])


def _polynomial_loss(X, Y, degree):
    V = np.vander(X[:, 0], degree + 1, increasing=True)         # [1, x, x², …] per sample
    return lambda c: float(np.mean((V @ c - Y) ** 2))


@exercise("ex01_train_mlp", LESSON, "a training loop for the Value MLP", hints=[
    "Each step has four parts: the forward pass (the loss as one Value: the mean over all samples of "
    "the squared error), resetting every parameter's grad to 0, backward(), and the update. Record "
    "the loss's number (.data) before the update.",
    "Gradients accumulate (+=) in the parameters, so they must be reset before every backward(), "
    "not only once. The update must change each parameter's number in place (its .data), by a step "
    "against its gradient; rebinding the loop variable (p = …) changes nothing in the model.",
])
def check_train_mlp(train, MLP):
    """train(model, xs, ys, steps, lr) -> list of losses; trains the model in place."""
    (Xp, Yp, seed_p), (X, Y, seed) = _training_cases()
    _, err_p = _verify_training(train, _Polynomial, (2,), "a quadratic model c₀ + c₁x + c₂x²",
                                _polynomial_loss(Xp, Yp, 2), seed_p, Xp, Yp, 6, 0.1)
    sizes = [1, 4, 1]
    try:
        _verify_model(MLP, "MLP", (sizes,), sizes, True, seed, X, Y[:, None])
    except (Wrong, NotAttempted) as problem:
        why = problem.message if isinstance(problem, Wrong) else "it is not written yet."
        raise Wrong(f"your train is right on a quadratic model; to train your MLP, exercise 5 must "
                    f"be right first: {why}",
                    "make check_value_mlp pass: this exercise then trains that MLP.") from None
    losses, err = _verify_training(train, MLP, (sizes,), f"MLP({sizes})",
                                   _replica_loss(sizes, X, Y[:, None], last_linear=True), seed, X, Y, 10, 0.05)
    if not losses[-1] < losses[0]:
        raise Wrong(f"training MLP({sizes}) did not lower the loss ({losses[0]:.4g} → {losses[-1]:.4g}).")
    return (f"train matches gradient descent replayed in numpy, from your initial parameters with "
            f"centred-difference gradients, on a quadratic model and on your MLP({sizes}) "
            f"(rel. error {bound(max(err, err_p))}); your MLP's loss fell from {losses[0]:.3g} to "
            f"{losses[-1]:.3g} in 10 steps.")
