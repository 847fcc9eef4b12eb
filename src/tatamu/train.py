"""The training loop (the book's ``Trainer``, §6 and §7.5), made safe to leave running.

Differences from the book, each answering something that went wrong for its readers:

- every epoch visits every training image once, in a fresh order drawn from ``seed`` (the book
  sampled with replacement);
- evaluation covers the *whole* validation set each epoch, in batches, partial batch included
  (the book looked at 1,000 images and its accuracy() dropped the last partial batch);
- with ``checkpoint_dir`` the run is saved at the end of every epoch, on Ctrl-C, and resumes
  (``resume=True``) to the same weights an uninterrupted run reaches;
- a NaN or infinite loss stops training with a message instead of silently wrecking weights,
  and the last good checkpoint is kept.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import checkpoint as ckpt
from .backend import as_numpy
from .datasets import BatchLoader
from .datasets import augment as augmentation
from .errors import CheckpointError, ConfigError, DataError
from .losses import check_labels
from .model import Sequential
from .parallel import ShardRunner, resolve_threads
from .progress import Callback, ProgressBar

LAST = "last.npz"  # the newest checkpoint of a run (end of an epoch, or an interruption)
BEST = "best.npz"  # the epoch with the best validation accuracy
INITIAL = "initial.npz"  # the weights before training (for "before/after" filter pictures)


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def append(self, logs: dict[str, Any]) -> None:
        for key in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr",
                    "epoch_time", "images_per_s"):
            getattr(self, key).append(logs.get(key))


def evaluate(model: Sequential, data, batch_size: int = 128, *,
             threads: int | None = None) -> dict[str, Any]:
    """Mean loss and accuracy over **every** sample of ``data = (x, labels)``, in batches.

    Runs in eval mode (Dropout off, nothing cached) and restores the model's mode. Each batch
    is split over ``threads`` threads (None: :func:`tatamu.parallel.default_threads`). Returns
    ``{"loss", "accuracy", "correct", "n"}``.
    """
    x, labels = check_data(model, data, "evaluation data")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive int; got {batch_size!r}")
    threads = resolve_threads(threads, model, training=False)
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0

    def shard(replica, start, stop):  # loss summed (not averaged) and #correct of one shard
        logits = replica.forward(xb[start:stop])
        loss = replica.loss_fn.forward(logits, yb[start:stop]) * (stop - start)
        return loss, int((as_numpy(logits).argmax(axis=1) == _label_indices(yb[start:stop]))
                         .sum())

    try:
        with ShardRunner(model, threads) as runner:
            for first in range(0, len(x), batch_size):
                xb = model._as_input(x[first : first + batch_size])
                yb = labels[first : first + batch_size]
                for _, _, (loss, right) in runner.run(shard, len(xb)):
                    total_loss += loss
                    correct += right
    finally:
        model.train(was_training)
    n = len(x)
    return {"loss": total_loss / n, "accuracy": correct / n, "correct": correct, "n": n}


def fit(
    model: Sequential,
    train_data,
    val_data=None,
    *,
    epochs: int,
    batch_size: int,
    optimizer,
    seed: int = 0,
    callbacks: list[Callback] | None = None,
    progress: bool | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    schedule=None,
    early_stopping: int | None = None,
    eval_batch_size: int = 256,
    metadata: dict[str, Any] | None = None,
    threads: int | None = None,
    augment=None,
) -> History:
    """Train ``model`` on ``train_data = (x, labels)`` for ``epochs`` epochs; return History.

    Parameters
    ----------
    val_data : evaluated in full after every epoch (loss and accuracy), if given.
    optimizer : a ``tatamu.optim`` optimizer; its state is saved in checkpoints.
    seed : fixes the order of batches and Dropout's masks; with the same seed on the same
        machine, a run gives the same weights, resumed or not.
    progress : show a progress bar (None: only when the run has callbacks-free defaults).
    checkpoint_dir : save ``initial.npz``, ``last.npz`` (each epoch end, and on Ctrl-C or before
        a NaN) and ``best.npz`` (best validation accuracy) there.
    resume : continue from ``checkpoint_dir/last.npz`` (weights, optimizer, position, history).
    schedule : a learning-rate schedule with ``step()`` called after each epoch.
    early_stopping : stop when validation loss has not improved for this many epochs.
    metadata : extra JSON stored in each checkpoint (dataset, class names, normalisation).
    threads : split each batch over this many threads (:mod:`tatamu.parallel`; None: the
        ``TATAMU_NUM_THREADS`` or ``OMP_NUM_THREADS`` variable, else the number of cores). With
        1 the arithmetic is the single-threaded one; another count sums the shards' gradients
        in another order (the last bits differ) and draws other Dropout masks, so a run is
        reproduced with the same thread count; ``resume=True`` with ``threads=None`` takes the
        count the run was saved with, so it continues exactly. A model with BatchNorm trains
        on one thread (its statistics are over the whole batch).
    augment : disturb each training batch (:class:`tatamu.datasets.Augment`; True: its
        defaults; None/False: off). Batch ``b`` of epoch ``e`` is disturbed by random numbers
        from ``(seed, e, b)``, so a resume continues exactly; ``resume=True`` with
        ``augment=None`` takes the run's own setting (pass False to turn it off).
    """
    x, labels = check_data(model, train_data, "training data")
    if val_data is not None:
        check_data(model, val_data, "validation data")
    for value, what in ((epochs, "epochs"), (batch_size, "batch_size")):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{what} must be a positive int; got {value!r}")
    thread_count = resolve_threads(threads, model, training=True)
    # None: no augmentation, or on resume the run's own; refused before anything is written
    augment_given, augment = augment is not None, augmentation.resolve(augment, x)
    if early_stopping is not None and early_stopping < 1:
        raise ConfigError(f"early_stopping must be a positive int; got {early_stopping!r}")
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if resume and folder is None:
        raise ConfigError("resume=True needs checkpoint_dir (the run folder to resume)")

    callbacks = list(callbacks or [])
    if progress or (progress is None and not callbacks):
        callbacks.insert(0, ProgressBar())
    history, start_epoch, skip_batches = History(), 1, 0
    state: dict[str, Any] = {"best_val_accuracy": -1.0, "best_val_loss": math.inf, "bad_epochs": 0}
    # Ctrl-C is honoured at a batch boundary from here on, even one pressed while initial.npz
    # is written (it used to be able to land where no clean save followed).
    with _DeferredInterrupt() as interrupt:
        if folder is not None:  # a run killed mid-write (SIGKILL) left its temporary file
            ckpt.remove_stale_temp_files(folder)
        if resume:
            history, start_epoch, skip_batches, state = _restore(model, optimizer, schedule,
                                                                 folder, batch_size, len(x))
            if threads is None and state.get("threads"):  # the run's own count: exact resume
                thread_count = resolve_threads(state["threads"], model, training=True)
            if not augment_given:  # the run's own augmentation: exact resume
                augment = state.get("augment")
        elif folder is not None:
            _save(folder / INITIAL, model, None, None, metadata, history, {"epoch": 0}, seed)
        # a mid-epoch resume needs the first two; an exact one, the third
        state.update(batch_size=batch_size, num_train=len(x), threads=thread_count,
                     augment=augment)

        info = {"epochs": epochs, "batch_size": batch_size, "num_train": len(x),
                "num_params": model.num_params(), "start_epoch": start_epoch}
        for cb in callbacks:
            cb.on_train_begin(info)
        params = model.params()
        model.train()
        epoch = start_epoch
        try:
            with ShardRunner(model, thread_count) as runner:
                for epoch in range(start_epoch, epochs + 1):
                    if not skip_batches:  # a mid-epoch resume restored the layers' rng states
                        _seed_layers(model, seed, epoch)
                    stop = _run_epoch(model, optimizer, params, x, labels, val_data, epoch,
                                      seed, batch_size, eval_batch_size, skip_batches, state,
                                      history, callbacks, interrupt, runner)
                    skip_batches = 0
                    if stop == "diverged":
                        return _diverged(history, state, optimizer, folder)
                    if stop == "interrupted":
                        raise KeyboardInterrupt
                    if schedule is not None:
                        schedule.step()
                    state["position"], state["partial"] = {"epoch": epoch + 1, "batch": 0}, None
                    early = _early_stop(state, history, early_stopping)
                    if folder is not None:
                        _save(folder / LAST, model, optimizer, schedule, metadata, history,
                              state, seed)
                        if state.get("improved_accuracy"):
                            _save(folder / BEST, model, optimizer, schedule, metadata, history,
                                  state, seed)
                    for cb in callbacks:
                        cb.on_epoch_end(epoch, _last_logs(history))
                    if early:
                        history.stop_reason = "early_stopping"
                        history.message = (f"validation loss has not improved for "
                                           f"{early_stopping} epochs; stopped after epoch {epoch}")
                        break
        except KeyboardInterrupt:
            history.stop_reason = "interrupted"
            history.message = f"interrupted during epoch {epoch}"
            if folder is not None and interrupt.requested and not interrupt.forced:
                # Interrupted between two steps: the state is consistent, save it to resume
                # from (a second Ctrl-C during this save stops it; the old file stays whole).
                _save(folder / LAST, model, optimizer, schedule, metadata, history, state, seed)
                history.message += f"; saved {folder / LAST}: resume with resume=True (--resume)"
            elif folder is not None:
                history.message += f"; the last checkpoint {folder / LAST} is unchanged"
        finally:
            for cb in callbacks:
                cb.on_train_end(history)
    return history


def _run_epoch(model, optimizer, params, x, labels, val_data, epoch, seed, batch_size,
               eval_batch_size, skip_batches, state, history, callbacks, interrupt,
               runner) -> str:
    """Train one epoch (from batch ``skip_batches`` on) and evaluate; append to history.

    Returns "" normally, "diverged" on a NaN/inf loss, "interrupted" after a Ctrl-C.
    """
    # One permutation per epoch, from (seed, epoch): on resume the order is the same.
    loader = BatchLoader(x, labels, batch_size, rng=np.random.default_rng([seed, epoch]))
    for cb in callbacks:
        cb.on_epoch_begin(epoch, len(loader))
    sums = state.get("partial") or {"loss": 0.0, "correct": 0, "seen": 0, "time": 0.0}
    started = time.perf_counter() - sums["time"]
    for batch, (xb, yb) in enumerate(loader):
        if batch < skip_batches:  # resuming mid-epoch: these were already trained on
            continue
        runner.seed_replicas(seed, epoch, batch)
        if state.get("augment") is not None:  # disturbed afresh from (seed, epoch, batch)
            xb = state["augment"].for_batch(xb, seed, epoch, batch)
        loss, correct = _train_step(model, optimizer, params, xb, yb, runner)
        if not math.isfinite(loss):
            state["diverged_at"] = f"the loss became {loss} at epoch {epoch}, batch {batch + 1}"
            return "diverged"
        sums["loss"] += loss * len(xb)
        sums["correct"] += correct
        sums["seen"] += len(xb)
        sums["time"] = time.perf_counter() - started
        state["position"], state["partial"] = {"epoch": epoch, "batch": batch + 1}, sums
        for cb in callbacks:
            cb.on_batch_end(epoch, batch, {"loss": loss, "accuracy": correct / len(xb),
                                           "batch_size": len(xb)})
        if interrupt.requested:
            return "interrupted"
    elapsed = time.perf_counter() - started
    # The last step of an epoch can blow the weights up while its loss was still finite: catch
    # it before they are evaluated, or saved as the "last good" checkpoint.
    if not all(np.isfinite(as_numpy(p)).all() for p in params.values()):
        state["diverged_at"] = f"the weights became inf or NaN in epoch {epoch}"
        return "diverged"
    logs = {
        "epoch": epoch,
        "train_loss": sums["loss"] / max(sums["seen"], 1),
        "train_accuracy": sums["correct"] / max(sums["seen"], 1),
        "val_loss": None,
        "val_accuracy": None,
        "lr": float(optimizer.lr),
        "epoch_time": elapsed,
        "images_per_s": sums["seen"] / max(elapsed, 1e-9),
    }
    if val_data is not None:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = evaluate(model, val_data, eval_batch_size, threads=runner.threads)
        if not math.isfinite(result["loss"]):
            state["diverged_at"] = (f"the validation loss became {result['loss']} after "
                                    f"epoch {epoch}")
            return "diverged"
        logs["val_loss"], logs["val_accuracy"] = result["loss"], result["accuracy"]
    history.append(logs)
    return ""


def _last_logs(history: History) -> dict[str, Any]:
    return {k: v[-1] for k, v in history.to_dict().items() if isinstance(v, list)}


class _DeferredInterrupt:
    """Turn Ctrl-C into a request honoured between two steps, so what is saved is consistent.

    A second Ctrl-C stops at once (the last checkpoint on disk stays as it was).
    """

    def __init__(self) -> None:
        self.requested = False
        self.forced = False  # a second Ctrl-C: stopped mid-step, nothing consistent to save
        self._previous = None

    def __enter__(self) -> _DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _train_step(model, optimizer, params, xb, yb, runner) -> tuple[float, int]:
    """One step: forward, loss, backward, update. Returns the batch loss and #correct.

    The batch is split over ``runner``'s threads; each shard's backward starts from its share
    of the batch (n_k / N), so the shards' gradients add up to the whole batch's mean.
    """
    xb = model._as_input(xb)
    n = len(xb)

    def shard(replica, start, stop):
        # A diverging run overflows to inf/NaN on the way; the caller's loss check reports
        # that once, with the fix, instead of NumPy's RuntimeWarnings (errors under -W error).
        # (errstate is per thread: each shard sets its own.)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            logits = replica.forward(xb[start:stop])
            loss = replica.loss_fn.forward(logits, yb[start:stop])
            if math.isfinite(loss):
                replica.backward(replica.loss_fn.backward((stop - start) / n))
        right = int((as_numpy(logits).argmax(axis=1) == _label_indices(yb[start:stop])).sum())
        return loss * ((stop - start) / n), right

    shards = runner.run(shard, n)
    loss = sum(shard_loss for _, _, (shard_loss, _) in shards)
    if not math.isfinite(loss):
        return loss, 0
    with np.errstate(over="ignore", invalid="ignore"):
        optimizer.step(params, runner.summed_grads(len(shards)))
    return loss, sum(right for _, _, (_, right) in shards)


def _diverged(history, state, optimizer, folder) -> History:
    history.stop_reason = "diverged"
    history.message = (
        f"{state['diverged_at']}: training stopped. The "
        f"learning rate ({optimizer.lr:g}) is probably too high; try a smaller one (--lr)."
    )
    if folder is not None and (folder / LAST).exists():
        history.message += f" The last good checkpoint is kept: {folder / LAST}."
    return history


def _early_stop(state: dict[str, Any], history: History, patience: int | None) -> bool:
    logs = _last_logs(history)
    state["improved_accuracy"] = False
    if logs["val_accuracy"] is None:
        return False
    if logs["val_accuracy"] > state["best_val_accuracy"]:
        state["best_val_accuracy"] = logs["val_accuracy"]
        state["improved_accuracy"] = True
    if logs["val_loss"] < state["best_val_loss"]:
        state["best_val_loss"], state["bad_epochs"] = logs["val_loss"], 0
    else:
        state["bad_epochs"] += 1
    return patience is not None and state["bad_epochs"] >= patience


def _seed_layers(model: Sequential, seed: int, epoch: int) -> None:
    """Give each random layer (Dropout) a Generator derived from (seed, epoch, layer index).

    Then an epoch's masks depend only on where it starts, which is what makes resume exact.
    """
    for index, layer in enumerate(model):
        if isinstance(getattr(layer, "rng", None), np.random.Generator):
            layer.rng = np.random.default_rng([seed, epoch, index])


def _rng_states(model: Sequential) -> dict[str, Any]:
    return {name: layer.rng.bit_generator.state for name, layer in model.layers.items()
            if isinstance(getattr(layer, "rng", None), np.random.Generator)}


def _save(path, model, optimizer, schedule, metadata, history, state, seed) -> None:
    train_state = {
        "seed": seed,
        "position": state.get("position", {"epoch": 1, "batch": 0}),
        "best_val_accuracy": state.get("best_val_accuracy", -1.0),
        "best_val_loss": _finite_or_none(state.get("best_val_loss")),
        "bad_epochs": state.get("bad_epochs", 0),
        "rng_states": _rng_states(model),
        "partial": state.get("partial"),
        "batch_size": state.get("batch_size"),
        "num_train": state.get("num_train"),
        "threads": state.get("threads"),
        "augment": state["augment"].config() if state.get("augment") else None,
        "schedule": None if schedule is None else {
            k: float(v) for k, v in schedule.state_dict().items()},
    }
    meta = {**(metadata or {}), "history": history.to_dict(), "train_state": train_state}
    ckpt.save(model, path, optimizer=optimizer, metadata=meta, overwrite=True)


def _finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


def _restore(model, optimizer, schedule, folder: Path, batch_size: int, num_train: int):
    """Everything fit needs to continue the run saved in ``folder/last.npz``, checked first."""
    path = folder / LAST
    if not path.exists():
        raise CheckpointError(f"nothing to resume: {path} does not exist (train without --resume)")
    saved = ckpt.read(path)
    ts = saved.meta.get("train_state")
    if not isinstance(ts, dict):
        raise CheckpointError(
            f"{path} holds a model but no training state (saved by tatamu.save, not by a "
            "training run?), so it cannot be resumed: start a new run"
        )
    try:
        history, state = _parse_train_state(saved.meta, ts, model)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(
            f"{path}: its training state is damaged ({exc!r}), so the run cannot be resumed; "
            "start a new run (best.npz still holds a model)"
        ) from exc
    position = state["position"]
    for value, saved_value, option in ((batch_size, ts.get("batch_size"), "--batch-size"),
                                       (num_train, ts.get("num_train"), "--limit")):
        if position["batch"] and saved_value is not None and value != saved_value:
            what = "batch size" if option == "--batch-size" else "number of training samples"
            raise ConfigError(
                f"{path} stopped in the middle of epoch {position['epoch']}, with {what} "
                f"{saved_value}; resuming with {value} would train on other samples. Resume "
                f"with the run's settings ({option} {saved_value})"
            )
    # Every check before anything changes: a refused resume leaves model and optimizer as is.
    ckpt._check_fits(path, "parameter", model.params(), saved.model.params())
    ckpt._check_fits(path, "buffer", model.buffers(), saved.model.buffers())
    try:
        if saved.optimizer_state:
            optimizer.load_state_dict(saved.optimizer_state)
        if schedule is not None and ts.get("schedule"):
            schedule.load_state_dict({k: np.asarray(v) for k, v in ts["schedule"].items()})
        for name, rng_state in ts.get("rng_states", {}).items():
            model.layers[name].rng.bit_generator.state = rng_state
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: its optimizer, schedule or random state is damaged "
                              f"({exc!r}); start a new run") from exc
    ckpt._copy_into(path, "parameter", model.params(), saved.model.params())
    ckpt._copy_into(path, "buffer", model.buffers(), saved.model.buffers())
    return history, position["epoch"], position["batch"], state


def _parse_train_state(meta: dict[str, Any], ts: dict[str, Any], model: Sequential):
    """History and loop state from a run checkpoint; KeyError/TypeError/ValueError if damaged."""
    def number(value, what, *, none=False):
        if (value is None and none) or (isinstance(value, int | float)
                                        and not isinstance(value, bool)):
            return value
        raise TypeError(f"{what} is {value!r}")

    position = {k: number(ts["position"][k], f"position {k}") for k in ("epoch", "batch")}
    if position["epoch"] < 1 or position["batch"] < 0 or any(
            int(v) != v for v in position.values()):
        raise ValueError(f"position {position}")
    saved_history = meta.get("history", {})
    lists = [k for k in History.__dataclass_fields__ if k not in ("stop_reason", "message")]
    if not isinstance(saved_history, dict):
        raise TypeError(f"history is {saved_history!r}")
    for key in lists:
        values = saved_history.get(key, [])
        if not isinstance(values, list) or len(values) != len(saved_history.get("epoch", [])):
            raise ValueError(f"history {key} is {values!r}")
        for v in values:
            number(v, f"history {key} entry", none=True)
    history = History.from_dict({k: saved_history.get(k, []) for k in lists})
    partial = ts.get("partial")
    if partial is not None:
        partial = {k: number(partial[k], f"partial {k}") for k in ("loss", "correct", "seen",
                                                                    "time")}
    rng_states = ts.get("rng_states", {})
    if not isinstance(rng_states, dict) or any(
            not isinstance(getattr(model.layers.get(name), "rng", None), np.random.Generator)
            for name in rng_states):
        raise ValueError(f"random states for layers {list(rng_states)}")
    if not isinstance(ts.get("schedule") or {}, dict):
        raise TypeError(f"schedule state is {ts['schedule']!r}")
    best_loss = number(ts.get("best_val_loss"), "best_val_loss", none=True)
    return history, {
        "best_val_accuracy": number(ts.get("best_val_accuracy", -1.0), "best_val_accuracy"),
        "best_val_loss": math.inf if best_loss is None else best_loss,
        "bad_epochs": int(number(ts.get("bad_epochs", 0), "bad_epochs")),
        "position": {k: int(v) for k, v in position.items()},
        "partial": partial,
        "threads": _saved_thread_count(ts.get("threads")),
        "augment": augmentation.resolve(ts.get("augment")),  # ConfigError if damaged
    }


def _saved_thread_count(value):
    """The thread count a run saved (None for runs saved before tatamu split batches)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError(f"threads {value!r}")


