"""fit, History, EarlyStopping, LivePlot, the data helpers and checkpoints."""
import time

import numpy as np
import pytest

import bpcourse as bp


def mlp(rng, hidden=128):
    return bp.Sequential(bp.Linear(64, hidden, rng=rng), bp.ReLU(), bp.Linear(hidden, 10, rng=rng))


def test_fit_reaches_95_percent_on_digits_in_seconds():
    rng = np.random.default_rng(0)
    train, val, test = bp.data.digits()
    model = mlp(rng)
    start = time.perf_counter()
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model.parameters(), lr=1e-3), train, val,
                     epochs=20, batch_size=32, rng=rng, progress=False)
    seconds = time.perf_counter() - start
    _, accuracy = bp.evaluate(model, bp.SoftmaxCrossEntropy(), *test)
    print(f"digits 64-128-10: test accuracy {accuracy:.3f} in {seconds:.1f} s")
    assert accuracy >= 0.95
    assert len(history) == 20 and history.train_loss[-1] < history.train_loss[0] / 5


def test_fit_is_reproducible_with_the_same_seed():
    train, val, _ = bp.data.digits()
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(4)
        model = mlp(rng, hidden=16)
        runs.append(bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.1), train, val,
                           epochs=2, rng=rng, progress=False).val_loss)
    assert runs[0] == runs[1]


def test_diverging_learning_rate_stops_with_a_clear_message():
    rng = np.random.default_rng(0)
    x, labels = bp.data.digits().train
    model = bp.Sequential(bp.Linear(64, 10, rng=rng))     # linear regression: lr 10 is far past 2/λmax
    with pytest.raises(FloatingPointError, match=r"at epoch \d+, batch \d+.*Try a smaller learning rate "
                                                 r"\(lr=10 now\) or clip_norm=1.0") as err:
        bp.fit(model, bp.MSELoss(), bp.SGD(model.parameters(), lr=10.0), (x, np.eye(10)[labels]), epochs=30,
               rng=rng, progress=False)
    assert isinstance(err.value.history, bp.History)      # the epochs before it blew up are kept


@pytest.mark.parametrize("lr", [1e3, 1e30])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_a_huge_learning_rate_stops_at_once_instead_of_finishing_at_chance(optimizer, lr):
    # before: lr = 1e3 finished every epoch at chance accuracy with a finite loss, silently,
    # and lr = 1e30 returned a loss of 1e58 as a normal result
    rng = np.random.default_rng(0)
    train, val, _ = bp.data.digits()
    model = mlp(rng, hidden=32)
    opt = getattr(bp, optimizer)(model.parameters(), lr=lr)
    with pytest.raises(FloatingPointError, match=r"training diverged at epoch 1, batch \d+: .*more than 100 × "
                                                 r"where it started.*Try a smaller learning rate.*clip_norm=1.0.*"
                                                 r"initialisation") as err:
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, train, val, epochs=5, rng=rng, progress=False)
    assert len(err.value.history) == 0


def test_divergence_of_other_losses_stops_too():
    rng = np.random.default_rng(0)
    x, y = bp.data.moons(200, seed=0)
    model = bp.mlp([2, 16, 1], rng)
    with pytest.raises(FloatingPointError, match="diverged|became"):
        bp.fit(model, bp.BCEWithLogits(), bp.SGD(model.parameters(), lr=1e4), (x, y[:, None].astype(float)),
               epochs=5, rng=rng, progress=False)
    xr = rng.standard_normal((300, 3))
    yr = xr @ np.array([[1.0], [2.0], [-1.0]])
    model = bp.mlp([3, 16, 1], rng)
    with pytest.raises(FloatingPointError, match="diverged|became"):
        bp.fit(model, bp.MSELoss(), bp.SGD(model.parameters(), lr=1.0), (xr, yr), epochs=5, rng=rng,
               progress=False)


