"""The training loop: mini-batches, validation, callbacks, a progress bar, a History.

    history = bp.fit(model, loss_fn, opt, train=(x, y), val=(xv, yv),
                     epochs=20, batch_size=32, rng=rng)
"""
import numbers

import numpy as np
from tqdm.auto import tqdm

from .core import Layer, as_array, describe_object, require_instance
from .data import as_rng, batches, count
from .losses import BCEWithLogits, MSELoss, Penalty, SoftmaxCrossEntropy, require_loss
from .optim import LRScheduler, Optimizer, clip_grad_norm


class History:
    """Per-epoch train and validation loss and accuracy (NaN where not measured)."""

    KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")

    def __init__(self):
        self.epochs = []
        for key in self.KEYS:
            setattr(self, key, [])

    def append(self, epoch, **values):
        self.epochs.append(epoch)
        for key in self.KEYS:
            getattr(self, key).append(values.get(key, np.nan))

    def __len__(self):
        return len(self.epochs)

    def __repr__(self):
        if not self.epochs:
            return "History(no epochs)"
        # a column that was measured at all is shown, NaN included: a NaN loss must not hide
        shown = [k for k in self.KEYS if k == "train_loss" or not np.all(np.isnan(getattr(self, k)))]
        last = ", ".join(f"{k}={getattr(self, k)[-1]:.4g}" for k in shown)
        return f"History({len(self)} epochs; last: {last})"

    def plot(self, axes=None):
        """Loss and accuracy curves, train versus validation. Returns the two axes."""
        from .plots import plot_history
        return plot_history(self, axes)


