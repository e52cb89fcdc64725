"""The lesson-06 checks: pass the reference solutions, catch the typical mistakes with the intended hint,
report stubs as not attempted and survive broken answers."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse.exercises import lesson06


def stub(*args):
    raise NotImplementedError


# -- dropout ----------------------------------------------------------------------------------

def drop_ref(x, p, rng, training=True):
    if not training or p == 0:
        return x, np.ones_like(x)
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return x * mask, mask


def back_ref(dout, mask):
    return dout * mask


def drop_keep_p(x, p, rng, training=True):
    return drop_ref(x, 1 - p, rng, training) if training and p else (x, np.ones_like(x))


def drop_unscaled(x, p, rng, training=True):
    if not training or p == 0:
        return x, np.ones_like(x)
    mask = (rng.random(x.shape) >= p).astype(float)
    return x * mask, mask


def drop_scale_1_over_p(x, p, rng, training=True):
    out, mask = drop_ref(x, p, rng, training)
    if training and p:
        mask = (mask > 0) / p
    return x * mask, mask


def drop_bool_mask(x, p, rng, training=True):
    out, mask = drop_ref(x, p, rng, training)
    return out, mask > 0


def drop_global_rng(x, p, rng, training=True):
    return drop_ref(x, p, np.random.default_rng(), training)


def drop_scales_in_eval(x, p, rng, training=True):
    if not training:
        return x * (1 - p), np.full_like(x, 1 - p)
    return drop_ref(x, p, rng, training)


def drop_always(x, p, rng, training=True):
    return drop_ref(x, p, rng, True)


def back_no_mask(dout, mask):
    return dout


def back_unscaled(dout, mask):
    return dout * (mask > 0)


def test_dropout_reference_passes():
    assert bp.exercises.check_dropout(drop_ref, back_ref)


def test_reference_dropout_behaves_like_the_layer():
    """Independent confirmation: bp.Dropout drops about p, scales by 1/(1-p), is the identity in eval."""
    layer = bp.Dropout(0.3, rng=np.random.default_rng(0))
    out = layer(np.ones((2000, 50)))
    ref, _ = drop_ref(np.ones((2000, 50)), 0.3, np.random.default_rng(0))
    assert abs(np.mean(out == 0) - np.mean(ref == 0)) < 0.01
    assert set(np.unique(out)) == set(np.unique(ref))


@pytest.mark.parametrize("forward, backward, words", [
    (drop_keep_p, back_ref, "probability to DROP"),
    (drop_unscaled, back_ref, "plain dropout"),
    (drop_scale_1_over_p, back_ref, "not by 1/p"),
    (drop_bool_mask, back_ref, "WITH the scaling"),
    (drop_global_rng, back_ref, "from the rng argument"),
    (drop_scales_in_eval, back_ref, "evaluation is the identity"),
    (drop_always, back_ref, "nothing is dropped"),
    (drop_ref, back_no_mask, "multiply dout by the mask"),
    (drop_ref, back_unscaled, "scaled too"),
])
def test_dropout_mistakes_get_their_hint(forward, backward, words):
    verdict = bp.exercises.check_dropout(forward, backward)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_dropout_stub_and_broken_answers():
    assert bp.exercises.check_dropout(stub, stub).status == "not attempted"
    assert bp.exercises.check_dropout(drop_ref, stub).status == "not attempted"
    assert bp.exercises.check_dropout(lambda *a: None, back_ref).status == "wrong"
    assert bp.exercises.check_dropout(lambda x, p, r, t: (x[:3], x), back_ref).status == "wrong"
    assert bp.exercises.check_dropout(lambda x, p, r, t: x, back_ref).status == "wrong"
    assert bp.exercises.check_dropout(drop_ref, lambda d, m: None).status == "wrong"
    assert bp.exercises.check_dropout(drop_ref, lambda d, m: d[0]).status == "wrong"


# -- L2 penalty -------------------------------------------------------------------------------

def l2_ref(weights, lam):
    return lam / 2 * sum(float(np.sum(w * w)) for w in weights), [lam * w for w in weights]


@pytest.mark.parametrize("wrong, words", [
    (lambda ws, lam: (2 * l2_ref(ws, lam)[0], l2_ref(ws, lam)[1]), "left out the ½"),
    (lambda ws, lam: (l2_ref(ws, 1.0)[0], l2_ref(ws, lam)[1]), "multiply by λ"),
    (lambda ws, lam: (lam * sum(np.abs(w).sum() for w in ws), l2_ref(ws, lam)[1]), "L1 penalty"),
    (lambda ws, lam: (lam / 2 * np.sqrt(sum((w * w).sum() for w in ws)), l2_ref(ws, lam)[1]), "square the norm"),
    (lambda ws, lam: (l2_ref(ws, lam)[0], [2 * lam * w for w in ws]), "cancels the 2"),
    (lambda ws, lam: (l2_ref(ws, lam)[0], [lam * np.sign(w) for w in ws]), "L1 gradient"),
    (lambda ws, lam: (l2_ref(ws, lam)[0], [w for w in ws]), "multiply by λ"),
])
def test_l2_mistakes_get_their_hint(wrong, words):
    verdict = bp.exercises.check_l2_penalty(wrong)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_l2_reference_passes_and_broken_answers_are_kind():
    assert bp.exercises.check_l2_penalty(l2_ref)
    assert bp.exercises.check_l2_penalty(stub).status == "not attempted"
    assert bp.exercises.check_l2_penalty(lambda ws, lam: None).status == "wrong"
    v = bp.exercises.check_l2_penalty(lambda ws, lam: (np.ones(3), l2_ref(ws, lam)[1]))
    assert v.status == "wrong" and "single number" in v.message
    assert bp.exercises.check_l2_penalty(lambda ws, lam: (l2_ref(ws, lam)[0], lam)).status == "wrong"
    assert bp.exercises.check_l2_penalty(lambda ws, lam: ws["a"]).status == "wrong"


# -- early stopping ---------------------------------------------------------------------------

def es_ref(val_losses, patience):
    best, best_epoch = np.inf, None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(val_losses), best_epoch


def test_reference_decision_matches_hand_computed_cases():
    """The package's EarlyStopping, as the check drives it, on cases worked out by hand."""
    assert lesson06.reference_decision([1.0, 0.8, 0.7, 0.72, 0.75, 0.71, 0.9, 1.0], 3) == (6, 3)
    assert lesson06.reference_decision([1.0, 0.5, 0.5, 0.5, 0.5, 0.4], 2) == (4, 2)
    assert lesson06.reference_decision([3.0, 2.0, 1.0, 0.5], 2) == (4, 4)
    assert lesson06.reference_decision([1.0, 2.0, 0.5], 1) == (2, 1)