def test_divergence_rule_after_an_epoch():
    model = bp.Sequential(bp.Linear(2, 3, rng=np.random.default_rng(0)))
    ce = bp.train.Divergence(bp.SoftmaxCrossEntropy(), np.zeros(4), bp.SGD(model.parameters(), lr=0.1))
    ce.batch(2.5, np.zeros((4, 10)), 1, 1)                # chance level ln 10 = 2.30
    for epoch, loss in enumerate([2.6, 2.7], start=1):
        ce.epoch(loss, epoch, model.parameters())
    with pytest.raises(FloatingPointError, match=r"above chance level \(2.3.*risen two epochs in a row: 2.6, 2.7, 2.8"):
        ce.epoch(2.8, 3, model.parameters())
    healthy = bp.train.Divergence(bp.SoftmaxCrossEntropy(), np.zeros(4), None)
    healthy.batch(1.2, np.zeros((4, 2)), 1, 1)
    for epoch, loss in enumerate([1.08, 1.10, 0.87, 0.61, 0.46, 0.63, 0.56], start=1):   # a real early run
        healthy.epoch(loss, epoch, model.parameters())
    model[0].weight.data[0, 0] = np.inf
    with pytest.raises(FloatingPointError, match=r"parameter weight \(2, 3\) holds values NaN or inf"):
        healthy.epoch(0.5, 8, model.parameters())
    model[0].weight.data[0, 0] = 1e9
    with pytest.raises(FloatingPointError, match="as large as 1e"):
        healthy.epoch(0.5, 8, model.parameters())


def healthy_runs():
    """The lessons' usual runs, and noisy ones that still learn (batch losses jump 2-5× at times)."""
    digits = bp.data.digits().train
    for seed in range(5):
        yield "digits Adam 1e-3", seed, lambda m: bp.Adam(m.parameters(), lr=1e-3), bp.SoftmaxCrossEntropy(), \
            [64, 32, 10], digits, 3, 32
        yield "digits Adam 0.1", seed, lambda m: bp.Adam(m.parameters(), lr=0.1), bp.SoftmaxCrossEntropy(), \
            [64, 32, 10], digits, 3, 32
        yield "digits SGD 1.0", seed, lambda m: bp.SGD(m.parameters(), lr=1.0), bp.SoftmaxCrossEntropy(), \
            [64, 32, 10], digits, 3, 32
        yield "digits SGD 0.1 batch 8", seed, lambda m: bp.SGD(m.parameters(), lr=0.1), bp.SoftmaxCrossEntropy(), \
            [64, 32, 10], digits, 2, 8
        x, y = bp.data.moons(200, seed=seed)
        yield "moons SGD 1.0 CE", seed, lambda m: bp.SGD(m.parameters(), lr=1.0), bp.SoftmaxCrossEntropy(), \
            [2, 16, 16, 2], (x, y), 30, 16
        yield "moons SGD 1.0 BCE", seed, lambda m: bp.SGD(m.parameters(), lr=1.0), bp.BCEWithLogits(), \
            [2, 16, 16, 1], (x, y[:, None].astype(float)), 30, 16
        x, y = bp.data.spirals(seed=seed)
        yield "spirals SGD 1.0", seed, lambda m: bp.SGD(m.parameters(), lr=1.0), bp.SoftmaxCrossEntropy(), \
            [2, 64, 64, 3], (x, y), 30, 32
        yield "spirals Adam 0.05", seed, lambda m: bp.Adam(m.parameters(), lr=0.05), bp.SoftmaxCrossEntropy(), \
            [2, 64, 64, 3], (x, y), 30, 32
        xr = np.random.default_rng(seed).standard_normal((300, 3))
        yr = xr @ np.array([[1.0], [2.0], [-1.0]]) + 0.3 * np.sin(3 * xr[:, :1])
        yield "regression SGD 0.1", seed, lambda m: bp.SGD(m.parameters(), lr=0.1), bp.MSELoss(), \
            [3, 16, 1], (xr, yr), 20, 16


def test_healthy_and_noisy_runs_are_never_stopped():
    stopped = []
    for name, seed, make_opt, loss_fn, sizes, train, epochs, batch_size in healthy_runs():
        rng = np.random.default_rng(seed)
        model = bp.mlp(sizes, rng)
        try:
            history = bp.fit(model, loss_fn, make_opt(model), train, epochs=epochs, batch_size=batch_size,
                             rng=rng, progress=False)
            assert len(history) == epochs and history.train_loss[-1] < history.train_loss[0] * 1.5, name
        except FloatingPointError as err:
            stopped.append(f"{name}, seed {seed}: {err}")
    assert not stopped, stopped


