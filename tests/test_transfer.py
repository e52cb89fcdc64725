"""bpcourse.transfer: augmentation and lighting, the shipped weights, freezing, new heads, parameter
groups, the three strategies, paired comparisons."""
from pathlib import Path

import numpy as np
import pytest

import bpcourse as bp
from bpcourse import transfer


def test_shifted_adds_eight_one_pixel_shifts():
    x = np.arange(2 * 64, dtype=float).reshape(2, 64)
    xs, ys = transfer.shifted(x, np.array([3, 4]))
    assert xs.shape == (18, 64) and list(ys[:4]) == [3, 4, 3, 4]
    images = xs.reshape(9, 2, 8, 8)                       # block 0: the originals
    assert np.array_equal(images[0], x.reshape(2, 8, 8))
    original = x.reshape(2, 8, 8)
    # every other block is the original moved by one pixel in some direction, zeros shifted in
    found = set()
    for block in images[1:]:
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                rolled = np.roll(original, (dy, dx), axis=(1, 2))
                inner = (slice(None), slice(1, 7), slice(1, 7))
                if (dy, dx) != (0, 0) and np.array_equal(block[inner], rolled[inner]):
                    found.add((dy, dx))
    assert len(found) == 8


def small_pretrained():
    return bp.Sequential(bp.Linear(64, 8, rng=np.random.default_rng(0)), bp.ReLU(),
                         bp.Linear(8, 8, rng=np.random.default_rng(1)), bp.ReLU(),
                         bp.Linear(8, 5, rng=np.random.default_rng(2)))


def test_freeze_and_unfreeze_switch_trainable_and_the_optimizer_respects_it():
    layer = bp.Linear(3, 2, rng=np.random.default_rng(0))
    transfer.freeze(layer)
    assert not any(p.trainable for p in layer.parameters())
    before = layer.weight.data.copy()
    layer.weight.grad[...] = 1.0
    bp.SGD(layer.parameters(), lr=0.1).step()
    assert np.array_equal(layer.weight.data, before)
    transfer.unfreeze([layer])
    assert all(p.trainable for p in layer.parameters())


@pytest.mark.parametrize("k", [0, 1, 2])
def test_transfer_model_copies_the_body_freezes_k_layers_and_adds_a_head(k):
    pre = small_pretrained()
    saved = [p.data.copy() for p in pre.parameters()]
    model, body, head = transfer.transfer_model(pre, np.random.default_rng(3), freeze_layers=k, num_classes=4)
    assert model.forward(np.ones((2, 64))).shape == (2, 4)
    linears = [l for l in body if isinstance(l, bp.Linear)]
    assert [l.weight.trainable for l in linears] == [i >= k for i in range(2)]
    assert head.weight.trainable and head.out_features == 4
    for p in body.parameters():
        p.data += 1.0                                      # changing the copy ...
    assert all(np.array_equal(p.data, s) for p, s in zip(pre.parameters(), saved))   # ... leaves the original
    assert all(p.trainable for p in pre.parameters())


def test_transfer_model_rejects_too_many_frozen_layers():
    with pytest.raises(ValueError, match="between 0 and 2"):
        transfer.transfer_model(small_pretrained(), np.random.default_rng(0), freeze_layers=3)


def test_fine_tune_optimizer_has_a_body_group_and_a_head_group():
    _, body, head = transfer.transfer_model(small_pretrained(), np.random.default_rng(0))
    opt = transfer.fine_tune_optimizer(body, head, body_lr=1e-4, head_lr=1e-2)
    assert [g["lr"] for g in opt.param_groups] == [1e-4, 1e-2]
    assert opt.param_groups[0]["params"] == body.parameters()
    assert opt.param_groups[1]["params"] == head.parameters()
    _, body, head = transfer.transfer_model(small_pretrained(), np.random.default_rng(0), freeze_layers=2)
    assert len(transfer.fine_tune_optimizer(body, head).param_groups) == 1


def test_linear_probe_shortcut_equals_training_with_a_frozen_body():
    # the probe trains the head on precomputed features; training body + head with the body
    # frozen (fine-tune with every body layer frozen) must give the same head
    pre = small_pretrained()
    x, y = bp.data.few_per_class(*transfer.target_data("lit").train, 3, seed=0)
    probe = transfer.train_strategy("linear probe", x, y, seed=4, pretrained_model=pre, steps=30)
    frozen = transfer.train_strategy("fine-tune", x, y, seed=4, pretrained_model=pre, freeze_layers=2, steps=30)
    assert np.allclose(probe[-1].weight.data, frozen[-1].weight.data, atol=1e-10)


def test_strategies_and_errors():
    pre = small_pretrained()
    x, y = bp.data.few_per_class(*transfer.target_data("clean").train, 2, seed=0)
    for strategy in transfer.STRATEGIES:
        model = transfer.train_strategy(strategy, x, y, seed=0, pretrained_model=pre, steps=5)
        assert model.forward(x).shape == (10, 5)
    with pytest.raises(ValueError, match="unknown strategy"):
        transfer.train_strategy("transfer", x, y, seed=0, pretrained_model=pre)
    with pytest.raises(ValueError, match="needs the pretrained model"):
        transfer.train_strategy("fine-tune", x, y, seed=0)


