"""Checks for 10_putting_it_together: a learning-rate range test's pick, SGD with clipping in a
training loop, one step of backpropagation through time, and the whole of it."""
__all__ = ["check_lr_from_range_test", "check_train_with_clipping", "check_rnn_step_backward", "check_bptt"]

import numpy as np

from .core import Wrong, bound, call, case_rng, exercise, expect_array, expect_number
from ..gradcheck import numerical_gradient, rel_error
from ..layers import Linear, Sequential
from ..losses import MSELoss
from ..recurrent import RNN

LESSON = "10_putting_it_together"


# -- 1. the pick of a learning-rate range test -------------------------------------------------

def range_pick(lrs, losses, beta=0.9, smooth=True, correct=True, stop=True, divide=10.0):
    """The rule of exercise 1, written out (``smooth``/``correct``/``stop``/``divide`` switch parts
    off to recognise the usual mistakes): bias-corrected moving average of the losses, stop at the
    first non-finite loss or smoothed loss above 4 × the lowest so far, lr of the lowest / 10."""
    avg, best, best_lr = 0.0, np.inf, None
    for i, (lr, loss) in enumerate(zip(lrs, losses)):
        if not np.isfinite(loss):
            break
        avg = beta * avg + (1 - beta) * loss
        value = (avg / (1 - beta ** (i + 1)) if correct else avg) if smooth else loss
        if stop and value > 4 * best:
            break
        if value < best:
            best, best_lr = value, lr
    return best_lr / divide


def _range_curve(rng, n=80):
    """A synthetic range test: flat, then falling, lowest near a random lr, then exploding to NaN."""
    lrs = np.geomspace(1e-4, 10.0, n)
    u = np.log10(lrs)
    centre = rng.uniform(-2.2, -0.8)                    # where the loss is lowest (log10 lr)
    base = 2.3 - 1.9 / (1 + np.exp(-3.0 * (u - centre + 0.8))) + 0.05 * np.exp(4.0 * (u - centre))
    losses = base * np.exp(0.08 * rng.standard_normal(n))
    blown = np.flatnonzero(losses > 40)
    if blown.size:
        losses[blown[0] + 2:] = np.nan                 # the run is NaN from there on
    return lrs, losses


def _range_cases():
    rng = case_rng(1001)
    cases = []
    lrs, losses = _range_curve(rng)
    cases.append(("a range test that ends in NaN", lrs, losses))
    lrs, losses = _range_curve(rng)
    early = int(np.searchsorted(lrs, 3e-4))
    losses[early] = 0.02                                # one lucky mini-batch at a tiny lr
    cases.append((f"a range test with one lucky mini-batch (loss 0.02 at lr {lrs[early]:.2g})", lrs, losses))
    lrs, losses = _range_curve(rng)
    best = int(np.argmin(np.where(np.isfinite(losses), losses, np.inf)))
    losses[best + 1] = 100.0                            # blows up ...
    losses[best + 2:] = 0.01 * np.exp(0.1 * rng.standard_normal(len(losses) - best - 2))  # ... then looks low
    cases.append(("a range test whose loss blows up and then, with wild weights, looks low again", lrs, losses))
    return cases


def _expect_lr(got, want, case, diagnoses):
    """Like expect_number, with learning rates printed to 3 significant digits whatever their size."""
    if got is None:
        raise Wrong(f"case {case}: lr_from_range_test returned None.", "return the learning rate (a number).")
    if np.ndim(got) != 0:
        raise Wrong(f"case {case}: expected one learning rate, got an array of shape {np.shape(got)}.",
                    "return a single number: the lr at the lowest smoothed loss, divided by 10.")
    try:
        got = float(got)
    except (TypeError, ValueError):
        raise Wrong(f"case {case}: expected a number, got {type(got).__name__}.") from None
    if not np.isclose(got, want, rtol=1e-9, atol=0):
        hint = next((h for test, h in diagnoses if test(got, want)), None)
        raise Wrong(f"case {case}: the picked learning rate should be {want:.3g}, got {got:.3g}.", hint)


