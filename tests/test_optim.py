"""Optimizers, clipping and schedules, checked against their update formulas.

Each optimizer runs a few steps on the quadratic loss f(p) = 1/2 p.A.p - b.p
(gradient A p - b) and is compared with a reference written here from the
documented torch.optim formulas, one scalar at a time in plain Python, so it
shares no code (and no vectorised shortcut) with bpcourse.optim.
"""
import math

import numpy as np
import pytest

from bpcourse.core import Parameter
from bpcourse.optim import (
    SGD, Adagrad, Adam, AdamW, CosineAnnealingLR, RMSprop, StepLR, clip_grad_norm, clip_grad_value,
)

A = [[3.0, 0.5, 0.0],
     [0.5, 2.0, -0.3],
     [0.0, -0.3, 0.7]]          # symmetric positive definite
B = [1.0, -2.0, 0.5]
P0 = [0.8, -1.5, 2.0]
STEPS = 5


def grad_at(p):
    """dL/dp of the quadratic loss, one coordinate at a time."""
    return [sum(A[i][j] * p[j] for j in range(3)) - B[i] for i in range(3)]


def run(opt_cls, steps=STEPS, **hyper):
    """Positions after each of `steps` optimizer steps on the quadratic loss."""
    p = Parameter(np.array(P0))
    opt = opt_cls([p], **hyper)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        p.grad += np.array(A) @ p.data - np.array(B)
        opt.step()
        trajectory.append(p.data.copy())
    return np.array(trajectory)


# ---- reference updates, scalar by scalar, straight from the formulas ------------------

def ref_sgd(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    p, buf, out = list(P0), [None] * 3, []
    for _ in range(STEPS):
        g = grad_at(p)
        for i in range(3):
            gi = g[i] + weight_decay * p[i]
            if momentum != 0:
                buf[i] = gi if buf[i] is None else momentum * buf[i] + (1 - dampening) * gi
                gi = gi + momentum * buf[i] if nesterov else buf[i]
            p[i] = p[i] - lr * gi
        out.append(list(p))
    return out


def ref_adagrad(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    p, acc, out = list(P0), [initial_accumulator_value] * 3, []
    for t in range(1, STEPS + 1):
        g = grad_at(p)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        for i in range(3):
            gi = g[i] + weight_decay * p[i]
            acc[i] = acc[i] + gi ** 2
            p[i] = p[i] - lr_t * gi / (math.sqrt(acc[i]) + eps)
        out.append(list(p))
    return out


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    p, out = list(P0), []
    sq, avg, buf = [0.0] * 3, [0.0] * 3, [0.0] * 3
    for _ in range(STEPS):
        g = grad_at(p)
        for i in range(3):
            gi = g[i] + weight_decay * p[i]
            sq[i] = alpha * sq[i] + (1 - alpha) * gi ** 2
            var = sq[i]
            if centered:
                avg[i] = alpha * avg[i] + (1 - alpha) * gi
                var = sq[i] - avg[i] ** 2
            if momentum > 0:
                buf[i] = momentum * buf[i] + gi / (math.sqrt(var) + eps)
                p[i] = p[i] - lr * buf[i]
            else:
                p[i] = p[i] - lr * gi / (math.sqrt(var) + eps)
        out.append(list(p))
    return out


def ref_adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False):
    b1, b2 = betas
    p, m, v, out = list(P0), [0.0] * 3, [0.0] * 3, []
    for t in range(1, STEPS + 1):
        g = grad_at(p)
        for i in range(3):
            if decoupled:
                p[i] = p[i] - lr * weight_decay * p[i]
                gi = g[i]
            else:
                gi = g[i] + weight_decay * p[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi ** 2
            m_hat = m[i] / (1 - b1 ** t)
            v_hat = v[i] / (1 - b2 ** t)
            p[i] = p[i] - lr * m_hat / (math.sqrt(v_hat) + eps)
        out.append(list(p))
    return out


# ---- each optimizer against its reference ----------------------------------------------

@pytest.mark.parametrize("hyper", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.2),
    dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True),
], ids=repr)
def test_sgd_matches_formula(hyper):
    np.testing.assert_allclose(run(SGD, **hyper), ref_sgd(**hyper), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("hyper", [
    dict(lr=0.5),
    dict(lr=0.5, lr_decay=0.3),
    dict(lr=0.5, weight_decay=0.2),
    dict(lr=0.5, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.4, eps=1e-3),
], ids=repr)
def test_adagrad_matches_formula(hyper):
    np.testing.assert_allclose(run(Adagrad, **hyper), ref_adagrad(**hyper), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("hyper", [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, centered=True),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, alpha=0.8, eps=1e-3, weight_decay=0.1, momentum=0.5, centered=True),
], ids=repr)
def test_rmsprop_matches_formula(hyper):
    np.testing.assert_allclose(run(RMSprop, **hyper), ref_rmsprop(**hyper), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("hyper", [
    dict(lr=0.1),
    dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3),
    dict(lr=0.1, weight_decay=0.3),
], ids=repr)
def test_adam_matches_formula(hyper):
    np.testing.assert_allclose(run(Adam, **hyper), ref_adam(**hyper), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("hyper", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.3, betas=(0.8, 0.9))], ids=repr)
