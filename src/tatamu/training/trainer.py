"""The trainer: one run of :func:`tatamu.training.loop.fit`, epoch by epoch, into its folder.

The walk of a run: the plan (:mod:`tatamu.training.plan`) and the run folder
(:mod:`tatamu.training.run`) are decided before this; the trainer puts a resumed run back
(:meth:`tatamu.training.saved.SavedRun.restore`, the one place), trains, evaluates, and hands
each epoch to what it keeps: the checkpoints (:mod:`tatamu.training.checkpoints`) and the logs
(:mod:`tatamu.training.runlog`). How the loop ends is a value (:class:`Stop`), written into the
history once by :meth:`Trainer.finish`; nothing is raised to say it.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..datasets import BatchLoader
from ..datasets import augment as augmentation
from ..errors import ConfigError, Name
from ..i18n import _, pgettext
from ..validate import all_finite
from .checkpoints import Checkpoints
from .history import History
from .interrupt import DeferredInterrupt
from .run import running
from .runlog import LOG_EVERY, RunLog
from .saved import SavedRun
from .shards import ShardRunner, resolve_threads, seed_random_layers, thread_budget
from .state import TrainState
from .steps import evaluate, train_step


@dataclass(frozen=True)
class Stop:
    """Why the loop stopped before its planned end: a value it returns, never raised."""

    reason: str  # "early_stopping", "diverged" or "interrupted" (History.stop_reason)
    detail: str = ""


class Trainer:
    """One run of :func:`fit`: the loop, its state (:class:`tatamu.training.state.TrainState`),
    its saves (:class:`tatamu.training.checkpoints.Checkpoints`)."""

    def __init__(self, model, train_data, val_data, test, *, optimizer, schedule, seed,
                 batch_size, eval_batch_size, early_stopping, callbacks, folder,
                 metadata, keep_epochs: int | None = None, log_every: int = LOG_EVERY) -> None:
        self.model, self.optimizer, self.schedule = model, optimizer, schedule
        (self.x, self.labels), self.val_data = train_data, val_data
        self.test_data, self.test_every_epoch = test
        self.eval_batch_size, self.early_stopping = eval_batch_size, early_stopping
        self.callbacks, self.folder, self.metadata = callbacks, folder, metadata
        self.keep_epochs, self.log_every = keep_epochs, log_every
        self.log: RunLog | None = None
        self.history = History()
        self.state = TrainState(seed=seed, batch_size=batch_size, num_train=len(self.x))

    def train(self, epochs: int, threads: int | None, resume: SavedRun | None, augment=None,
              augment_given: bool = False) -> History:
        model = self.model
        count = resolve_threads(threads, model, training=True)  # checked before any write
        budget = thread_budget(threads)  # BLAS gets what the shards leave of it
        # Ctrl-C is honoured at a batch boundary from here on, even one pressed while
        # initial.npz is written (it used to be able to land where no clean save followed).
        marker = contextlib.nullcontext() if self.folder is None else running(self.folder)
        with DeferredInterrupt() as self.interrupt, marker:
            self.saved = None if self.folder is None else Checkpoints(
                self.folder, model, self.optimizer, self.schedule, self.metadata,
                keep_epochs=self.keep_epochs)
            count, augment = self._begin(resume, threads, count, augment, augment_given)
            state = self.state
            state.threads, self.augment = count, augment
            state.augment = None if augment is None else augment.config()
            try:
                self._open_log()
                self._notify("on_train_begin", {
                    "epochs": epochs, "batch_size": state.batch_size, "num_train": len(self.x),
                    "num_params": model.num_params(), "start_epoch": state.epoch})
                model.train()
                stop = None
                try:
                    with ShardRunner(model, state.threads, max(budget, count)) as self.runner:
                        while stop is None and state.epoch <= epochs:
                            stop = self._epoch(epochs)
                except KeyboardInterrupt:  # a second Ctrl-C, mid-step: nothing consistent
                    stop = Stop("interrupted")
                self.finish(stop)
            finally:  # also when a save fails (a full disk): the bar closes, the log too
                if self.log is not None:
                    self.log.close()
                self._notify("on_train_end", self.history)
        return self.history

    def _begin(self, resume: SavedRun | None, threads, count: int, augment, augment_given):
        """Put a resumed run back (the one place), or write ``initial.npz`` for a new one;
        (thread count, augmentation): a resume keeps the run's own unless told otherwise."""
        if resume is None:
            if self.saved is not None:
                self.saved.start(self.state.seed, self.history.to_dict())
            return count, augment
        self.history, self.state = resume.restore(
            self.model, self.optimizer, self.schedule, batch_size=self.state.batch_size,
            num_train=self.state.num_train)
        if threads is None and self.state.threads:  # the run's own count: an exact resume
            count = resolve_threads(self.state.threads, self.model, training=True)
        if not augment_given:  # the run's own augmentation: an exact resume
            augment = augmentation.resolve(self.state.augment, self.x)
        return count, augment

    def _open_log(self) -> None:
        """metrics.csv and this session's event file, from where the run stands."""
        if self.folder is None:
            return
        state = self.state
        steps = len(BatchLoader(self.x, self.labels, state.batch_size))
        self.log = RunLog(self.folder, self.model, steps_per_epoch=steps,
                          log_every=self.log_every)
        self.log.start(self.history.to_dict(), (state.epoch - 1) * steps + state.batch)

    def _notify(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(*args)

    def _epoch(self, epochs: int) -> Stop | None:
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
            self.saved.save(self.history.to_dict(), state, best=improved, epoch=epoch)
        if self.log is not None:  # after the checkpoints: a log never runs ahead of them
            self.log.epoch(self.history.to_dict())
        self._notify("on_epoch_end", epoch, self.history.last())
        if early:
            return Stop("early_stopping", _("validation loss has not improved for "
                                            "{patience} epochs; stopped after epoch {epoch}",
                                            patience=self.early_stopping, epoch=epoch))
        return None

    def _train_epoch(self, epoch: int) -> tuple[Stop | None, dict[str, Any]]:
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
                return Stop("diverged", _("the loss became {loss} at epoch {epoch}, batch "
                                          "{batch}", loss=loss, epoch=epoch, batch=batch + 1)), {}
            sums = {"loss": sums["loss"] + loss * len(xb), "correct": sums["correct"] + correct,
                    "seen": sums["seen"] + len(xb), "time": time.perf_counter() - started}
            state.batch, state.partial = batch + 1, sums
            if self.log is not None:
                self.log.batch(epoch, batch, loss, correct / len(xb))
            self._notify("on_batch_end", epoch, batch,
                         {"loss": loss, "accuracy": correct / len(xb), "batch_size": len(xb)})
            if self.interrupt.requested:
                return Stop("interrupted"), {}
        elapsed = time.perf_counter() - started
        # The last step of an epoch can blow the weights up while its loss was still finite:
        # catch it before they are evaluated, or saved as the "last good" checkpoint.
        if not all(all_finite(p) for p in self.model.params().values()):
            return Stop("diverged", _("the weights became inf or NaN in epoch {epoch}",
                                      epoch=epoch)), {}
        seen = max(sums["seen"], 1)
        return None, {"epoch": epoch, "train_loss": sums["loss"] / seen,
                      "train_accuracy": sums["correct"] / seen, "lr": float(self.optimizer.lr),
                      "epoch_time": elapsed, "images_per_s": sums["seen"] / max(elapsed, 1e-9)}

    def _measure(self, logs: dict[str, Any], kind: str, data, epoch: int) -> Stop | None:
        """Evaluate ``data`` into ``logs[kind + "_loss"/"_accuracy"]`` (nothing if no data)."""
        if data is None:
            return None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = evaluate(self.model, data, self.eval_batch_size,
                              threads=self.runner.budget)
        if not math.isfinite(result["loss"]):
            values = {"loss": result["loss"], "epoch": epoch}
            return Stop("diverged", _("the validation loss became {loss} after epoch {epoch}",
                                      **values) if kind == "val" else
                        _("the test loss became {loss} after epoch {epoch}", **values))
        logs[f"{kind}_loss"], logs[f"{kind}_accuracy"] = result["loss"], result["accuracy"]
        return None

    def finish(self, stop: Stop | None) -> None:
        """Write how the run ended into its history (and, after a Ctrl-C, save where it is)."""
        history = self.history
        if stop is None:
            return
        history.stop_reason = stop.reason
        if stop.reason == "early_stopping":
            history.message = stop.detail
        elif stop.reason == "diverged":
            kept = (_(" The last good checkpoint is kept: {path}.", path=self.saved.last)
                    if self.saved is not None and self.saved.last.exists() else "")
            history.error = ConfigError(  # its fix as data: the CLI names --lr
                _("{reason}: training stopped. The learning rate ({lr:g}) is probably too high; "
                  "try a smaller one (", reason=stop.detail, lr=self.optimizer.lr), Name("lr"),
                pgettext("try a smaller --lr", ").") + kept, param="lr")
            history.message = str(history.error)
        else:
            self._interrupted()

    def _interrupted(self) -> None:
        history, saved = self.history, self.saved
        history.message = _("interrupted during epoch {epoch}", epoch=self.state.epoch)
        if saved is not None and self.interrupt.requested and not self.interrupt.forced:
            # Interrupted between two steps: the state is consistent, save it to resume
            # from (a second Ctrl-C during this save stops it; the old file stays whole).
            saved.save(history.to_dict(), self.state)
            history.message += _("; saved {path}: continue with resume=True", path=saved.last)
        elif saved is not None:
            history.message += _("; the last checkpoint {path} is unchanged", path=saved.last)
        if saved is not None and saved.last.exists():
            history.resume_from = str(saved.last)