@exercise("ex10_lr_from_range_test", LESSON, "the pick of a learning-rate range test", hints=[
    "Three parts, in this order of thought: make the curve less noisy (a running average), decide "
    "where the run stopped being meaningful (NaN, or a loss that has shot far up), and read off the "
    "learning rate at the bottom of what is left — then step back by a factor of 10.",
    "Walk through the (lr, loss) pairs in one loop, carrying the average avg, its step count, the "
    "lowest smoothed value so far and its lr. The average starts at 0, so divide it by (1 − β^i) after i "
    "losses, as Adam does for its moments (lesson 04). Test for the two stopping conditions BEFORE "
    "updating the lowest value.",
])
def check_lr_from_range_test(lr_from_range_test):
    """lr_from_range_test(lrs, losses) -> the learning rate to train with (a float)."""
    cases = _range_cases()
    for case, lrs, losses in cases:
        got = call(lr_from_range_test, lrs, losses, what="lr_from_range_test(lrs, losses)")
        want = range_pick(lrs, losses)
        finite = np.where(np.isfinite(losses), losses, np.inf)
        first_bad = int(np.flatnonzero(~np.isfinite(losses))[0]) if not np.all(np.isfinite(losses)) else None
        _expect_lr(got, want, case, diagnoses=[
            (lambda g, e: np.isclose(g, e * 10), "that is the lr where the smoothed loss is lowest: that lr is "
                                                  "already at the edge of instability. Step back: divide it by 10."),
            (lambda g, e: np.isclose(g, range_pick(lrs, losses, smooth=False)),
             "that is a tenth of the lr of the lowest RAW loss: one lucky mini-batch can put it anywhere. "
             "Smooth the losses first (the moving average)."),
            (lambda g, e: np.isclose(g, range_pick(lrs, losses, correct=False)),
             "the moving average starts at 0, so its first values are far too low and win the minimum: divide "
             "the average by (1 − β^i) after i losses (bias correction, as in Adam)."),
            (lambda g, e: np.isclose(g, range_pick(lrs, losses, stop=False)),
             "once the smoothed loss has shot above 4 × its lowest value the run has blown up, and what comes "
             "after says nothing about the learning rate: stop there."),
            (lambda g, e: first_bad is not None and np.isclose(g, lrs[first_bad] / 10),
             "NaN won the minimum (np.argmin treats NaN as smallest): stop at the first loss that is not finite."),
            (lambda g, e: np.isclose(g, np.argmin(finite)) or np.isclose(g, np.argmin(finite) / 10),
             "that is an index (or an index / 10), not a learning rate: look the index up in lrs."),
        ])
    return (f"the pick agrees with the rule (smoothed, bias-corrected, stopped at NaN or 4 × the lowest, a tenth "
            f"of the lr at the lowest) on {len(cases)} range tests: one ending in NaN, one with a lucky "
            f"mini-batch, one that looks low again after blowing up.")


# -- 2. SGD with clipping by the global norm, in a training loop -------------------------------

def clip_problem(seed, steps=3):
    """A small RNN regression (2 inputs, 5 steps, 4 hidden units, then Linear(4 → 1)) and ``steps``
    mini-batches of 4 sequences, all drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    model = Sequential(RNN(2, 4, gain=1.5, return_sequences=False, rng=rng), Linear(4, 1, init="xavier", rng=rng))
    model[1].bias.data[...] = rng.standard_normal(1)
    batches = [(rng.standard_normal((4, 5, 2)), rng.standard_normal((4, 1))) for _ in range(steps)]
    return model, batches


def clip_scenario(train_with_clipping, seed, lr, max_norm, steps):
    """Runs beside the student's code: build the problem, train, return (norms, final parameters)."""
    model, batches = clip_problem(seed, steps)
    norms = train_with_clipping(model, MSELoss(), batches, lr, max_norm)
    return norms, [p.data for p in model.parameters()]


