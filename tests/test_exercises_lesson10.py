"""The lesson-10 checks: pass the reference solutions, catch the typical mistakes with the intended hint,
report stubs as not attempted and survive broken answers."""
import math

import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import lesson10


def stub(*args):
    raise NotImplementedError


# -- 1. the pick of a learning-rate range test (reference as in the notebook, then mistakes) ---

def pick_ref(lrs, losses, beta=0.9):
    avg, best, best_lr = 0.0, math.inf, None
    for i, (lr, loss) in enumerate(zip(lrs, losses)):
        if not np.isfinite(loss):
            break
        avg = beta * avg + (1 - beta) * loss
        smoothed = avg / (1 - beta ** (i + 1))
        if smoothed > 4 * best:
            break
        if smoothed < best:
            best, best_lr = smoothed, lr
    return best_lr / 10


def pick_raw(lrs, losses):
    losses = np.where(np.isfinite(losses), losses, np.inf)
    return lrs[int(np.argmin(losses))] / 10


def pick_no_divide(lrs, losses):
    return pick_ref(lrs, losses) * 10


def pick_uncorrected(lrs, losses, beta=0.9):
    avg, best, best_lr = 0.0, math.inf, None
    for lr, loss in zip(lrs, losses):
        if not np.isfinite(loss):
            break
        avg = beta * avg + (1 - beta) * loss
        if avg > 4 * best:
            break
        if avg < best:
            best, best_lr = avg, lr
    return best_lr / 10


def pick_no_stop(lrs, losses, beta=0.9):
    avg, best, best_lr = 0.0, math.inf, None
    for i, (lr, loss) in enumerate(zip(lrs, losses)):
        if not np.isfinite(loss):
            break
        avg = beta * avg + (1 - beta) * loss
        smoothed = avg / (1 - beta ** (i + 1))
        if smoothed < best:
            best, best_lr = smoothed, lr
    return best_lr / 10


def pick_nan_argmin(lrs, losses):
    return lrs[int(np.argmin(losses))] / 10          # NaN wins np.argmin


def pick_index(lrs, losses):
    return float(np.argmin(np.where(np.isfinite(losses), losses, np.inf)))


def test_range_rule_is_independent_of_the_reference():
    """The check's rule (lesson10.range_pick) and the notebook's loop agree on every case, and the cases
    really separate the mistakes (each differs from the right answer somewhere)."""
    cases = lesson10._range_cases()
    for _, lrs, losses in cases:
        assert lesson10.range_pick(lrs, losses) == pytest.approx(pick_ref(lrs, losses), rel=1e-12)
    for wrong in (pick_raw, pick_no_divide, pick_uncorrected, pick_no_stop, pick_nan_argmin, pick_index):
        assert any(not np.isclose(wrong(l, s), pick_ref(l, s)) for _, l, s in cases), wrong.__name__


def test_range_pick_lands_below_the_bottom_of_the_curve():
    """A property, not the rule again: the pick is a tenth of an lr within the falling part near the minimum."""
    for _, lrs, losses in lesson10._range_cases()[:1]:
        finite = np.where(np.isfinite(losses), losses, np.inf)
        low = lrs[np.argmin(finite)]
        assert low / 30 < pick_ref(lrs, losses) < low / 3


def test_range_reference_passes():
    assert bp.exercises.check_lr_from_range_test(pick_ref)


@pytest.mark.parametrize("wrong, words", [
    (pick_raw, "RAW loss"),
    (pick_no_divide, "divide it by 10"),
    (pick_uncorrected, "bias correction"),
    (pick_no_stop, "4 × its lowest"),
    (pick_nan_argmin, "NaN won"),
    (pick_index, "an index"),
])
def test_range_mistakes_get_their_hint(wrong, words):
    verdict = bp.exercises.check_lr_from_range_test(wrong)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_range_stub_and_broken_answers():
    assert bp.exercises.check_lr_from_range_test(stub).status == "not attempted"
    assert bp.exercises.check_lr_from_range_test(lambda l, s: None).status == "wrong"
    assert bp.exercises.check_lr_from_range_test(lambda l, s: l).status == "wrong"
    assert bp.exercises.check_lr_from_range_test(lambda l, s: "0.01").status == "wrong"


# -- 2. SGD with clipping in a training loop --------------------------------------------------

def clip_train_ref(model, loss_fn, batches, lr, max_norm):
    norms = []
    for x, y in batches:
        model.zero_grad()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        params = model.parameters()
        total = math.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params))
        scale = min(1.0, max_norm / (total + 1e-6))
        for p in params:
            p.data -= lr * scale * p.grad
        norms.append(total)
    return norms