def test_history_repr_shows_a_nan_loss():
    history = bp.History()
    history.append(1, train_loss=0.5, train_acc=0.9)
    history.append(2, train_loss=np.nan, train_acc=0.1)
    assert "train_loss=nan" in repr(history) and "val_loss" not in repr(history)
    history.append(3, train_loss=0.4, val_loss=np.nan)
    assert "train_loss=0.4" in repr(history)


def test_clip_norm_in_fit_limits_every_update():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 4)), rng.standard_normal((64, 1)) * 100
    model = bp.Sequential(bp.Linear(4, 1, rng=rng))
    before = model.parameters()[0].data.copy()
    bp.fit(model, bp.MSELoss(), bp.SGD(model.parameters(), lr=1.0), (x, y), epochs=1, batch_size=64,
           rng=rng, progress=False, clip_norm=0.5)
    step = np.sqrt(np.sum((model.parameters()[0].data - before) ** 2) + np.sum(model.parameters()[1].data ** 2))
    assert step == pytest.approx(0.5, rel=1e-4)            # lr 1 × gradient clipped to norm 0.5


def test_early_stopping_rule_and_restore():
    model = bp.Sequential(bp.Linear(1, 1, rng=np.random.default_rng(0)))
    stopper = bp.EarlyStopping(patience=2)
    stopper.on_train_begin(model)
    history = bp.History()
    stops = []
    for epoch, val_loss in enumerate([1.0, 0.5, 0.6, 0.4, 0.45, 0.5, 0.3], start=1):
        model.parameters()[0].data[...] = epoch              # weights remember their epoch
        history.append(epoch, val_loss=val_loss)
        stops.append(stopper.on_epoch_end(epoch, history, model))
        if stops[-1]:
            break
    assert stops == [False, False, False, False, False, True]
    assert (stopper.best_epoch, stopper.stopped_epoch) == (4, 6)
    stopper.on_train_end(model)
    assert model.parameters()[0].data.item() == 4


def test_early_stopping_in_fit_restores_the_best_validation_loss():
    rng = np.random.default_rng(1)
    train, val, _ = bp.data.digits()
    small = (train[0][:40], train[1][:40])                  # overfits quickly
    model = mlp(rng, hidden=256)
    stopper = bp.EarlyStopping(patience=3)
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model.parameters(), lr=1e-2), small, val,
                     epochs=200, batch_size=40, rng=rng, progress=False, callbacks=[stopper])
    assert stopper.stopped_epoch is not None and len(history) < 200
    assert stopper.stopped_epoch == stopper.best_epoch + 3
    restored_loss, _ = bp.evaluate(model, bp.SoftmaxCrossEntropy(), *val)
    assert restored_loss == pytest.approx(min(history.val_loss))


def test_early_stopping_needs_validation_data():
    rng = np.random.default_rng(0)
    model = mlp(rng, hidden=4)
    x, y = bp.data.digits().train
    with pytest.raises(ValueError, match="pass val="):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.1), (x, y), epochs=2,
               rng=rng, progress=False, callbacks=[bp.EarlyStopping()])


def test_frozen_parameters_stay_put_in_fit():
    rng = np.random.default_rng(0)
    model = mlp(rng, hidden=8)
    body = model[0]
    for p in body.parameters():
        p.trainable = False
    frozen = body.weight.data.copy()
    bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model.parameters(), lr=1e-2), bp.data.digits().train,
           epochs=1, rng=rng, progress=False)
    np.testing.assert_array_equal(body.weight.data, frozen)
    assert not body.weight.grad.any()


def test_history_plot_and_liveplot():
    rng = np.random.default_rng(0)
    model = mlp(rng, hidden=8)
    live = bp.LivePlot()
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.1),
                     bp.data.digits().train, bp.data.digits().val, epochs=3, rng=rng, progress=False,
                     callbacks=[live])
    loss_ax, acc_ax = history.plot()
    assert [list(line.get_ydata()) for line in loss_ax.lines] == [history.train_loss, history.val_loss]
    assert list(live.axes[1].lines[1].get_ydata()) == history.val_acc     # the live figure holds every epoch
    assert "3 epochs" in repr(history)