def check_data(model: Sequential, data, what: str):
    """Refuse training/evaluation data the model cannot use, with the reason and the fix."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise DataError(f"{what} must be a pair (x, labels); got {type(data).__name__}")
    x, labels = data
    if not hasattr(x, "shape") or not hasattr(labels, "shape"):
        raise DataError(f"{what}: x and labels must be arrays (use np.asarray)")
    if len(x) == 0:
        raise DataError(f"{what} is empty (0 samples)")
    if x.dtype.kind != "f":
        raise DataError(
            f"{what}: images have dtype {x.dtype}; convert with x.astype(np.float32) / 255"
        )
    expected = model.input_shape
    if tuple(x.shape[1:]) != expected:
        hint = ""
        if x.ndim == len(expected) + 1 and tuple(x.shape[-1:] + x.shape[1:-1]) == expected:
            order = (0, x.ndim - 1, *range(1, x.ndim - 1))
            hint = f" It looks like channels-last (NHWC) data: use x.transpose{order}."
        elif x.ndim == len(expected):
            hint = " A channel axis is missing: use x[:, None]."
        raise DataError(
            f"{what}: the model takes samples of shape {expected}; got x of shape "
            f"{x.shape}.{hint}"
        )
    if len(labels) != len(x):
        raise DataError(f"{what}: {len(x)} images but {len(labels)} labels")
    if x.size and not bool(np.isfinite(x).all()):
        raise DataError(f"{what} contains NaN or inf values; clean the data before training")
    check_labels(labels, len(x), model.num_classes)
    if labels.ndim == 2:
        _check_label_rows(labels, what)
    return x, labels


def _check_label_rows(labels, what: str) -> None:
    """One-hot (or probability) labels: numbers >= 0 with rows summing to 1.

    A NaN label would otherwise surface as a NaN loss, reported as a learning rate too high.
    """
    t = as_numpy(labels)
    if t.dtype.kind not in "biuf":
        raise DataError(f"{what}: one-hot labels must be numbers; got dtype {t.dtype}")
    if not np.isfinite(t).all():
        raise DataError(f"{what}: the one-hot labels contain NaN or inf; clean the labels")
    sums = t.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero((t < 0).any(axis=1) | (np.abs(sums - 1) > 1e-3))
    if bad.size:
        raise DataError(
            f"{what}: one-hot labels must be >= 0 with each row summing to 1; row {bad[0]} is "
            f"{t[bad[0]].tolist()}. Integer class indices (N,) work too"
        )


def _label_indices(labels) -> np.ndarray:
    labels = as_numpy(labels)
    return labels.argmax(axis=1) if labels.ndim == 2 else labels