def clip_train_package(model, loss_fn, batches, lr, max_norm):
    """The same with the package's own tools: an independent implementation."""
    opt, norms = bp.SGD(model.parameters(), lr=lr), []
    for x, y in batches:
        opt.zero_grad()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        norms.append(bp.clip_grad_norm(model.parameters(), max_norm))
        opt.step()
    return norms


def clip_train_variant(mistake):
    def train(model, loss_fn, batches, lr, max_norm):
        norms = []
        for x, y in batches:
            if mistake != "accumulate":
                model.zero_grad()
            loss_fn.forward(model.forward(x), y)
            model.backward(loss_fn.backward())
            params = model.parameters()
            total = math.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params))
            for p in params:
                g = p.grad
                if mistake == "per_array":
                    g = g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
                elif mistake == "value":
                    g = np.clip(g, -max_norm, max_norm)
                elif mistake == "always":
                    g = g * max_norm / (total + 1e-6)
                elif mistake != "no_clip":
                    g = g * min(1.0, max_norm / (total + 1e-6))
                p.data -= lr * g
            norms.append(min(total, max_norm) if mistake == "norm_after" else total)
        return norms
    train.__name__ = f"clip_{mistake}"
    return train


def test_clip_reference_and_package_pass():
    assert bp.exercises.check_train_with_clipping(clip_train_ref)
    assert bp.exercises.check_train_with_clipping(clip_train_package)


@pytest.mark.parametrize("mistake, words", [
    ("accumulate", "zero the gradients"),
    ("per_array", "ONE total norm"),
    ("no_clip", "scale every gradient"),
    ("always", "only SHRINKS"),
    ("value", "clipping by value"),
    ("norm_after", "BEFORE"),
])
def test_clip_mistakes_get_their_hint(mistake, words):
    verdict = bp.exercises.check_train_with_clipping(clip_train_variant(mistake))
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_clip_wrong_sign_and_broken_answers():
    def ascent(model, loss_fn, batches, lr, max_norm):
        return clip_train_ref(model, loss_fn, batches, -lr, max_norm)
    assert bp.exercises.check_train_with_clipping(ascent).status == "wrong"
    assert bp.exercises.check_train_with_clipping(stub).status == "not attempted"
    assert bp.exercises.check_train_with_clipping(lambda *a: None).status == "wrong"
    assert "one per batch" in bp.exercises.check_train_with_clipping(lambda *a: [1.0]).message
    assert bp.exercises.check_train_with_clipping(lambda *a: 1 / 0).status == "wrong"


# -- 3. one step of backpropagation through time ----------------------------------------------

def step_ref(dh, h, h_prev, x, W_ih, W_hh):
    da = dh * (1 - h ** 2)
    return da @ W_ih.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def step_from_layer(dh, h, h_prev, x, W_ih, W_hh):
    """Independent: bp.RNN on a one-step sequence whose h_0 is h_prev cannot be set, so rebuild the
    step with the package's Linear layers and Tanh and let their backward passes do the work."""
    lin_x, lin_h = bp.Linear(*W_ih.shape, rng=np.random.default_rng(0)), bp.Linear(*W_hh.shape, bias=False,
                                                                                  rng=np.random.default_rng(0))
    lin_x.weight.data[...], lin_h.weight.data[...] = W_ih, W_hh
    a = np.arctanh(np.clip(h, -1 + 1e-15, 1 - 1e-15))
    lin_x.bias.data[...] = (a - x @ W_ih - h_prev @ W_hh).mean(axis=0)
    tanh = bp.Tanh()
    tanh.forward(lin_x.forward(x) + lin_h.forward(h_prev))
    da = tanh.backward(dh)
    dx, dh_prev = lin_x.backward(da), lin_h.backward(da)
    return dx, dh_prev, lin_x.weight.grad, lin_h.weight.grad, lin_x.bias.grad


def step_variant(kind):
    def f(dh, h, h_prev, x, W_ih, W_hh):
        da = {"no_slope": dh, "prev_slope": dh * (1 - h_prev ** 2), "double_tanh": dh * (1 - np.tanh(h) ** 2),
              "unsquared": dh * (1 - h)}.get(kind, dh * (1 - h ** 2))
        dx, dh_prev, dwi, dwh, db = da @ W_ih.T, da @ W_hh.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
        if kind == "untransposed":
            dh_prev = da @ W_hh
        if kind == "h_not_prev":
            dwh = h.T @ da
        if kind == "db_unsummed":
            db = da
        if kind == "dwh_transposed":
            dwh = da.T @ h_prev
        return dx, dh_prev, dwi, dwh, db
    return f