def test_adamw_matches_formula(hyper):
    expected = ref_adam(**{"weight_decay": 1e-2, **hyper}, decoupled=True)   # AdamW's default decay is 1e-2
    np.testing.assert_allclose(run(AdamW, **hyper), expected, rtol=1e-12, atol=1e-14)


def test_adamw_decoupled_decay_differs_from_adam_l2():
    l2, decoupled = run(Adam, lr=0.1, weight_decay=0.3), run(AdamW, lr=0.1, weight_decay=0.3)
    assert np.abs(l2 - decoupled).max() > 1e-3
    np.testing.assert_allclose(run(Adam, lr=0.1), run(AdamW, lr=0.1, weight_decay=0.0), rtol=1e-15)


def test_adam_bias_correction_makes_first_step_lr_times_sign():
    # without bias correction the first step would be lr * 0.1 / sqrt(0.001) ≈ 3.2 * lr
    g = np.array([1e-3, -0.5, 7.0, -300.0])
    p = Parameter(np.zeros(4))
    p.grad[...] = g
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.data, -0.01 * np.sign(g), rtol=1e-4)


# ---- first steps worked out by hand --------------------------------------------------

def one_param(data, grad):
    p = Parameter(np.array(data, dtype=float))
    p.grad[...] = grad
    return p


def test_sgd_momentum_by_hand():
    p = one_param([1.0, -2.0], [0.5, 0.25])
    opt = SGD([p], lr=0.1, momentum=0.9)
    opt.step()   # buf = g = [0.5, 0.25]; p = [1 - 0.05, -2 - 0.025]
    np.testing.assert_allclose(p.data, [0.95, -2.025])
    opt.step()   # buf = 0.9 * 0.5 + 0.5 = 0.95, 0.9 * 0.25 + 0.25 = 0.475; p -= 0.1 * buf
    np.testing.assert_allclose(p.data, [0.855, -2.0725])


def test_sgd_nesterov_by_hand():
    p = one_param([1.0], [0.5])
    SGD([p], lr=0.1, momentum=0.9, nesterov=True).step()
    # buf = 0.5; g = 0.5 + 0.9 * 0.5 = 0.95; p = 1 - 0.095
    np.testing.assert_allclose(p.data, [0.905])


def test_adagrad_by_hand():
    p = one_param([1.0, -2.0], [3.0, -4.0])
    opt = Adagrad([p], lr=0.1)
    opt.step()   # sum = [9, 16], sqrt = [3, 4]: p -= 0.1 * [3/3, -4/4]
    np.testing.assert_allclose(p.data, [0.9, -1.9])
    opt.step()   # sum = [18, 32]: steps 0.1 * 3 / sqrt(18) = 0.1 / sqrt(2) = 0.0707107 (and -4 / sqrt(32) likewise)
    np.testing.assert_allclose(p.data, [0.8292893, -1.8292893], rtol=1e-7)


