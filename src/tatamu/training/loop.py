"""The training loop (the book's ``Trainer``, §6 and §7.5), made safe to leave running.

Read :mod:`tatamu.training.steps` first: the book's ``Trainer.train_step`` (forward, loss,
backward, update) and an evaluation over every sample. :func:`fit` checks its arguments and
hands the run to :class:`tatamu.training.trainer.Trainer`. Differences from the book, each
answering a problem:

- every epoch visits every training image once, in a fresh order drawn from ``seed`` (the book
  sampled with replacement);
- evaluation covers the *whole* validation set each epoch, in batches, partial batch included
  (the book looked at 1,000 images and its accuracy() dropped the last partial batch);
- the test set chooses nothing: it is measured at the end (and after each epoch only if asked);
  the best checkpoint and early stopping watch validation data held out of the training set;
- with ``checkpoint_dir`` the run is saved (:mod:`tatamu.training.checkpoints`) at the end of
  every epoch and on Ctrl-C, logged for other tools (``metrics.csv``, TensorBoard), and resumes
  (``resume=True``) to the same weights an uninterrupted run reaches;
- a NaN or infinite loss stops training with a message instead of silently wrecking weights,
  and the last good checkpoint is kept.
"""

from __future__ import annotations

import os
from typing import Any

from ..datasets import augment as augmentation
from ..errors import ConfigError, Name
from ..i18n import _
from ..model import Sequential
from ..validate import positive_int
from .datacheck import check_data as check_data
from .history import History as History  # its own module; train.History stays its name
from .progress import Callback, ProgressBar
from .runlog import LOG_EVERY
from .saved import SavedRun, read_saved_run
from .steps import evaluate as evaluate  # the public names of tatamu.train
from .steps import train_step as train_step
from .trainer import Trainer


def fit(model: Sequential, train_data, val_data=None, *, test_data=None,
        test_every_epoch: bool = False, epochs: int, batch_size: int, optimizer, seed: int = 0,
        callbacks: list[Callback] | None = None, progress: bool | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None, resume: bool | SavedRun = False,
        schedule=None, early_stopping: int | None = None, eval_batch_size: int = 256,
        metadata: dict[str, Any] | None = None, threads: int | None = None,
        augment=None, keep_epochs: int | None = None, log_every: int = LOG_EVERY) -> History:
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
        a NaN), ``best.npz`` (best validation accuracy) and ``epochs/epoch-NNN.npz`` (the
        weights after each epoch) there, with ``metrics.csv`` and TensorBoard event files
        (:mod:`tatamu.training.run` lists them).
    resume : continue from ``checkpoint_dir/last.npz`` (weights, optimizer, position, history),
        or from that checkpoint already read (:func:`tatamu.training.saved.read_saved_run`).
        After a Ctrl-C, ``History.resume_from`` names that checkpoint.
    schedule : a learning-rate schedule with ``step()`` called after each epoch.
    early_stopping : stop when validation loss has not improved for this many epochs.
    metadata : extra JSON stored in each checkpoint (dataset, class names, normalisation).
    threads : the process's CPU budget (None: :func:`tatamu.training.shards.default_threads`):
        each batch is split over this many threads, each with one BLAS thread. BatchNorm models
        train on one shard, whose BLAS then gets all ``threads``; with 1, BLAS gets 1 too.
        Another count sums the shards' gradients in another order (the last bits differ), so a
        run is reproduced with the same count; ``resume=True`` with None takes the run's own.
    augment : disturb each training batch (:class:`tatamu.datasets.Augment`; True: its
        defaults; a dict or a spec string such as ``"shift=2,rotation=10"``; None/False: off).
        Batch ``b`` of epoch ``e`` is disturbed from ``(seed, e, b)``, so a resume continues
        exactly; ``resume=True`` with None takes the run's own (False turns it off).
    keep_epochs : keep only the newest N of ``epochs/`` (and epoch 0); 0: none (default: all).
    log_every : write the batch loss and accuracy to TensorBoard every N steps (their mean).
    """
    check_data(model, train_data, _("training data"))
    if val_data is not None:
        check_data(model, val_data, _("validation data"))
    if test_data is not None:
        check_data(model, test_data, _("test data"))
    positive_int(epochs, "epochs")
    positive_int(batch_size, "batch_size")
    if early_stopping is not None:
        positive_int(early_stopping, "early_stopping")
        if val_data is None:
            raise ConfigError(Name("early_stopping"), _(" watches the validation loss: give "
                                                        "validation data held out of the "
                                                        "training set (never the test set), or "
                                                        "leave it out"), param="early_stopping")
    if keep_epochs is not None and (isinstance(keep_epochs, bool) or not isinstance(
            keep_epochs, int) or keep_epochs < 0):
        raise ConfigError(Name("keep_epochs"), _(" must be a whole number >= 0; got "
                                                 "{value!r}", value=keep_epochs),
                          param="keep_epochs", value=keep_epochs)
    positive_int(log_every, "log_every")
    if resume and checkpoint_dir is None:
        raise ConfigError(_("resume=True needs checkpoint_dir (the run folder to resume)"))
    augmenter = augmentation.resolve(augment, train_data[0])  # refused before any write
    saved_run = None
    if resume:  # read once, checked before anything is written
        saved_run = resume if isinstance(resume, SavedRun) else read_saved_run(checkpoint_dir)
    callbacks = list(callbacks or [])
    if progress or (progress is None and not callbacks):
        callbacks.insert(0, ProgressBar())
    trainer = Trainer(model, train_data, val_data, (test_data, test_every_epoch),
                       optimizer=optimizer, schedule=schedule,
                       seed=seed, batch_size=batch_size, eval_batch_size=eval_batch_size,
                       early_stopping=early_stopping, callbacks=callbacks,
                       folder=checkpoint_dir, metadata=metadata, keep_epochs=keep_epochs,
                       log_every=log_every)
    return trainer.train(epochs, threads, saved_run, augmenter, augment is not None)