def test_step_reference_passes_and_matches_the_layers():
    assert bp.exercises.check_rnn_step_backward(step_ref)
    assert bp.exercises.check_rnn_step_backward(step_from_layer)


@pytest.mark.parametrize("kind, words", [
    ("no_slope", "from h back to a is missing"),
    ("prev_slope", "not h_prev"),
    ("double_tanh", "already tanh(a)"),
    ("unsquared", "with h squared"),
    ("untransposed", "TRANSPOSE"),
    ("h_not_prev", "PREVIOUS state"),
    ("db_unsummed", "sum over the batch axis"),
    ("dwh_transposed", "transpose"),
])
def test_step_mistakes_get_their_hint(kind, words):
    verdict = bp.exercises.check_rnn_step_backward(step_variant(kind))
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_step_stub_and_broken_answers():
    assert bp.exercises.check_rnn_step_backward(stub).status == "not attempted"
    assert bp.exercises.check_rnn_step_backward(lambda *a: None).status == "wrong"
    assert "five arrays" in bp.exercises.check_rnn_step_backward(lambda *a: (1, 2)).message
    assert bp.exercises.check_rnn_step_backward(lambda *a: ("a",) * 5).status == "wrong"


# -- 4. backpropagation through time ----------------------------------------------------------

def bptt_ref(dh_last, xs, hs, W_ih, W_hh):
    dxs = np.zeros_like(xs)
    dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
    dh = dh_last
    for t in range(xs.shape[1], 0, -1):
        dx, dh, dwi, dwh, dbt = step_ref(dh, hs[:, t], hs[:, t - 1], xs[:, t - 1], W_ih, W_hh)
        dxs[:, t - 1] = dx
        dW_ih += dwi
        dW_hh += dwh
        db += dbt
    return dxs, dW_ih, dW_hh, db


def bptt_variant(kind):
    def f(dh_last, xs, hs, W_ih, W_hh):
        dxs = np.zeros_like(xs)
        dW_ih, dW_hh, db = np.zeros_like(W_ih), np.zeros_like(W_hh), np.zeros(W_hh.shape[0])
        dh = dh_last
        for t in range(xs.shape[1], 0, -1):
            dx, dh_prev, dwi, dwh, dbt = step_ref(dh, hs[:, t], hs[:, t - 1], xs[:, t - 1], W_ih, W_hh)
            dxs[:, xs.shape[1] - t if kind == "reversed" else t - 1] = dx
            if kind == "overwrite":
                dW_ih, dW_hh, db = dwi, dwh, dbt
            elif kind == "last_only" and t < xs.shape[1]:
                pass
            else:
                dW_ih, dW_hh, db = dW_ih + dwi, dW_hh + dwh, db + dbt
            dh = dh_last if kind == "no_carry" else dh_prev
        return dxs, dW_ih, dW_hh, db
    return f


def test_bptt_reference_passes():
    assert bp.exercises.check_bptt(bptt_ref)


def test_bptt_reference_matches_the_package_layer():
    """bp.RNN (h_0 = 0) and the notebook's BPTT give the same weight and input gradients."""
    rng = np.random.default_rng(4)
    rnn = bp.RNN(3, 4, return_sequences=False, gain=1.3, rng=rng)
    rnn.bias.data[...] = rng.standard_normal(4)
    xs, dh = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4))
    rnn.forward(xs)
    dxs = rnn.backward(dh)
    hs = lesson10.rnn_last_state(xs, np.zeros((2, 4)), rnn.weight_ih.data, rnn.weight_hh.data, rnn.bias.data)
    mine = bptt_ref(dh, xs, hs, rnn.weight_ih.data, rnn.weight_hh.data)
    for got, want in zip(mine, (dxs, rnn.weight_ih.grad, rnn.weight_hh.grad, rnn.bias.grad)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind, words", [
    ("reversed", "reversed in time"),
    ("overwrite", "overwritten"),
    ("last_only", "last step's share"),
    ("no_carry", "carry it"),
])
def test_bptt_mistakes_get_their_hint(kind, words):
    verdict = bp.exercises.check_bptt(bptt_variant(kind))
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_bptt_stub_and_broken_answers():
    assert bp.exercises.check_bptt(stub).status == "not attempted"
    assert bp.exercises.check_bptt(lambda *a: None).status == "wrong"
    assert bp.exercises.check_bptt(lambda *a: (1, 2, 3)).status == "wrong"
