"""bpcourse.flops: FLOP counts against counting every scalar operation, predicted activation
memory against the arrays the layers really hold, and the mini-batch helpers against the
full-batch gradient computed by the package's own backward."""
import numpy as np
import pytest

import bpcourse as bp
from bpcourse import flops


@pytest.mark.parametrize("n, d, m", [(1, 1, 1), (2, 3, 4), (4, 2, 3), (3, 5, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_flops_equal_counting_every_scalar_operation(n, d, m, bias):
    assert flops.linear_flops(n, d, m, bias) == flops.count_linear_ops(n, d, m, bias)


def test_backward_costs_about_twice_the_forward_for_wide_layers():
    f = flops.linear_flops(256, 1024, 1024)
    assert 1.99 < f.backward / f.forward <= 2.0


def test_model_flops_add_up_the_layers():
    model = bp.mlp([8, 6, 4], np.random.default_rng(0))
    rows, total = flops.model_flops(model, batch_size=5)
    assert [name for name, _ in rows] == ["Linear(8 → 6)", "ReLU()", "Linear(6 → 4)"]
    l1, l2 = flops.linear_flops(5, 8, 6), flops.linear_flops(5, 6, 4)
    assert total.forward == l1.forward + 5 * 6 + l2.forward
    assert total.backward == l1.backward + 5 * 6 + l2.backward


def test_model_flops_reports_a_shape_mismatch():
    model = bp.Sequential(bp.Linear(4, 3, rng=np.random.default_rng(0)), bp.Linear(5, 2, rng=np.random.default_rng(0)))
    with pytest.raises(ValueError, match="expects 5 features"):
        flops.model_flops(model, 2)


def models():
    rng = np.random.default_rng(0)
    return {
        "mlp2": bp.mlp([7, 5, 3], rng),
        "mlp4-tanh": bp.mlp([7, 6, 6, 6, 2], rng, activation=bp.Tanh),
        "dropout-bn": bp.Sequential(bp.Linear(7, 6, rng=rng), bp.BatchNorm1d(6), bp.ReLU(),
                                    bp.Dropout(0.3, rng=rng), bp.Linear(6, 2, rng=rng)),
        "float32": bp.mlp([7, 4, 2], rng, dtype=np.float32),
    }


@pytest.mark.parametrize("name", list(models()))
@pytest.mark.parametrize("n", [2, 9])
def test_predicted_activation_memory_equals_what_the_layers_cache(name, n):
    model = models()[name]
    dtype = model[0].dtype
    model.forward(np.random.default_rng(1).standard_normal((n, 7)).astype(dtype))
    assert flops.activation_memory(model, n, itemsize=dtype.itemsize) == flops.cached_bytes(model)


def test_activation_memory_grows_with_batch_size_times_depth():
    rng = np.random.default_rng(0)
    mem = {(depth, n): flops.activation_memory(bp.mlp([10] + [10] * depth + [2], rng), n)
           for depth in (1, 2, 4) for n in (8, 16)}
    assert mem[(1, 16)] == 2 * mem[(1, 8)]
    # each hidden layer adds a pre-activation and an activation: 2 · N · width values
    assert mem[(2, 8)] - mem[(1, 8)] == 2 * 8 * 10 * 8
    assert mem[(4, 8)] - mem[(2, 8)] == 2 * (2 * 8 * 10 * 8)


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return bp.mlp([6, 5, 3], rng), rng.standard_normal((n, 6)), rng.integers(0, 3, n)


def test_per_sample_loop_agrees_with_the_layer_backward():
    rng = np.random.default_rng(0)
    layer = bp.Linear(4, 3, rng=rng)
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    layer.forward(x)
    dx = layer.backward(dout)
    ldx, ldw, ldb = flops.per_sample_linear_grads(x, layer.weight.data, dout)
    assert np.allclose(ldx, dx) and np.allclose(ldw, layer.weight.grad) and np.allclose(ldb, layer.bias.grad)


def test_gradient_matches_numerical_gradient_and_leaves_grads_zero():
    model, x, y = data(8)
    g = flops.gradient(model, bp.SoftmaxCrossEntropy(), x, y)
    loss = lambda _: bp.SoftmaxCrossEntropy().forward(model.forward(x), y)
    numeric = np.concatenate([bp.numerical_gradient(loss, p.data).ravel() for p in model.parameters()])
    assert bp.rel_error(g, numeric) < 1e-7
    assert all(not p.grad.any() for p in model.parameters())


@pytest.mark.parametrize("workers", [1, 2, 4, 5, 20])
def test_data_parallel_average_is_exactly_the_full_batch_gradient(workers):
    model, x, y = data(20)
    full = flops.gradient(model, bp.SoftmaxCrossEntropy(), x, y)
    average, per_worker = flops.data_parallel_gradient(model, bp.SoftmaxCrossEntropy(), x, y, workers)
    assert len(per_worker) == workers
    assert np.allclose(average, full, rtol=1e-12, atol=1e-14)
    if workers > 1:
        assert all(bp.rel_error(g, full) > 1e-3 for g in per_worker)   # each worker alone is noisy


@pytest.mark.parametrize("workers", [3, 7, 0, 21])
def test_data_parallel_refuses_unequal_shards(workers):
    model, x, y = data(20)
    with pytest.raises(ValueError, match="equal shards"):
        flops.data_parallel_gradient(model, bp.SoftmaxCrossEntropy(), x, y, workers)


def test_gradient_noise_falls_like_one_over_batch_size():
    model, x, y = data(400)
    noise = flops.gradient_noise(model, bp.SoftmaxCrossEntropy(), x, y, [1, 4, 16, 400], draws=400,
                                 rng=np.random.default_rng(0))
    assert noise[400] == 0                                 # the whole data set: no noise at all
    for b in (4, 16):                                      # sampling without replacement: × (N−B)/(N−1)
        expected = noise[1] / b * (400 - b) / 399
        assert abs(noise[b] / expected - 1) < 0.25, (b, noise[b], expected)


def test_gradient_noise_needs_an_rng_and_a_valid_batch_size():
    model, x, y = data(10)
    with pytest.raises(ValueError, match="rng"):
        flops.gradient_noise(model, bp.SoftmaxCrossEntropy(), x, y, [2])
    with pytest.raises(ValueError, match="between 1 and"):
        flops.gradient_noise(model, bp.SoftmaxCrossEntropy(), x, y, [11], rng=np.random.default_rng(0))


def test_train_timed_follows_the_same_steps_as_fit():
    model_a, x, y = data(50)
    model_b, _, _ = data(50)
    losses, seconds = flops.train_timed(model_a, bp.SoftmaxCrossEntropy(), bp.SGD(model_a.parameters(), lr=0.1),
                                        x, y, 3, 8, np.random.default_rng(5))
    history = bp.fit(model_b, bp.SoftmaxCrossEntropy(), bp.SGD(model_b.parameters(), lr=0.1), (x, y),
                     epochs=3, batch_size=8, rng=np.random.default_rng(5), progress=False)
    assert np.allclose(losses, history.train_loss)
    assert len(seconds) == 3 and 0 < seconds[0] <= seconds[1] <= seconds[2]


def test_timing_helpers_return_positive_seconds():
    assert flops.time_call(lambda: sum(range(100)), repeats=2, min_time=0.001) > 0
    assert flops.matmul_time(32, threads=1, repeats=2) > 0
    name, threads = flops.blas_info()
    assert isinstance(name, str) and threads >= 1


def test_formatting():
    assert flops.format_bytes(512) == "512 B" and flops.format_bytes(1536) == "1.5 kB"
    assert flops.format_count(12_345_678) == "12.3 M"


def test_per_sample_gradients_average_to_the_full_batch_gradient():
    model, x, y = data(12)
    per_sample = flops.per_sample_gradients(model, bp.SoftmaxCrossEntropy(), x, y)
    assert per_sample.shape == (12, sum(p.data.size for p in model.parameters()))
    assert np.allclose(per_sample.mean(axis=0), flops.gradient(model, bp.SoftmaxCrossEntropy(), x, y), atol=1e-15)
    loss = lambda _: bp.SoftmaxCrossEntropy().forward(model.forward(x[3:4]), y[3:4])
    numeric = np.concatenate([bp.numerical_gradient(loss, p.data).ravel() for p in model.parameters()])
    assert bp.rel_error(per_sample[3], numeric) < 1e-7


def test_exact_gradient_noise_equals_the_average_over_every_possible_batch():
    # independent of the formula: enumerate all C(N, B) batches of a small set
    from itertools import combinations
    rng = np.random.default_rng(0)
    per_sample = rng.standard_normal((7, 3)) + np.array([1.0, -2.0, 0.5])
    full = per_sample.mean(axis=0)
    noise = flops.exact_gradient_noise(per_sample, [1, 2, 3, 6, 7])
    for b in (1, 2, 3, 6, 7):
        every = [np.sum((per_sample[list(idx)].mean(axis=0) - full) ** 2) for idx in combinations(range(7), b)]
        assert np.isclose(noise[b], np.mean(every) / (full @ full), rtol=1e-12, atol=1e-15), b
    assert noise[7] < 1e-30


def test_exact_gradient_noise_rejects_bad_input():
    with pytest.raises(ValueError, match="between 1 and"):
        flops.exact_gradient_noise(np.ones((4, 2)), [5])
    with pytest.raises(ValueError, match=r"\(N, P\)"):
        flops.exact_gradient_noise(np.ones(4), [1])


def test_thread_model_approaches_k_for_large_products_and_loses_on_small_ones():
    one = flops.threaded_matmul_seconds(4096, 512, 512, 1)
    for k in (2, 4, 8):
        assert 0.95 * k < one / flops.threaded_matmul_seconds(4096, 512, 512, k) <= k
    assert flops.threaded_matmul_seconds(16, 16, 16, 2) > flops.threaded_matmul_seconds(16, 16, 16, 1)
    # the slowest thread decides: 5 rows on 4 threads take as long as 2 rows on 1
    no_overhead = dict(overhead=0.0)
    assert flops.threaded_matmul_seconds(5, 3, 3, 4, **no_overhead) == flops.threaded_matmul_seconds(2, 3, 3, 1, **no_overhead)
    with pytest.raises(ValueError, match="at least one thread"):
        flops.threaded_matmul_seconds(5, 3, 3, 0)
