"""A run read back from its folder: ``last.npz`` read once, checked, and restored in one place.

Not in the book, whose ``Trainer`` could not continue a run. :func:`read_saved_run` reads the
newest checkpoint of a run folder and checks its training state (:class:`SavedRun`); the CLI
decides from it whether there is anything left to train, and :meth:`SavedRun.restore` puts
everything back (weights, optimizer state, schedule, random states, history, position) into
the freshly built model and optimizer. Everything is checked before anything changes: a refused
resume leaves the model and optimizer as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import store as ckpt
from ..errors import CheckpointError, ConfigError, Fix, Name
from ..layers import is_random
from .history import History, parse_history
from .run import BEST, HISTORY, LAST
from .state import TrainState


@dataclass
class SavedRun:
    """A run folder's ``last.npz``, read and checked: where the run stands, not yet restored.

    ``history``: the per-epoch lists, with ``stop_reason`` and ``message`` from history.json
    (written last, so it knows how the run ended; "" when it is absent or damaged).
    """

    path: Path
    checkpoint: ckpt.Checkpoint
    state: TrainState
    history: dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return self.checkpoint.meta

    def restore(self, model, optimizer, schedule, *, batch_size: int,
                num_train: int) -> tuple[History, TrainState]:
        """Load the run into ``model``, ``optimizer`` and ``schedule``: (its history, its state).

        ``batch_size`` and ``num_train`` are the resumed run's; a run stopped mid-epoch must
        keep its own, or the rest of the epoch would be other samples.
        """
        path, state, saved = self.path, self.state, self.checkpoint
        if not all(is_random(model.layers.get(name)) for name in state.rng_states):
            exc = ValueError(f"random states for layers {list(state.rng_states)}")
            raise _damaged(path, exc) from exc
        for value, saved_value, what, setting in (
                (batch_size, state.batch_size, "batch size", Fix("batch_size", state.batch_size)),
                (num_train, state.num_train, "number of training samples",
                 Fix("num_train", state.num_train, words=f"the same {state.num_train} samples"))):
            if state.batch and saved_value is not None and value != saved_value:
                raise ConfigError(
                    f"{path} stopped in the middle of epoch {state.epoch}, with {what} "
                    f"{saved_value}; resuming with {value} would train on other samples. Resume "
                    "with the run's settings (", setting, ")", param=setting.param, value=value)
        ckpt.check_weights_fit(model, saved, path)
        try:
            if saved.optimizer_state:
                optimizer.load_state_dict(saved.optimizer_state)
            if schedule is not None and state.schedule:
                schedule.load_state_dict({k: np.asarray(v) for k, v in state.schedule.items()})
            for name, rng_state in state.rng_states.items():
                model.layers[name].rng.bit_generator.state = rng_state
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"{path}: its optimizer, schedule or random state is damaged "
                                  f"({exc!r}); start a new run") from exc
        ckpt.copy_weights(model, saved, path)
        state.batch_size, state.num_train = batch_size, num_train
        lists = {k: v for k, v in self.history.items() if k not in ("stop_reason", "message")}
        return History.from_dict(lists), state


def check_resumable(folder: str | Path) -> Path:
    """``folder/last.npz``, the checkpoint a resume continues from; refused if absent."""
    path = Path(folder) / LAST
    if not path.is_file():
        raise CheckpointError(f"nothing to resume: {path} does not exist (start the run "
                              "without ", Name("resume"), ")", param="resume", value=True)
    return path


def read_saved_run(folder: str | Path) -> SavedRun:
    """Read and check ``folder/last.npz`` (once): a :class:`SavedRun`, or CheckpointError."""
    path = check_resumable(folder)
    saved = ckpt.read(path)
    if not isinstance(saved.meta.get("train_state"), dict):
        raise CheckpointError(
            f"{path} holds a model but no training state (saved by tatamu.save, not by a "
            "training run?), so it cannot be resumed: start a new run")
    try:
        lists, state = parse_history(saved.meta), TrainState.from_json(saved.meta["train_state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(path, exc) from exc
    history = {**lists, "stop_reason": "", "message": ""}
    beside = Path(folder) / HISTORY
    if beside.is_file():
        try:
            written = json.loads(beside.read_text())
            history.update({k: written.get(k, "") for k in ("stop_reason", "message")})
        except (OSError, ValueError, AttributeError):
            pass  # a damaged history.json is rewritten at the run's end
    return SavedRun(path=path, checkpoint=saved, state=state, history=history)


def _damaged(path: Path, exc: Exception) -> CheckpointError:
    return CheckpointError(f"{path}: its training state is damaged ({exc!r}), so the run cannot "
                           f"be resumed; start a new run ({BEST} still holds a model)")