def test_uneven_lighting_adds_one_bounded_plane_per_image_and_remove_lighting_takes_it_away():
    x = transfer.target_data("clean").test[0][:20]
    lit = transfer.uneven_lighting(x, np.random.default_rng(0), strength=0.5)
    coords = np.linspace(-1, 1, 8)
    row, col = np.meshgrid(coords, coords, indexing="ij")           # independent of the package's basis
    basis = np.column_stack([np.ones(64), row.ravel(), col.ravel()])
    coef, residual, *_ = np.linalg.lstsq(basis, (lit - x).T, rcond=None)
    assert np.allclose(basis @ coef, (lit - x).T, atol=1e-12)        # the difference is a plane ...
    assert np.abs(coef).max() <= 0.5 and np.abs(coef).max() > 0.3     # ... with coefficients within ±0.5
    assert len({tuple(np.round(c, 6)) for c in coef.T}) == 20         # a different plane for every image
    flat = transfer.remove_lighting(lit)
    assert np.allclose(flat, transfer.remove_lighting(x), atol=1e-12)     # the lighting is gone exactly
    assert np.allclose(basis.T @ flat.T, 0, atol=1e-10)                   # what is left has no plane in it


def test_target_versions_share_images_and_labels():
    clean, lit, corrected = (transfer.target_data(t) for t in ("clean", "lit", "corrected"))
    for a, b, c in zip(clean, lit, corrected):
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[1], c[1])
        assert not np.allclose(a[0], b[0])
        assert np.allclose(c[0], transfer.remove_lighting(b[0]))
    assert set(np.unique(lit.train[1])) == set(range(5))
    with pytest.raises(ValueError, match="unknown target"):
        transfer.target_data("dark")


def test_pretraining_set_is_every_source_image_shifted_and_lit():
    x, y = transfer.pretraining_set()
    n = len(transfer.source_data().train[0])
    assert x.shape == (n * 9 * transfer.LIGHTINGS, 64) and len(y) == len(x)
    shifted, _ = transfer.shifted(*transfer.source_data().train)
    assert np.allclose(transfer.remove_lighting(x[:len(shifted)]), transfer.remove_lighting(shifted))


def test_pretraining_set_without_lightings_is_the_shifted_images_once():
    x, y = transfer.pretraining_set(lightings=0)
    shifted, labels = transfer.shifted(*transfer.source_data().train)
    assert np.array_equal(x, shifted) and np.array_equal(y, labels)


def test_lighting_share_measures_the_weight_in_the_three_lighting_directions():
    coords = np.linspace(-1, 1, 8)
    row, col = np.meshgrid(coords, coords, indexing="ij")           # independent of the package's basis
    planes = np.column_stack([np.ones(64), row.ravel(), 2 * row.ravel() - 3 * col.ravel()])
    assert transfer.lighting_share(planes) == pytest.approx(1.0)    # nothing but lighting
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 40))
    basis = np.column_stack([np.ones(64), row.ravel(), col.ravel()])
    blind = w - basis @ np.linalg.lstsq(basis, w, rcond=None)[0]     # every column orthogonal to the planes
    assert transfer.lighting_share(blind) < 1e-20
    # a blind layer plus a lighting part: the share is the part's squared norm over the total
    part = planes[:, :1] @ rng.normal(size=(1, 40))
    expected = np.sum(part ** 2) / (np.sum(part ** 2) + np.sum(blind ** 2))
    assert transfer.lighting_share(blind + part) == pytest.approx(expected)
    assert 0.02 < transfer.lighting_share(rng.normal(size=(64, 2000))) < 0.08     # random: about 3/64
    # a unit blind to the planes responds identically to any lit version of an image
    x = transfer.target_data("clean").test[0][:5]
    lit = transfer.uneven_lighting(x, rng)
    assert np.allclose(x @ blind, lit @ blind)
    with pytest.raises(ValueError, match=r"shape \(64, k\)"):
        transfer.lighting_share(np.ones((8, 8)))


def test_shipped_weights_are_package_data_small_and_learn_the_source_task():
    assert transfer.WEIGHTS.parent.parent == Path(transfer.__file__).parent
    assert transfer.WEIGHTS.stat().st_size < 1_000_000
    model = transfer.pretrained()
    for target in ("clean", "lit"):
        assert transfer.accuracy(model, *transfer.source_data(target).test) > 0.95
    assert transfer.pretrained() is not transfer.pretrained()     # copies: experiments cannot spoil the cache


