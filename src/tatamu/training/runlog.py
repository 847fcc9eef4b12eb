"""What a run logs for other tools as it grows: ``metrics.csv`` and TensorBoard event files.

Not in the book. ``metrics.csv`` has one row per epoch, in the columns Keras's and Lightning's
``CSVLogger`` use (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``...), so pandas, a
spreadsheet or a plotting script read a run without tatamu. It is rewritten whole from the
history after every epoch (atomically), so after a resume it never holds an epoch twice.

The event files (:mod:`tatamu.training.tensorboard`) hold, at the global step (batches trained):
``batch/loss`` and ``batch/accuracy`` (means over the last ``log_every`` steps), each epoch's
figures as ``epoch/...`` at the step that ended it, and the first layer's filters as an image
(``filters/LAYER``; step 0: the initial weights).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..backend.arrays import as_numpy
from ..checkpoint import store as ckpt
from ..viz.probe import conv_layers
from .run import METRICS
from .tensorboard import EventWriter, filter_grid

#: metrics.csv's columns, and the history list each one comes from (None: computed here).
COLUMNS = {"epoch": "epoch", "step": None, "loss": "train_loss",
           "accuracy": "train_accuracy", "val_loss": "val_loss",
           "val_accuracy": "val_accuracy", "test_loss": "test_loss",
           "test_accuracy": "test_accuracy", "lr": "lr", "images_per_s": "images_per_s",
           "seconds": "wall_time"}
#: How often (in steps) ``batch/*`` scalars are written by default.
LOG_EVERY = 50


class RunLog:
    """The logs of one training process in a run folder; ``steps_per_epoch`` batches an epoch."""

    def __init__(self, folder: str | Path, model, *, steps_per_epoch: int,
                 log_every: int = LOG_EVERY) -> None:
        self.folder, self.model = Path(folder), model
        self.steps_per_epoch, self.log_every = steps_per_epoch, log_every
        self.events: EventWriter | None = None
        self._sums = [0.0, 0.0, 0]  # loss, accuracy, batches since the last batch/* scalars
        self.first_conv = next(iter(conv_layers(model)), None)

    def step(self, epoch: int, batch: int = -1) -> int:
        """The global step after ``batch`` (0-based) of ``epoch``; the epoch's end by default."""
        return (epoch - 1) * self.steps_per_epoch + (batch + 1 if batch >= 0 else
                                                      self.steps_per_epoch)

    def start(self, history: dict[str, Any], step: int) -> None:
        """Open this process's event file at global ``step``, the steps already trained (0: a
        new run)."""
        self.events = EventWriter(self.folder)
        if step:  # a resume: readers forget what a killed process wrote past this step
            self.events.start_session(step + 1)
        else:
            self._filters(0)
        self.write_csv(history)

    def batch(self, epoch: int, batch: int, loss: float, accuracy: float) -> None:
        self._sums = [self._sums[0] + loss, self._sums[1] + accuracy, self._sums[2] + 1]
        step = self.step(epoch, batch)
        if step % self.log_every == 0 and self.events is not None:
            loss_sum, accuracy_sum, count = self._sums
            self.events.scalar("batch/loss", loss_sum / count, step)
            self.events.scalar("batch/accuracy", accuracy_sum / count, step)
            self._sums = [0.0, 0.0, 0]

    def epoch(self, history: dict[str, Any]) -> None:
        """After an epoch (its checkpoints written): the CSV row, the scalars, the filters."""
        self.write_csv(history)
        index = len(history["epoch"]) - 1
        epoch = history["epoch"][index]
        step = self.step(epoch)
        if self.events is None:
            return
        self.events.scalar("epoch/epoch", epoch, step)
        for column, key in COLUMNS.items():
            value = _entry(history, key, index) if key else None
            if value is not None and column != "epoch":
                self.events.scalar(f"epoch/{column}", value, step)
        self._filters(step)

    def write_csv(self, history: dict[str, Any]) -> None:
        """``metrics.csv``: every epoch of ``history``, written whole and atomically."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for index, epoch in enumerate(history.get("epoch") or []):
            values = [self.step(epoch) if key is None else _entry(history, key, index)
                      for key in COLUMNS.values()]
            writer.writerow("" if value is None else _cell(value) for value in values)
        ckpt.atomic_write(self.folder / METRICS, out.getvalue().encode())

    def close(self) -> None:
        if self.events is not None:
            self.events.close()
            self.events = None

    def _filters(self, step: int) -> None:
        if self.first_conv is not None and self.events is not None:
            weights = self.model.layers[self.first_conv].W
            self.events.image(f"filters/{self.first_conv}", filter_grid(as_numpy(weights)), step)


def _entry(history: dict[str, Any], key: str, index: int):
    values = history.get(key) or []
    return values[index] if index < len(values) else None


def _cell(value: float | int) -> str:
    return str(value) if isinstance(value, int) else repr(float(value))
