"""The training loop: mini-batches, validation, callbacks, a progress bar, a History.

    history = bp.fit(model, loss_fn, opt, train=(x, y), val=(xv, yv),
                     epochs=20, batch_size=32, rng=rng)
"""
import numpy as np
from tqdm.auto import tqdm

from .data import batches
from .losses import BCEWithLogits, MSELoss, SoftmaxCrossEntropy
from .optim import clip_grad_norm


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
    with ``restore_best`` the model gets back the weights of its best epoch."""

    def __init__(self, patience=5, monitor="val_loss", min_delta=0.0, restore_best=True):
        if monitor not in History.KEYS:
            raise ValueError(f"monitor must be one of {History.KEYS}, got {monitor!r}.")
        self.patience, self.monitor, self.min_delta, self.restore_best = patience, monitor, min_delta, restore_best
        self.sign = 1 if monitor.endswith("loss") else -1       # losses fall, accuracies rise

    def on_train_begin(self, model):
        self.best, self.best_epoch, self.stopped_epoch, self.best_weights = np.inf, None, None, None

    def on_epoch_end(self, epoch, history, model):
        value = self.sign * getattr(history, self.monitor)[-1]
        if np.isnan(value):
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which fit did not measure (pass val=...).")
        if value < self.best - self.min_delta:
            self.best, self.best_epoch = value, epoch
            self.best_weights = [p.data.copy() for p in model.parameters()]
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, model):
        if self.restore_best and self.best_weights is not None:
            for p, best in zip(model.parameters(), self.best_weights):
                p.data[...] = best


class LivePlot(Callback):
    """Redraw one loss/accuracy figure in place after every ``every`` epochs (in a notebook)."""

    def __init__(self, every=1):
        self.every = every

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


def fit(model, loss_fn, optimizer, train, val=None, epochs=10, batch_size=32, callbacks=(),
        rng=None, progress=True, clip_norm=None, penalties=(), scheduler=None):
    """Train with mini-batches; returns a History measured in eval mode after each epoch.

    train, val: (x, y) tuples. ``penalties``: L1/L2 terms added to the loss.
    ``scheduler``: stepped once per epoch. A diverging run (see ``Divergence``) stops with a
    FloatingPointError naming the epoch, the batch and the cures; its ``history`` holds the
    epochs completed before.
    """
    x, y = train
    history = History()
    watch = Divergence(loss_fn, y, optimizer)
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.on_train_begin(model)
    params = model.parameters()
    bar = tqdm(range(1, epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        for batch, (xb, yb) in enumerate(batches(x, y, batch_size, shuffle=True, rng=rng), start=1):
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
                    clip_grad_norm(params, clip_norm)
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
    bar.close()
    for cb in callbacks:
        cb.on_train_end(model)
    return history

