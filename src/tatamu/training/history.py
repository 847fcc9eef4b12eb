"""A run's per-epoch figures and why it stopped: what ``fit`` returns and history.json holds.

``val_*`` are measured on the validation data (held out of the training set, and what chooses
``best.npz`` and stops a run early); ``test_*`` on the test set, which chooses nothing: measured
at the end of a run, and after every epoch only when asked. Histories written before the two had
their own lists are read by :func:`upgrade_history`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import TatamuError
from .state import number

#: The per-epoch lists of a history (the rest: "stop_reason", "message").
HISTORY_LISTS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
                 "test_loss", "test_accuracy", "lr", "epoch_time", "images_per_s", "wall_time")
#: Lists added after the first release: absent from older histories, read as "not measured".
ADDED_LISTS = ("test_loss", "test_accuracy", "wall_time")


@dataclass
class History:
    """Per-epoch figures of a run, and why it stopped."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    #: None where the test set was not measured after that epoch
    test_loss: list[float | None] = field(default_factory=list)
    test_accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    #: seconds of training (the images/s figure), and of the whole epoch (training, evaluation)
    epoch_time: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    wall_time: list[float | None] = field(default_factory=list)
    #: "completed", "early_stopping", "diverged" (NaN/inf loss) or "interrupted" (Ctrl-C)
    stop_reason: str = "completed"
    message: str = ""
    error: TatamuError | None = field(default=None, repr=False, compare=False)  # not saved
    #: after an interruption: the checkpoint that ``resume=True`` continues from (None if none)
    resume_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(replace(self, error=None)).items() if k != "error"}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def append(self, logs: dict[str, Any]) -> None:
        for key in HISTORY_LISTS:
            getattr(self, key).append(logs.get(key))

    def last(self) -> dict[str, Any]:
        """The newest epoch's figures."""
        return {key: getattr(self, key)[-1] for key in HISTORY_LISTS}


def parse_history(meta: dict[str, Any]) -> dict[str, list]:
    """The per-epoch lists of a checkpoint's history, checked (ValueError/TypeError if not)."""
    saved = meta.get("history", {})
    if not isinstance(saved, dict):
        raise TypeError(f"history is {saved!r}")
    saved = upgrade_history(saved, meta)
    for key in HISTORY_LISTS:
        values = saved.get(key, [])
        if not isinstance(values, list) or len(values) != len(saved.get("epoch", [])):
            raise ValueError(f"history {key} is {values!r}")
        for v in values:
            number(v, f"history {key} entry", none=True)
    return {key: saved.get(key, []) for key in HISTORY_LISTS}


def upgrade_history(history: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """``history`` (a dict) with every list of :data:`HISTORY_LISTS`, whatever wrote it.

    Before validation splits, ``tatamu train`` evaluated the **test set** after every epoch and
    recorded it as ``val_*``. Its checkpoints say so: they record the ``train`` command but no
    ``validation`` entry (:meth:`tatamu.training.plan.TrainingPlan.metadata`). In such a history
    those figures move to ``test_*``, so they are never read as validation. A ``fit()`` history
    keeps its ``val_*`` (its caller chose that data). Lists added later are filled with None.
    """
    if not isinstance(history, dict):
        return history
    nothing = [None] * len(history.get("epoch") or [])
    upgraded = {**{key: list(nothing) for key in ADDED_LISTS}, **history}
    if test_set_was_called_validation(meta) and not any(
            v is not None for v in upgraded["test_loss"]):
        upgraded.update(test_loss=history.get("val_loss", nothing),
                        test_accuracy=history.get("val_accuracy", nothing),
                        val_loss=list(nothing), val_accuracy=list(nothing))
    return upgraded


def test_set_was_called_validation(meta: dict[str, Any]) -> bool:
    """Whether a checkpoint is from a ``tatamu train`` run made before validation splits."""
    command = meta.get("command") if isinstance(meta, dict) else None
    return isinstance(command, list) and command[:1] == ["train"] and "validation" not in meta
