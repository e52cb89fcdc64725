"""The checks of 07_minibatching_and_cost: each passes the reference solution (also as the grader
runs it: isolated, on hidden cases), rejects each typical mistake with the hint meant for it, and
treats stubs and broken code kindly."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import core
from bpcourse.exercises.lesson07 import (check_accumulate_gradients, check_linear_flops, check_per_sample_grads,
                                         check_training_memory, measured_memory)
from isolation import isolated


def stub(*args):
    raise NotImplementedError


def assert_hint(verdict, hint):
    assert verdict.status == "wrong", verdict
    assert hint in (verdict.hint or "") + verdict.message, verdict


# -- ex07_linear_flops -----------------------------------------------------------------

def flops_right(n, d_in, d_out):
    return 2 * n * d_in * d_out + n * d_out, 4 * n * d_in * d_out + n * d_out


def test_linear_flops_accepts_the_reference_also_isolated_and_on_hidden_cases():
    assert check_linear_flops(flops_right).status == "right"
    with isolated(), core.hidden_cases(123):
        verdict = check_linear_flops(flops_right)
    assert verdict.status == "right", verdict
    assert "count of every scalar operation" in verdict.message


def test_linear_flops_hard_coded_for_the_public_cases_fails_on_hidden_ones():
    public = {case: flops_right(*case) for case in bp.exercises.lesson07._flop_cases()}
    hard_coded = lambda n, d, m: public.get((n, d, m), (0, 0))
    assert check_linear_flops(hard_coded).status == "right"
    with core.hidden_cases(20261127):
        assert check_linear_flops(hard_coded).status == "wrong"


@pytest.mark.parametrize("wrong, hint", [
    (lambda n, d, m: (n * d * m + n * m, 2 * n * d * m + n * m), "multiply-add is two FLOPs"),
    (lambda n, d, m: (2 * n * d * m, 4 * n * d * m + n * m), "adding the bias"),
    (lambda n, d, m: (2 * d * m + m, 4 * d * m + m), "multiply by the batch size"),
    (lambda n, d, m: (2 * n * d * m + n * m, 2 * n * d * m + n * m), "two matrix products"),
    (lambda n, d, m: (2 * n * d * m + n * m, 2 * n * d * m), "two matrix products"),
    (lambda n, d, m: (2 * n * d * m + n * m, 4 * n * d * m), "db = dout.sum(axis=0) adds"),
    (lambda n, d, m: (2 * n * d * m + n * m, 4 * n * d * m + 2 * n * m), "contributes once"),
    (lambda n, d, m: (2 * n * d * m + n * m, 4 * n * d * m + m), "N·M additions, not M"),
    (lambda n, d, m: (4 * n * d * m + n * m, 2 * n * d * m + n * m), "swapped"),
])
def test_linear_flops_diagnoses_typical_mistakes(wrong, hint):
    assert_hint(check_linear_flops(wrong), hint)


def test_linear_flops_stub_none_and_exceptions_are_handled_kindly():
    assert check_linear_flops(stub).status == "not attempted"
    v = check_linear_flops(lambda n, d, m: None)
    assert v.status == "wrong" and "None" in v.message
    v = check_linear_flops(lambda n, d, m: 1 / 0)
    assert v.status == "wrong" and "ZeroDivisionError" in v.message
    v = check_linear_flops(lambda n, d, m: 5)
    assert v.status == "wrong" and "pair" in v.message


def test_flops_formula_matches_counting_every_operation():
    # independent of the check: the scalar-by-scalar counter agrees with the formula
    for n, d, m in [(1, 1, 1), (2, 3, 4), (3, 1, 2)]:
        assert tuple(bp.flops.count_linear_ops(n, d, m)) == flops_right(n, d, m)


# -- ex07_training_memory ------------------------------------------------------------------

STATE = {"sgd": 0, "momentum": 1, "adam": 2}


def memory(sizes, batch_size, optimizer, bytes_per_value=8, *, bias=True, state=None, input_cached=True,
           output_cached=False, per_hidden=2, per_sample=False, as_values=False):
    """The right answer, or one typical mistake (keyword arguments)."""
    params = sum(a * b + (b if bias else 0) for a, b in zip(sizes[:-1], sizes[1:]))
    n = 1 if per_sample else batch_size
    cached = n * ((sizes[0] if input_cached else 0) + per_hidden * sum(sizes[1:-1])
                  + (sizes[-1] if output_cached else 0))
    scale = 1 if as_values else bytes_per_value
    optimizer_values = (STATE if state is None else state)[optimizer] * params
    return {"parameters": scale * params, "gradients": scale * params,
            "optimizer": scale * optimizer_values, "activations": scale * cached}


def test_the_reference_arithmetic_equals_what_the_package_objects_hold():
    # independent of the check: the arithmetic above against measured arrays, on larger models too
    for sizes, n, opt, bpv in [([64, 256, 256, 10], 128, "adam", 8), ([7, 3], 2, "momentum", 4),
                               ([5, 9, 8, 7, 2], 11, "sgd", 4)]:
        assert memory(sizes, n, opt, bpv) == measured_memory(sizes, n, opt, bpv)


def test_training_memory_accepts_the_reference_also_isolated_and_on_hidden_cases():
    verdict = check_training_memory(memory)
    assert verdict.status == "right", verdict
    assert "predicted from the sizes alone" in verdict.message
    with isolated(), core.hidden_cases(7):
        assert check_training_memory(memory).status == "right"


def with_mistake(**mistake):
    return lambda sizes, n, opt, bpv=8: memory(sizes, n, opt, bpv, **mistake)


@pytest.mark.parametrize("wrong, hint", [
    (with_mistake(bias=False), "also has a bias"),
    (with_mistake(as_values=True), "values, not bytes"),
    (with_mistake(state={"sgd": 0, "momentum": 1, "adam": 1}), "TWO arrays per parameter"),
    (with_mistake(state={"sgd": 0, "momentum": 0, "adam": 2}), "keeps a velocity"),
    (with_mistake(state={"sgd": 1, "momentum": 1, "adam": 2}), "keeps no state"),
    (with_mistake(input_cached=False), "caches its input x too"),
    (with_mistake(output_cached=True), "does not keep it"),
    (with_mistake(per_hidden=1), "leaves two arrays"),
    (with_mistake(per_hidden=3), "counted once"),
    (with_mistake(per_sample=True), "every sample of the batch"),
    (lambda sizes, n, opt, bpv=8: {**memory(sizes, n, opt, bpv), "gradients": 0}, "a .grad of its own shape"),
])
def test_training_memory_diagnoses_typical_mistakes(wrong, hint):
    assert_hint(check_training_memory(wrong), hint)


def measuring(sizes, batch_size, optimizer, bytes_per_value=8):
    """Right numbers, by building the model and measuring it: not what the exercise asks."""
    return measured_memory(sizes, batch_size, optimizer, bytes_per_value)


def test_training_memory_refuses_to_build_and_measure_a_model_also_isolated():
    assert_hint(check_training_memory(measuring), "no model")
    with isolated():
        assert_hint(check_training_memory(measuring), "no model")
    assert bp.Linear.__init__.__name__ == "__init__"        # the watch is removed afterwards


def test_training_memory_stub_and_malformed_answers_are_handled_kindly():
    assert check_training_memory(stub).status == "not attempted"
    assert_hint(check_training_memory(lambda *a: None), "return a dict")
    assert_hint(check_training_memory(lambda *a: [1, 2, 3, 4]), "return a dict")
    v = check_training_memory(lambda *a: {"params": 1})
    assert v.status == "wrong" and "no key 'parameters'" in v.message
    v = check_training_memory(lambda *a: {k: "many" for k in ("parameters", "gradients", "optimizer", "activations")})
    assert v.status == "wrong" and "expected a number of bytes" in v.message


# -- ex07_per_sample_grads -------------------------------------------------------------------

def per_sample_right(x, dout):
    return x[:, :, None] * dout[:, None, :], dout.copy()


def per_sample_loop(x, dout):
    return np.stack([np.outer(x[n], dout[n]) for n in range(len(x))]), dout.copy()


def per_sample_iterating(x, dout):
    return np.array([np.outer(a, b) for a, b in zip(x, dout)]), np.array([d for d in dout])


def test_per_sample_grads_accepts_the_reference_and_einsum_also_isolated_and_on_hidden_cases():
    verdict = check_per_sample_grads(per_sample_right)
    assert verdict.status == "right", verdict
    assert "without a loop" in verdict.message
    einsum = lambda x, dout: (np.einsum("nd,nm->ndm", x, dout), dout)
    with isolated(), core.hidden_cases(20261127):
        assert check_per_sample_grads(per_sample_right).status == "right"
        assert check_per_sample_grads(einsum).status == "right"


@pytest.mark.parametrize("wrong, hint", [
    (lambda x, dout: (x.T @ dout, dout), "do not sum over the samples"),
    (lambda x, dout: (dout[:, :, None] * x[:, None, :], dout), "x's axis comes before dout's"),
    (lambda x, dout: (x[:, :, None] * dout[:, None, :] / len(x), dout), "do not divide by N"),
    (lambda x, dout: (x[:, :, None] * dout[:, None, :], dout.sum(axis=0)), "its own row of dout"),
    (lambda x, dout: (-x[:, :, None] * dout[:, None, :], dout), "sign"),
    (lambda x, dout: (x[:, :, None] * dout[:, None, :],), "pair (dW, db)"),
    (per_sample_loop, "loops over the samples"),
    (per_sample_iterating, "loops over the samples"),
])
def test_per_sample_grads_diagnoses_typical_mistakes(wrong, hint):
    assert_hint(check_per_sample_grads(wrong), hint)


def test_per_sample_loop_is_caught_also_isolated():
    with isolated():
        assert_hint(check_per_sample_grads(per_sample_loop), "loops over the samples")


def test_per_sample_grads_stub_none_and_exceptions_are_handled_kindly():
    assert check_per_sample_grads(stub).status == "not attempted"
    assert_hint(check_per_sample_grads(lambda x, dout: None), "pair (dW, db)")
    v = check_per_sample_grads(lambda x, dout: (x @ dout, dout))            # shapes do not fit
    assert v.status == "wrong" and "ValueError" in v.message


# -- ex07_accumulate ---------------------------------------------------------------------

def accumulate_right(model, loss_fn, x, y, micro_batch_size):
    model.zero_grad()
    n, total = len(x), 0.0
    for start in range(0, n, micro_batch_size):
        xb, yb = x[start:start + micro_batch_size], y[start:start + micro_batch_size]
        weight = len(xb) / n
        total += weight * loss_fn.forward(model.forward(xb), yb)
        model.backward(weight * loss_fn.backward())
    return total


def accumulate(scale, zero_inside=False, zero_first=True, micro=None, loss_sum=False):
    def fn(model, loss_fn, x, y, micro_batch_size):
        m = micro or micro_batch_size
        if zero_first:
            model.zero_grad()
        n, k, total = len(x), -(-len(x) // m), 0.0
        for start in range(0, n, m):
            if zero_inside:
                model.zero_grad()
            xb, yb = x[start:start + m], y[start:start + m]
            w = {"right": len(xb) / n, "none": 1.0, "1/K": 1 / k}[scale]
            loss = loss_fn.forward(model.forward(xb), yb)
            total += loss if loss_sum else w * loss
            model.backward(w * loss_fn.backward())
        return total
    return fn


def test_accumulate_accepts_the_reference_also_isolated_and_on_hidden_cases():
    verdict = check_accumulate_gradients(accumulate_right)
    assert verdict.status == "right", verdict
    assert "numerical full-batch gradient" in verdict.message
    with isolated(), core.hidden_cases(7):
        assert check_accumulate_gradients(accumulate_right).status == "right"


def layer_by_layer(model, loss_fn, x, y, micro_batch_size):
    """Right, but runs the layers one by one instead of calling model.forward and model.backward."""
    model.zero_grad()
    n, total = len(x), 0.0
    for start in range(0, n, micro_batch_size):
        h, yb = x[start:start + micro_batch_size], y[start:start + micro_batch_size]
        for layer in model:
            h = layer.forward(h)
        weight = len(yb) / n
        total += weight * loss_fn.forward(h, yb)
        dout = weight * loss_fn.backward()
        for layer in reversed(list(model)):
            dout = layer.backward(dout)
    return total


def test_accumulate_sees_forward_passes_made_layer_by_layer():
    assert check_accumulate_gradients(layer_by_layer).status == "right"


@pytest.mark.parametrize("wrong, hint", [
    (accumulate("none"), "scale each micro-batch's gradient"),
    (accumulate("right", zero_first=False), "old gradients are still in .grad"),
    (accumulate("right", zero_inside=True), "only the last micro-batch"),
    (accumulate("1/K"), "the last one is smaller"),
    (accumulate("right", micro=10), "more than the micro-batch size"),
    (accumulate("right", loss_sum=True), "sum of the micro-batch losses"),
])
def test_accumulate_diagnoses_typical_mistakes(wrong, hint):
    assert_hint(check_accumulate_gradients(wrong), hint)


def test_accumulate_diagnosis_works_isolated():
    with isolated():
        assert_hint(check_accumulate_gradients(accumulate("right", zero_first=False)), "old gradients")


def test_accumulate_stub_none_and_exceptions_are_handled_kindly():
    assert check_accumulate_gradients(stub).status == "not attempted"
    v = check_accumulate_gradients(lambda model, loss_fn, x, y, m: None)   # no gradient, no loss
    assert v.status == "wrong"
    v = check_accumulate_gradients(lambda model, loss_fn, x, y, m: model.forward(x[:, :2]))
    assert v.status == "wrong" and "ValueError" in v.message
    v = check_accumulate_gradients(lambda model, loss_fn, x, y, m: (accumulate_right(model, loss_fn, x, y, m), model))
    assert v.status == "wrong" and "expected the mean loss" in v.message
