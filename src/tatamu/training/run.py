"""The run folder: the one place that knows what a training run leaves on disk, and where.

    RUN/plan.json     what ``tatamu train`` was started with (model, dataset, epochs, ...):
                      ``--resume`` continues exactly that plan
        initial.npz   the weights before training (for before/after pictures)
        last.npz      the newest checkpoint (each epoch end, or a Ctrl-C) + the training state
        best.npz      the epoch with the best validation accuracy
        history.json  the per-epoch figures and why the run stopped
        curves.png    those figures drawn

Not in the book, whose ``Trainer`` kept everything in memory: a long run here survives a
Ctrl-C, a crash or a full disk, and resumes to the same weights an uninterrupted run reaches.
:class:`TrainState` is the loop's position and bookkeeping, checked field by field when read
back, so a damaged file is refused with a reason instead of resuming into nonsense.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import store as ckpt
from ..errors import CheckpointError, ConfigError, DataError, Fix, Name
from ..i18n import _, pgettext
from ..layers import is_random

INITIAL = "initial.npz"  # the weights before training
LAST = "last.npz"  # the newest checkpoint of a run (end of an epoch, or an interruption)
BEST = "best.npz"  # the epoch with the best validation accuracy
HISTORY = "history.json"
CURVES = "curves.png"
PLAN = "plan.json"
#: Files a run folder may hold (anything else in a folder means it is not a run folder).
FILES = (PLAN, INITIAL, LAST, BEST, HISTORY, CURVES)
#: The per-epoch lists of a history (the rest: "stop_reason", "message").
HISTORY_LISTS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                 "epoch_time", "images_per_s")


class RunFolderExists(ConfigError):
    """A new run was asked for in a folder that already holds something (nothing is touched)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        super().__init__(_("run folder {folder} already exists and is not empty; nothing was "
                           "overwritten. Resume the run in it, reuse it, or choose another "
                           "folder", folder=folder))


