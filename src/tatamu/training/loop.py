"""The training loop (the book's ``Trainer``, §6 and §7.5), made safe to leave running.

Read :func:`train_step` first: the book's ``Trainer.train_step`` (forward, loss, backward,
update) on a batch split over threads. Differences from the book, each answering a problem:

- every epoch visits every training image once, in a fresh order drawn from ``seed`` (the book
  sampled with replacement);
- evaluation covers the *whole* validation set each epoch, in batches, partial batch included
  (the book looked at 1,000 images and its accuracy() dropped the last partial batch);
- with ``checkpoint_dir`` the run is saved (:mod:`tatamu.training.run`) at the end of every
  epoch and on Ctrl-C, and resumes (``resume=True``) to the same weights an uninterrupted run
  reaches;
- a NaN or infinite loss stops training with a message instead of silently wrecking weights,
  and the last good checkpoint is kept.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datasets import BatchLoader
from ..datasets import augment as augmentation
from ..errors import ConfigError, Name
from ..model import Sequential
from ..validate import all_finite, positive_int
from .checkpoints import Checkpoints
from .datacheck import check_data as check_data
from .history import History as History  # its own module; train.History stays its name
from .interrupt import DeferredInterrupt
from .metrics import class_indices
from .progress import Callback, ProgressBar
from .run import running
from .saved import SavedRun, read_saved_run
from .shards import ShardRunner, resolve_threads, seed_random_layers
from .state import TrainState


def train_step(model: Sequential, optimizer, xb, yb, runner: ShardRunner) -> tuple[float, int]:
    """One step, as the book's ``Trainer.train_step``: forward, loss, backward, update.

    The batch is split over ``runner``'s threads (:mod:`tatamu.training.shards`); their
    gradients add up to the whole batch's. Returns the batch's mean loss and how many it got
    right; a NaN or infinite loss leaves the weights untouched (the caller stops the run).
    """
    loss, predicted = runner.loss_and_predictions(model.as_input(xb), yb, backward=True)
    if not math.isfinite(loss):
        return loss, 0
    with np.errstate(over="ignore", invalid="ignore"):  # a blow-up is caught by the loop
        optimizer.step(model.params(), runner.summed_grads())
    return loss, int((predicted == class_indices(yb)).sum())


def evaluate(model: Sequential, data, batch_size: int = 128, *, threads: int | None = None,
             predictions: bool = False) -> dict[str, Any]:
    """Mean loss and accuracy over **every** sample of ``data = (x, labels)``, in batches.

    Runs in eval mode (Dropout off, nothing cached) and restores the model's mode. Each batch is
    split over ``threads`` threads (None: :func:`tatamu.training.shards.default_threads`). Returns
    ``{"loss", "accuracy", "correct", "n"}``, and ``"predicted"`` (N,) class indices with
    ``predictions=True`` (for a confusion matrix without a second pass).
    """
    x, labels = check_data(model, data, "evaluation data")
    positive_int(batch_size, "batch_size")
    threads = resolve_threads(threads, model, training=False)
    was_training = model.training
    model.eval()
    total_loss, predicted = 0.0, []
    try:
        with ShardRunner(model, threads) as runner:
            for first in range(0, len(x), batch_size):
                xb = model.as_input(x[first : first + batch_size])
                loss, batch_predicted = runner.loss_and_predictions(
                    xb, labels[first : first + batch_size])
                total_loss += loss * len(xb)
                predicted.append(batch_predicted)
    finally:
        model.train(was_training)
    predicted = np.concatenate(predicted)
    correct, n = int((predicted == class_indices(labels)).sum()), len(x)
    return {"loss": total_loss / n, "accuracy": correct / n, "correct": correct, "n": n,
            **({"predicted": predicted} if predictions else {})}


def fit(model: Sequential, train_data, val_data=None, *, test_data=None,
        test_every_epoch: bool = False, epochs: int, batch_size: int, optimizer, seed: int = 0,
        callbacks: list[Callback] | None = None, progress: bool | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None, resume: bool | SavedRun = False,
        schedule=None, early_stopping: int | None = None, eval_batch_size: int = 256,
        metadata: dict[str, Any] | None = None, threads: int | None = None,
        augment=None) -> History:
    """Train ``model`` on ``train_data = (x, labels)`` for ``epochs`` epochs; return History.

    Parameters
    ----------
    val_data : evaluated in full after every epoch (loss and accuracy), if given: what chooses
        ``best.npz`` and stops a run early. Held out of the training data, never the test set
        (:func:`tatamu.training.validation.hold_out`).
    test_data : evaluated after the last epoch (the planned one, or an early stop), and after
        every epoch with ``test_every_epoch``; recorded as ``test_*``, it chooses nothing.
    optimizer : a ``tatamu.optim`` optimizer; its state is saved in checkpoints.
    seed : fixes the order of batches and Dropout's masks; with the same seed on the same
        machine, a run gives the same weights, resumed or not.
    progress : show a progress bar (None: only when the run has callbacks-free defaults).
    checkpoint_dir : save ``initial.npz``, ``last.npz`` (each epoch end, and on Ctrl-C or before
        a NaN) and ``best.npz`` (best validation accuracy) there (:mod:`tatamu.training.run`).
    resume : continue from ``checkpoint_dir/last.npz`` (weights, optimizer, position, history),
        or from that checkpoint already read (:func:`tatamu.training.saved.read_saved_run`).
        After a Ctrl-C, ``History.resume_from`` names that checkpoint.
    schedule : a learning-rate schedule with ``step()`` called after each epoch.
    early_stopping : stop when validation loss has not improved for this many epochs.
    metadata : extra JSON stored in each checkpoint (dataset, class names, normalisation).
    threads : split each batch over this many threads (None:
        :func:`tatamu.training.shards.default_threads`). Another count sums the shards' gradients in
        another order (the last bits differ), so a run is reproduced with the same count;
        ``resume=True`` with None takes the run's own. BatchNorm models train on one thread.
    augment : disturb each training batch (:class:`tatamu.datasets.Augment`; True: its
        defaults; a dict or a spec string such as ``"shift=2,rotation=10"``; None/False: off).
        Batch ``b`` of epoch ``e`` is disturbed from ``(seed, e, b)``, so a resume continues
        exactly; ``resume=True`` with None takes the run's own (False turns it off).
    """
    check_data(model, train_data, "training data")
    if val_data is not None:
        check_data(model, val_data, "validation data")
    if test_data is not None:
        check_data(model, test_data, "test data")
    positive_int(epochs, "epochs")
    positive_int(batch_size, "batch_size")
    if early_stopping is not None:
        positive_int(early_stopping, "early_stopping")
        if val_data is None:
            raise ConfigError(Name("early_stopping"), " watches the validation loss: give "
                              "validation data held out of the training set (never the test "
                              "set), or leave it out", param="early_stopping")
    if resume and checkpoint_dir is None:
        raise ConfigError("resume=True needs checkpoint_dir (the run folder to resume)")
    augmenter = augmentation.resolve(augment, train_data[0])  # refused before any write
    saved_run = None
    if resume:  # read once, checked before anything is written
        saved_run = resume if isinstance(resume, SavedRun) else read_saved_run(checkpoint_dir)
    callbacks = list(callbacks or [])
    if progress or (progress is None and not callbacks):
        callbacks.insert(0, ProgressBar())
    trainer = _Trainer(model, train_data, val_data, (test_data, test_every_epoch),
                       optimizer=optimizer, schedule=schedule,
                       seed=seed, batch_size=batch_size, eval_batch_size=eval_batch_size,
                       early_stopping=early_stopping, callbacks=callbacks,
                       folder=checkpoint_dir, metadata=metadata)
    return trainer.train(epochs, threads, saved_run, augmenter, augment is not None)


@dataclass(frozen=True)
class _Stop:
    """Why the loop stopped before its planned end: a value it returns, never raised."""

    reason: str  # "early_stopping", "diverged" or "interrupted" (History.stop_reason)
    detail: str = ""


class _Trainer:
    """One run of :func:`fit`: the loop, its state (:class:`tatamu.training.state.TrainState`),
    its saves (:class:`tatamu.training.checkpoints.Checkpoints`)."""

    def __init__(self, model, train_data, val_data, test, *, optimizer, schedule, seed,
                 batch_size, eval_batch_size, early_stopping, callbacks, folder,
                 metadata) -> None:
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        (self.x, self.labels), self.val_data = train_data, val_data
        self.test_data, self.test_every_epoch = test
        self.eval_batch_size, self.early_stopping = eval_batch_size, early_stopping
        self.callbacks, self.folder, self.metadata = callbacks, folder, metadata
        self.history = History()
        self.state = TrainState(seed=seed, batch_size=batch_size, num_train=len(self.x))

    def train(self, epochs: int, threads: int | None, resume: SavedRun | None, augment=None,
              augment_given: bool = False) -> History:
        model = self.model
        count = resolve_threads(threads, model, training=True)  # checked before any write
        # Ctrl-C is honoured at a batch boundary from here on, even one pressed while
        # initial.npz is written (it used to be able to land where no clean save followed).
        marker = contextlib.nullcontext() if self.folder is None else running(self.folder)
        with DeferredInterrupt() as self.interrupt, marker:
            self.saved = None if self.folder is None else Checkpoints(
                self.folder, model, self.optimizer, self.schedule, self.metadata)
            if resume is not None:  # the one place a run is put back
                self.history, self.state = resume.restore(
                    model, self.optimizer, self.schedule, batch_size=self.state.batch_size,
                    num_train=self.state.num_train)
                if threads is None and self.state.threads:  # the run's own count: exact resume
                    count = resolve_threads(self.state.threads, model, training=True)
                if not augment_given:  # the run's own augmentation: an exact resume
                    augment = augmentation.resolve(self.state.augment, self.x)
            elif self.saved is not None:
                self.saved.start(self.state.seed, self.history.to_dict())
            state = self.state
            state.threads, self.augment = count, augment
            state.augment = None if augment is None else augment.config()
            self._notify("on_train_begin", {
                "epochs": epochs, "batch_size": state.batch_size, "num_train": len(self.x),
                "num_params": model.num_params(), "start_epoch": state.epoch})
            model.train()
            stop = None
            try:
                with ShardRunner(model, state.threads) as self.runner:
                    while stop is None and state.epoch <= epochs:
                        stop = self._epoch(epochs)
            except KeyboardInterrupt:  # a second Ctrl-C, mid-step: nothing consistent to save
                stop = _Stop("interrupted")
            try:
                self._finish(stop)
            finally:
                self._notify("on_train_end", self.history)
        return self.history

    def _notify(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(*args)

    def _epoch(self, epochs: int) -> _Stop | None:
        """Train epoch ``state.epoch`` (from ``state.batch`` on), evaluate, save; a stop or None.
        """
        state, epoch = self.state, self.state.epoch
        if not state.batch:  # (a mid-epoch resume restored the layers' rng states)
            seed_random_layers(self.model, state.seed, epoch)  # this epoch's Dropout masks
        stop, logs = self._train_epoch(epoch)
        if stop is not None:
            return stop
        measuring = time.perf_counter()
        stop = self._measure(logs, "val", self.val_data, epoch)
        if stop is not None:
            return stop
        improved, early = state.record_validation(logs.get("val_loss"), logs.get("val_accuracy"),
                                                  self.early_stopping)
        if self.test_every_epoch or early or epoch == epochs:  # the test set chooses nothing
            stop = self._measure(logs, "test", self.test_data, epoch)
            if stop is not None:
                return stop
        logs["wall_time"] = logs["epoch_time"] + time.perf_counter() - measuring
        self.history.append(logs)
        if self.schedule is not None:
            self.schedule.step()
        state.epoch, state.batch, state.partial = epoch + 1, 0, None
        if self.saved is not None:
            self.saved.save(self.history.to_dict(), state, best=improved)
        self._notify("on_epoch_end", epoch, self.history.last())
        if early:
            return _Stop("early_stopping", f"validation loss has not improved for "
                                           f"{self.early_stopping} epochs; stopped after epoch "
                                           f"{epoch}")
        return None

    def _train_epoch(self, epoch: int) -> tuple[_Stop | None, dict[str, Any]]:
        """Every batch of one epoch: (why it stopped, or None; the epoch's training figures)."""
        state, seed = self.state, self.state.seed
        # One permutation per epoch, from (seed, epoch): on resume the order is the same.
        loader = BatchLoader(self.x, self.labels, state.batch_size,
                             rng=np.random.default_rng([seed, epoch]))
        self._notify("on_epoch_begin", epoch, len(loader))
        sums = state.partial or {"loss": 0.0, "correct": 0, "seen": 0, "time": 0.0}
        started, skip = time.perf_counter() - sums["time"], state.batch
        for batch, (xb, yb) in enumerate(loader):
            if batch < skip:  # resuming mid-epoch: these were already trained on
                continue
            self.runner.seed_replicas(seed, epoch, batch)
            if self.augment is not None:  # disturbed afresh from (seed, epoch, batch)
                xb = self.augment.for_batch(xb, seed, epoch, batch)
            loss, correct = train_step(self.model, self.optimizer, xb, yb, self.runner)
            if not math.isfinite(loss):
                return _Stop("diverged", f"the loss became {loss} at epoch {epoch}, "
                                         f"batch {batch + 1}"), {}
            sums = {"loss": sums["loss"] + loss * len(xb), "correct": sums["correct"] + correct,
                    "seen": sums["seen"] + len(xb), "time": time.perf_counter() - started}
            state.batch, state.partial = batch + 1, sums
            self._notify("on_batch_end", epoch, batch,
                         {"loss": loss, "accuracy": correct / len(xb), "batch_size": len(xb)})
            if self.interrupt.requested:
                return _Stop("interrupted"), {}
        elapsed = time.perf_counter() - started
        # The last step of an epoch can blow the weights up while its loss was still finite:
        # catch it before they are evaluated, or saved as the "last good" checkpoint.
        if not all(all_finite(p) for p in self.model.params().values()):
            return _Stop("diverged", f"the weights became inf or NaN in epoch {epoch}"), {}
        seen = max(sums["seen"], 1)
        return None, {"epoch": epoch, "train_loss": sums["loss"] / seen,
                      "train_accuracy": sums["correct"] / seen, "lr": float(self.optimizer.lr),
                      "epoch_time": elapsed, "images_per_s": sums["seen"] / max(elapsed, 1e-9)}

    def _measure(self, logs: dict[str, Any], kind: str, data, epoch: int) -> _Stop | None:
        """Evaluate ``data`` into ``logs[kind + "_loss"/"_accuracy"]`` (nothing if no data)."""
        if data is None:
            return None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = evaluate(self.model, data, self.eval_batch_size,
                              threads=self.runner.threads)
        if not math.isfinite(result["loss"]):
            name = "validation" if kind == "val" else "test"
            return _Stop("diverged", f"the {name} loss became {result['loss']} after epoch "
                                     f"{epoch}")
        logs[f"{kind}_loss"], logs[f"{kind}_accuracy"] = result["loss"], result["accuracy"]
        return None

    def _finish(self, stop: _Stop | None) -> None:
        """Write how the run ended into its history (and, after a Ctrl-C, save where it is)."""
        history = self.history
        if stop is None:
            return
        history.stop_reason = stop.reason
        if stop.reason == "early_stopping":
            history.message = stop.detail
        elif stop.reason == "diverged":
            kept = (f" The last good checkpoint is kept: {self.saved.last}."
                    if self.saved is not None and self.saved.last.exists() else "")
            history.error = ConfigError(  # its fix as data: the CLI names --lr
                f"{stop.detail}: training stopped. The learning rate ({self.optimizer.lr:g}) is "
                "probably too high; try a smaller one (", Name("lr"), ")." + kept, param="lr")
            history.message = str(history.error)
        else:
            self._interrupted()

    def _interrupted(self) -> None:
        history, saved = self.history, self.saved
        history.message = f"interrupted during epoch {self.state.epoch}"
        if saved is not None and self.interrupt.requested and not self.interrupt.forced:
            # Interrupted between two steps: the state is consistent, save it to resume
            # from (a second Ctrl-C during this save stops it; the old file stays whole).
            saved.save(history.to_dict(), self.state)
            history.message += f"; saved {saved.last}: continue with resume=True"
        elif saved is not None:
            history.message += f"; the last checkpoint {saved.last} is unchanged"
        if saved is not None and saved.last.exists():
            history.resume_from = str(saved.last)