def es_zero_based(l, p):
    s, b = es_ref(l, p)
    return s - 1, b - 1


def es_late(l, p):
    best, be = np.inf, None
    for e, v in enumerate(l, start=1):
        if v < best:
            best, be = v, e
        elif e - be > p:
            return e, be
    return len(l), be


def es_ties(l, p):
    best, be = np.inf, None
    for e, v in enumerate(l, start=1):
        if v <= best:
            best, be = v, e
        elif e - be >= p:
            return e, be
    return len(l), be


def es_future(l, p):
    return es_ref(l, p)[0], int(np.argmin(l)) + 1


def es_last(l, p):
    s, _ = es_ref(l, p)
    return s, s


@pytest.mark.parametrize("wrong, words", [
    (es_zero_based, "numbered from 1"),
    (es_late, "one epoch late"),
    (es_ties, "strictly lower"),
    (es_future, "cannot see the future"),
    (es_last, "BEST epoch"),
])
def test_early_stopping_mistakes_get_their_hint(wrong, words):
    verdict = bp.exercises.check_early_stopping(wrong)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_early_stopping_reference_and_broken_answers():
    assert bp.exercises.check_early_stopping(es_ref)
    assert bp.exercises.check_early_stopping(stub).status == "not attempted"
    assert bp.exercises.check_early_stopping(lambda l, p: None).status == "wrong"
    assert bp.exercises.check_early_stopping(lambda l, p: 3).status == "wrong"
    v = bp.exercises.check_early_stopping(lambda l, p: (None, 1))
    assert v.status == "wrong" and "len(val_losses)" in v.hint
    assert bp.exercises.check_early_stopping(lambda l, p: l[100]).status == "wrong"