def test_rmsprop_by_hand():
    p = one_param([1.0], [2.0])
    RMSprop([p], lr=0.01, alpha=0.99).step()
    # v = 0.01 * 4 = 0.04, sqrt(v) = 0.2; p = 1 - 0.01 * 2 / 0.2 = 1 - 0.1
    np.testing.assert_allclose(p.data, [0.9])
    p = one_param([1.0], [2.0])
    RMSprop([p], lr=0.01, alpha=0.99, centered=True).step()
    # g_avg = 0.02; v - g_avg**2 = 0.04 - 0.0004 = 0.0396, sqrt = 0.1989975; step = 0.02 / 0.1989975 = 0.1005038
    np.testing.assert_allclose(p.data, [0.8994962], rtol=1e-7)


def test_adam_and_adamw_by_hand():
    p = one_param([1.0], [0.5])
    Adam([p], lr=0.1, weight_decay=0.5).step()
    # L2: g = 0.5 + 0.5 * 1 = 1; first bias-corrected step is lr * sign(g): p = 0.9
    np.testing.assert_allclose(p.data, [0.9], rtol=1e-7)
    p = one_param([1.0], [0.5])
    AdamW([p], lr=0.1, weight_decay=0.5).step()
    # decoupled: p = 1 * (1 - 0.1 * 0.5) = 0.95, then the Adam step 0.1 * sign(0.5): p = 0.85
    np.testing.assert_allclose(p.data, [0.85], rtol=1e-7)


# ---- parameter groups, frozen parameters, zero_grad -----------------------------------

def test_each_group_moves_by_its_own_lr_and_inherits_defaults():
    body, head = one_param([1.0, 1.0], 1.0), one_param([1.0], 1.0)
    opt = SGD([{"params": [body], "lr": 0.01}, {"params": [head]}], lr=0.1, momentum=0.5)
    opt.step()
    np.testing.assert_allclose(body.data, [0.99, 0.99])
    np.testing.assert_allclose(head.data, [0.9])
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.5]
    assert opt.defaults["lr"] == 0.1


def test_group_overrides_any_hyperparameter():
    a, b = one_param([0.0], 1.0), one_param([0.0], 1.0)
    opt = SGD([{"params": [a]}, {"params": [b], "momentum": 0.9}], lr=0.1)
    for _ in range(2):
        opt.step()
    np.testing.assert_allclose(a.data, [-0.2])                 # plain: 0.1 + 0.1
    np.testing.assert_allclose(b.data, [-0.1 - 0.1 * 1.9])     # buf = 1, then 0.9 + 1