def clip_reference(seed, lr, max_norm, steps, mistake=None):
    """The same training from numerical gradients (the model's forward only). ``mistake`` replays
    a typical error ("accumulate", "per_array", "no_clip", "always", "value", "norm_after") with the
    layers' own backward, as a student's code would, to recognise it even where it blows up."""
    model, batches = clip_problem(seed, steps)
    params, loss_fn = model.parameters(), MSELoss()
    norms, grads = [], [np.zeros_like(p.data) for p in params]
    for x, y in batches:
        def loss(_):
            return loss_fn.forward(model.forward(x), y)
        if mistake is None:
            fresh = [numerical_gradient(loss, p.data) for p in params]
        else:
            model.zero_grad()
            loss(None)
            model.backward(loss_fn.backward())
            fresh = [p.grad.copy() for p in params]
        grads = [g + f for g, f in zip(grads, fresh)] if mistake == "accumulate" else fresh
        total = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
        scale = max_norm / (total + 1e-6)
        for p, g in zip(params, grads):
            if mistake == "per_array":
                step = g * min(1.0, max_norm / (np.linalg.norm(g) + 1e-6))
            elif mistake == "value":
                step = np.clip(g, -max_norm, max_norm)
            elif mistake == "no_clip":
                step = g
            elif mistake == "always":
                step = g * scale
            else:
                step = g * min(1.0, scale)
            p.data -= lr * step
        norms.append(min(total, max_norm) if mistake == "norm_after" else total)
    return norms, [p.data for p in params]


CLIP_MISTAKES = {
    "accumulate": "the gradients of earlier batches are still in .grad: backward ADDS into it, so zero the "
                  "gradients (model.zero_grad()) before each backward pass.",
    "per_array": "each parameter was clipped by its own norm: clip by ONE total norm over all parameters, "
                 "so every gradient is scaled by the same factor and the direction of the step is kept.",
    "no_clip": "the parameters moved by the full gradient: when the total norm is above max_norm, scale "
               "every gradient by max_norm / norm before the update.",
    "always": "gradients that were already shorter than max_norm were scaled up: clipping only SHRINKS.",
    "value": "that clips each entry to [-max_norm, max_norm] (clipping by value): clip by the norm, which "
             "rescales the whole gradient and keeps its direction.",
    "norm_after": "the norms you return are after clipping: return each total norm measured BEFORE "
                  "clipping (it is what you log to see how large the gradients really were).",
}


def _clip_cases():
    rng = case_rng(1002)
    seeds = rng.integers(0, 2**31, 3)
    return [(f"seed {seeds[0]}, lr 0.2, max_norm 1.5", int(seeds[0]), 0.2, 1.5),
            (f"seed {seeds[1]}, lr 0.05, max_norm 0.01 (clips every step)", int(seeds[1]), 0.05, 0.01),
            (f"seed {seeds[2]}, lr 0.1, max_norm 1e6 (never clips)", int(seeds[2]), 0.1, 1e6)]


@exercise("ex10_train_with_clipping", LESSON, "SGD with clipping by the global norm", hints=[
    "One training step per batch, in the order of lesson 02 plus one new line: clear the old gradients, "
    "forward, loss, backward, then — between backward and the update — measure all gradients together "
    "and shrink them if they are too long, then move every parameter against its gradient.",
    "The total norm is the square root of the sum of squares over EVERY parameter's .grad (one long "
    "vector). Shrink only if it is above max_norm, by the factor max_norm / (norm + 1e-6), the same "
    "factor for all parameters. Append the norm you measured before shrinking.",
])
def check_train_with_clipping(train_with_clipping):
    """train_with_clipping(model, loss_fn, batches, lr, max_norm) -> list of total norms before clipping."""
    steps, worst = 3, 0.0
    for case, seed, lr, max_norm in _clip_cases():
        out = call(clip_scenario, train_with_clipping, seed, lr, max_norm, steps,
                   what="train_with_clipping(model, loss_fn, batches, lr, max_norm)")
        norms, params = out
        if norms is None:
            raise Wrong(f"case {case}: train_with_clipping returned None.",
                        "collect the total norm of every step in a list and return it.")
        if np.ndim(norms) != 1 or len(norms) != steps:
            raise Wrong(f"case {case}: expected a list of {steps} norms (one per batch), got {norms!r}.",
                        "append one number per batch: the total gradient norm before clipping.")
        want_norms, want_params = clip_reference(seed, lr, max_norm, steps)

        def diagnose(got_norms, got_params):
            for mistake, hint in CLIP_MISTAKES.items():
                n, p = clip_reference(seed, lr, max_norm, steps, mistake)
                if (rel_error(got_norms, n) < 1e-6 and all(rel_error(a, b) < 1e-6 for a, b in zip(got_params, p))):
                    return hint
            return None

        try:
            for i in range(steps):
                worst = max(worst, expect_number(np.asarray(norms[i], float), want_norms[i],
                                                 f"the norm of step {i + 1}", case, tol=1e-6))
            for i, (got, want) in enumerate(zip(params, want_params)):
                worst = max(worst, expect_array(got, want, f"parameter {i} after {steps} steps", case, tol=1e-6))
        except Wrong as wrong:
            hint = diagnose(np.asarray(norms, float), params) or wrong.hint
            raise Wrong(wrong.message, hint) from None
    return (f"norms before clipping and parameters after {steps} steps agree with SGD on numerical gradients, "
            f"clipped by the global norm, on {len(_clip_cases())} cases (never, always and sometimes clipped; "
            f"max rel. error {bound(worst)}).")


