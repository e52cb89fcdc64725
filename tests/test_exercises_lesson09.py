"""Lesson 09's checks: the reference solutions pass, each typical mistake is caught at the right
intermediate with its own hint, stubs are "not attempted", and the training-loop check re-runs a loop
and tells a forgotten zero_grad, eval() or train(), missing early stopping or restore apart."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import (check_backward_by_hand, check_batchnorm_backward_steps, check_head_backward,
                                check_loss_backward, check_train_loop)


def stub(*args):
    raise NotImplementedError


# ---- reference solutions (as in the notebook) ------------------------------------------------

def head_backward(dlogits, c):
    dh = dlogits @ c["W2"].T
    return {"dh": dh, "dW2": c["h"].T @ dlogits, "db2": dlogits.sum(axis=0), "dhpreact": (1 - c["h"] ** 2) * dh}


def loss_backward(c):
    n = len(c["y"])
    dlogprobs = np.zeros_like(c["logprobs"])
    dlogprobs[np.arange(n), c["y"]] = -1.0 / n
    dprobs = dlogprobs / c["probs"]
    dcounts_sum_inv = (c["counts"] * dprobs).sum(axis=1, keepdims=True)
    dcounts_sum = -c["counts_sum"] ** -2 * dcounts_sum_inv
    dcounts = c["counts_sum_inv"] * dprobs + dcounts_sum
    dnorm_logits = c["counts"] * dcounts
    dlogit_maxes = -dnorm_logits.sum(axis=1, keepdims=True)
    dlogits = dnorm_logits.copy()
    dlogits[np.arange(n), c["logits"].argmax(axis=1)] += dlogit_maxes[:, 0]
    return {"dlogprobs": dlogprobs, "dprobs": dprobs, "dcounts_sum_inv": dcounts_sum_inv,
            "dcounts_sum": dcounts_sum, "dcounts": dcounts, "dnorm_logits": dnorm_logits,
            "dlogit_maxes": dlogit_maxes, "dlogits": dlogits}


def batchnorm_backward_steps(dhpreact, c):
    n = dhpreact.shape[0]
    dbnraw = c["gamma"] * dhpreact
    dbnvar_inv = (c["bndiff"] * dbnraw).sum(axis=0, keepdims=True)
    dbnvar = -0.5 * (c["bnvar"] + c["eps"]) ** -1.5 * dbnvar_inv
    dbndiff2 = np.ones_like(c["bndiff2"]) / n * dbnvar
    dbndiff = c["bnvar_inv"] * dbnraw + 2 * c["bndiff"] * dbndiff2
    dbnmeani = -dbndiff.sum(axis=0, keepdims=True)
    return {"dgamma": (c["bnraw"] * dhpreact).sum(axis=0), "dbeta": dhpreact.sum(axis=0), "dbnraw": dbnraw,
            "dbnvar_inv": dbnvar_inv, "dbnvar": dbnvar, "dbndiff2": dbndiff2, "dbndiff": dbndiff,
            "dbnmeani": dbnmeani, "dhprebn": dbndiff + dbnmeani / n}


def backward_by_hand(c):
    grads = loss_backward(c)
    grads.update(head_backward(grads["dlogits"], c))
    grads.update(batchnorm_backward_steps(grads["dhpreact"], c))
    grads["dW1"] = c["x"].T @ grads["dhprebn"]
    grads["db1"] = grads["dhprebn"].sum(axis=0)
    return grads


def changed(solution, key, wrong):
    """``solution`` with one gradient replaced by ``wrong(grads, c, args)``."""
    def student(*args):
        grads = solution(*args)
        grads[key] = wrong(grads, args[-1], args)
        return grads
    return student


def n_of(c):
    return len(c["y"])


# ---- the three steps -----------------------------------------------------------------------

@pytest.mark.parametrize("check, solution", [
    (check_head_backward, head_backward), (check_loss_backward, loss_backward),
    (check_batchnorm_backward_steps, batchnorm_backward_steps), (check_backward_by_hand, backward_by_hand),
], ids=["head", "loss", "batchnorm", "whole"])
def test_reference_passes_and_stub_is_not_attempted(check, solution):
    verdict = check(solution)
    assert verdict and "numerical gradients" in verdict.message, verdict
    assert check(stub).status == "not attempted"


@pytest.mark.parametrize("check, student, first_wrong, hint", [
    (check_head_backward, changed(head_backward, "dhpreact", lambda g, c, a: (1 - c["hpreact"] ** 2) * g["dh"]),
     "dhpreact", "not its input hpreact"),
    (check_head_backward, changed(head_backward, "dhpreact", lambda g, c, a: g["dh"]),
     "dhpreact", "tanh's local derivative"),
    (check_head_backward, changed(head_backward, "db2", lambda g, c, a: a[0].mean(axis=0)),
     "db2", "batch size"),
    (check_head_backward, changed(head_backward, "dW2", lambda g, c, a: a[0].T @ c["h"]),
     "dW2", "transposed"),
    (check_loss_backward, changed(loss_backward, "dlogprobs",
                                  lambda g, c, a: np.full_like(c["logprobs"], -1 / n_of(c))),
     "dlogprobs", "own label"),
    (check_loss_backward, changed(loss_backward, "dlogprobs", lambda g, c, a: g["dlogprobs"] * n_of(c)),
     "dlogprobs", "divide by N"),
    (check_loss_backward, changed(loss_backward, "dprobs", lambda g, c, a: g["dlogprobs"] * c["probs"]),
     "dprobs", "1/p"),
    (check_loss_backward, changed(loss_backward, "dcounts_sum_inv", lambda g, c, a: c["counts"] * g["dprobs"]),
     "dcounts_sum_inv", "broadcast (copied)"),
    (check_loss_backward, changed(loss_backward, "dcounts_sum", lambda g, c, a: -g["dcounts_sum"]),
     "dcounts_sum", "sign is flipped"),
    (check_loss_backward, changed(loss_backward, "dcounts", lambda g, c, a: c["counts_sum_inv"] * g["dprobs"]),
     "dcounts", "only the gradient along the path through probs"),
    (check_loss_backward, changed(loss_backward, "dnorm_logits", lambda g, c, a: g["dcounts"]),
     "dnorm_logits", "local derivative too"),
    (check_loss_backward, changed(loss_backward, "dlogit_maxes", lambda g, c, a: -g["dnorm_logits"]),
     "dlogit_maxes", "broadcast (copied)"),
    (check_batchnorm_backward_steps, changed(batchnorm_backward_steps, "dgamma", lambda g, c, a: c["bnraw"] * a[0]),
     "dgamma", "broadcast (copied)"),
    (check_batchnorm_backward_steps, changed(batchnorm_backward_steps, "dbnvar",
                                             lambda g, c, a: -0.5 * (c["bnvar"] + c["eps"]) ** -0.5 * g["dbnvar_inv"]),
     "dbnvar", "−3/2"),
    (check_batchnorm_backward_steps, changed(batchnorm_backward_steps, "dbndiff2",
                                             lambda g, c, a: g["dbndiff2"] * n_of(c) / (n_of(c) - 1)),
     "dbndiff2", "not 1/(N − 1)"),
    (check_batchnorm_backward_steps, changed(batchnorm_backward_steps, "dbndiff",
                                             lambda g, c, a: c["bnvar_inv"] * g["dbnraw"]),
     "dbndiff", "only the gradient along the path through bnraw"),
    (check_batchnorm_backward_steps, changed(batchnorm_backward_steps, "dhprebn", lambda g, c, a: g["dbndiff"]),
     "dhprebn", "only the gradient along the path through bndiff"),
    (check_batchnorm_backward_steps, changed(batchnorm_backward_steps, "dhprebn",
                                             lambda g, c, a: g["dbndiff"] + g["dbnmeani"]),
     "dhprebn", "1/N of its gradient"),
    (check_backward_by_hand, changed(backward_by_hand, "dW1", lambda g, c, a: g["dhprebn"].T @ c["x"]),
     "dW1", "transposed"),
    (check_backward_by_hand, changed(backward_by_hand, "dcounts", lambda g, c, a: c["counts_sum_inv"] * g["dprobs"]),
     "dcounts", "path through probs"),
], ids=["tanh-of-input", "no-tanh", "db2-mean", "dW2-transposed", "dlogprobs-everywhere", "dlogprobs-no-mean",
        "dprobs-times-p", "dcounts_sum_inv-not-summed", "dcounts_sum-sign", "dcounts-one-path",
        "dnorm_logits-no-exp", "dlogit_maxes-not-summed", "dgamma-not-summed", "dbnvar-exponent",
        "dbndiff2-bessel", "dbndiff-one-path", "dhprebn-one-path", "dhprebn-no-1/N", "dW1-transposed",
        "whole-dcounts-one-path"])
def test_typical_mistake_named_at_its_intermediate_with_its_hint(check, student, first_wrong, hint):
    verdict = check(student)
    assert verdict.status == "wrong", verdict
    assert f": {first_wrong} " in verdict.message, verdict
    assert hint in verdict.hint, verdict


def test_a_wrong_step_is_named_as_the_first_wrong_one_even_when_later_ones_are_wrong_too():
    # a wrong dprobs makes everything after it wrong as well: the verdict names dprobs
    def student(c):
        grads = loss_backward({**c, "probs": c["probs"] * 2})
        grads["dlogprobs"] = loss_backward(c)["dlogprobs"]
        return grads
    verdict = check_loss_backward(student)
    assert "dprobs is the first wrong intermediate (dlogprobs before it is right)" in verdict.message


def test_odd_returns_get_a_kind_verdict():
    assert "returned None" in check_head_backward(lambda d, c: None).message
    assert "expected a dict" in check_loss_backward(lambda c: tuple(loss_backward(c).values())).message
    missing = check_backward_by_hand(lambda c: {k: v for k, v in backward_by_hand(c).items() if k != "dW1"})
    assert "no 'dW1'" in missing.message
    assert check_head_backward(lambda d, c: {**head_backward(d, c), "dh": "oops"}).status == "wrong"
    nan = check_head_backward(lambda d, c: {**head_backward(d, c), "dW2": np.full_like(c["W2"], np.nan)})
    assert "NaN" in nan.message


def test_the_student_cannot_corrupt_the_forward_pass_the_check_compares_with():
    def vandal(dlogits, c):
        out = head_backward(dlogits, c)
        c["h"][...] = 0.0                            # mutates the arrays it was given
        return out
    assert check_head_backward(vandal)


# ---- the training loop ---------------------------------------------------------------------

def make_loop(zero_grad=True, eval_mode=True, train_mode=True, early_stop=True, patience_used=True,
              restore="all", lr=1e-2, use_fit=False, returns="history"):
    """The reference loop, with one of the typical mistakes switched on."""
    def train_loop(model, train, val, rng, max_epochs=30, patience=3):
        loss_fn = bp.SoftmaxCrossEntropy()
        optimizer = bp.Adam(model.parameters(), lr=lr)
        if use_fit:
            bp.fit(model, loss_fn, optimizer, train, val, epochs=2, batch_size=64, rng=rng, progress=False)
        norms = [layer for layer in model.walk() if isinstance(layer, bp.BatchNorm1d)]

        def state():
            return ([p.data.copy() for p in model.parameters()],
                    [(bn.running_mean.copy(), bn.running_var.copy()) for bn in norms])
        x, y = train
        history, best_loss, best_state, waited = [], np.inf, None, 0
        for epoch in range(max_epochs):
            if train_mode or epoch == 0:
                model.train()
            losses = []
            for xb, yb in bp.data.batches(x, y, 64, rng=rng):
                losses.append(loss_fn.forward(model.forward(xb), yb))
                if zero_grad:
                    optimizer.zero_grad()
                model.backward(loss_fn.backward())
                optimizer.step()
            if eval_mode:
                model.eval()
            logits = model.forward(val[0])
            val_loss = loss_fn.forward(logits, val[1])
            history.append({"train_loss": float(np.mean(losses)), "val_loss": val_loss,
                            "val_acc": float(np.mean(logits.argmax(axis=1) == val[1]))})
            if val_loss < best_loss:
                best_loss, best_state, waited = val_loss, state(), 0
            else:
                waited = waited + 1 if patience_used else patience
                if early_stop and waited >= patience:
                    break
        params, stats = best_state
        if restore in ("all", "weights"):
            for p, saved in zip(model.parameters(), params):
                p.data[...] = saved
        if restore == "all":
            for bn, (mean, var) in zip(norms, stats):
                bn.running_mean, bn.running_var = mean, var
        return {"history": history, "none": None, "object": bp.History()}[returns]
    return train_loop


def test_reference_loop_passes_with_95_percent():
    verdict = check_train_loop(make_loop())
    assert verdict, verdict
    accuracy = float(verdict.message.split("% test accuracy")[0].split()[-1])
    assert accuracy >= 95.0


@pytest.mark.parametrize("kwargs, text", [
    (dict(zero_grad=False), "zero the gradients once per step"),
    (dict(eval_mode=False), "call model.eval() before evaluating"),
    (dict(train_mode=False), "switch back with model.train()"),
    (dict(use_fit=True), "your own loop"),
    (dict(early_stop=False), "stop when the epochs since the best"),
    (dict(patience_used=False), "a single worse epoch is not enough"),
    (dict(restore="none"), "you returned the last epoch's model"),
    (dict(restore="weights"), "running_mean and running_var"),
    (dict(lr=1e-6), "raise the learning rate"),
    (dict(returns="none"), "list you appended"),
    (dict(returns="object"), "list you appended"),
], ids=["no-zero_grad", "no-eval", "no-train", "uses-fit", "no-early-stopping", "patience-ignored",
        "no-restore", "restores-weights-only", "lr-too-small", "returns-None", "returns-object"])
def test_loop_mistakes_are_diagnosed(kwargs, text):
    verdict = check_train_loop(make_loop(**kwargs))
    assert verdict.status == "wrong", verdict
    assert text in (verdict.hint or ""), verdict


def test_loop_stub_and_crash():
    assert check_train_loop(stub).status == "not attempted"

    def crashes(model, train, val, rng, max_epochs=30, patience=3):
        model.forward(train[0][:1])                   # BatchNorm refuses a batch of one in training mode
    verdict = check_train_loop(crashes)
    assert verdict.status == "wrong" and "ValueError" in verdict.message and "at least 2 samples" in verdict.message
