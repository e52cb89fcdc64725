"""bpcourse.transfer: augmentation, freezing, new heads, parameter groups, the three strategies."""
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
    x, y = bp.data.few_per_class(*transfer.target_data().train, 3, seed=0)
    probe = transfer.train_strategy("linear probe", x, y, seed=4, pretrained_model=pre, steps=30)
    frozen = transfer.train_strategy("fine-tune", x, y, seed=4, pretrained_model=pre, freeze_layers=2, steps=30)
    assert np.allclose(probe[-1].weight.data, frozen[-1].weight.data, atol=1e-10)


def test_strategies_and_errors():
    pre = small_pretrained()
    x, y = bp.data.few_per_class(*transfer.target_data().train, 2, seed=0)
    for strategy in transfer.STRATEGIES:
        model = transfer.train_strategy(strategy, x, y, seed=0, pretrained_model=pre, steps=5)
        assert model.forward(x).shape == (10, 5)
    with pytest.raises(ValueError, match="unknown strategy"):
        transfer.train_strategy("transfer", x, y, seed=0, pretrained_model=pre)
    with pytest.raises(ValueError, match="needs the pretrained model"):
        transfer.train_strategy("fine-tune", x, y, seed=0)


def test_pretrained_model_learns_the_source_task_and_round_trips_through_save_and_load(tmp_path):
    model = transfer.pretrained()
    _, acc = bp.evaluate(model, bp.SoftmaxCrossEntropy(), *transfer.source_data().test)
    assert acc > 0.95
    bp.save(model, tmp_path / "pre.npz")
    fresh = transfer.build_mlp(np.random.default_rng(99))
    bp.load(fresh, tmp_path / "pre.npz")
    x = transfer.target_data().test[0]
    assert np.array_equal(fresh.forward(x), model.forward(x))
    assert transfer.pretrained() is not transfer.pretrained()     # copies: experiments cannot spoil the cache


def test_run_strategy_gives_an_accuracy_and_caches_default_runs():
    a = transfer.run_strategy("linear probe", 1, seed=0)
    assert 0.2 < a <= 1.0                                        # 5 classes: chance is 0.2
    assert transfer.run_strategy("linear probe", 1, seed=0) == a


def test_winner_needs_a_margin_beyond_the_spread():
    clear = {"a": np.array([[0.9, 0.91, 0.92]]), "b": np.array([[0.8, 0.82, 0.81]])}
    noisy = {"a": np.array([[0.9, 0.7, 0.8]]), "b": np.array([[0.8, 0.8, 0.79]])}
    assert transfer.winner(clear, 0) == "a"
    assert transfer.winner(noisy, 0) == "tie"


def test_summarize_prints_mean_and_spread_in_percent():
    table = transfer.summarize({"scratch": np.array([[0.5, 0.7]])}, [3])
    assert "60.0 ± 10.0" in table and table.splitlines()[1].strip().startswith("3")


def test_default_runs_share_the_cache_whatever_the_spelling_of_the_defaults():
    key = transfer._options_key
    assert key("fine-tune", {}) == key("fine-tune", {"freeze_layers": 0, "body_lr": transfer.BODY_LR})
    assert key("scratch", {"body_lr": 0.1}) == key("scratch", {})          # scratch has no body lr
    assert key("fine-tune", {"body_lr": 0.1}) != key("fine-tune", {})
    with pytest.raises(ValueError, match="unknown options"):
        key("fine-tune", {"lr": 0.1})
