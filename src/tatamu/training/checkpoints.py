"""The checkpoints a training run writes into its folder, and when.

Not in the book, whose ``Trainer`` kept everything in memory. :class:`Checkpoints` writes
``initial.npz`` before the first step, ``last.npz`` after each epoch and on Ctrl-C (with the
optimizer state and the training state, :class:`tatamu.training.state.TrainState`), and
``best.npz`` when the validation accuracy improved, and the weights after every epoch in
``epochs/epoch-NNN.npz`` (``epoch-000``: ``initial.npz`` again, as a hard link where the file
system has them), the newest ``keep_epochs`` of them if that is given. Every write is atomic
(:func:`tatamu.checkpoint.store.save`), so a crash leaves the previous file whole. Reading a run
back is :mod:`tatamu.training.saved`'s job.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from ..checkpoint import store as ckpt
from ..layers import is_random
from .run import BEST, INITIAL, LAST, epoch_file, epoch_files
from .state import TrainState


class Checkpoints:
    """The checkpoints one :func:`tatamu.training.loop.fit` run keeps in its folder."""

    def __init__(self, folder: str | Path, model, optimizer, schedule, metadata, *,
                 keep_epochs: int | None = None) -> None:
        self.folder, self.model = Path(folder), model
        self.optimizer, self.schedule, self.metadata = optimizer, schedule, metadata
        self.keep_epochs = keep_epochs  # None: every epoch; 0: none
        ckpt.remove_stale_temp_files(self.folder)  # what a run killed mid-write (SIGKILL) left
        ckpt.remove_stale_temp_files((self.folder / epoch_file(0)).parent)

    @property
    def last(self) -> Path:
        return self.folder / LAST

    def start(self, seed: int, history: dict[str, Any]) -> None:
        """``initial.npz``: the weights before training (no optimizer state, nothing trained),
        and the same as epoch 0 of ``epochs/``."""
        self._write(INITIAL, None, None, history, TrainState(seed=seed))
        if self.keep_epochs != 0:
            zero = self.folder / epoch_file(0)
            zero.parent.mkdir(exist_ok=True)
            zero.unlink(missing_ok=True)
            try:
                os.link(self.folder / INITIAL, zero)  # the same bytes: no second copy on disk
            except OSError:  # a file system without hard links
                shutil.copyfile(self.folder / INITIAL, zero)

    def save(self, history: dict[str, Any], state: TrainState, *, best: bool = False,
             epoch: int | None = None) -> None:
        """``last.npz`` (and ``best.npz`` too with ``best``) at ``state``; after a whole
        ``epoch``, its weights in ``epochs/`` first (written before ``last.npz``, so a resume
        never lacks the file of an epoch it does not train again)."""
        if epoch is not None and self.keep_epochs != 0:
            meta = {**(self.metadata or {}), "history": history, "epoch": epoch}
            ckpt.save(self.model, self.folder / epoch_file(epoch), metadata=meta,
                      overwrite=True)
            self._prune(epoch)
        for name in (LAST, BEST) if best else (LAST,):
            self._write(name, self.optimizer, self.schedule, history, state)

    def _prune(self, newest: int) -> None:
        """Keep the newest ``keep_epochs`` epoch files, and epoch 0 (the initial weights)."""
        if self.keep_epochs is None:
            return
        for epoch, path in epoch_files(self.folder).items():
            if 0 < epoch <= newest - self.keep_epochs:
                with contextlib.suppress(OSError):
                    path.unlink()

    def _write(self, name, optimizer, schedule, history, state: TrainState) -> None:
        state.rng_states = {name: layer.rng.bit_generator.state
                            for name, layer in self.model.layers.items()
                            if is_random(layer)}
        state.schedule = None if schedule is None else {
            k: float(v) for k, v in schedule.state_dict().items()}
        meta = {**(self.metadata or {}), "history": history, "train_state": state.to_json()}
        ckpt.save(self.model, self.folder / name, optimizer=optimizer, metadata=meta,
                  overwrite=True)