def test_fit_with_a_scheduler_and_penalties():
    rng = np.random.default_rng(0)
    model = mlp(rng, hidden=8)
    opt = bp.SGD(model.parameters(), lr=0.1)
    scheduler = bp.StepLR(opt, step_size=1, gamma=0.5)
    bp.fit(model, bp.SoftmaxCrossEntropy(), opt, bp.data.digits().train, epochs=3, rng=rng, progress=False,
           scheduler=scheduler, penalties=[bp.L2(1e-3)])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 3)


# ---- data ---------------------------------------------------------------------------

def test_digits_splits_are_reproducible_and_scaled():
    a, b = bp.data.digits(seed=0), bp.data.digits(seed=0)
    np.testing.assert_array_equal(a.train[0], b.train[0])
    assert sum(len(s[0]) for s in a) == 1797
    assert a.train[0].shape[1] == 64 and 0 <= a.train[0].min() and a.train[0].max() <= 1
    assert set(np.unique(a.test[1])) == set(range(10))                      # stratified
    assert not np.array_equal(bp.data.digits(seed=1).train[0], a.train[0])


def test_digits_class_filter_relabels():
    splits = bp.data.digits(classes=range(5, 10))
    labels = np.concatenate([s[1] for s in splits])
    assert set(np.unique(labels)) == set(range(5)) and len(labels) == 1797 - 901
    raw = bp.data.digits(classes=[7, 3], relabel=False)
    assert set(np.unique(raw.train[1])) == {3, 7}
    relabelled = bp.data.digits(classes=[7, 3])
    np.testing.assert_array_equal(relabelled.train[1], (raw.train[1] == 3).astype(int))   # 7 → 0, 3 → 1
    with pytest.raises(ValueError, match="among 0 … 9"):
        bp.data.digits(classes=[10])


def test_moons_spirals_and_few_per_class():
    x, y = bp.data.moons(100)
    assert x.shape == (100, 2) and set(y) == {0, 1}
    x, y = bp.data.spirals(50, 3)
    assert x.shape == (150, 2) and np.bincount(y).tolist() == [50, 50, 50]
    xs, ys = bp.data.few_per_class(x, y, 5)
    assert np.bincount(ys).tolist() == [5, 5, 5]


def test_batches_cover_the_data_once():
    x, y = np.arange(10)[:, None], np.arange(10)
    seen = [yb for _, yb in bp.data.batches(x, y, 3, rng=np.random.default_rng(0))]
    assert [len(b) for b in seen] == [3, 3, 3, 1]
    assert sorted(np.concatenate(seen)) == list(range(10))
    with pytest.raises(ValueError, match="explicit rng"):
        next(bp.data.batches(x, y, 3))
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        next(bp.data.batches(x, y[:9], 3, shuffle=False))


# ---- checkpoints --------------------------------------------------------------------

