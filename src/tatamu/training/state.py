"""Where a run stands and what its loop remembers: the ``train_state`` of every run checkpoint.

Not in the book, whose ``Trainer`` kept its position in memory. Saved in each checkpoint's JSON
(:mod:`tatamu.training.checkpoints`) and read back field by field
(:mod:`tatamu.training.saved`), so a damaged file is refused with a reason instead of resuming
into nonsense.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


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
            raise TypeError(f"train_state is {type(ts).__name__}")
        position = ts["position"]
        epoch, batch = number(position["epoch"], "position epoch"), number(
            position["batch"], "position batch")
        if epoch < 1 or batch < 0 or int(epoch) != epoch or int(batch) != batch:
            raise ValueError(f"position {position}")
        partial = ts.get("partial")
        if partial is not None:
            partial = {k: number(partial[k], f"partial {k}")
                       for k in ("loss", "correct", "seen", "time")}
        rng_states, schedule = ts.get("rng_states") or {}, ts.get("schedule")
        augment = ts.get("augment")
        if augment is not None:
            from ..datasets.augment import Augment

            augment = Augment.from_config(augment).config()  # ConfigError/TypeError if damaged
        if not isinstance(rng_states, dict):
            raise TypeError(f"random states are {rng_states!r}")
        if not isinstance(schedule or {}, dict):
            raise TypeError(f"schedule state is {schedule!r}")
        best_loss = number(ts.get("best_val_loss"), "best_val_loss", none=True)
        counts = {key: ts.get(key) for key in ("batch_size", "num_train", "threads")}
        for key, value in counts.items():  # absent from runs saved by older versions
            if value is not None and (number(value, key) < 1 or int(value) != value):
                raise ValueError(f"{key} {value!r}")
        return cls(
            seed=int(number(ts.get("seed", 0), "seed")), epoch=int(epoch), batch=int(batch),
            best_val_accuracy=number(ts.get("best_val_accuracy", -1.0), "best_val_accuracy"),
            best_val_loss=math.inf if best_loss is None else best_loss,
            bad_epochs=int(number(ts.get("bad_epochs", 0), "bad_epochs")),
            rng_states=rng_states, partial=partial, schedule=schedule, augment=augment,
            **counts)


def number(value, what: str, *, none: bool = False):
    """``value`` if it is a number (or None with ``none``); else TypeError naming ``what``."""
    if (value is None and none) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise TypeError(f"{what} is {value!r}")