# -- 3. one step of backpropagation through time ----------------------------------------------

def rnn_step(x, h_prev, w_ih, w_hh, b):
    """h = tanh(x @ W_ih + h_prev @ W_hh + b)."""
    return np.tanh(x @ w_ih + h_prev @ w_hh + b)


def _step_cases():
    rng = case_rng(1003)
    cases = []
    for n, d, h in ((3, 2, 4), (2, 3, 3), (5, 4, 2)):
        x, h_prev = rng.standard_normal((n, d)), np.tanh(rng.standard_normal((n, h)))
        w_ih, w_hh = rng.standard_normal((d, h)) / np.sqrt(d), rng.standard_normal((h, h)) / np.sqrt(h)
        b, dh = 0.3 * rng.standard_normal(h), rng.standard_normal((n, h))
        cases.append((f"N={n}, D={d}, H={h}", x, h_prev, w_ih, w_hh, b, dh))
    return cases


@exercise("ex10_rnn_step_backward", LESSON, "one step of backpropagation through time", hints=[
    "Give the pre-activation a name, a = x @ W_ih + h_prev @ W_hh + b, then h = tanh(a). Going back: first "
    "from h to a (one elementwise factor), then from a to each of its five inputs, exactly as for a "
    "Linear layer — a has two matrix products, so there are two 'Linear backward' patterns.",
    "tanh'(a) = 1 − tanh(a)², and tanh(a) is the h you are given. Then each product u @ W sends da back "
    "as da @ W.T to u and as u.T @ da to W; the bias collects da summed over the batch.",
])
def check_rnn_step_backward(rnn_step_backward):
    """rnn_step_backward(dh, h, h_prev, x, W_ih, W_hh) -> (dx, dh_prev, dW_ih, dW_hh, db)."""
    worst = 0.0
    for case, x, h_prev, w_ih, w_hh, b, dh in _step_cases():
        h = rnn_step(x, h_prev, w_ih, w_hh, b)
        out = call(rnn_step_backward, dh, h, h_prev, x, w_ih, w_hh,
                   what="rnn_step_backward(dh, h, h_prev, x, W_ih, W_hh)")
        if not isinstance(out, (tuple, list)) or len(out) != 5:
            raise Wrong(f"case {case}: expected five arrays (dx, dh_prev, dW_ih, dW_hh, db), got "
                        f"{type(out).__name__}{'' if not isinstance(out, (tuple, list)) else f' of length {len(out)}'}.",
                        "end with `return dx, dh_prev, dW_ih, dW_hh, db`.")
        dx, dh_prev, dw_ih, dw_hh, db = out
        numeric = {
            "dx": numerical_gradient(lambda v: np.sum(dh * rnn_step(v, h_prev, w_ih, w_hh, b)), x.copy()),
            "dh_prev": numerical_gradient(lambda v: np.sum(dh * rnn_step(x, v, w_ih, w_hh, b)), h_prev.copy()),
            "dW_ih": numerical_gradient(lambda v: np.sum(dh * rnn_step(x, h_prev, v, w_hh, b)), w_ih.copy()),
            "dW_hh": numerical_gradient(lambda v: np.sum(dh * rnn_step(x, h_prev, w_ih, v, b)), w_hh.copy()),
            "db": numerical_gradient(lambda v: np.sum(dh * rnn_step(x, h_prev, w_ih, w_hh, v)), b.copy()),
        }
        da = dh * (1 - h * h)
        wrong_slopes = [                               # the usual wrong factors between h and a
            (dh, "the step from h back to a is missing: da = dh · tanh'(a), and tanh'(a) = 1 − h²."),
            (dh * (1 - h_prev ** 2), "tanh'(a) uses THIS step's output h, not h_prev: 1 − h²."),
            (dh * (1 - np.tanh(h) ** 2), "h is already tanh(a): the slope is 1 − h², not 1 − tanh(h)²."),
            (dh * (1 - h), "tanh'(a) = 1 − h², with h squared."),
        ]
        outputs = [  # name, the student's array, how da reaches it, diagnoses of its own
            ("dx", dx, lambda d: d @ w_ih.T,
             [(lambda g, e: w_hh.shape == w_ih.shape and np.allclose(g, da @ w_hh.T),
               "x enters through W_ih: dx = da @ W_ih.T (W_hh is h_prev's weight).")]),
            ("dh_prev", dh_prev, lambda d: d @ w_hh.T,
             [(lambda g, e: np.allclose(g, da @ w_hh),
               "h_prev @ W_hh sends the gradient back through the TRANSPOSE: dh_prev = da @ W_hh.T.")]),
            ("dW_ih", dw_ih, lambda d: x.T @ d, []),
            ("dW_hh", dw_hh, lambda d: h_prev.T @ d,
             [(lambda g, e: np.allclose(g, h.T @ da),
               "W_hh multiplies the PREVIOUS state: dW_hh = h_prev.T @ da, not h.T @ da.")]),
            ("db", db, lambda d: d.sum(axis=0), []),
        ]
        for name, got, through, own in outputs:
            slope = [(lambda g, e, wrong=wrong, through=through: np.allclose(g, through(wrong)), hint)
                     for wrong, hint in wrong_slopes]
            worst = max(worst, expect_array(got, numeric[name], name, case, diagnoses=own + slope))
    return (f"dx, dh_prev, dW_ih, dW_hh and db agree with numerical gradients on {len(_step_cases())} cases "
            f"(max rel. error {bound(worst)}).")


