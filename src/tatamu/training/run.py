"""The run folder: the one place that knows what a training run leaves on disk, and where.

    RUN/plan.json     what ``tatamu train`` was started with (model, dataset, epochs, ...):
                      ``--resume`` continues exactly that plan
        initial.npz   the weights before training (for before/after pictures)
        last.npz      the newest checkpoint (each epoch end, or a Ctrl-C) + the training state
        best.npz      the epoch with the best validation accuracy
        history.json  the per-epoch figures and why the run stopped
        curves.png    those figures drawn
        running.json  while a process trains the run: its pid and host (``tatamu runs``)
        metrics.csv   one row per epoch (the CSVLogger columns), rewritten after each epoch
        events.out.tfevents.*   TensorBoard's event files, one per process that trained it
        epochs/epoch-NNN.npz    the weights after each epoch (epoch-000: the initial weights)

Not in the book, whose ``Trainer`` kept everything in memory: a long run here survives a
Ctrl-C, a crash or a full disk, and resumes to the same weights an uninterrupted run reaches.
This module names the files and makes the folder; :mod:`tatamu.training.checkpoints` writes the
checkpoints during a run and :mod:`tatamu.training.saved` reads a run back to resume it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..checkpoint import store as ckpt
from ..errors import ConfigError, DataError, Name, TatamuError
from ..i18n import _
from .history import upgrade_history

INITIAL = "initial.npz"  # the weights before training
LAST = "last.npz"  # the newest checkpoint of a run (end of an epoch, or an interruption)
BEST = "best.npz"  # the epoch with the best validation accuracy
HISTORY = "history.json"
CURVES = "curves.png"
PLAN = "plan.json"
RUNNING = "running.json"  # present while a process trains the run
METRICS = "metrics.csv"
EPOCHS = "epochs"  # the folder of per-epoch weights
EVENTS_PREFIX = "events.out.tfevents."  # TensorBoard's event files (one per process)
#: Files a run folder may hold, besides its event files (anything else: not a run folder).
FILES = (PLAN, INITIAL, LAST, BEST, HISTORY, CURVES, RUNNING, METRICS, EPOCHS)


def is_run_file(name: str) -> bool:
    """Whether a file name is one a run folder holds (:data:`FILES`, or an event file)."""
    return name in FILES or name.startswith(EVENTS_PREFIX)


def epoch_file(epoch: int) -> str:
    """``epochs/epoch-007.npz``: where the weights after ``epoch`` are (0: the initial ones)."""
    return f"{EPOCHS}/epoch-{epoch:03d}.npz"


def epoch_files(folder: str | Path) -> dict[int, Path]:
    """The per-epoch checkpoints a run folder holds: {epoch: path}, in epoch order."""
    found = {}
    for path in (Path(folder) / EPOCHS).glob("epoch-*.npz"):
        number = path.stem.removeprefix("epoch-")
        if number.isdigit():
            found[int(number)] = path
    return dict(sorted(found.items()))


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
    ckpt.atomic_write(path, json.dumps(document, indent=2).encode())
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
    return upgrade_history(history, meta)


@contextlib.contextmanager
def running(folder: Path) -> Iterator[None]:
    """``folder/running.json`` (pid, host, start) while the block runs, removed after it.

    A process killed outright leaves it behind; ``tatamu runs`` then finds its pid gone and
    calls the run interrupted. Best effort: a marker that cannot be written stops nothing.
    """
    path = Path(folder) / RUNNING
    marker = {"pid": os.getpid(), "host": socket.gethostname(),
              "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with contextlib.suppress(OSError, TatamuError):
        write_json(path, marker)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
