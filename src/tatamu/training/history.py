"""A run's per-epoch figures and why it stopped: what ``fit`` returns and history.json holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import TatamuError
from .state import number

#: The per-epoch lists of a history (the rest: "stop_reason", "message").
HISTORY_LISTS = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                 "epoch_time", "images_per_s")


@dataclass
class History:
    """Per-epoch figures of a run, and why it stopped."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_accuracy: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
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
    for key in HISTORY_LISTS:
        values = saved.get(key, [])
        if not isinstance(values, list) or len(values) != len(saved.get("epoch", [])):
            raise ValueError(f"history {key} is {values!r}")
        for v in values:
            number(v, f"history {key} entry", none=True)
    return {key: saved.get(key, []) for key in HISTORY_LISTS}