# -- the L1 proximal step ---------------------------------------------------------------------

def l1_ref(w, grad, lr, lam):
    u = w - lr * grad
    return np.sign(u) * np.maximum(np.abs(u) - lr * lam, 0.0)


def l1_subgradient(w, grad, lr, lam):
    return w - lr * (grad + lam * np.sign(w))


def l1_threshold_lam(w, grad, lr, lam):
    u = w - lr * grad
    return np.sign(u) * np.maximum(np.abs(u) - lam, 0.0)


def l1_hard(w, grad, lr, lam):
    u = w - lr * grad
    return np.where(np.abs(u) > lr * lam, u, 0.0)


def l1_no_sign(w, grad, lr, lam):
    return np.maximum(w - lr * grad - lr * lam, 0.0)


def l1_sign_of_w(w, grad, lr, lam):
    z = w - lr * grad - lr * lam * np.sign(w)
    return np.where(np.sign(z) != np.sign(w), 0.0, z)


def l1_shrink_first(w, grad, lr, lam):
    return np.sign(w) * np.maximum(np.abs(w) - lr * lam, 0.0) - lr * grad


def l1_gradient_sign(w, grad, lr, lam):
    u = w + lr * grad
    return np.sign(u) * np.maximum(np.abs(u) - lr * lam, 0.0)


def l1_factor(w, grad, lr, lam):
    return (w - lr * grad) / (1 + lr * lam)


def l1_almost_zero(w, grad, lr, lam):
    z = l1_ref(w, grad, lr, lam)
    return np.where(z == 0, 1e-14, z)


def l1_breaks_at_zero(w, grad, lr, lam):
    """Right on every single case, but returns NaN from w = 0, where the lasso run starts."""
    return l1_ref(w, grad, lr, lam) if np.any(w) else np.full_like(w, np.nan)


def test_l1_reference_passes():
    verdict = bp.exercises.check_l1_proximal_step(l1_ref)
    assert verdict and "exactly 0" in verdict.message


@pytest.mark.parametrize("wrong, words", [
    (l1_subgradient, "plain (sub)gradient step"),
    (l1_threshold_lam, "not λ"),
    (l1_hard, "must also move towards 0"),
    (l1_no_sign, "keep the sign of u"),
    (l1_sign_of_w, "not the sign of the old w"),
    (l1_shrink_first, "gradient step first"),
    (l1_gradient_sign, "step against the gradient"),
    (l1_factor, "L2's proximal step"),
    (l1_almost_zero, "exactly 0"),
])
def test_l1_mistakes_get_their_hint(wrong, words):
    verdict = bp.exercises.check_l1_proximal_step(wrong)
    assert verdict.status == "wrong"
    assert words in verdict.hint


def test_l1_stub_and_broken_answers():
    assert bp.exercises.check_l1_proximal_step(stub).status == "not attempted"
    assert bp.exercises.check_l1_proximal_step(lambda w, g, lr, lam: None).status == "wrong"
    v = bp.exercises.check_l1_proximal_step(lambda w, g, lr, lam: l1_ref(w, g, lr, lam)[:2])
    assert v.status == "wrong" and "shape" in v.message
    assert bp.exercises.check_l1_proximal_step(lambda w, g, lr, lam: w["a"]).status == "wrong"
    v = bp.exercises.check_l1_proximal_step(l1_breaks_at_zero)
    assert v.status == "wrong" and "lasso" in v.message and "step 1" in v.message


def test_prox_minimiser_agrees_with_a_dense_grid():
    """The check's 'expected' value, against brute force: the objective on a fine grid of z."""
    rng = np.random.default_rng(0)
    u, t = rng.uniform(-2, 2, 50), rng.uniform(0, 1, 50)
    grid = np.linspace(-3, 3, 600001)
    for ui, ti in zip(u, t):
        brute = grid[np.argmin(0.5 * (grid - ui) ** 2 + ti * np.abs(grid))]
        assert abs(lesson06._prox_minimiser(np.array([ui]), ti)[0] - brute) < 1e-5


def test_early_stopping_has_a_random_case():
    cases = lesson06._early_cases()
    assert len(cases) == len(lesson06.EARLY_CASES) + 1 and cases[-1][0].startswith("random")