# -- the folder --------------------------------------------------------------------------------
def default_folder(model_name: str, dataset: str, now: _dt.datetime | None = None) -> Path:
    """``runs/MODEL-DATASET-YYYYmmdd-HHMMSS``: a new folder name for a new run."""
    stamp = (now or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{model_name}-{dataset}-{stamp}"


def create(folder: str | Path, *, reuse: bool = False) -> Path:
    """Make ``folder`` ready for a run and return it; refuse a file or (unless ``reuse``) a folder
    that is not empty, before anything is written. A folder that cannot be written is refused."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(_("{folder} is a file, not a folder; choose another ", folder=folder),
                          Name("out", words=_("run folder")), param="out", value=str(folder))
    if folder.is_dir() and any(folder.iterdir()) and not reuse:
        raise RunFolderExists(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".tatamu-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(_("cannot write to {folder}: {strerror}; choose another ",
                            folder=folder, strerror=exc.strerror or exc),
                          Name("out", words=_("run folder")), param="out",
                          value=str(folder)) from None
    return folder


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint file as given, or a run folder's ``best.npz`` (else ``last.npz``)."""
    path = Path(path)
    if path.is_dir():
        for name in (BEST, LAST):
            if (path / name).is_file():
                return path / name
        raise ConfigError(_("{path} is a folder without {best} or {last} (not a run folder "
                            "written by tatamu train)", path=path, best=BEST, last=LAST))
    if not path.exists():
        raise ConfigError(_("no checkpoint file at {path}: give a .npz file or a run folder",
                            path=path))
    return path


def write_json(path: Path, document: dict[str, Any]) -> Path:
    """Write ``document`` to ``path`` atomically (the old file stays whole if this fails)."""
    ckpt.atomic_write(path, lambda f: f.write(json.dumps(document, indent=2).encode()))
    return path


def read_plan(folder: str | Path) -> dict[str, Any] | None:
    """The plan saved in ``folder/plan.json``, or None for a run started without one."""
    path = Path(folder) / PLAN
    if not path.is_file():
        return None
    try:
        plan = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(_("{path} is not readable JSON ({exc}); it is the run's plan",
                          path=path, exc=exc)) from exc
    if not isinstance(plan, dict):
        raise DataError(_("{path} holds {type}, not the run's plan",
                          path=path, type=type(plan).__name__))
    return plan


def read_history(path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """A run's whole history: ``history.json`` beside a run checkpoint, else the checkpoint's."""
    beside = path.parent / HISTORY
    history = meta.get("history")
    if path.name in (INITIAL, LAST, BEST) and beside.is_file():  # a run folder
        try:
            history = json.loads(beside.read_text())
        except (OSError, ValueError) as exc:
            raise DataError(_("{path} is not readable JSON ({exc})", path=beside,
                              exc=exc)) from exc
    if not history or not history.get("epoch"):
        raise ConfigError(_("{path} has no training history (no finished epoch, and no "
                            "{history} beside it): nothing to plot", path=path, history=HISTORY))
    return history


# -- the training state ------------------------------------------------------------------------
@dataclass
class TrainState:
    """Where a run stands and what its loop remembers; saved in each checkpoint's metadata.

    ``epoch``/``batch``: the next step to train (epoch counted from 1; batch 0 = the epoch's
    start). ``partial``: the sums of a half-done epoch (loss, correct, seen, time).
    """

    seed: int = 0
    epoch: int = 1
    batch: int = 0
    best_val_accuracy: float = -1.0
    best_val_loss: float = math.inf
    bad_epochs: int = 0
    rng_states: dict[str, Any] = field(default_factory=dict)
    partial: dict[str, float] | None = None
    batch_size: int | None = None
    num_train: int | None = None
    threads: int | None = None
    schedule: dict[str, float] | None = None
    #: the run's augmentation (``Augment.config()``), None when off; resume restores it
    augment: dict[str, Any] | None = None

    def record_validation(self, val_loss, val_accuracy, patience: int | None) -> tuple[bool, bool]:
        """Note an epoch's validation figures: (a new best accuracy, early-stopping patience
        used up: the loss has not improved for ``patience`` epochs)."""
        if val_accuracy is None:
            return False, False
        improved = val_accuracy > self.best_val_accuracy
        if improved:
            self.best_val_accuracy = val_accuracy
        if val_loss < self.best_val_loss:
            self.best_val_loss, self.bad_epochs = val_loss, 0
        else:
            self.bad_epochs += 1
        return improved, patience is not None and self.bad_epochs >= patience

    def to_json(self) -> dict[str, Any]:
        """The ``train_state`` document (format 1: ``position`` holds epoch and batch)."""
        d = asdict(self)
        d["position"] = {"epoch": d.pop("epoch"), "batch": d.pop("batch")}
        d["best_val_loss"] = self.best_val_loss if math.isfinite(self.best_val_loss) else None
        return d

    @classmethod
    def from_json(cls, ts: Any) -> TrainState:
        """Read a ``train_state`` back; TypeError/ValueError/KeyError name what is damaged."""
        if not isinstance(ts, dict):
            raise TypeError(_("train_state is {type}", type=type(ts).__name__))
        position = ts["position"]
        epoch, batch = _number(position["epoch"], "position epoch"), _number(
            position["batch"], "position batch")
        if epoch < 1 or batch < 0 or int(epoch) != epoch or int(batch) != batch:
            raise ValueError(_("position {position}", position=position))
        partial = ts.get("partial")
        if partial is not None:
            partial = {k: _number(partial[k], f"partial {k}")
                       for k in ("loss", "correct", "seen", "time")}
        rng_states, schedule = ts.get("rng_states") or {}, ts.get("schedule")
        augment = ts.get("augment")
        if augment is not None:
            from ..datasets.augment import Augment

            augment = Augment.from_config(augment).config()  # ConfigError/TypeError if damaged
        if not isinstance(rng_states, dict):
            raise TypeError(_("random states are {rng_states!r}", rng_states=rng_states))
        if not isinstance(schedule or {}, dict):
            raise TypeError(_("schedule state is {schedule!r}", schedule=schedule))
        best_loss = _number(ts.get("best_val_loss"), "best_val_loss", none=True)
        counts = {key: ts.get(key) for key in ("batch_size", "num_train", "threads")}
        for key, value in counts.items():  # absent from runs saved by older versions
            if value is not None and (_number(value, key) < 1 or int(value) != value):
                raise ValueError(f"{key} {value!r}")
        return cls(
            seed=int(_number(ts.get("seed", 0), "seed")), epoch=int(epoch), batch=int(batch),
            best_val_accuracy=_number(ts.get("best_val_accuracy", -1.0), "best_val_accuracy"),
            best_val_loss=math.inf if best_loss is None else best_loss,
            bad_epochs=int(_number(ts.get("bad_epochs", 0), "bad_epochs")),
            rng_states=rng_states, partial=partial, schedule=schedule, augment=augment,
            **counts)


def _number(value, what: str, *, none: bool = False):
    if (value is None and none) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise TypeError(_("{what} is {value!r}", what=what, value=value))


def parse_history(meta: dict[str, Any]) -> dict[str, list]:
    """The per-epoch lists of a checkpoint's history, checked (ValueError/TypeError if not)."""
    saved = meta.get("history", {})
    if not isinstance(saved, dict):
        raise TypeError(_("history is {saved!r}", saved=saved))
    for key in HISTORY_LISTS:
        values = saved.get(key, [])
        if not isinstance(values, list) or len(values) != len(saved.get("epoch", [])):
            raise ValueError(_("history {key} is {values!r}", key=key, values=values))
        for v in values:
            _number(v, f"history {key} entry", none=True)
    return {key: saved.get(key, []) for key in HISTORY_LISTS}


class Checkpoints:
    """The checkpoints one :func:`tatamu.training.loop.fit` run keeps in its folder, and when.

    :meth:`start` writes ``initial.npz`` (or :meth:`resume` reads ``last.npz`` back), then
    :meth:`save` writes ``last.npz`` after each epoch and on Ctrl-C, and ``best.npz`` when the
    validation accuracy improved. Every write is atomic (:func:`tatamu.checkpoint.save`).
    """

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

    def resume(self, given: TrainState) -> tuple[dict[str, list], TrainState]:
        """Load ``last.npz`` into the model, optimizer and schedule: (history, its state)."""
        history, state = restore(self.folder, self.model, self.optimizer, self.schedule,
                                 batch_size=given.batch_size, num_train=given.num_train)
        state.batch_size, state.num_train = given.batch_size, given.num_train
        return history, state

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


def check_resumable(folder: str | Path) -> Path:
    """``folder/last.npz``, the checkpoint a resume continues from; refused if absent."""
    path = Path(folder) / LAST
    if not path.is_file():
        raise CheckpointError(_("nothing to resume: {path} does not exist (start the run "
                                "without ", path=path), Name("resume"),
                              pgettext("start the run without --resume", ")"), param="resume",
                              value=True)
    return path


def restore(folder: Path, model, optimizer, schedule, *, batch_size: int, num_train: int):
    """Load ``folder/last.npz`` into model, optimizer and schedule; (history lists, TrainState).

    Everything is checked before anything changes: a refused resume leaves them as they were.
    """
    path = check_resumable(folder)
    saved = ckpt.read(path)
    if not isinstance(saved.meta.get("train_state"), dict):
        raise CheckpointError(
            _("{path} holds a model but no training state (saved by tatamu.save, not by a "
              "training run?), so it cannot be resumed: start a new run", path=path))
    try:
        history, state = parse_history(saved.meta), TrainState.from_json(saved.meta["train_state"])
        for name in state.rng_states:
            if not is_random(model.layers.get(name)):
                raise ValueError(_("random states for layers {rng_states}",
                                   rng_states=list(state.rng_states)))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            _("{path}: its training state is damaged ({exc!r}), so the run cannot be resumed; "
              "start a new run ({best} still holds a model)", path=path, exc=exc,
              best=BEST)) from exc
    for value, saved_value, what, setting in (
            (batch_size, state.batch_size, _("batch size"), Fix("batch_size", state.batch_size)),
            (num_train, state.num_train, _("number of training samples"),
             Fix("num_train", state.num_train, words=_("the same {count} samples",
                                                       count=state.num_train)))):
        if state.batch and saved_value is not None and value != saved_value:
            raise ConfigError(
                _("{path} stopped in the middle of epoch {epoch}, with {what} {saved_value}; "
                  "resuming with {value} would train on other samples. Resume with the run's "
                  "settings (",
                  path=path, epoch=state.epoch, what=what, saved_value=saved_value,
                  value=value), setting, ")", param=setting.param, value=value)
    ckpt.check_weights_fit(model, saved, path)
    try:
        if saved.optimizer_state:
            optimizer.load_state_dict(saved.optimizer_state)
        if schedule is not None and state.schedule:
            schedule.load_state_dict({k: np.asarray(v) for k, v in state.schedule.items()})
        for name, rng_state in state.rng_states.items():
            model.layers[name].rng.bit_generator.state = rng_state
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(_("{path}: its optimizer, schedule or random state is damaged "
                                "({exc!r}); start a new run", path=path, exc=exc)) from exc
    ckpt.copy_weights(model, saved, path)
    return history, state


def saved_state(folder: str | Path) -> tuple[TrainState, dict[str, Any]] | None:
    """The state and history of ``folder/last.npz`` without loading it into anything (None if
    there is no last.npz); ``history.json``'s stop reason wins (it is written last)."""
    path = Path(folder) / LAST
    if not path.is_file():
        return None
    saved = ckpt.read(path)
    try:
        state = TrainState.from_json(saved.meta.get("train_state"))
        history = {**parse_history(saved.meta), "stop_reason": "", "message": ""}
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(_("{path}: its training state is damaged ({exc!r}), so the run "
                                "cannot be resumed; start a new run", path=path, exc=exc)) from exc
    beside = Path(folder) / HISTORY
    if beside.is_file():
        try:
            written = json.loads(beside.read_text())
            history.update({k: written.get(k, "") for k in ("stop_reason", "message")})
        except (OSError, ValueError, AttributeError):
            pass  # a damaged history.json is rewritten at the run's end
    return state, history

