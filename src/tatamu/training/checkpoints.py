"""The checkpoints a training run writes into its folder, and when.

Not in the book, whose ``Trainer`` kept everything in memory. :class:`Checkpoints` writes
``initial.npz`` before the first step, ``last.npz`` after each epoch and on Ctrl-C (with the
optimizer state and the training state, :class:`tatamu.training.state.TrainState`), and
``best.npz`` when the validation accuracy improved. Every write is atomic
(:func:`tatamu.checkpoint.store.save`), so a crash leaves the previous file whole. Reading a run
back is :mod:`tatamu.training.saved`'s job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checkpoint import store as ckpt
from ..layers import is_random
from .run import BEST, INITIAL, LAST
from .state import TrainState


class Checkpoints:
    """The checkpoints one :func:`tatamu.training.loop.fit` run keeps in its folder."""

    def __init__(self, folder: str | Path, model, optimizer, schedule, metadata) -> None:
        self.folder, self.model = Path(folder), model
        self.optimizer, self.schedule, self.metadata = optimizer, schedule, metadata
        ckpt.remove_stale_temp_files(self.folder)  # what a run killed mid-write (SIGKILL) left

    @property
    def last(self) -> Path:
        return self.folder / LAST

    def start(self, seed: int, history: dict[str, Any]) -> None:
        """``initial.npz``: the weights before training (no optimizer state, nothing trained)."""
        self._write(INITIAL, None, None, history, TrainState(seed=seed))

    def save(self, history: dict[str, Any], state: TrainState, *, best: bool = False) -> None:
        """``last.npz`` (and ``best.npz`` too with ``best``) at ``state``."""
        for name in (LAST, BEST) if best else (LAST,):
            self._write(name, self.optimizer, self.schedule, history, state)

    def _write(self, name, optimizer, schedule, history, state: TrainState) -> None:
        state.rng_states = {name: layer.rng.bit_generator.state
                            for name, layer in self.model.layers.items()
                            if is_random(layer)}
        state.schedule = None if schedule is None else {
            k: float(v) for k, v in schedule.state_dict().items()}
        meta = {**(self.metadata or {}), "history": history, "train_state": state.to_json()}
        ckpt.save(self.model, self.folder / name, optimizer=optimizer, metadata=meta,
                  overwrite=True)