def test_save_load_round_trips_exactly(tmp_path):
    a, b = mlp(np.random.default_rng(0)), mlp(np.random.default_rng(1))
    bp.save(a, tmp_path / "w.npz")
    bp.load(b, tmp_path / "w.npz")
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_refuses_pickles_and_mismatches(tmp_path):
    model = mlp(np.random.default_rng(0))
    np.savez(tmp_path / "evil.npz", **{"0.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ValueError, match="refusing pickled"):
        bp.load(model, tmp_path / "evil.npz")
    bp.save(mlp(np.random.default_rng(0), hidden=100), tmp_path / "other.npz")
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(64, 100\), the model expects \(64, 128\)"):
        bp.load(model, tmp_path / "other.npz")
    bp.save(bp.Sequential(bp.Linear(64, 128, rng=np.random.default_rng(0))), tmp_path / "part.npz")
    with pytest.raises(ValueError, match=r"missing \['2.bias', '2.weight'\]"):
        bp.load(model, tmp_path / "part.npz")


# ---- fit refuses what would be a silent no-op or a raw error ---------------------------------

DIGITS = bp.data.digits()


def small_problem(seed=0):
    rng = np.random.default_rng(seed)
    x, y = DIGITS.train
    return mlp(rng, hidden=8), (x[:100], y[:100]), rng


@pytest.mark.parametrize("change,message", [
    (dict(epochs=-3), r"epochs must be a whole number >= 1, got -3"),
    (dict(epochs=2.5), r"epochs must be a whole number >= 1, got 2.5"),
    (dict(batch_size=0), r"batch_size must be a whole number >= 1, got 0"),
    (dict(loss_fn=bp.SoftmaxCrossEntropy), r"got the class SoftmaxCrossEntropy, not a loss object: "
                                           r"create one with SoftmaxCrossEntropy\(\)"),
    (dict(loss_fn=bp.L2(0.1)), r"got L2\(lam=0.1\), a weight penalty, as the loss.*penalties=\[L2\(lam=0.1\)\]"),
    (dict(optimizer=bp.Adam), r"got the class Adam as optimizer.*Adam\(model.parameters\(\), lr=...\)"),
    (dict(model=bp.Sequential), r"fit got the class Sequential, not an object"),
    (dict(val=DIGITS.val[0]), r"val must be an \(x, y\) pair, e.g. val=\(x_val, y_val\); "
                                        r"got one array of shape \(360, 64\)"),
    (dict(val=(np.zeros((0, 64)), np.zeros(0, int))), r"val x is empty.*val=None"),
    (dict(train=DIGITS), r"train must be an \(x, y\) pair.*pass splits.train"),
    (dict(train=(np.full((4, 64), np.nan), np.zeros(4, int))), r"train x contains NaN or inf in 4 rows"),
    (dict(val=(np.zeros((5, 64)), np.full(5, 10))), r"val=\(x, y\) does not suit this model and loss: "
                                                     r"SoftmaxCrossEntropy: label 10 is out of range"),
    (dict(callbacks=[bp.EarlyStopping]), r"got the class EarlyStopping, not an object"),
    (dict(penalties=[bp.L2]), r"got the class L2, not an object"),
    (dict(clip_norm=-1), r"clip_norm must be a number > 0"),
    (dict(rng=None), r"needs an explicit rng, e.g. rng=np.random.default_rng\(0\)"),
])
def test_fit_refuses_bad_arguments_before_training(change, message):
    model, train, rng = small_problem()
    args = dict(model=model, loss_fn=bp.SoftmaxCrossEntropy(), optimizer=bp.SGD(model.parameters(), lr=0.1),
                train=train, epochs=2, rng=rng, progress=False)
    args.update(change)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=message):
        bp.fit(**args)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))   # nothing trained


def test_fit_refuses_an_optimizer_built_for_another_model():
    # before: it trained nothing, silently
    model, train, rng = small_problem()
    other, _, _ = small_problem(1)
    with pytest.raises(ValueError, match="holds none of this model's trainable parameters.*another model"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(other.parameters(), lr=0.1), train, rng=rng, progress=False)
    for p in model.parameters():
        p.trainable = False
    with pytest.raises(ValueError, match="every parameter of the model is frozen"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.1), train, rng=rng, progress=False)


def test_scheduler_of_another_optimizer_and_a_single_callback():
    model, train, rng = small_problem()
    opt = bp.SGD(model.parameters(), lr=0.1)
    other = bp.StepLR(bp.SGD(model.parameters(), lr=0.1), step_size=1)
    with pytest.raises(ValueError, match="scheduler was built for another optimizer"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, train, rng=rng, progress=False, scheduler=other)
    with pytest.raises(ValueError, match="got a learning-rate schedule as optimizer"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), other, train, rng=rng, progress=False)
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), opt, train, val=train, epochs=3, rng=0, progress=False,
                     callbacks=bp.EarlyStopping(patience=5), penalties=bp.L2(1e-3))    # one object, an int seed
    assert len(history) == 3


