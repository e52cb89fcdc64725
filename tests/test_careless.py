"""The public functions used the way a student in a hurry uses them: each slip gets a sentence
naming what was wrong (and, where there is one, the cure), never a raw error from numpy,
scikit-learn or matplotlib, and never a silent wrong result."""
import matplotlib
import numpy as np
import pytest

import bpcourse as bp

matplotlib.use("Agg")
RNG = np.random.default_rng(0)
X, Y = bp.data.digits().train
MODEL = bp.Sequential(bp.Linear(64, 16, rng=RNG), bp.ReLU(), bp.Linear(16, 10, rng=RNG))
LIN = bp.Linear(3, 2, rng=RNG)

SLIPS = [
    # layers and parameters
    (lambda: bp.ReLU(0.1), TypeError, r"ReLU\(\) takes no arguments, got \(0.1,\) \(for a slope below 0, use LeakyReLU\(0.1\)\)"),
    (lambda: bp.Linear(3, 2, rng=np.random.default_rng), ValueError, r"call it: np.random.default_rng\(0\)"),
    (lambda: bp.Sequential(bp.ReLU(), bp.Tanh()).forward([[1.0, 2.0], [3.0]]), ValueError,
     r"ReLU\(\) expected an array of numbers, got a list of 2 items that numpy cannot turn into one"),
    (lambda: bp.Parameter("abc"), ValueError, r"Parameter holds numbers, got dtype <U3"),
    (lambda: (LIN.forward(np.ones((4, 3))), LIN.backward("x")), ValueError,
     r"Linear\(3 → 2\).backward\(\) expected a float array dout, got dtype <U1"),
    # losses and penalties
    (lambda: bp.L2(0.1).backward(MODEL.parameters), ValueError,
     r"L2\(lam=0.1\) takes model.parameters\(\) \(a list of Parameters\), got the method Sequential.parameters \(not called\)"),
    (lambda: bp.softmax(None), ValueError, r"log_softmax expects numbers as logits, got dtype object"),
    (lambda: bp.SoftmaxCrossEntropy().forward(np.zeros((4, 3)), ["a", "b", "c", "d"]), ValueError,
     r"expects integer class labels, got dtype <U1 with values such as 'a'"),
    # gradient checking
    (lambda: bp.rel_error(None, 1.0), ValueError, r"rel_error compares two arrays of numbers"),
    (lambda: bp.numerical_gradient(np.sum, np.ones((2, 2)), indices=[(5, 5)]), ValueError,
     r"index \(5, 5\) does not lie in an array of shape \(2, 2\)"),
    (lambda: bp.numerical_gradient(lambda v: None, np.ones(2)), ValueError, r"needs f to return a number, got NoneType"),
    (lambda: bp.check_layer(lambda v: v, np.ones((2, 2))), ValueError, r"check_layer expected the layer to check"),
    (lambda: bp.check_layer(LIN, np.ones((2, 3), np.float16)), ValueError, r"needs a float64 \(or float32\) array, got dtype float16"),
    # optimizers and schedules
    (lambda: bp.StepLR(MODEL, 5), ValueError, r"StepLR needs an optimizer such as SGD\(model.parameters\(\), lr=0.1\), "
                                              r"got the model Sequential\(...\)"),
    (lambda: bp.clip_grad_value(MODEL, 1.0), ValueError, r"clip_grad_value got the model itself: pass its parameters"),
    # training
    (lambda: bp.fit(MODEL, bp.SoftmaxCrossEntropy(), bp.SGD(MODEL.parameters(), lr=0.1).step, (X, Y), rng=RNG),
     ValueError, r"fit needs an optimizer such as bp.SGD\(model.parameters\(\), lr=0.1\), got the method SGD.step"),
    (lambda: bp.predict(MODEL, X, batch_size=0), ValueError, r"predict: batch_size must be a whole number >= 1, got 0"),
    (lambda: bp.evaluate(MODEL, bp.SoftmaxCrossEntropy(), X[:0], Y[:0]), ValueError, r"needs a batch of at least one sample"),
    (lambda: bp.EarlyStopping(patience=-1), ValueError, r"EarlyStopping: patience must be a whole number >= 0, got -1"),
    (lambda: bp.LivePlot(every=0), ValueError, r"LivePlot: every must be a whole number >= 1, got 0"),
    # checkpoints
    (lambda: bp.save(MODEL, "/nonexistent/folder/w"), FileNotFoundError,
     r"save: the folder '/nonexistent/folder' does not exist: create it first"),
    (lambda: bp.load(MODEL, 3), ValueError, r"load needs a file name such as 'weights.npz'"),
    # models and initialisation
    (lambda: bp.mlp([64, 32, 10], RNG, activation=bp.ReLU()), ValueError,
     r"mlp builds one activation per hidden layer from a class, got an object \(ReLU\(\)\): pass the class, activation=ReLU"),
    (lambda: bp.mlp(64, RNG), ValueError, r"mlp needs a list of layer sizes such as \[64, 128, 10\], got 64"),
    (lambda: bp.init.he_normal((3,), RNG), ValueError, r"he_normal initialises a weight of shape \(fan_in, fan_out\)"),
    (lambda: bp.init.he_normal((0, 3), RNG), ValueError, r"two whole numbers >= 1, got \(0, 3\)"),
    (lambda: bp.init.xavier_uniform((3, 2), 0), ValueError, r"xavier_uniform needs an explicit random generator"),
    (lambda: bp.init.normal((3, 2), RNG, std=-1), ValueError, r"normal: std must be a finite number >= 0, got -1"),
    (lambda: bp.init.normal((3, 2), RNG, dtype=np.int64), ValueError, r"weights need a float dtype"),
    # data
    (lambda: bp.data.digits(classes=5), ValueError, r"digits classes is a list of digits such as \[3, 8\] or range\(5\)"),
    (lambda: bp.data.digits(classes=[3, 3]), ValueError, r"two or more different digits, got \[3, 3\]"),
    (lambda: bp.data.digits(dtype=np.int64), ValueError, r"the pixels lie in \[0, 1\] and need a float dtype"),
    (lambda: bp.data.digits(val_size=-0.1), ValueError, r"val_size is a fraction of the data, a number in \(0, 1\)"),
    (lambda: bp.data.moons(0), ValueError, r"moons: n must be a whole number >= 2, got 0"),
    (lambda: bp.data.moons(noise=-1), ValueError, r"moons: noise is a standard deviation, a number >= 0"),
    (lambda: bp.data.spirals(0), ValueError, r"spirals: n_per_class must be a whole number >= 1, got 0"),
    (lambda: bp.data.spirals(n_classes=0), ValueError, r"spirals: n_classes must be a whole number >= 2"),
    (lambda: bp.data.few_per_class(X, Y, 0), ValueError, r"few_per_class: per_class must be a whole number >= 1"),
    (lambda: bp.data.train_val_test_split(X[:5], Y[:5]), ValueError, r"every class needs at least 3 samples.*stratify=False"),
    (lambda: bp.data.train_val_test_split(X, Y[:-1]), ValueError, r"one row per sample, got shapes \(1077, 64\) and \(1076,\)"),
    # diagnostics and plots
    (lambda: bp.diagnostics.layer_statistics(MODEL, bp.SoftmaxCrossEntropy, X[:4], Y[:4]), ValueError,
     r"layer_statistics got the class SoftmaxCrossEntropy"),
    (lambda: bp.diagnostics.saturation(LIN), ValueError, r"saturation expected an activation layer"),
    (lambda: bp.diagnostics.activation_stats(bp.ReLU()), RuntimeError, r"describes the last forward pass: run one first"),
    (lambda: bp.plots.plot_history(None), ValueError, r"plot_history draws the History that bp.fit returns"),
    (lambda: bp.plots.plot_decision_boundary(lambda p: p[:, 0] > 0, X, Y), ValueError,
     r"points x of shape \(N, 2\), got x of shape \(1077, 64\)"),
    (lambda: bp.plots.plot_weight_images(np.ones((10, 3))), ValueError, r"needs 64 rows \(in_features\), got \(10, 3\)"),
    (lambda: bp.plots.plot_activation_histograms([]), ValueError, r"needs at least one activation layer"),
    (lambda: bp.plots.plot_gradient_norms(None), ValueError, r"plot_gradient_norms needs numbers as norms"),
]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


@pytest.mark.parametrize("call,error,message", SLIPS, ids=[f"slip{i}" for i in range(len(SLIPS))])
def test_a_slip_gets_a_sentence(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_no_silent_wrong_results():
    assert np.isnan(bp.rel_error([1.0, np.nan], [1.0, 2.0]))           # before: 0.0, "equal"
    assert bp.Parameter([1, 2, 3]).data.dtype == np.float64           # an optimizer can update it
    assert bp.plots.plot_update_ratios(np.ones(5)) is not None        # one layer's ratios as a column
    x, y = bp.data.few_per_class(X.tolist(), Y.tolist(), 2)           # lists work as arrays
    assert np.bincount(y).tolist() == [2] * 10