@pytest.mark.parametrize("opt_cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_frozen_parameters_are_untouched_and_get_no_state(opt_cls):
    frozen = Parameter(np.array([1.0, 2.0]), trainable=False)
    live = Parameter(np.array([1.0, 2.0]))
    frozen.grad[...] = live.grad[...] = 1.0
    opt = opt_cls([frozen, live], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(frozen.data, [1.0, 2.0])
    assert frozen not in opt.state
    assert live in opt.state and np.all(live.data < [1.0, 2.0])


def test_a_parameter_listed_twice_is_stepped_once():
    p = one_param([1.0], 1.0)
    SGD([p, p], lr=0.1).step()            # e.g. a shared layer appearing twice in parameters()
    np.testing.assert_allclose(p.data, [0.9])


def test_zero_grad_zeros_in_place():
    p, q = one_param([1.0, 2.0], [3.0, 4.0]), one_param([[1.0]], 5.0)
    grads = p.grad, q.grad
    SGD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1).zero_grad()
    assert p.grad is grads[0] and q.grad is grads[1]
    assert not p.grad.any() and not q.grad.any()


# ---- gradient clipping ------------------------------------------------------------------

def test_clip_grad_norm_by_hand():
    p, q = one_param([0.0, 0.0], [3.0, 4.0]), one_param([0.0], [12.0])
    total = clip_grad_norm([p, q], max_norm=6.5)
    assert total == pytest.approx(13.0)            # sqrt(9 + 16 + 144)
    assert isinstance(total, float)
    np.testing.assert_allclose(p.grad, [1.5, 2.0], rtol=1e-6)   # every gradient * 6.5 / 13
    np.testing.assert_allclose(q.grad, [6.0], rtol=1e-6)


def test_clip_grad_norm_result_has_max_norm():
    rng = np.random.default_rng(0)
    params = [one_param(np.zeros(s), rng.standard_normal(s) * 10) for s in [(4, 3), (3,), (2, 2, 2)]]
    before = math.sqrt(sum((p.grad ** 2).sum() for p in params))
    grads = [p.grad for p in params]
    assert clip_grad_norm(iter(params), 1.0) == pytest.approx(before)   # any iterable will do
    after = math.sqrt(sum((p.grad ** 2).sum() for p in params))
    assert after == pytest.approx(1.0, rel=1e-5)
    assert all(p.grad is g for p, g in zip(params, grads))


def test_clip_grad_norm_is_a_no_op_below_max_norm():
    p = one_param([0.0, 0.0], [0.3, -0.4])
    assert clip_grad_norm([p], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(p.grad, [0.3, -0.4])


def test_clip_grad_value():
    p = one_param(np.zeros(5), [-3.0, -0.5, 0.0, 0.9, 2.0])
    g = p.grad
    clip_grad_value([p], 1.0)
    np.testing.assert_array_equal(p.grad, [-1.0, -0.5, 0.0, 0.9, 1.0])
    assert p.grad is g


# ---- learning-rate schedules ------------------------------------------------------------

def two_group_sgd(body_lr=0.01, head_lr=0.1):
    body, head = one_param([0.0], 0.0), one_param([0.0], 0.0)
    return SGD([{"params": [body], "lr": body_lr}, {"params": [head]}], lr=head_lr)


def test_step_lr_per_group():
    opt = two_group_sgd()
    sched = StepLR(opt, step_size=3, gamma=0.5)
    seen = []
    for _ in range(8):
        seen.append(sched.get_last_lr())
        opt.step()
        sched.step()
    # epochs 0-2: base, 3-5: base / 2, 6-7: base / 4
    expected = [[0.01 * 0.5 ** (e // 3), 0.1 * 0.5 ** (e // 3)] for e in range(8)]
    np.testing.assert_allclose(seen, expected, rtol=1e-15)
    assert [g["lr"] for g in opt.param_groups] == sched.get_last_lr() == pytest.approx([0.0025, 0.025])
    assert [g["initial_lr"] for g in opt.param_groups] == [0.01, 0.1]


def test_cosine_annealing_per_group():
    opt = two_group_sgd()
    sched = CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
    lrs = [sched.get_last_lr()]
    for _ in range(10):
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    for t, (body, head) in enumerate(lrs):
        w = (1 + math.cos(math.pi * t / 10)) / 2
        assert body == pytest.approx(0.001 + (0.01 - 0.001) * w)
        assert head == pytest.approx(0.001 + (0.1 - 0.001) * w)
    assert lrs[0] == pytest.approx([0.01, 0.1])
    assert lrs[5] == pytest.approx([(0.01 + 0.001) / 2, (0.1 + 0.001) / 2])   # halfway: the mean
    assert lrs[10] == pytest.approx([0.001, 0.001])


def test_scheduled_lr_is_what_the_optimizer_uses():
    p = one_param([0.0], 1.0)
    opt = SGD([p], lr=1.0)
    sched = StepLR(opt, step_size=1, gamma=0.1)
    for _ in range(3):
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1.0 + 0.1 + 0.01)])


# ---- float32 stays float32 ----------------------------------------------------------------

@pytest.mark.parametrize("opt_cls, hyper", [
    (SGD, dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
    (SGD, dict(momentum=0.9, dampening=0.1)),
    (Adagrad, dict(lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.1)),
    (RMSprop, dict(momentum=0.9, centered=True, weight_decay=0.1)),
    (Adam, dict(weight_decay=0.1)),
    (AdamW, dict()),
], ids=lambda x: getattr(x, "__name__", repr(x)))
def test_float32_stays_float32(opt_cls, hyper):
    rng = np.random.default_rng(1)
    p = Parameter(rng.standard_normal((4, 3)).astype(np.float32))
    data = p.data
    # NumPy float64 hyperparameters (say an lr from np.logspace) must not upcast either
    hyper = {k: np.float64(v) if isinstance(v, float) else v for k, v in hyper.items()}
    opt = opt_cls([p], lr=np.float64(0.01), **hyper)
    sched = CosineAnnealingLR(opt, T_max=4)
    for _ in range(3):
        p.grad[...] = rng.standard_normal((4, 3))
        clip_grad_norm([p], 1.0)
        clip_grad_value([p], 0.5)
        opt.step()
        sched.step()
    assert p.data is data and p.data.dtype == np.float32 and p.grad.dtype == np.float32
    for name, buffer in opt.state[p].items():
        if isinstance(buffer, np.ndarray):
            assert buffer.dtype == np.float32, name


# ---- bad arguments get clear errors --------------------------------------------------

@pytest.mark.parametrize("opt_cls", [SGD, Adagrad, RMSprop, Adam, AdamW])
def test_negative_lr_is_refused(opt_cls):
    with pytest.raises(ValueError, match=r"lr must be a number >= 0, got -0\.1"):
        opt_cls([one_param([1.0], 0.0)], lr=-0.1)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, -0.1), (0.9,)])