def predict(model, x, batch_size=1024):
    """The model's outputs in eval mode (Dropout off, BatchNorm's running statistics)."""
    require_instance(model, Layer, "predict", "the model, e.g. bp.Sequential(...)")
    x = as_array(x, "predict")
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"predict needs a batch of at least one sample, got an array of shape {x.shape}.")
    batch_size = count(batch_size, "batch_size", "predict")
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([model.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def accuracy(loss_fn, output, y):
    """Fraction of correct predictions for a classification loss, NaN for regression."""
    if isinstance(loss_fn, SoftmaxCrossEntropy):
        return float(np.mean(output.argmax(axis=1) == y))
    if isinstance(loss_fn, BCEWithLogits):
        return float(np.mean((output > 0) == (np.asarray(y) > 0.5)))
    return np.nan


def evaluate(model, loss_fn, x, y):
    """(loss, accuracy) of the model on (x, y), in eval mode."""
    require_loss(loss_fn, "evaluate")
    output = predict(model, x)
    return loss_fn.forward(output, y), accuracy(loss_fn, output, y)


class Callback:
    """Hooks called by ``fit``. ``on_epoch_end`` returns True to stop training."""

    def on_train_begin(self, model):
        pass

    def on_backward_end(self, model):
        """Gradients are ready; the optimizer has not stepped yet."""

    def on_step_end(self, model):
        """The optimizer has updated the parameters."""

    def on_epoch_end(self, epoch, history, model):
        return False

    def on_train_end(self, model):
        pass


class EarlyStopping(Callback):
    """Stop when the monitored value has not improved for ``patience`` epochs;
    with ``restore_best`` the model gets back the state of its best epoch (``model.state_dict()``:
    the weights and BatchNorm's running statistics)."""

    def __init__(self, patience=5, monitor="val_loss", min_delta=0.0, restore_best=True):
        if monitor not in History.KEYS:
            raise ValueError(f"monitor must be one of {History.KEYS}, got {monitor!r}.")
        patience = count(patience, "patience", "EarlyStopping", minimum=0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}.")
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best
        self.sign = 1 if monitor.endswith("loss") else -1       # losses fall, accuracies rise

    def on_train_begin(self, model):
        self.best, self.best_epoch, self.stopped_epoch, self.best_state = np.inf, None, None, None

    def on_epoch_end(self, epoch, history, model):
        value = self.sign * getattr(history, self.monitor)[-1]
        if np.isnan(value):
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which fit did not measure (pass val=...).")
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, epoch
            self.best_state = model.state_dict()
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(self.best_state)


class LivePlot(Callback):
    """Redraw one loss/accuracy figure in place after every ``every`` epochs (in a notebook)."""

    def __init__(self, every=1):
        self.every = count(every, "every", "LivePlot")

    def on_train_begin(self, model):
        import matplotlib.pyplot as plt
        from IPython import get_ipython
        from IPython.display import display
        self.figure, self.axes = plt.subplots(1, 2, figsize=(9, 3))
        plt.close(self.figure)                       # shown through the display handle only
        in_notebook = get_ipython() is not None
        self.handle = display(self.figure, display_id=True) if in_notebook else None

    def on_epoch_end(self, epoch, history, model):
        if epoch % self.every == 0:
            for ax in self.axes:
                ax.clear()
            history.plot(self.axes)
            if self.handle is not None:
                self.handle.update(self.figure)
        return False


class Divergence:
    """Watches a training run the way a practitioner does, and raises FloatingPointError when it diverges.

    - the loss of a batch is NaN or inf;
    - the loss, averaged over recent batches (an exponential moving average, weight 0.1 on the
      newest), exceeds ``FAR`` times its reference: the first batch's loss, or the chance level
      if that is larger (ln C for C classes, ln 2 for BCEWithLogits, the variance of the targets
      for MSELoss — what a model that learned nothing would score);
    - the loss measured after an epoch exceeds ``FAR`` times the reference, or (for a
      classification loss) is above 1.1 × chance level and has risen two epochs in a row;
    - a parameter is NaN, inf or larger than ``HUGE`` in magnitude after an epoch.
    """

    FAR = 100.0
    HUGE = 1e8

    def __init__(self, loss_fn, y, optimizer):
        self.loss_fn, self.optimizer = loss_fn, optimizer
        self.chance = None
        if isinstance(loss_fn, BCEWithLogits):
            self.chance = float(np.log(2))
        elif isinstance(loss_fn, MSELoss):
            y = np.asarray(y, dtype=np.float64)
            self.chance = float(np.mean((y - y.mean(axis=0)) ** 2))
        self.average, self.steps, self.reference, self.epoch_losses = 0.0, 0, None, []

    def cures(self):
        lrs = sorted({g["lr"] for g in getattr(self.optimizer, "param_groups", [])})
        now = f" (lr={lrs[0]:g} now)" if len(lrs) == 1 else ""
        return (f"Try a smaller learning rate{now} or clip_norm=1.0, and check the weight initialisation "
                f"(he for ReLU, xavier for tanh/sigmoid).")

    def batch(self, loss, prediction, epoch, batch):
        """Check one training batch's loss."""
        if not np.isfinite(loss):
            raise FloatingPointError(f"loss became {loss} at epoch {epoch}, batch {batch}. {self.cures()}")
        if self.reference is None:                   # the first batch
            if isinstance(self.loss_fn, SoftmaxCrossEntropy):
                self.chance = float(np.log(prediction.shape[1]))
            self.reference = max(loss, self.chance or 0.0)
        self.steps += 1
        self.average = 0.9 * self.average + 0.1 * loss
        smoothed = self.average / (1 - 0.9 ** self.steps)      # unbiased while few batches are in
        if self.reference > 0 and smoothed > self.FAR * self.reference:
            chance = f", chance level {self.chance:.3g}" if self.chance else ""
            raise FloatingPointError(
                f"training diverged at epoch {epoch}, batch {batch}: the loss averaged over recent batches "
                f"is {smoothed:.3g}, more than {self.FAR:g} × where it started ({self.reference:.3g}{chance}). "
                f"{self.cures()}")

    def epoch(self, train_loss, epoch, params):
        """Check the loss measured after an epoch, and the parameters."""
        for p in params:
            finite = np.all(np.isfinite(p.data))
            if not finite or np.abs(p.data).max(initial=0) > self.HUGE:
                what = "NaN or inf" if not finite else f"as large as {np.abs(p.data).max():.3g}"
                raise FloatingPointError(f"training diverged in epoch {epoch}: parameter {p.name or '?'} "
                                         f"{p.data.shape} holds values {what}. {self.cures()}")
        if not np.isfinite(train_loss):
            raise FloatingPointError(f"loss became {train_loss} at the end of epoch {epoch}. {self.cures()}")
        if self.reference and self.reference > 0 and train_loss > self.FAR * self.reference:
            raise FloatingPointError(
                f"training diverged in epoch {epoch}: the training loss is {train_loss:.3g}, more than "
                f"{self.FAR:g} × where it started ({self.reference:.3g}). {self.cures()}")
        self.epoch_losses.append(train_loss)
        last = self.epoch_losses[-3:]
        if (isinstance(self.loss_fn, (SoftmaxCrossEntropy, BCEWithLogits)) and len(last) == 3
                and last[0] > 1.1 * self.chance and last[2] > 1.01 * last[1] > 1.01 ** 2 * last[0]):
            raise FloatingPointError(
                f"training diverged in epoch {epoch}: the training loss is above chance level "
                f"({self.chance:.3g}, what a model that learned nothing scores) and has risen two epochs "
                f"in a row: " + ", ".join(f"{v:.3g}" for v in last) + f". {self.cures()}")


def _watched(check, history, *args):
    """Run a divergence check; its error keeps the epochs completed before (``error.history``)."""
    try:
        check(*args)
    except FloatingPointError as error:
        error.history = history
        raise


def _data(pair, name):
    """``pair`` as two arrays (x, y) with one row per sample, or a ValueError saying what is wrong."""
    if not isinstance(pair, (tuple, list)) or isinstance(pair, np.ndarray) or len(pair) != 2:
        if isinstance(pair, tuple) and type(pair).__name__ == "Splits":
            got = "all three splits of a data set: pass splits.train (and val=splits.val)"
        elif isinstance(pair, np.ndarray):
            got = f"one array of shape {pair.shape}"
        else:
            got = describe_object(pair)
        raise ValueError(f"fit: {name} must be an (x, y) pair, e.g. {name}=(x_{name}, y_{name}); got {got}.")
    x, y = (as_array(a, f"fit: {name}") for a in pair)
    for what, a in (("x", x), ("y", y)):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"fit: {name} {what} must hold numbers, got dtype {a.dtype}.")
        if a.ndim == 0 or len(a) == 0:
            cure = " (or leave val out: val=None)" if name == "val" else ""
            raise ValueError(f"fit: {name} {what} is empty (shape {a.shape}): pass at least one sample{cure}.")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            rows = np.flatnonzero(~np.isfinite(a).reshape(len(a), -1).all(axis=1))
            raise ValueError(f"fit: {name} {what} contains NaN or inf in {len(rows)} rows (the first is row "
                             f"{rows[0]}): drop or repair those rows before training.")
    if len(x) != len(y):
        raise ValueError(f"fit: {name} x has {len(x)} samples but y has {len(y)}.")
    return x, y


def _check_optimizer(optimizer, model):
    if isinstance(optimizer, type):
        raise ValueError(f"fit got the class {optimizer.__name__} as optimizer, not an optimizer object: "
                         f"create one with {optimizer.__name__}(model.parameters(), lr=...).")
    if isinstance(optimizer, LRScheduler):
        raise ValueError("fit got a learning-rate schedule as optimizer: pass the optimizer itself, and the "
                         "schedule as scheduler=....")
    if not callable(getattr(optimizer, "step", None)):
        raise ValueError(f"fit needs an optimizer such as bp.SGD(model.parameters(), lr=0.1), "
                         f"got {describe_object(optimizer)}.")
    if isinstance(optimizer, Optimizer):
        params = model.parameters()
        trainable = {id(p) for p in params if p.trainable}
        held = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if not params:
            raise ValueError(f"fit: the model has no parameters, so training would change nothing.")
        if not trainable:
            raise ValueError("fit: every parameter of the model is frozen (trainable=False), so training would "
                             "change nothing: unfreeze the ones to train (p.trainable = True).")
        if not trainable & held:
            raise ValueError("fit: the optimizer holds none of this model's trainable parameters, so training "
                             "would change nothing (was it built for another model?): build it from this "
                             "model, e.g. bp.Adam(model.parameters(), lr=1e-3).")


def _objects(items, cls, name, example):
    """``items`` as a list of ``cls`` objects: one object alone is accepted; a class is refused."""
    if items is None:
        return []
    if isinstance(items, (cls, type)) or not hasattr(items, "__iter__"):
        items = [items]
    items = list(items)
    for item in items:
        require_instance(item, cls, f"fit: {name}", example)
    return items


def _check_scheduler(scheduler, optimizer):
    if scheduler is None:
        return
    if isinstance(scheduler, type) or isinstance(scheduler, Optimizer) or not callable(getattr(scheduler, "step", None)):
        require_instance(scheduler, LRScheduler, "fit: scheduler",
                         "a learning-rate schedule such as bp.StepLR(optimizer, step_size=10)")
    if getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("fit: the scheduler was built for another optimizer, so it would not change this one's "
                         "learning rate: build it from the optimizer you pass to fit.")


def _check_batch_size(model, n, batch_size, drop_last):
    """Refuse a batch that a layer cannot take in training (BatchNorm needs 2 samples or more)."""
    needy = [l for l in model.walk() if getattr(l, "min_batch", 1) > 1]
    if not needy:
        return
    need = max(l.min_batch for l in needy)
    last = n % batch_size
    if batch_size < need or n < need or (0 < last < need and not drop_last):
        size = (f"batch_size={batch_size}" if batch_size < need or n < need
                else f"{n} samples and batch_size={batch_size}: the last mini-batch of every epoch holds {last}")
        raise ValueError(f"fit: {size}, but {needy[0]!r} needs at least {need} samples per batch in training. "
                         f"Pass drop_last=True to skip the short last batch, or choose another batch_size.")


def fit(model, loss_fn, optimizer, train, val=None, epochs=10, batch_size=32, callbacks=(),
        rng=None, progress=True, clip_norm=None, penalties=(), scheduler=None, drop_last=False):
    """Train with mini-batches; returns a History measured in eval mode after each epoch.

    train, val: (x, y) tuples. ``penalties``: L1/L2 terms added to the loss.
    ``scheduler``: stepped once per epoch. ``clip_norm``: clip the total gradient norm of the
    trainable parameters before each step. ``drop_last``: skip each epoch's short last batch.
    ``rng``: a Generator (or an int seed) for shuffling. Everything is checked before the first
    step. A diverging run (see ``Divergence``) stops with a FloatingPointError naming the epoch,
    the batch and the cures; its ``history`` holds the epochs completed before.
    """
    require_instance(model, Layer, "fit", "the model to train, e.g. bp.Sequential(...)")
    require_loss(loss_fn, "fit")
    _check_optimizer(optimizer, model)
    x, y = _data(train, "train")
    val = None if val is None else _data(val, "val")
    epochs = count(epochs, "epochs", "fit")
    batch_size = count(batch_size, "batch_size", "fit")
    rng = as_rng(rng, "fit shuffles the data every epoch and")
    if clip_norm is not None and (isinstance(clip_norm, bool) or not isinstance(clip_norm, numbers.Real)
                                  or not clip_norm > 0):
        raise ValueError(f"fit: clip_norm must be a number > 0 (or None), got {clip_norm!r}.")
    callbacks = _objects(callbacks, Callback, "callbacks", "a Callback object such as bp.EarlyStopping()")
    penalties = _objects(penalties, Penalty, "penalties", "a penalty object such as bp.L2(1e-3)")
    _check_scheduler(scheduler, optimizer)
    _check_batch_size(model, len(x), batch_size, drop_last)
    if drop_last and len(x) < batch_size:
        raise ValueError(f"fit: drop_last=True with batch_size={batch_size} > {len(x)} samples leaves no batch.")
    for name, (xs, ys) in [("train", (x, y))] + ([("val", val)] if val is not None else []):
        try:                                         # bad data fails here, before any training
            evaluate(model, loss_fn, xs, ys)
        except ValueError as err:
            raise ValueError(f"fit: {name}=(x, y) does not suit this model and loss: {err}") from None

    history = History()
    watch = Divergence(loss_fn, y, optimizer)
    for cb in callbacks:
        cb.on_train_begin(model)
    params = model.parameters()
    trainable = [p for p in params if p.trainable]  # what clipping measures, as in PyTorch
    bar = tqdm(range(1, epochs + 1), desc="epochs", disable=not progress, leave=False)
    try:
        for epoch in bar:
            model.train()
            for batch, (xb, yb) in enumerate(batches(x, y, batch_size, True, rng, drop_last), start=1):
                with np.errstate(over="ignore", invalid="ignore"):       # checked just below
                    prediction = model.forward(xb)
                    loss = loss_fn.forward(prediction, yb)
                    loss += sum(p.forward(params) for p in penalties)
                    _watched(watch.batch, history, loss, prediction, epoch, batch)
                    model.backward(loss_fn.backward())
                    for p in penalties:
                        p.backward(params)
                    for cb in callbacks:
                        cb.on_backward_end(model)
                    if clip_norm is not None:
                        clip_grad_norm(trainable, clip_norm)
                    optimizer.step()
                model.zero_grad()                        # also the frozen parameters' gradients
                for cb in callbacks:
                    cb.on_step_end(model)
            if scheduler is not None:
                scheduler.step()
            with np.errstate(over="ignore", invalid="ignore"):
                record = dict(zip(("train_loss", "train_acc"), evaluate(model, loss_fn, x, y)))
                _watched(watch.epoch, history, record["train_loss"], epoch, params)
                if val is not None:
                    record.update(zip(("val_loss", "val_acc"), evaluate(model, loss_fn, *val)))
            history.append(epoch, **record)
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items()}, refresh=False)
            if any([cb.on_epoch_end(epoch, history, model) for cb in callbacks]):
                break
    finally:
        bar.close()
    for cb in callbacks:
        cb.on_train_end(model)
    return history