def test_fit_takes_python_lists_as_arrays():
    # before: x[idx] on a list raised a raw TypeError
    runs = []
    for as_list in (False, True):
        model, (x, y), rng = small_problem()
        train = (x.tolist(), y.tolist()) if as_list else (x, y)
        runs.append(bp.fit(model, bp.SoftmaxCrossEntropy(), bp.SGD(model.parameters(), lr=0.1), train, val=train,
                           epochs=2, rng=rng, progress=False).val_loss)
    assert runs[0] == runs[1]


def test_batchnorm_with_a_last_batch_of_one_is_refused_up_front_and_drop_last_cures_it():
    # before: a ValueError from deep inside BatchNorm in the middle of training, no epoch, no cure
    rng = np.random.default_rng(0)
    x, y = DIGITS.train
    x, y = x[:65], y[:65]                                # 2 batches of 32, then 1 sample
    model = bp.mlp([64, 16, 10], rng, batchnorm=True)
    opt = bp.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"65 samples and batch_size=32: the last mini-batch of every epoch holds 1, "
                                         r"but BatchNorm1d\(16.*needs at least 2 .*drop_last=True"):
        bp.fit(model, bp.SoftmaxCrossEntropy(), opt, (x, y), rng=rng, progress=False)

    class CountSteps(bp.Callback):
        steps = 0

        def on_step_end(self, model):
            self.steps += 1

    counter = CountSteps()
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), opt, (x, y), epochs=2, rng=rng, progress=False,
                     drop_last=True, callbacks=[counter])
    assert len(history) == 2 and counter.steps == 4
    assert [len(b) for b, _ in bp.data.batches(x, y, 32, rng=rng, drop_last=True)] == [32, 32]


def test_clip_norm_in_fit_measures_the_trainable_parameters_only():
    # PyTorch's clip_grad_norm_ never sees a frozen parameter (it has no gradient); before, fit
    # counted the frozen body's gradients into the total norm and clipped the head too much
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    body, head = bp.Linear(4, 8, rng=rng), bp.Linear(8, 3, rng=rng)
    body.weight.data *= 30                              # large body gradients, if they counted
    for p in body.parameters():
        p.trainable = False
    model = bp.Sequential(body, bp.Tanh(), head)
    loss_fn = bp.SoftmaxCrossEntropy()
    loss_fn.forward(model.forward(x), y)
    model.backward(loss_fn.backward())
    head_grads = [p.grad.copy() for p in head.parameters()]
    norm = np.sqrt(sum(np.sum(g ** 2) for g in head_grads))
    model.zero_grad()
    before = [p.data.copy() for p in head.parameters()]
    bp.fit(model, loss_fn, bp.SGD(model.parameters(), lr=1.0), (x, y), epochs=1, batch_size=16, rng=rng,
           progress=False, clip_norm=0.5 * norm)
    for p, b, g in zip(head.parameters(), before, head_grads):
        np.testing.assert_allclose(b - p.data, g * 0.5 * norm / (norm + 1e-6), rtol=1e-9)