def test_the_build_script_rebuilds_the_shipped_weights():
    # tools/build_pretrained.py saves transfer.pretrain(): rebuilding must give the shipped arrays
    # (to rounding: another CPU may round the 1 520 Adam steps differently in the last bits)
    rebuilt, history = transfer.pretrain()
    shipped = transfer.pretrained()
    for (name, p), q in zip(rebuilt.named_parameters(), shipped.parameters()):
        assert np.allclose(p.data, q.data, rtol=0, atol=1e-6), name
    assert history.val_acc[-1] > 0.95


def test_save_and_load_round_trip_the_pretrained_model(tmp_path):
    model = transfer.pretrained()
    bp.save(model, tmp_path / "pre.npz")
    fresh = bp.load(transfer.build_mlp(np.random.default_rng(99)), tmp_path / "pre.npz")
    x = transfer.target_data("lit").test[0]
    assert np.array_equal(fresh.forward(x), model.forward(x))


def test_train_steps_takes_exactly_the_budget_and_visits_every_example_each_epoch():
    model = bp.Sequential(bp.Linear(3, 2, rng=np.random.default_rng(0)))
    seen = []
    forward = model.forward
    model.forward = lambda xb: (seen.append(xb[:, 0].copy()), forward(xb))[1]
    steps = []

    class Counting(bp.SGD):
        def step(self):
            steps.append(1)
            super().step()

    x = np.arange(21, dtype=float).reshape(7, 3)
    transfer.train_steps(model, Counting(model.parameters(), lr=0.1), x, np.zeros(7, int), steps=9,
                         rng=np.random.default_rng(0), batch_size=3)
    assert len(steps) == 9
    first_epoch = np.concatenate(seen[:2])                  # 7 examples, batches of 3: two full batches
    assert len(set(first_epoch)) == 6 and set(first_epoch) <= set(x[:, 0])


def test_run_strategy_gives_an_accuracy_and_caches_default_runs():
    a = transfer.run_strategy("linear probe", 1, seed=0)
    assert 0.2 < a <= 1.0                                        # 5 classes: chance is 0.2
    assert transfer.run_strategy("linear probe", 1, seed=0) == a
    with pytest.raises(ValueError, match="unknown target"):
        transfer.run_strategy("scratch", 1, 0, target="noisy")


def test_pretraining_pays_on_the_lit_digits_with_one_label_per_class():
    r = transfer.compare([1], seeds=range(3), target="lit", strategies=("scratch", "linear probe"))
    mean, low, _ = transfer.paired_gain(r["linear probe"][0], r["scratch"][0])
    assert mean > 0.15 and low > 0


def test_t_quantiles_and_the_paired_interval():
    from scipy import stats                                  # scikit-learn depends on scipy
    assert np.allclose(transfer.T95, stats.t.ppf(0.975, np.arange(1, 11)), atol=1e-3)
    a, b = np.array([0.71, 0.64, 0.80, 0.69]), np.array([0.60, 0.58, 0.70, 0.61])
    d = a - b
    mean, low, high = transfer.paired_gain(a, b)
    assert np.isclose(mean, d.mean())
    assert np.isclose(high - mean, stats.t.ppf(0.975, 3) * stats.sem(d), rtol=1e-3)
    assert np.isclose(mean - low, high - mean)
    shift = np.array([0.1, -0.2, 0.05, 0.3])                 # a per-draw effect both strategies share
    assert np.allclose(transfer.paired_gain(a + shift, b + shift), (mean, low, high))
    with pytest.raises(ValueError, match="paired results"):
        transfer.paired_gain([0.5], [0.4])


def test_summarize_and_gains_print_mean_spread_and_paired_intervals_in_points():
    table = transfer.summarize({"scratch": np.array([[0.5, 0.7]])}, [3])
    assert "60.0 ± 14.1" in table and table.splitlines()[1].strip().startswith("3")
    gains = transfer.gains({"scratch": np.array([[0.5, 0.6, 0.7]]), "fine-tune": np.array([[0.6, 0.7, 0.8]])}, [2])
    assert "+10.0 [ +10.0,  +10.0]" in gains
    assert transfer.signed(-0.04) == "+0.0" and transfer.signed(-0.06) == "-0.1" and transfer.signed(3) == "+3.0"


def test_plot_comparison_draws_one_line_per_strategy():
    import matplotlib
    matplotlib.use("Agg")
    r = {"scratch": np.array([[0.5, 0.6], [0.7, 0.8]]), "fine-tune": np.array([[0.6, 0.7], [0.8, 0.9]])}
    ax = transfer.plot_comparison(r, [1, 5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["scratch", "fine-tune"]
    assert list(ax.get_xticks()) == [1, 5]


def test_default_runs_share_the_cache_whatever_the_spelling_of_the_defaults():
    key = transfer._options_key
    assert key("fine-tune", {}) == key("fine-tune", {"freeze_layers": 0, "body_lr": transfer.BODY_LR})
    assert key("scratch", {"body_lr": 0.1}) == key("scratch", {})          # scratch has no body lr
    assert key("fine-tune", {"body_lr": 0.1}) != key("fine-tune", {})
    with pytest.raises(ValueError, match="unknown options"):
        key("fine-tune", {"lr": 0.1})