def test_bad_betas_are_refused(betas):
    with pytest.raises(ValueError, match=r"betas must be two numbers in \[0, 1\)"):
        Adam([one_param([1.0], 0.0)], betas=betas)


@pytest.mark.parametrize("hyper", [dict(nesterov=True), dict(nesterov=True, momentum=0.9, dampening=0.1)])
def test_nesterov_needs_momentum_and_no_dampening(hyper):
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0 and dampening=0"):
        SGD([one_param([1.0], 0.0)], lr=0.1, **hyper)


@pytest.mark.parametrize("key, value", [("momentum", -0.5), ("eps", -1e-8), ("alpha", float("nan"))])
def test_negative_hyperparameters_are_refused(key, value):
    with pytest.raises(ValueError, match=f"RMSprop: {key} must be a number >= 0"):
        RMSprop([one_param([1.0], 0.0)], **{key: value})


def test_bad_hyperparameter_in_a_group_is_refused():
    with pytest.raises(ValueError, match="lr must be a number >= 0"):
        SGD([{"params": [one_param([1.0], 0.0)], "lr": -1.0}])


@pytest.mark.parametrize("params", [[], iter([]), [{"params": []}]])
def test_empty_parameter_list_is_refused(params):
    with pytest.raises(ValueError, match="empty|non-empty"):
        SGD(params, lr=0.1)


@pytest.mark.parametrize("params", [np.zeros((2, 3)), [np.zeros(3)], [{"params": [np.zeros(3)]}]])
def test_arrays_instead_of_parameters_are_refused(params):
    with pytest.raises(ValueError, match=r"got a ndarray: pass model\.parameters\(\)"):
        Adam(params)


def test_clipping_refuses_arrays():
    with pytest.raises(ValueError, match=r"pass model\.parameters\(\)"):
        clip_grad_norm([np.zeros(3)], 1.0)


def test_parameter_in_two_groups_is_refused():
    p = one_param([1.0], 0.0)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p], "lr": 0.5}], lr=0.1)


def test_misspelt_group_hyperparameter_is_refused():
    with pytest.raises(ValueError, match=r"has no hyperparameter \['learning_rate'\]"):
        SGD([{"params": [one_param([1.0], 0.0)], "learning_rate": 0.5}], lr=0.1)


