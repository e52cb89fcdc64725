"""A vanilla recurrent layer and backpropagation through time (BPTT).

One weight matrix is applied at every time step,

    a_t = x_t @ W_ih + h_{t-1} @ W_hh + b,      h_t = f(a_t),      h_0 = 0,

so the backward pass walks the steps in reverse and multiplies the gradient by
the SAME W_hh (times f'(a_t)) once per step: over T steps a product of T
factors, which shrinks or grows geometrically with T — vanishing and exploding
gradients in their purest form. Every step adds its share into the one ``.grad``
of each weight, as the layer contract asks of a shared parameter.
"""
import numpy as np

from .core import Layer, Parameter, as_array, check_array
from .init import initialise

NONLINEARITIES = ("tanh", "relu")


class RNN(Layer):
    """A single-layer Elman RNN over batch-first sequences: PyTorch's ``nn.RNN(batch_first=True)``
    with one bias vector instead of two, returning the hidden states only.

    x: (N, T, input_size) -> all hidden states (N, T, hidden_size), or with
    ``return_sequences=False`` only the last one, h_T: (N, hidden_size).
    W_ih: (input_size, hidden_size), W_hh: (hidden_size, hidden_size), b: (hidden_size,).
    ``nonlinearity``: "tanh" (default) or "relu". W_ih starts Xavier-normal; W_hh normal with
    standard deviation gain / sqrt(hidden_size), so its eigenvalues fill a disc of radius about
    ``gain`` (the circular law): above 1 the recurrence amplifies, below 1 it damps.
    """

    def __init__(self, input_size, hidden_size, nonlinearity="tanh", return_sequences=True, gain=1.0,
                 rng=None, dtype=np.float64):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}.")
        for name, size in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"RNN {name} must be a positive integer, got {size!r}.")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.nonlinearity, self.return_sequences = nonlinearity, bool(return_sequences)
        self.dtype = np.dtype(dtype)
        w_ih = initialise((input_size, hidden_size), "xavier", rng, dtype=self.dtype)
        w_hh = initialise((hidden_size, hidden_size), "normal", rng, std=gain / np.sqrt(hidden_size),
                          dtype=self.dtype)
        self.weight_ih = Parameter(w_ih, "weight_ih")
        self.weight_hh = Parameter(w_hh, "weight_hh")
        self.bias = Parameter(np.zeros(hidden_size, self.dtype), "bias")
        self.x = self.h = None

    def forward(self, x):
        """x: (N, T, input_size) -> (N, T, hidden_size), or (N, hidden_size) for the last step only."""
        x = as_array(x, repr(self))                  # a ragged list gets a sentence, not numpy's error
        if np.ndim(x) != 3 or np.shape(x)[-1] != self.input_size:
            raise ValueError(
                f"{self!r} expected input of shape (N, T, {self.input_size}): N sequences of T steps with "
                f"{self.input_size} features each; got {np.shape(x)}."
                + (" For a single sequence, add the batch axis: x[None]." if np.ndim(x) == 2 else ""))
        x = check_array(self, x, dtype=self.dtype)
        n, steps, _ = x.shape
        w_hh = self.weight_hh.data
        # Time-major inside, (T, N, ·), so each step reads a contiguous block. The input's
        # contribution does not depend on the past: one matrix product covers every step.
        a_in = x.transpose(1, 0, 2) @ self.weight_ih.data + self.bias.data     # (T, N, H)
        h = np.zeros((steps + 1, n, self.hidden_size), self.dtype)              # h[0] is h_0 = 0
        f = np.tanh if self.nonlinearity == "tanh" else _relu
        for t in range(steps):                                                  # the recurrence is sequential
            f(a_in[t] + h[t] @ w_hh, out=h[t + 1])
        self.x, self.h = x, h                                                   # cached for backward
        return h[1:].transpose(1, 0, 2).copy() if self.return_sequences else h[-1].copy()

    def backward(self, dout):
        """dout: dL/d(output), shaped like forward's output -> dL/dx: (N, T, input_size)."""
        x, h = self._cached("x"), self._cached("h")
        n, steps, _ = x.shape
        if self.return_sequences:
            dout = self._check_dout(dout, (n, steps, self.hidden_size)).transpose(1, 0, 2)    # (T, N, H)
        else:
            dout = self._check_dout(dout, (n, self.hidden_size))
        w_hh = self.weight_hh.data
        da = np.empty((steps, n, self.hidden_size), self.dtype)     # dL/da_t for every step
        dh = np.zeros((n, self.hidden_size), self.dtype)            # dL/dh_t arriving from step t+1
        for t in reversed(range(steps)):
            if self.return_sequences:
                dh = dh + dout[t]                    # h_t feeds the output AND the next step
            elif t == steps - 1:
                dh = dout                            # only h_T reaches the loss directly
            h_t = h[t + 1]
            da[t] = dh * (1 - h_t * h_t) if self.nonlinearity == "tanh" else dh * (h_t > 0)
            dh = da[t] @ w_hh.T                      # back through the shared W_hh: (N, H) @ (H, H)
        # Every step used the same weights: their gradients sum over the steps AND the batch.
        flat_da = da.reshape(-1, self.hidden_size)                                       # (T·N, H)
        self.weight_ih.grad += x.transpose(1, 0, 2).reshape(-1, self.input_size).T @ flat_da  # x_t with da_t
        self.weight_hh.grad += h[:-1].reshape(-1, self.hidden_size).T @ flat_da             # h_{t-1} with da_t
        self.bias.grad += flat_da.sum(axis=0)
        return (da @ self.weight_ih.data.T).transpose(1, 0, 2)                  # (T, N, H) @ (H, D) -> (N, T, D)

    def kink_sides(self):
        """With ReLU, which side of the kink at 0 each step's pre-activation lies on (h > 0 exactly
        when a > 0); gradient checks skip nudges that cross it. tanh has no kink."""
        return self._cached("h")[1:] > 0 if self.nonlinearity == "relu" else np.zeros(0, bool)

    def extra_repr(self):
        extra = "" if self.nonlinearity == "tanh" else f", nonlinearity={self.nonlinearity!r}"
        extra += "" if self.return_sequences else ", return_sequences=False"
        extra += "" if self.dtype == np.float64 else f", dtype={self.dtype}"
        return f"{self.input_size} → {self.hidden_size}{extra}"


def _relu(a, out):
    return np.maximum(a, 0, out=out)
