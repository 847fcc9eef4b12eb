"""A training plan: everything a run is started with, saved in its folder so resume keeps it.

``tatamu train`` builds a :class:`TrainingPlan` from its options, saves it as ``plan.json``
(:mod:`tatamu.training.run`) and trains by it; ``--resume`` reads it back, so a run continues with
its own model, dataset, epochs, optimizer, schedule, seed, limits and threads, whatever the defaults
say today. The policy a run follows lives here, not in the CLI: which model suits which dataset,
how a schedule spans the epochs, what may change on resume (only more epochs).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import DATASETS
from ..errors import ConfigError, Name
from ..i18n import N_, _, pgettext
from ..models import MODELS
from ..optim import OPTIMIZERS

SCHEDULES = ("none", "step", "cosine")
#: Models for 1-D signals; the others take 28x28 images.
SIGNAL_MODELS, SIGNAL_DATASETS = ("conv1d",), ("mnist1d",)


def _meaning(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass(frozen=True)
class TrainingPlan:
    """What a run trains, and how. Each field's ``help`` is its meaning (the CLI shows it)."""

    model: str | None = field(default=None, metadata=_meaning(
        N_("architecture (default: simple, or conv1d for mnist1d)")))
    dataset: str = field(default="mnist", metadata=_meaning(N_("dataset to train on")))
    epochs: int = field(default=5, metadata=_meaning(N_("passes over the training set")))
    batch_size: int = field(default=100, metadata=_meaning(N_("samples per training step")))
    optimizer: str = field(default="adam", metadata=_meaning(N_("update rule")))
    lr: float | None = field(default=None, metadata=_meaning(
        N_("learning rate (default: the optimizer's, 0.001 for adam)")))
    weight_decay: float | None = field(default=None, metadata=_meaning(
        N_("L2 penalty / decoupled decay (default: the optimizer's, 0)")))
    schedule: str = field(default="none", metadata=_meaning(
        N_("learning-rate schedule: step divides it by 10 every third of the epochs, cosine "
           "anneals it to 0 over the epochs")))
    schedule_epochs: int | None = field(default=None, metadata=_meaning(
        N_("epochs the schedule spans (default: the planned epochs; kept when a run is "
           "extended)")))
    early_stopping: int | None = field(default=None, metadata=_meaning(
        N_("stop when the validation loss has not improved for this many epochs (needs a "
           "validation split; default: never)")))
    validation: int | None = field(default=None, metadata=_meaning(
        N_("hold out N training images (chosen by the seed, every class keeping its share) as "
           "the validation set: the curves, best.npz and early stopping use it, never the test "
           "set; 0: no split (default: 1 in 12 of the training images, the classic 5,000 of "
           "MNIST's 60,000; no split when that is fewer than one image per class)")))
    keep_epochs: int | None = field(default=None, metadata=_meaning(
        N_("keep the weights of only the newest N epochs in RUN/epochs/ (epoch 0, the initial "
           "weights, stays); 0: none (default: every epoch)")))
    log_every: int = field(default=50, metadata=_meaning(
        N_("write the training loss and accuracy to TensorBoard every N steps (their mean)")))
    test_every_epoch: bool = field(default=False, metadata=_meaning(
        N_("measure the test set after every epoch too, as the book does (it still chooses "
           "nothing; default: at the end of the run only)")))
    seed: int = field(default=0, metadata=_meaning(
        N_("seed of the initial weights, batch order, Dropout and the validation split")))
    limit: int | None = field(default=None, metadata=_meaning(
        N_("train on the first N training samples only (default: all)")))
    test_limit: int | None = field(default=None, metadata=_meaning(
        N_("evaluate on the first N test samples only (default: all)")))
    threads: int | None = field(default=None, metadata=_meaning(
        N_("threads that split each batch (default: $TATAMU_NUM_THREADS, $OMP_NUM_THREADS or "
           "every core)")))
    data_root: str | None = field(default=None, metadata=_meaning(
        N_("folder with the dataset files (default: the shipped copy or the cache)")))
    augment: str | None = field(default=None, metadata=_meaning(
        N_("disturb each training batch (tatamu.datasets.Augment): without a SPEC, shifts of "
           "2 px, rotations of 10 degrees and zooms of 10%%; or a SPEC such as "
           "shift=2,rotation=10,scale=0.1,elastic=0,flip=0 (default: off, as in the book)")))

    def __post_init__(self) -> None:
        """Check every field and fill in the model a dataset calls for."""
        if self.dataset not in DATASETS:
            raise ConfigError(_("unknown dataset {dataset!r}; choose one of {datasets}",
                                dataset=self.dataset, datasets=', '.join(DATASETS)))
        model = self.model or ("conv1d" if self.dataset in SIGNAL_DATASETS else "simple")
        object.__setattr__(self, "model", model)
        if model not in MODELS:
            raise ConfigError(_("unknown model {model!r}; choose one of {models}",
                                model=model, models=', '.join(MODELS)))
        if (model in SIGNAL_MODELS) != (self.dataset in SIGNAL_DATASETS):
            raise ConfigError(
                Name("model", model), _(" does not fit "), Name("dataset", self.dataset),
                _(": conv1d is for the 1-D signals of mnist1d, the others for 28x28 images"),
                param="model", value=model)
        if self.validation is not None and (isinstance(self.validation, bool) or not isinstance(
                self.validation, int) or self.validation < 0):
            raise ConfigError(Name("validation"), _(" must be a whole number >= 0; got "
                                                    "{validation!r}", validation=self.validation),
                              param="validation", value=self.validation)
        if self.validation and self.limit and self.validation >= self.limit:
            raise ConfigError(Name("validation", self.validation), _(" would hold out every one "
                                                                     "of the "),
                              Name("limit", self.limit), _(" training images; give fewer"),
                              param="validation", value=self.validation)
        if self.validation == 0 and self.early_stopping is not None:
            raise ConfigError(
                Name("early_stopping", self.early_stopping), _(" watches the validation loss, "
                                                               "and "),
                Name("validation", 0), _(" holds none out (the test set never chooses): give "),
                Name("validation"), _(" N or leave out "), Name("early_stopping"),
                param="early_stopping", value=self.early_stopping)
        if not isinstance(self.test_every_epoch, bool):
            raise ConfigError(Name("test_every_epoch"), _(" is true or false; got "
                                                          "{test_every_epoch!r}",
                                                          test_every_epoch=self.test_every_epoch),
                              param="test_every_epoch")
        if self.keep_epochs is not None and (isinstance(self.keep_epochs, bool) or not isinstance(
                self.keep_epochs, int) or self.keep_epochs < 0):
            raise ConfigError(Name("keep_epochs"), _(" must be a whole number >= 0; got "
                                                     "{value!r}", value=self.keep_epochs),
                              param="keep_epochs", value=self.keep_epochs)
        for name in ("epochs", "batch_size", "schedule_epochs", "early_stopping", "limit",
                     "test_limit", "threads", "log_every"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(Name(name), _(" must be a whole number >= 1; got {value!r}",
                                                value=value),
                                  param=name, value=value)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(Name("seed"), _(" must be a whole number; got {seed!r}",
                                              seed=self.seed),
                              param="seed", value=self.seed)
        for name in ("lr", "weight_decay"):  # their range is the optimizer's to check
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)):
                raise ConfigError(Name(name), _(" must be a number; got {value!r}", value=value),
                                  param=name, value=value)
        if self.schedule not in SCHEDULES:
            raise ConfigError(_("unknown schedule {schedule!r}; choose one of {schedules}",
                                schedule=self.schedule, schedules=', '.join(SCHEDULES)))
        if self.schedule_epochs is None:
            object.__setattr__(self, "schedule_epochs", self.epochs)
        if self.augment is not None:  # spelled out: a resume compares settings, not spellings
            from ..datasets.augment import Augment

            augment = Augment.parse(self.augment)
            one = (1, 1, 40) if self.dataset in SIGNAL_DATASETS else (1, 1, 28, 28)
            augment.check_input(np.zeros(one, np.float32))  # 1-D signals only shift
            object.__setattr__(self, "augment", augment.spec())
        if self.data_root is not None:  # absolute: a resume from another folder finds it
            object.__setattr__(self, "data_root", _absolute(self.data_root))
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(_("unknown optimizer {optimizer!r}; choose one of {optimizers}",
                                optimizer=self.optimizer, optimizers=', '.join(OPTIMIZERS)))

    # -- saving and resuming -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TrainingPlan:
        """A plan read back from ``plan.json``; a ConfigError names a damaged or unknown field.

        A plan from before validation splits (no ``validation`` field) continues as it was
        started: no split, the test set measured after every epoch. Its early stopping watched
        the test set, which this tatamu refuses to do: such a run cannot continue.
        """
        unknown = sorted(set(document) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(_("the run's plan has fields this tatamu does not know: {unknown} "
                                "(written by a newer version?)", unknown=', '.join(unknown)))
        if "validation" not in document:
            if document.get("early_stopping") is not None:
                raise ConfigError(
                    _("this run was started by an older tatamu whose early stopping watched the "
                      "test set, which this version never lets choose; it cannot continue that "
                      "way: start a new run (with "), Name("validation"),
                    pgettext("start a new run with --validation N", " N)"),
                    param="validation")
            document = {**document, "validation": 0, "test_every_epoch": True}
        try:
            return cls(**document)
        except (ConfigError, TypeError) as exc:
            raise ConfigError(_("the run's plan is damaged ({exc}); start a new run",
                                exc=exc)) from None

    def continued_with(self, given: dict[str, Any]) -> TrainingPlan:
        """This plan, resumed with options ``given`` again: each must agree with the plan.

        The one change allowed is more ``epochs`` than planned: that extends the run (the
        schedule keeps the span it was planned with). Anything else that differs raises
        :class:`PlanConflict` naming both values.
        """
        for name, value in given.items():
            saved = getattr(self, name)
            if name == "data_root" and value is not None:
                value = _absolute(value)
            if value == saved or (name == "epochs" and value > saved):
                continue
            raise PlanConflict(name, saved, value, self.epochs)
        return replace(self, **given)  # (data_root made absolute again by __post_init__)

    def finished(self, next_epoch: int, stop_reason: str) -> bool:
        """Whether a run at ``next_epoch`` (its next epoch to train) has nothing left to do."""
        return next_epoch > self.epochs or stop_reason == "early_stopping"

    # -- what the plan builds ------------------------------------------------------------------
    def build_model(self, input_shape: tuple[int, ...]):
        """The planned model for samples of ``input_shape``, its weights drawn from ``seed``."""
        return MODELS[self.model](input_shape=input_shape, rng=self.seed)

    def build_optimizer(self):
        from ..optim import make_optimizer

        kwargs = {k: getattr(self, k) for k in ("lr", "weight_decay")
                  if getattr(self, k) is not None}
        return make_optimizer(self.optimizer, **kwargs)

    def build_schedule(self, optimizer):
        """The planned schedule: StepLR (lr / 10 every third of the span) or CosineLR."""
        from ..optim import CosineLR, StepLR

        if self.schedule == "step":
            return StepLR(optimizer, step_size=max(1, self.schedule_epochs // 3), gamma=0.1)
        if self.schedule == "cosine":
            return CosineLR(optimizer, T_max=self.schedule_epochs)
        return None

    def load_data(self, *, download: bool = False):
        """(plan, train, validation, test): the data cut to ``limit`` and ``test_limit``, the
        validation split held out of the training data (:mod:`tatamu.training.validation`),
        and this plan with its size filled in (the default depends on the training count).
        """
        from ..datasets import class_names, load_dataset
        from .validation import default_size, hold_out

        (x, y), (xt, yt) = load_dataset(self.dataset, root=self.data_root, download=download)
        x, y = x[: self.limit], y[: self.limit]
        plan = self
        if self.validation is None:
            plan = replace(self, validation=default_size(
                len(x), len(class_names(self.dataset))))
        train, validation = hold_out(x, y, plan.validation, plan.seed)
        return plan, train, validation, (xt[: self.test_limit], yt[: self.test_limit])

    def metadata(self) -> dict[str, Any]:
        """What every checkpoint of the run says about it (read by evaluate, predict, show).

        ``validation`` tells a reader that ``val_*`` figures are the validation split's
        (:func:`tatamu.training.history.upgrade_history`).
        """
        from ..datasets import class_names

        return {"dataset": self.dataset, "class_names": list(class_names(self.dataset)),
                "normalization": "x / 255 (pixels scaled to [0, 1])", "model_name": self.model,
                "validation": self.validation, "test_every_epoch": self.test_every_epoch}


def _absolute(path) -> str:
    return str(Path(path).expanduser().resolve())


class PlanConflict(ConfigError):
    """An option given on resume that contradicts the run's plan (``name``, ``saved``, ``given``).
    """

    def __init__(self, name: str, saved: Any, given: Any, epochs: int) -> None:
        self.name, self.saved, self.given = name, saved, given
        unset = saved is None or saved is False  # (not 0: --validation 0 is a setting)
        parts = (_("the run was started "), _("without "), Name(name)) if unset else (
            _("the run was started with "), Name(name, saved))
        parts += ("; ", Name(name, given), _(" contradicts its plan. Leave it out to continue "
                                             "the run as planned, or start a new run"))
        if name == "epochs":
            parts = (_("the run was planned for "), Name(name, saved), "; ", Name(name, given),
                     _(" would shorten it. Leave it out to continue, or give more than {epochs} "
                       "epochs to extend it", epochs=epochs))
        super().__init__(*parts, param=name, value=given)
