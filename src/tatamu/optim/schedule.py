"""Learning-rate schedules: StepLR and CosineLR, with an optional linear warm-up.

A schedule owns nothing but an epoch counter: ``step()``, called once per epoch, sets the
optimizer's plain ``lr`` attribute from a closed-form function of the epoch, so resuming
needs only ``last_epoch`` and ``base_lr``. Not in the book, whose chapter 6 keeps ``lr``
fixed; the formulas and the names are PyTorch's (``StepLR``, ``CosineAnnealingLR``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import CheckpointError, ConfigError
from ..i18n import _
from ..validate import int_at_least
from .base import Optimizer, as_non_negative, as_positive


def _as_count(name: str, value: Any, *, minimum: int) -> int:
    return int_at_least(value, name, minimum)


class LRScheduler:
    """Base class: ``optimizer.lr = lr_at(epoch)`` on every :meth:`step`.

    Parameters
    ----------
    optimizer : Optimizer
        Its current ``lr`` becomes ``base_lr``, the learning rate of epoch 0.
    warmup_epochs : int
        If > 0, epochs ``0 .. warmup_epochs-1`` ramp linearly from
        ``warmup_start_factor * base_lr`` towards ``base_lr``, and the schedule proper starts
        at epoch ``warmup_epochs`` as if it were its epoch 0 (PyTorch's ``SequentialLR`` of
        ``LinearLR(start_factor, total_iters=warmup_epochs)`` and the schedule).
    warmup_start_factor : float
        In (0, 1]; PyTorch's ``LinearLR`` default is 1/3.
    """

    def __init__(self, optimizer: Optimizer, *, warmup_epochs: int = 0,
                 warmup_start_factor: float = 1.0 / 3.0) -> None:
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0
        self.warmup_epochs = _as_count("warmup_epochs", warmup_epochs, minimum=0)
        self.warmup_start_factor = as_positive("warmup_start_factor", warmup_start_factor)
        if self.warmup_start_factor > 1.0:
            raise ConfigError(_("warmup_start_factor must be in (0, 1]; got "
                                "{warmup_start_factor}", warmup_start_factor=warmup_start_factor))
        optimizer.lr = self.lr_at(0)

    def step(self) -> None:
        """Advance one epoch and set the optimizer's learning rate for it."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def lr_at(self, epoch: int) -> float:
        """The learning rate of ``epoch`` (0 is the epoch before the first ``step()``)."""
        w = self.warmup_epochs
        if epoch < w:
            f0 = self.warmup_start_factor
            return self.base_lr * (f0 + (1.0 - f0) * epoch / w)
        return self._lr_after_warmup(epoch - w)

    def _lr_after_warmup(self, epoch: int) -> float:
        raise NotImplementedError

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{"last_epoch": 0-d int64, "base_lr": 0-d float64}`` for ``numpy.savez``."""
        return {"last_epoch": np.asarray(self.last_epoch, dtype=np.int64),
                "base_lr": np.asarray(self.base_lr, dtype=np.float64)}

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` and set the optimizer's ``lr`` for that epoch."""
        if set(d) != {"last_epoch", "base_lr"}:
            raise CheckpointError(_("{type} state must have keys 'last_epoch' and 'base_lr'; "
                                    "got {d}", type=type(self).__name__, d=sorted(d)))
        self.last_epoch = int(as_numpy(d["last_epoch"]))
        self.base_lr = float(as_numpy(d["base_lr"]))
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """``lr = base_lr * gamma ** (epoch // step_size)``, as ``torch.optim.lr_scheduler.StepLR``.

    Parameters
    ----------
    optimizer : Optimizer
    step_size : int
        Epochs between decays (>= 1).
    gamma : float
        Multiplicative decay (> 0).
    warmup_epochs, warmup_start_factor
        See :class:`LRScheduler`.

    Examples
    --------
    >>> from tatamu.optim import SGD
    >>> opt = SGD(lr=0.1)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> for _ in range(4):
    ...     sched.step()
    >>> opt.lr
    0.025
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, *,
                 warmup_epochs: int = 0, warmup_start_factor: float = 1.0 / 3.0) -> None:
        self.step_size = _as_count("step_size", step_size, minimum=1)
        self.gamma = as_positive("gamma", gamma)
        super().__init__(optimizer, warmup_epochs=warmup_epochs,
                         warmup_start_factor=warmup_start_factor)

    def _lr_after_warmup(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class CosineLR(LRScheduler):
    """Cosine annealing, as ``torch.optim.lr_scheduler.CosineAnnealingLR``.

    ``lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``: from
    ``base_lr`` at epoch 0 down to ``eta_min`` at ``T_max`` (and back up after, as PyTorch).

    Parameters
    ----------
    optimizer : Optimizer
    T_max : int
        Epochs of the half cosine (>= 1).
    eta_min : float
        Final learning rate (>= 0).
    warmup_epochs, warmup_start_factor
        See :class:`LRScheduler`.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, *,
                 warmup_epochs: int = 0, warmup_start_factor: float = 1.0 / 3.0) -> None:
        self.T_max = _as_count("T_max", T_max, minimum=1)
        self.eta_min = as_non_negative("eta_min", eta_min)
        super().__init__(optimizer, warmup_epochs=warmup_epochs,
                         warmup_start_factor=warmup_start_factor)

    def _lr_after_warmup(self, epoch: int) -> float:
        cos = math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + cos) / 2.0