# -- 4. backpropagation through the whole sequence --------------------------------------------

def rnn_last_state(xs, h0, w_ih, w_hh, b):
    """Run the tanh RNN over xs: (N, T, D) from h0: (N, H); return every state, (N, T+1, H)."""
    hs = [h0]
    for t in range(xs.shape[1]):
        hs.append(rnn_step(xs[:, t], hs[-1], w_ih, w_hh, b))
    return np.stack(hs, axis=1)


def _bptt_cases():
    rng = case_rng(1004)
    cases = []
    for n, steps, d, h in ((3, 6, 2, 4), (2, 4, 3, 3), (4, 8, 1, 5)):
        xs = rng.standard_normal((n, steps, d))
        h0 = np.tanh(rng.standard_normal((n, h)))
        w_ih, w_hh = rng.standard_normal((d, h)) / np.sqrt(d), 1.2 * rng.standard_normal((h, h)) / np.sqrt(h)
        b, dh_last = 0.3 * rng.standard_normal(h), rng.standard_normal((n, h))
        cases.append((f"N={n}, T={steps}, D={d}, H={h}", xs, h0, w_ih, w_hh, b, dh_last))
    return cases


def _step_contributions(dh_last, xs, hs, w_hh, carry=True):
    """Per-step (dx_t, dW_ih_t, dW_hh_t, db_t), t = T … 1, for diagnosing; carry=False forgets dh_prev."""
    dh, out = dh_last, []
    for t in reversed(range(xs.shape[1])):
        h, h_prev = hs[:, t + 1], hs[:, t]
        da = dh * (1 - h * h)
        out.append((t, da, h_prev))
        dh = da @ w_hh.T if carry else dh_last
    return out


