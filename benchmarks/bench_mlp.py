"""How fast is bpcourse? A 64-128-128-10 ReLU MLP trained with Adam on the digits.

For batch sizes 32, 128, 512, float32 and float64, one BLAS thread and all:
seconds per epoch, samples per second, the share of the time spent in the matrix
products (bare numpy GEMMs of the same shapes, timed in the same run), and the
ratio against the same math written as bare numpy without layers. If PyTorch is
installed, the identical model in PyTorch, alternating runs, and the ratio.

    .venv/bin/python benchmarks/bench_mlp.py [--epochs 7]

Targets: bpcourse ≤ 1.15 × bare numpy; bpcourse / PyTorch ≤ 0.8 at batch 128, float32, one thread.
"""
import argparse
import os
import time

# PyTorch's OpenMP threads otherwise spin for a while after each op, taking the second core
# from whichever trainer runs next in the alternation; a passive wait keeps the runs fair.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

import bpcourse as bp

SIZES = (64, 128, 128, 10)


def data(dtype):
    digits = load_digits()
    return (digits.data / 16.0).astype(dtype), digits.target.astype(np.int64)


def epoch_batches(n, batch_size, rng):
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


# ---- the three implementations: each returns a function that trains one epoch ----------------

def bpcourse_trainer(x, y, batch_size, dtype):
    rng = np.random.default_rng(0)
    model = bp.Sequential(bp.Linear(64, 128, rng=rng, dtype=dtype), bp.ReLU(),
                          bp.Linear(128, 128, rng=rng, dtype=dtype), bp.ReLU(),
                          bp.Linear(128, 10, rng=rng, dtype=dtype))
    loss_fn, opt = bp.SoftmaxCrossEntropy(), bp.Adam(model.parameters(), lr=1e-3)

    def epoch():
        for idx in epoch_batches(len(x), batch_size, rng):
            loss_fn.forward(model.forward(x[idx]), y[idx])
            model.backward(loss_fn.backward())
            opt.step()
            opt.zero_grad()
    return epoch


def numpy_trainer(x, y, batch_size, dtype):
    """The same math with bare arrays: no layers, no checks (and, as bpcourse, dL/dx of the input)."""
    rng = np.random.default_rng(0)
    params = []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        params += [(rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(dtype),
                   np.zeros(fan_out, dtype)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    t = [0]

    def epoch():
        for idx in epoch_batches(len(x), batch_size, rng):
            xb, yb = x[idx], y[idx]
            w1, b1, w2, b2, w3, b3 = params
            h1 = np.maximum(xb @ w1 + b1, 0)
            h2 = np.maximum(h1 @ w2 + b2, 0)
            z = h2 @ w3 + b3
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            _ = -np.log(p[np.arange(len(yb)), yb]).mean()     # the loss value, as loss_fn.forward returns
            p[np.arange(len(yb)), yb] -= 1
            dz = p / len(yb)
            dh2 = (dz @ w3.T) * (h2 > 0)
            dh1 = (dh2 @ w2.T) * (h1 > 0)
            _ = dh1 @ w1.T                  # dL/dx: every bpcourse backward returns it, the first layer's too
            grads = [xb.T @ dh1, dh1.sum(0), h1.T @ dh2, dh2.sum(0), h2.T @ dz, dz.sum(0)]
            t[0] += 1
            c1, c2 = 1 - 0.9 ** t[0], 1 - 0.999 ** t[0]
            for p_, g, m_, v_ in zip(params, grads, m, v):
                m_ *= 0.9
                m_ += 0.1 * g
                v_ *= 0.999
                v_ += 0.001 * g * g
                p_ -= 1e-3 * (m_ / c1) / (np.sqrt(v_ / c2) + 1e-8)
    return epoch


def gemm_trainer(x, y, batch_size, dtype):
    """Only the matrix products of an epoch (forward, weight gradients, input gradients)."""
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(SIZES[:-1], SIZES[1:])]

    def epoch():
        for idx in epoch_batches(len(x), batch_size, rng):
            acts = [x[idx]]
            for w in ws:
                acts.append(acts[-1] @ w)
            d = acts[-1]
            for i in reversed(range(len(ws))):
                _ = acts[i].T @ d
                d = d @ ws[i].T
    return epoch


def torch_trainer(x, y, batch_size, dtype):
    import torch
    torch.manual_seed(0)
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(tdtype)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    rng = np.random.default_rng(0)

    def epoch():
        for idx in epoch_batches(len(x), batch_size, rng):
            idx = torch.from_numpy(idx)
            opt.zero_grad()
            loss_fn(model(xt[idx]), yt[idx]).backward()
            opt.step()
    return epoch


def median_epoch_seconds(trainers, epochs):
    """Alternate the trainers epoch by epoch (fair under noise); median seconds per epoch each."""
    times = {name: [] for name in trainers}
    for name, epoch in trainers.items():
        epoch()                                     # warm-up
    for _ in range(epochs):
        for name, epoch in trainers.items():
            start = time.perf_counter()
            epoch()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=7, help="timed epochs per configuration")
    args = parser.parse_args()
    try:
        import torch
        have_torch = True
    except ImportError:
        have_torch = False
    cores = os.cpu_count()
    print(f"bpcourse MLP benchmark: {'-'.join(map(str, SIZES))} ReLU, Adam, 1797 digits, "
          f"median of {args.epochs} epochs")
    print("PyTorch " + (torch.__version__ if have_torch else "not installed: comparison skipped"))
    header = f"{'dtype':<8}{'threads':>8}{'batch':>7}{'s/epoch':>10}{'samples/s':>11}{'GEMM share':>11}{'÷ numpy':>9}"
    print(header + (f"{'÷ torch':>9}" if have_torch else ""))
    for dtype in (np.float32, np.float64):
        x, y = data(dtype)
        for threads in (1, cores):
            with threadpool_limits(threads):
                if have_torch:
                    torch.set_num_threads(threads)
                for batch in (32, 128, 512):
                    trainers = {"bp": bpcourse_trainer(x, y, batch, dtype), "np": numpy_trainer(x, y, batch, dtype),
                                "gemm": gemm_trainer(x, y, batch, dtype)}
                    if have_torch:
                        trainers["torch"] = torch_trainer(x, y, batch, dtype)
                    t = median_epoch_seconds(trainers, args.epochs)
                    row = (f"{np.dtype(dtype).name:<8}{threads:>8}{batch:>7}{t['bp']:>10.4f}"
                           f"{len(x) / t['bp']:>11.0f}{t['gemm'] / t['bp']:>10.0%}{t['bp'] / t['np']:>9.2f}")
                    print(row + (f"{t['bp'] / t['torch']:>9.2f}" if have_torch else ""), flush=True)
    print("÷ numpy: bpcourse time / bare-numpy time (target ≤ 1.15). "
          "÷ torch: bpcourse time / PyTorch time (target ≤ 0.8 at float32, 1 thread, batch 128).")


if __name__ == "__main__":
    main()
