"""bpcourse.by_hand: lesson 09's network written out one intermediate at a time. Its forward pass is
the package's layers', and its numerical gradient with respect to each intermediate is what the
package's own backward passes produce at every layer boundary."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse import by_hand


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(3)
    model = by_hand.network(rng, hidden=6, inputs=5, classes=4)
    model[1].gamma.data[...] = rng.uniform(0.5, 1.5, 6)        # away from the defaults, so that
    model[1].beta.data[...] = 0.3 * rng.standard_normal(6)      # every parameter matters
    model[0].bias.data[...] = 0.1 * rng.standard_normal(6)
    x, y = rng.standard_normal((7, 5)), rng.integers(0, 4, 7)
    return model, x, y, by_hand.forward(by_hand.params_of(model), x, y)


def test_forward_is_the_package_layers_forward(case):
    model, x, y, values = case
    model.train()
    logits = model.forward(x)
    np.testing.assert_allclose(values["logits"], logits, rtol=1e-12)
    assert float(values["loss"]) == pytest.approx(bp.SoftmaxCrossEntropy().forward(logits, y), rel=1e-12)
    assert values["bnmeani"].shape == (1, 6) and values["counts_sum"].shape == (7, 1)


def test_numerical_gradients_match_the_package_layers_backward_at_every_boundary(case):
    model, x, y, values = case
    lin1, bn, tanh, lin2 = model
    loss_fn = bp.SoftmaxCrossEntropy()
    model.train()
    model.zero_grad()
    loss_fn.forward(model.forward(x), y)
    dlogits = loss_fn.backward()
    dh = lin2.backward(dlogits)
    dhpreact = tanh.backward(dh)
    dhprebn = bn.backward(dhpreact)
    lin1.backward(dhprebn)
    numeric = by_hand.numerical_gradients(values)
    for key, analytic in [("dlogits", dlogits), ("dh", dh), ("dW2", lin2.weight.grad), ("db2", lin2.bias.grad),
                          ("dhpreact", dhpreact), ("dgamma", bn.gamma.grad), ("dbeta", bn.beta.grad),
                          ("dhprebn", dhprebn), ("dW1", lin1.weight.grad)]:
        assert bp.rel_error(numeric[key], analytic) < 1e-7, key
    # the two gradients that are zero: the softmax ignores a shift, batch norm removes a bias
    assert np.abs(numeric["dlogit_maxes"]).max() < 1e-9 and np.abs(numeric["db1"]).max() < 1e-9
    assert np.abs(lin1.bias.grad).max() < 1e-12


@pytest.mark.parametrize("name", ["counts", "bndiff", "hprebn", "logits"])
def test_the_paths_of_a_node_used_twice_add_up_to_its_gradient(case, name):
    values = case[3]
    total = by_hand.numerical_gradient(name, values)
    parts = [by_hand.numerical_gradient(name, values, only_through=c) for c in by_hand.CONSUMERS[name]]
    assert len(parts) == 2
    np.testing.assert_allclose(parts[0] + parts[1], total, rtol=1e-6, atol=1e-9)
    assert not np.allclose(parts[0], total) or not np.allclose(parts[1], total) or name == "logits"


def test_only_through_must_name_a_consumer(case):
    with pytest.raises(ValueError, match="does not feed"):
        by_hand.numerical_gradient("counts", case[3], only_through="h")


def test_sampled_entries_match_the_full_gradient_and_leave_nan_elsewhere(case):
    values = case[3]
    full = by_hand.numerical_gradient("bndiff", values)
    some = by_hand.numerical_gradient("bndiff", values, indices=[(0, 1), (6, 5)])
    assert np.isnan(some).sum() == full.size - 2
    assert some[0, 1] == pytest.approx(full[0, 1]) and some[6, 5] == pytest.approx(full[6, 5])


def test_a_tiny_probability_is_not_nudged_off_the_domain_of_log():
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": np.zeros(4), "gamma": np.ones(4), "beta": np.zeros(4),
              "W2": 20 * rng.standard_normal((4, 3)), "b2": np.zeros(3)}
    values = by_hand.forward(params, rng.standard_normal((5, 3)), np.array([0, 1, 2, 0, 1]))
    assert values["probs"].min() < 1e-8
    grad = by_hand.numerical_gradient("probs", values)
    assert np.all(np.isfinite(grad))
    expected = np.zeros_like(values["probs"])                # d(-mean log p_label)/dp = -1/(N p) at labels
    expected[np.arange(5), values["y"]] = -1 / (5 * values["probs"][np.arange(5), values["y"]])
    assert bp.rel_error(grad, expected) < 1e-7


def test_agrees_tells_rounding_noise_from_a_wrong_gradient():
    numeric = np.array([1.0, -2.0, 3.0])
    assert by_hand.agrees(numeric * (1 + 1e-9), numeric, scale=1.0)
    assert not by_hand.agrees(numeric * 1.01, numeric, scale=1.0)
    assert by_hand.agrees(np.full(3, 1e-17), np.full(3, 3e-11), scale=1.0)      # a zero gradient
    assert not by_hand.agrees(np.full(3, 0.1), np.zeros(3), scale=1.0)
    assert by_hand.agrees(np.array([1.0, 5.0]), np.array([1.0, np.nan]), scale=1.0)   # only known entries


def test_backward_order_visits_every_consumer_before_the_node():
    order = by_hand.BACKWARD
    assert sorted(order) == sorted(by_hand.INTERMEDIATES + list(by_hand.PARAMETERS))
    for name in order:
        for consumer in by_hand.CONSUMERS[name]:
            assert consumer == "loss" or order.index(consumer) < order.index(name), (consumer, name)


def test_params_round_trip(case):
    model = case[0]
    params = by_hand.params_of(model)
    fresh = by_hand.load_params(by_hand.network(np.random.default_rng(9), hidden=6, inputs=5, classes=4), params)
    for key, value in by_hand.params_of(fresh).items():
        np.testing.assert_array_equal(value, params[key])


def test_report_names_the_first_wrong_gradient(case):
    values = case[3]
    numeric = by_hand.numerical_gradients(values)
    right = {key: numeric[key] for key in ("dlogits", "dh", "dW2", "db1")}
    assert by_hand.report(right, values) and "all agree" in repr(by_hand.report(right, values, numeric))
    wrong = {**right, "dh": 2 * right["dh"], "dW2": right["dW2"].T}
    found = by_hand.report(wrong, values, numeric)
    assert not found and found.first_wrong == "dh"
    assert "0 (zero)" in repr(found) and "WRONG" in repr(found)          # db1, and the two wrong rows


def test_early_stopping_restores_the_weights_and_batchnorm_running_statistics():
    """Lesson 09 §5 says that bp.EarlyStopping (like bp.save) copies model.state_dict(), so on a
    BatchNorm network it restores the best epoch's weights and running statistics together."""
    from types import SimpleNamespace
    rng = np.random.default_rng(5)
    model = by_hand.network(rng, hidden=4, inputs=3, classes=2)
    x = rng.standard_normal((8, 3))
    stopper = bp.EarlyStopping(patience=1)
    stopper.on_train_begin(model)
    model.train()
    model.forward(x)                                        # the running statistics move
    best_weights = [p.data.copy() for p in model.parameters()]
    best_mean = model[1].running_mean.copy()
    assert not stopper.on_epoch_end(0, SimpleNamespace(val_loss=[1.0]), model)
    for p in model.parameters():
        p.data += 1.0                                       # a worse epoch: other weights ...
    model.forward(x + 5.0)                                  # ... and other running statistics
    last_mean = model[1].running_mean.copy()
    assert stopper.on_epoch_end(1, SimpleNamespace(val_loss=[1.0, 2.0]), model)
    stopper.on_train_end(model)
    for p, best in zip(model.parameters(), best_weights):
        np.testing.assert_array_equal(p.data, best)
    assert not np.allclose(last_mean, best_mean)
    np.testing.assert_array_equal(model[1].running_mean, best_mean)
