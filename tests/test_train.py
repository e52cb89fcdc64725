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
    with pytest.raises(FloatingPointError,
                       match=r"loss became (nan|inf) at epoch \d+, batch \d+\. Try a smaller learning rate or clip_norm=1.0") as err:
        bp.fit(model, bp.MSELoss(), bp.SGD(model.parameters(), lr=10.0), (x, np.eye(10)[labels]), epochs=30,
               rng=rng, progress=False)
    assert len(err.value.history) >= 1                    # the epochs before it blew up are kept


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