def test_load_validates_everything_before_changing_anything(tmp_path):
    # before: a string array of the right shape raised halfway, the model half-loaded
    model = mlp(np.random.default_rng(0))
    before = [p.data.copy() for p in model.parameters()]
    arrays = {name: p.data + 1 for name, p in model.named_parameters()}
    arrays["2.bias"] = np.array(["x"] * 10)              # the last parameter: the others would be loaded
    np.savez(tmp_path / "strings.npz", **arrays)
    with pytest.raises(ValueError, match=r"parameter '2.bias' holds <U1 data, not numbers"):
        bp.load(model, tmp_path / "strings.npz")
    arrays["2.bias"] = np.full(10, np.nan)
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(ValueError, match=r"'2.bias' holds NaN or inf"):
        bp.load(model, tmp_path / "nan.npz")
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def test_save_and_load_agree_on_the_npz_suffix(tmp_path, monkeypatch):
    # before: save(m, "w") wrote w.npz and load(m, "w") could not find it
    monkeypatch.chdir(tmp_path)
    a, b = mlp(np.random.default_rng(0)), mlp(np.random.default_rng(1))
    assert bp.save(a, "w") == "w.npz"
    bp.load(b, "w")
    assert all(np.array_equal(p.data, q.data) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at 'v' \(nor 'v.npz'\)"):
        bp.load(b, "v")
    with pytest.raises(ValueError, match="got the class Sequential"):
        bp.save(bp.Sequential, "w")


# ---- the state is parameters and buffers (BatchNorm's running statistics) --------------------

def bn_mlp(rng, hidden=64):
    return bp.Sequential(bp.Linear(64, hidden, rng=rng), bp.BatchNorm1d(hidden), bp.ReLU(),
                         bp.Linear(hidden, 10, rng=rng))


def test_early_stopping_restores_the_running_statistics_too():
    # before: only parameters() were restored, so the model evaluated with the last epoch's statistics
    rng = np.random.default_rng(2)
    train, val, _ = DIGITS
    model = bn_mlp(rng)
    stopper = bp.EarlyStopping(patience=3)
    history = bp.fit(model, bp.SoftmaxCrossEntropy(), bp.Adam(model.parameters(), lr=1e-2),
                     (train[0][:64], train[1][:64]), val, epochs=200, batch_size=16, rng=rng,
                     progress=False, callbacks=[stopper])
    assert stopper.stopped_epoch == stopper.best_epoch + 3
    restored_loss, _ = bp.evaluate(model, bp.SoftmaxCrossEntropy(), *val)
    assert abs(restored_loss - min(history.val_loss)) < 1e-12 * restored_loss
    best = stopper.best_state
    np.testing.assert_array_equal(model[1].running_mean, best["1.running_mean"])
    np.testing.assert_array_equal(model[1].running_var, best["1.running_var"])


def test_save_load_carries_the_running_statistics(tmp_path):
    # before: the loaded model kept its own running statistics and evaluated as another model
    rng = np.random.default_rng(0)
    a, b = bn_mlp(rng), bn_mlp(np.random.default_rng(1))
    x = DIGITS.train[0]
    for start in range(0, 256, 32):                      # training-mode passes move the statistics
        a.forward(x[start:start + 32])
    path = bp.save(a, tmp_path / "bn.npz")
    bp.load(b, path)
    a.eval(), b.eval()
    np.testing.assert_array_equal(b.forward(x[:50]), a.forward(x[:50]))
    with np.load(path) as archive:
        assert set(archive.files) == set(a.state_dict()) >= {"1.running_mean", "1.running_var"}


def test_a_checkpoint_without_running_statistics_is_refused_with_the_cure(tmp_path):
    # the format before buffers: parameters only. A model without buffers still loads it;
    # a BatchNorm model refuses it, naming what is missing, and stays as it was.
    plain = mlp(np.random.default_rng(0))
    np.savez(tmp_path / "plain.npz", **{n: p.data for n, p in plain.named_parameters()})
    other = bp.load(mlp(np.random.default_rng(1)), tmp_path / "plain.npz")
    assert all(np.array_equal(p.data, q.data) for p, q in zip(plain.parameters(), other.parameters()))
    a, b = bn_mlp(np.random.default_rng(0)), bn_mlp(np.random.default_rng(1))
    np.savez(tmp_path / "old.npz", **{n: p.data for n, p in a.named_parameters()})
    before = b.state_dict()
    with pytest.raises(ValueError, match=r"holds the parameters but not the buffers \['1.running_mean', "
                                         r"'1.running_var'\].*save the trained model again"):
        bp.load(b, tmp_path / "old.npz")
    assert all(np.array_equal(v, b.state_dict()[k]) for k, v in before.items())


def test_load_state_dict_checks_everything_before_changing_anything():
    model = bn_mlp(np.random.default_rng(0))
    before = model.state_dict()
    bad = dict(before, **{"1.running_var": np.full(64, np.inf)})
    with pytest.raises(ValueError, match=r"buffer '1.running_var' holds NaN or inf"):
        model.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"buffer '1.running_mean' has shape \(3,\), the model expects \(64,\)"):
        model.load_state_dict(dict(before, **{"1.running_mean": np.zeros(3)}))
    with pytest.raises(ValueError, match=r"a dict of arrays by name.*got a list of"):
        model.load_state_dict(list(before.values()))
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