@pytest.mark.parametrize("call, message", [
    (lambda opt: StepLR(opt, step_size=0), "step_size must be a whole number of epochs >= 1"),
    (lambda opt: CosineAnnealingLR(opt, T_max=0), "T_max must be a number of epochs > 0"),
    (lambda opt: StepLR([opt], step_size=1), r"needs an optimizer such as SGD"),
    (lambda opt: clip_grad_norm(opt.param_groups[0]["params"], -1.0), "max_norm must be a number > 0"),
])
def test_schedule_and_clipping_arguments_are_checked(call, message):
    with pytest.raises(ValueError, match=message):
        call(two_group_sgd())


# ---- the usual slips get a sentence with the cure --------------------------------------------

import bpcourse as bp  # noqa: E402

def test_parameters_without_the_call_or_the_model_itself_are_refused():
    model = bp.Sequential(bp.Linear(3, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match=r"SGD got the method Sequential.parameters \(not called\): call it, "
                                         r"model.parameters\(\)"):
        bp.SGD(model.parameters, lr=0.1)
    with pytest.raises(ValueError, match=r"Adam got the model itself: pass its parameters, model.parameters\(\)"):
        bp.Adam(model)
    with pytest.raises(ValueError, match="expects model.parameters"):
        bp.SGD(3, lr=0.1)
    with pytest.raises(ValueError, match=r"clip_grad_norm got the method"):
        bp.clip_grad_norm(model.parameters, 1.0)


@pytest.mark.parametrize("betas", [0.9, "0.9, 0.999", (0.9, None), [[0.9], [0.999]]])
def test_betas_that_are_not_a_pair_of_numbers(betas):
    # before: Adam(betas=0.9) raised "TypeError: 'float' object is not iterable"
    with pytest.raises(ValueError, match=r"betas must be two numbers in \[0, 1\), a pair \(beta1, beta2\) "
                                         r"such as betas=\(0.9, 0.999\)"):
        bp.Adam([bp.Parameter(np.zeros(2))], betas=betas)


def test_a_gradient_of_the_wrong_shape_is_refused_not_broadcast():
    p = bp.Parameter(np.zeros((3, 4)), "weight")
    p.grad = np.ones(4)                                  # a hand-written backward's slip
    with pytest.raises(ValueError, match=r"parameter weight has data of shape \(3, 4\) but a gradient of shape \(4,\)"):
        bp.SGD([p], lr=0.1).step()
    assert not p.data.any()


def test_a_schedule_needs_an_optimizer_object():
    with pytest.raises(ValueError, match=r"StepLR got the class Adam: create the optimizer first, "
                                         r"opt = Adam\(model.parameters\(\), lr=...\), then StepLR\(opt, ...\)"):
        bp.StepLR(bp.Adam, step_size=5)


def test_clipping_leaves_frozen_parameters_out():
    trained, frozen = bp.Parameter(np.zeros(2)), bp.Parameter(np.zeros(2), trainable=False)
    trained.grad[...] = [3.0, 4.0]
    frozen.grad[...] = [100.0, 0.0]
    assert bp.clip_grad_norm([trained, frozen], 1.0) == pytest.approx(5.0)   # as torch: no grad, not counted
    np.testing.assert_allclose(trained.grad, [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(frozen.grad, [100.0, 0.0])
    bp.clip_grad_value([trained, frozen], 0.5)
    np.testing.assert_array_equal(frozen.grad, [100.0, 0.0])


def test_rmsprop_alpha_above_one_is_refused():
    # torch accepts alpha > 1, and the running average of g² turns negative: sqrt gives NaN weights
    with pytest.raises(ValueError, match=r"RMSprop: alpha is the weight of the running average of g², a number in \[0, 1\]"):
        bp.RMSprop([bp.Parameter(np.zeros(2))], alpha=10.0)
    with pytest.raises(ValueError, match=r"SGD: lr must be a number >= 0, got inf"):
        bp.SGD([bp.Parameter(np.zeros(2))], lr=float("inf"))
    with pytest.raises(ValueError, match=r"SGD: nesterov must be True or False, got 'yes'"):
        bp.SGD([bp.Parameter(np.zeros(2))], lr=0.1, momentum=0.9, nesterov="yes")