@exercise("ex10_bptt", LESSON, "backpropagation through time", hints=[
    "Walk the steps backwards, t = T, T−1, …, 1. At each step call your rnn_step_backward with the "
    "gradient that reaches h_t; it hands you the gradient for h_{t−1}, which is what reaches the step "
    "before. Every step used the same W_ih, W_hh and b.",
    "Keep dW_ih, dW_hh, db as running sums (start at zeros, add each step's share) — not the last "
    "step's value. Store step t's dx in dxs[:, t - 1] (the column of x_t). hs[:, t] is h_t, so the "
    "step producing h_t received h_prev = hs[:, t - 1].",
])
def check_bptt(bptt):
    """bptt(dh_last, xs, hs, W_ih, W_hh) -> (dxs, dW_ih, dW_hh, db)."""
    worst = 0.0
    for case, xs, h0, w_ih, w_hh, b, dh_last in _bptt_cases():
        hs = rnn_last_state(xs, h0, w_ih, w_hh, b)
        out = call(bptt, dh_last, xs, hs, w_ih, w_hh, what="bptt(dh_last, xs, hs, W_ih, W_hh)")
        if not isinstance(out, (tuple, list)) or len(out) != 4:
            raise Wrong(f"case {case}: expected four arrays (dxs, dW_ih, dW_hh, db), got {type(out).__name__}.",
                        "end with `return dxs, dW_ih, dW_hh, db`.")
        dxs, dw_ih, dw_hh, db = out

        def loss_of(**changed):
            a = {**dict(xs=xs, w_ih=w_ih, w_hh=w_hh, b=b), **changed}
            return np.sum(dh_last * rnn_last_state(a["xs"], h0, a["w_ih"], a["w_hh"], a["b"])[:, -1])

        numeric = {
            "dxs": numerical_gradient(lambda v: loss_of(xs=v), xs.copy()),
            "dW_ih": numerical_gradient(lambda v: loss_of(w_ih=v), w_ih.copy()),
            "dW_hh": numerical_gradient(lambda v: loss_of(w_hh=v), w_hh.copy()),
            "db": numerical_gradient(lambda v: loss_of(b=v), b.copy()),
        }
        steps = _step_contributions(dh_last, xs, hs, w_hh)
        last_t, last_da, last_h_prev = steps[0]
        first_t, first_da, first_h_prev = steps[-1]
        lonely = _step_contributions(dh_last, xs, hs, w_hh, carry=False)
        reversed_dx = numeric["dxs"][:, ::-1]
        weight_mistakes = [
            ("only the last step", last_h_prev.T @ last_da,
             "that is the last step's share only: every step used W_hh, so add up all T steps' dW_hh."),
            ("only the first step", first_h_prev.T @ first_da,
             "that is the first step's share only — the sum was overwritten at every step: ADD each step's "
             "dW_hh to a running total (start from zeros)."),
            ("no carry", sum(hp.T @ da for _, da, hp in lonely),
             "each step received dh_last: the gradient reaching h_{t−1} is the dh_prev that step t returned — "
             "carry it to the next (earlier) step."),
        ]
        worst = max(worst, expect_array(dxs, numeric["dxs"], "dxs", case, diagnoses=[
            (lambda g, e: np.allclose(g, reversed_dx), "dxs is reversed in time: step t's dx belongs in "
                                                        "dxs[:, t - 1], whatever order the loop visits them."),
            (lambda g, e: np.allclose(g, np.stack([da @ w_ih.T for _, da, _ in lonely[::-1]], axis=1)),
             "each step received dh_last: the gradient reaching h_{t−1} is the dh_prev that step t returned — "
             "carry it to the next (earlier) step."),
            (lambda g, e: np.allclose(g[:, :-1], 0) and not np.allclose(e[:, :-1], 0),
             "only the last input got a gradient: the earlier inputs reach h_T through the later steps — "
             "carry dh back through every step."),
        ]))
        worst = max(worst, expect_array(dw_hh, numeric["dW_hh"], "dW_hh", case,
                                        diagnoses=[(lambda g, e, w=w: np.allclose(g, w), hint)
                                                   for _, w, hint in weight_mistakes]))
        worst = max(worst, expect_array(dw_ih, numeric["dW_ih"], "dW_ih", case, diagnoses=[
            (lambda g, e: np.allclose(g, xs[:, last_t].T @ last_da) or np.allclose(g, xs[:, first_t].T @ first_da),
             "that is one step's share only: every step used W_ih, so add up all T steps' dW_ih."),
        ]))
        worst = max(worst, expect_array(db, numeric["db"], "db", case, diagnoses=[
            (lambda g, e: np.allclose(g, last_da.sum(axis=0)) or np.allclose(g, first_da.sum(axis=0)),
             "that is one step's share only: the bias is added at every step, so add up all T steps' db."),
        ]))
    return (f"dxs, dW_ih, dW_hh and db agree with numerical gradients of the whole unrolled RNN on "
            f"{len(_bptt_cases())} sequences (T = 4 to 8; max rel. error {bound(worst)}).")
