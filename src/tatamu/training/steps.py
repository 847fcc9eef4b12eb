"""One training step and one evaluation: the book's ``Trainer.train_step`` and ``accuracy``.

Read :func:`train_step` first: forward, loss, backward, update (ch. 7.5), on a batch split over
threads (:mod:`tatamu.training.shards`). :func:`evaluate` covers the *whole* data, in batches,
partial batch included (the book looked at 1,000 images, and its ``accuracy()`` dropped the last
partial batch).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..i18n import _
from ..model import Sequential
from ..validate import positive_int
from .datacheck import check_data
from .metrics import class_indices
from .shards import ShardRunner, resolve_threads, thread_budget


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
    x, labels = check_data(model, data, _("evaluation data"))
    positive_int(batch_size, "batch_size")
    budget = thread_budget(threads)
    threads = resolve_threads(budget, model, training=False)
    was_training = model.training
    model.eval()
    total_loss, predicted = 0.0, []
    try:
        with ShardRunner(model, threads, budget) as runner:
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
