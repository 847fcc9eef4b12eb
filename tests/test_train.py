"""fit / evaluate: History, whole-set evaluation, epochs without replacement, determinism,
resume == uninterrupted (after an epoch and after a Ctrl-C mid-epoch), NaN stop, early
stopping, and data errors.

Everything runs on tiny synthetic data and small models. Ctrl-C is simulated for real: a
callback sends SIGINT to this process (``os.kill(os.getpid(), signal.SIGINT)``), which fit's
deferred handler must turn into a clean stop at a batch boundary.
"""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

import tatamu
from tatamu import Sequential
from tatamu.checkpoint import store as checkpoint
from tatamu.errors import CheckpointError, ConfigError, DataError, TatamuError
from tatamu.layers import Conv2D, Dropout, Layer, Linear, MaxPool2D, ReLU
from tatamu.models import deep_convnet, simple_convnet
from tatamu.optim import SGD, Adam, StepLR
from tatamu.training.loop import History, evaluate, fit
from tatamu.training.progress import Callback

SHAPE = (1, 8, 8)
#: History fields that must be equal bit for bit between runs (times are not).
COMPARED = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


# -- helpers -----------------------------------------------------------------------------------
def tiny_net(seed: int = 0, classes: int = 3) -> Sequential:
    """conv 4@3x3 -> ReLU -> pool -> Linear 36->16 -> ReLU -> Dropout 0.3 -> Linear 16->K."""
    return Sequential(
        [Conv2D(1, 4, 3, rng=seed), ReLU(), MaxPool2D(2), Linear(36, 16, rng=seed + 1), ReLU(),
         Dropout(0.3, rng=seed + 2), Linear(16, classes, rng=seed + 3)],
        SHAPE,
    )


def deep_net(seed: int = 0) -> Sequential:
    """The book's DeepConvNet (two Dropout layers) on a 12x12 input."""
    return deep_convnet((1, 12, 12), num_classes=3, rng=seed)


def make_data(n: int, seed: int = 0, shape=SHAPE, classes: int = 3):
    """Learnable synthetic images: the label is the brightest of three horizontal bands."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    labels = rng.integers(0, classes, size=n)
    bands = np.array_split(np.arange(shape[-2]), classes)
    for i, label in enumerate(labels):
        x[i, :, bands[label], :] += 0.5
    return x, labels


def snapshot(model: Sequential) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.params().items()}


def assert_same_arrays(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def assert_same_history(a: History, b: History) -> None:
    for key in COMPARED:
        assert getattr(a, key) == getattr(b, key), key
    assert a.stop_reason == b.stop_reason


class BatchLog(Callback):
    """Records the events fit reports."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_train_begin(self, info):
        self.events.append(("train_begin", info["epochs"], info["start_epoch"]))

    def on_epoch_begin(self, epoch, num_batches):
        self.events.append(("epoch_begin", epoch, num_batches))

    def on_batch_end(self, epoch, batch, logs):
        self.events.append(("batch", epoch, batch, logs["batch_size"]))

    def on_epoch_end(self, epoch, logs):
        self.events.append(("epoch_end", epoch))

    def on_train_end(self, history):
        self.events.append(("train_end", history.stop_reason))


class Interrupt(Callback):
    """Presses Ctrl-C (sends SIGINT to this process) after batch ``batch`` of ``epoch``."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_batch_end(self, epoch, batch, logs):
        if (epoch, batch) == self.at:
            press_ctrl_c()


def press_ctrl_c(times: int = 1) -> None:
    # Safety: with Python's default handler in place, SIGINT would stop the whole test run.
    assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler, \
        "fit did not install its SIGINT handler"
    for _ in range(times):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # let the handler run before the next signal (they would coalesce)


def train_run(folder, epochs, *, build=tiny_net, model_seed=0, resume=False, callbacks=None,
              data=None, val=None, batch_size=7):
    """One fit call with the settings the resume tests compare."""
    model = build(model_seed)
    opt = Adam(lr=5e-3)
    schedule = StepLR(opt, step_size=1, gamma=0.5)
    data = data if data is not None else make_data(45)
    val = val if val is not None else make_data(20, seed=1)
    history = fit(model, data, val, epochs=epochs, batch_size=batch_size, optimizer=opt,
                  seed=11, callbacks=callbacks, progress=False, checkpoint_dir=folder,
                  resume=resume, schedule=schedule)
    return model, opt, schedule, history


# -- History and evaluation --------------------------------------------------------------------
def test_history_has_one_entry_per_epoch_and_a_stop_reason():
    x, y = make_data(40)
    history = fit(tiny_net(), (x, y), make_data(15, seed=1), epochs=3, batch_size=8,
                  optimizer=Adam(lr=1e-2), seed=0, progress=False)
    assert isinstance(history, History)
    assert history.epoch == [1, 2, 3]
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "epoch_time",
                "images_per_s"):
        values = getattr(history, key)
        assert len(values) == 3, key
        assert all(isinstance(v, float) and math.isfinite(v) for v in values), key
    assert all(0.0 <= a <= 1.0 for a in history.train_accuracy + history.val_accuracy)
    assert history.lr == [1e-2] * 3
    assert history.stop_reason == "completed" and history.message == ""
    assert history.train_loss[-1] < history.train_loss[0]
    assert History.from_dict(history.to_dict()) == history


def test_history_without_validation_data_has_none_entries():
    history = fit(tiny_net(), make_data(10), epochs=2, batch_size=4, optimizer=Adam(),
                  progress=False)
    assert history.val_loss == [None, None] and history.val_accuracy == [None, None]


def test_callbacks_see_every_event_in_order():
    log = BatchLog()
    fit(tiny_net(), make_data(10), epochs=2, batch_size=4, optimizer=Adam(), callbacks=[log],
        progress=False)
    batches = [("batch", 1, 0, 4), ("batch", 1, 1, 4), ("batch", 1, 2, 2)]
    assert log.events == [
        ("train_begin", 2, 1), ("epoch_begin", 1, 3), *batches, ("epoch_end", 1),
        ("epoch_begin", 2, 3), *[(b[0], 2, *b[2:]) for b in batches], ("epoch_end", 2),
        ("train_end", "completed"),
    ]


def test_progress_false_prints_nothing_and_the_default_prints_to_stderr(capsys):
    fit(tiny_net(), make_data(10), epochs=1, batch_size=5, optimizer=Adam(), progress=False)
    assert capsys.readouterr() == ("", "")
    fit(tiny_net(), make_data(10), epochs=1, batch_size=5, optimizer=Adam())
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 1/1" in err


def _argmax_model() -> Sequential:
    """Linear with W = identity, b = 0 on 2 features: predicts argmax(x)."""
    model = Sequential([Linear(2, 2, rng=0)], (2,))
    model["linear1"].W[...] = np.eye(2, dtype=np.float32)
    model["linear1"].b[...] = 0
    return model


def test_evaluate_counts_every_sample_including_the_partial_last_batch():
    # 1,001 samples, batch 100: the first 1,000 are half right, the last one (alone in the
    # partial batch) is right. Dropping it would give 500 correct, not 501.
    n = 1001
    x = np.zeros((n, 2), dtype=np.float32)
    x[:, 0] = 1.0  # predicts class 0 everywhere
    labels = np.zeros(n, dtype=np.int64)
    labels[1:1000:2] = 1  # 500 of the first 1,000 are class 1 (wrong)
    model = _argmax_model()
    result = evaluate(model, (x, labels), batch_size=100)
    assert result["n"] == 1001
    assert result["correct"] == 501
    assert result["accuracy"] == 501 / 1001
    # loss: the mean over all 1,001 samples, computed here in float64
    logits = x.astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -log_probs[np.arange(n), labels].mean()
    assert result["loss"] == pytest.approx(expected, rel=1e-6)
    assert set(result) >= {"accuracy", "loss"}


@pytest.mark.parametrize("batch_size", [1, 7, 128, 5000])
def test_evaluate_gives_the_same_answer_for_any_batch_size(batch_size):
    x, y = make_data(50)
    model = tiny_net()
    reference = evaluate(model, (x, y), batch_size=50)
    result = evaluate(model, (x, y), batch_size=batch_size)
    assert result["correct"] == reference["correct"]
    assert result["loss"] == pytest.approx(reference["loss"], rel=1e-5)
    pred = model.predict(x).argmax(axis=1)
    assert result["correct"] == int((pred == y).sum())


@pytest.mark.parametrize("threads", [1, 3])
def test_evaluate_returns_each_prediction_in_the_same_pass(threads):
    """`tatamu evaluate` draws its confusion matrix from these: no second pass over the data."""
    x, y = make_data(50)
    model = tiny_net()
    result = evaluate(model, (x, y), batch_size=7, threads=threads, predictions=True)
    np.testing.assert_array_equal(result["predicted"], model.predict(x).argmax(axis=1))
    assert result["correct"] == int((result["predicted"] == y).sum())
    assert "predicted" not in evaluate(model, (x, y))


@pytest.mark.parametrize("batch_size", [True, 0, 2.0])
def test_evaluate_refuses_a_batch_size_that_is_not_a_positive_int(batch_size):
    x, y = make_data(5)
    with pytest.raises(ConfigError, match="batch_size must be an int >= 1"):
        evaluate(tiny_net(), (x, y), batch_size=batch_size)


def test_evaluate_takes_one_hot_labels_and_restores_the_mode():
    x, y = make_data(20)
    model = tiny_net()
    assert model.training
    a = evaluate(model, (x, y))
    b = evaluate(model, (x, np.eye(3, dtype=np.float32)[y]))
    assert model.training
    assert a["correct"] == b["correct"]
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)


# -- epochs, shuffling, determinism ---------------------------------------------------------
class Recorder(Layer):
    """Identity layer that remembers the last training batch it saw (sample ids in x)."""

    def __init__(self) -> None:
        super().__init__()
        self.last = None

    def forward(self, x):
        if self.training:
            self.last = x[:, 0].astype(np.int64)
        return x

    def backward(self, dout):
        return dout


class SeenBatches(Callback):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.epochs: dict[int, list[np.ndarray]] = {}

    def on_batch_end(self, epoch, batch, logs):
        self.epochs.setdefault(epoch, []).append(self.recorder.last)


def test_every_epoch_visits_every_sample_exactly_once_in_a_new_order():
    n, batch_size = 23, 5
    recorder = Recorder()
    model = Sequential([recorder, Linear(1, 2, rng=0)], (1,))
    x = np.arange(n, dtype=np.float32)[:, None]  # (N, 1): each sample carries its index
    labels = np.arange(n) % 2
    seen = SeenBatches(recorder)
    # threads=1: the recorder is the model's own layer, which sees only the first shard
    fit(model, (x, labels), epochs=3, batch_size=batch_size, optimizer=SGD(lr=1e-3), seed=0,
        callbacks=[seen], progress=False, threads=1)
    orders = []
    for epoch in (1, 2, 3):
        batches = seen.epochs[epoch]
        assert [len(b) for b in batches] == [5, 5, 5, 5, 3]  # partial last batch kept
        order = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(order), np.arange(n))  # no repeats, none missed
        assert not np.array_equal(order, np.arange(n))  # shuffled
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])


def test_the_same_seed_gives_the_same_weights_bit_for_bit():
    data, val = make_data(40), make_data(10, seed=1)

    def run(seed):
        model = tiny_net()
        opt = Adam(lr=1e-2)
        history = fit(model, data, val, epochs=2, batch_size=6, optimizer=opt, seed=seed,
                      progress=False)
        return snapshot(model), opt.state_dict(), history

    w1, s1, h1 = run(0)
    w2, s2, h2 = run(0)
    assert_same_arrays(w1, w2)
    assert_same_arrays(s1, s2)
    assert_same_history(h1, h2)
    w3, _, _ = run(1)  # another seed: another batch order and other Dropout masks
    assert not np.array_equal(w1["linear1.W"], w3["linear1.W"])


# -- checkpoints written by fit -----------------------------------------------------------------
def test_fit_writes_initial_last_and_best_checkpoints(tmp_path):
    model = tiny_net()
    initial = snapshot(model)
    x, y = make_data(30)
    val = make_data(12, seed=1)
    history = fit(model, (x, y), val, epochs=3, batch_size=8, optimizer=Adam(lr=1e-2), seed=0,
                  progress=False, checkpoint_dir=tmp_path, metadata={"dataset": "synthetic"})
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("events."))
    assert names == ["best.npz", "epochs", "initial.npz", "last.npz", "metrics.csv"]
    assert sorted(p.name for p in (tmp_path / "epochs").iterdir()) == [
        f"epoch-00{e}.npz" for e in range(4)]
    assert_same_arrays(checkpoint.load(tmp_path / "initial.npz").params(), initial)
    assert_same_arrays(checkpoint.load(tmp_path / "epochs" / "epoch-000.npz").params(), initial)
    assert_same_arrays(checkpoint.load(tmp_path / "epochs" / "epoch-003.npz").params(),
                       model.params())
    last = checkpoint.read(tmp_path / "last.npz")
    assert_same_arrays(last.model.params(), model.params())
    assert last.meta["dataset"] == "synthetic"
    assert last.meta["history"]["epoch"] == [1, 2, 3]
    assert last.meta["train_state"]["position"] == {"epoch": 4, "batch": 0}
    best = checkpoint.read(tmp_path / "best.npz")
    best_epoch = int(np.argmax(history.val_accuracy)) + 1  # the first epoch reaching the max
    assert best.meta["history"]["epoch"][-1] == best_epoch
    assert best.meta["history"]["val_accuracy"][-1] == max(history.val_accuracy)


# -- resume == uninterrupted ---------------------------------------------------------------------
@pytest.mark.parametrize("build", [tiny_net, deep_net], ids=["tiny-dropout", "deep_convnet"])
def test_two_epochs_then_resume_to_four_equals_four_straight(tmp_path, build):
    # DeepConvNet is the slow one: fewer samples (2 batches per epoch, the last partial)
    data = make_data(12, shape=(1, 12, 12)) if build is deep_net else None
    val = make_data(6, seed=1, shape=(1, 12, 12)) if build is deep_net else None
    m_a, o_a, s_a, h_a = train_run(tmp_path / "a", 4, build=build, data=data, val=val)
    train_run(tmp_path / "b", 2, build=build, data=data, val=val)
    # A differently initialised model: every weight must come from last.npz.
    m_b, o_b, s_b, h_b = train_run(tmp_path / "b", 4, build=build, model_seed=99, resume=True,
                                   data=data, val=val)
    assert_same_arrays(m_b.params(), m_a.params())
    assert_same_arrays(o_b.state_dict(), o_a.state_dict())
    assert_same_arrays(s_b.state_dict(), s_a.state_dict())
    assert_same_history(h_b, h_a)
    assert h_b.epoch == [1, 2, 3, 4]
    assert h_b.lr == [5e-3, 2.5e-3, 1.25e-3, 6.25e-4]  # the schedule resumed too
    last_a = checkpoint.read(tmp_path / "a" / "last.npz")
    last_b = checkpoint.read(tmp_path / "b" / "last.npz")
    assert_same_arrays(last_a.model.params(), last_b.model.params())
    assert_same_arrays(last_a.optimizer_state, last_b.optimizer_state)


def test_ctrl_c_mid_epoch_saves_at_a_batch_boundary_and_resume_equals_uninterrupted(tmp_path):
    handler = signal.getsignal(signal.SIGINT)
    m_a, o_a, _, h_a = train_run(tmp_path / "a", 3)

    interrupted = tmp_path / "b"
    m_i, _, _, h_i = train_run(interrupted, 3, callbacks=[Interrupt(epoch=2, batch=2)])
    assert signal.getsignal(signal.SIGINT) is handler  # fit put the handler back
    assert h_i.stop_reason == "interrupted"
    assert "resume" in h_i.message
    assert h_i.epoch == [1]
    saved = checkpoint.read(interrupted / "last.npz")
    # Saved after batch index 2 of epoch 2 finished: 3 batches done, nothing half-applied.
    assert saved.meta["train_state"]["position"] == {"epoch": 2, "batch": 3}
    assert_same_arrays(saved.model.params(), m_i.params())

    m_b, o_b, _, h_b = train_run(interrupted, 3, model_seed=42, resume=True)
    assert h_b.stop_reason == "completed"
    assert_same_arrays(m_b.params(), m_a.params())
    assert_same_arrays(o_b.state_dict(), o_a.state_dict())
    assert_same_history(h_b, h_a)


class CtrlCInForward(Layer):
    """Identity layer that presses Ctrl-C twice in the middle of a training step."""

    def __init__(self, at_call: int = 0) -> None:
        super().__init__()
        self.at_call, self.calls = at_call, 0

    def forward(self, x):
        if self.training:
            self.calls += 1
            if self.calls == self.at_call:
                press_ctrl_c(times=2)
        return x

    def backward(self, dout):
        return dout


def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(tmp_path):
    trigger = CtrlCInForward()
    model = Sequential([Conv2D(1, 2, 3, rng=0), ReLU(), Dropout(0.5, rng=0), trigger,
                        Linear(72, 3, rng=1)], SHAPE)
    data = make_data(20)
    # epoch 1 has 4 batches of 5; press Ctrl-C twice inside the 2nd step of epoch 2
    trigger.at_call = 4 + 2
    history = fit(model, data, epochs=3, batch_size=5, optimizer=Adam(), seed=0,
                  progress=False, checkpoint_dir=tmp_path,
                  callbacks=[_RememberLast(tmp_path / "last.npz")])
    assert history.stop_reason == "interrupted"
    assert "unchanged" in history.message
    assert (tmp_path / "last.npz").read_bytes() == _RememberLast.saved


class _RememberLast(Callback):
    saved = b""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, epoch, logs):
        type(self).saved = self.path.read_bytes()


# -- divergence ---------------------------------------------------------------------------------
class PoisonWeight(Callback):
    """Writes a NaN into a weight after batch ``batch`` of ``epoch`` (a diverging update)."""

    def __init__(self, model, epoch, batch, path) -> None:
        self.model, self.at, self.path = model, (epoch, batch), path
        self.last_bytes, self.last_mtime = None, None

    def on_batch_end(self, epoch, batch, logs):
        if (epoch, batch) == self.at:
            self.model["linear1"].W[0, 0] = np.nan

    def on_epoch_end(self, epoch, logs):
        self.last_bytes = self.path.read_bytes()
        self.last_mtime = self.path.stat().st_mtime_ns


def test_a_nan_loss_stops_with_diverged_and_keeps_the_last_good_checkpoint(tmp_path):
    model = tiny_net()
    poison = PoisonWeight(model, epoch=2, batch=0, path=tmp_path / "last.npz")
    history = fit(model, make_data(30), make_data(10, seed=1), epochs=4, batch_size=6,
                  optimizer=Adam(lr=1e-2), seed=0, progress=False, checkpoint_dir=tmp_path,
                  callbacks=[poison])
    assert history.stop_reason == "diverged"
    assert history.epoch == [1]
    message = history.message
    assert "nan" in message.lower() and "epoch 2, batch 2" in message
    assert "smaller" in message and "learning rate" in message
    assert "last.npz" in message
    assert (tmp_path / "last.npz").read_bytes() == poison.last_bytes
    assert (tmp_path / "last.npz").stat().st_mtime_ns == poison.last_mtime
    names = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("events."))
    assert names == ["best.npz", "epochs", "initial.npz", "last.npz", "metrics.csv"]
    assert len((tmp_path / "metrics.csv").read_text().splitlines()) == 2  # header, epoch 1
    # the kept checkpoint is the good one from epoch 1
    assert checkpoint.read(tmp_path / "last.npz").meta["history"]["epoch"] == [1]


class SetWeights(Callback):
    """After batch ``batch`` of ``epoch``, fills ``layer``'s W with ``value`` (a blown-up step)."""

    def __init__(self, model, layer, value, epoch, batch) -> None:
        self.model, self.layer, self.value, self.at = model, layer, value, (epoch, batch)

    def on_batch_end(self, epoch, batch, logs):
        if (epoch, batch) == self.at:
            self.model[self.layer].W[...] = self.value


def test_weights_blown_up_by_the_last_step_of_an_epoch_are_not_saved(tmp_path):
    # Regression: the loss of the last step was finite, so the inf weights it produced were
    # saved as the "last good" last.npz (which load() then refused as corrupt).
    model = tiny_net()
    blow_up = SetWeights(model, "linear1", np.inf, epoch=2, batch=4)  # 30 / 6: batches 0..4
    history = fit(model, make_data(30), epochs=3, batch_size=6, optimizer=Adam(), seed=0,
                  progress=False, checkpoint_dir=tmp_path, callbacks=[blow_up])
    assert history.stop_reason == "diverged"
    assert "weights became inf or NaN in epoch 2" in history.message
    assert history.epoch == [1]
    assert checkpoint.read(tmp_path / "last.npz").meta["history"]["epoch"] == [1]


def test_a_non_finite_validation_loss_stops_with_diverged(tmp_path):
    # Regression: finite but huge weights overflowed in evaluation (RuntimeWarnings), and the
    # NaN validation loss then failed the checkpoint's JSON instead of reporting divergence.
    model = tiny_net()
    huge = SetWeights(model, "linear2", 3e38, epoch=2, batch=4)
    history = fit(model, make_data(30), make_data(10, seed=1), epochs=3, batch_size=6,
                  optimizer=SGD(lr=1e-3), seed=0, progress=False, checkpoint_dir=tmp_path,
                  callbacks=[huge])
    assert history.stop_reason == "diverged"
    assert "validation loss became nan after epoch 2" in history.message
    assert "smaller" in history.message
    assert checkpoint.read(tmp_path / "last.npz").meta["history"]["epoch"] == [1]


def test_a_huge_sgd_learning_rate_stops_with_diverged():
    model = simple_convnet(SHAPE, filters=4, hidden=16, rng=0)
    history = fit(model, make_data(40), epochs=5, batch_size=8, optimizer=SGD(lr=1e30),
                  seed=0, progress=False)
    assert history.stop_reason == "diverged"
    assert "smaller" in history.message and "(lr)" in history.message
    assert len(history.epoch) < 5


# -- early stopping -----------------------------------------------------------------------------
def test_early_stopping_after_patience_epochs_without_improvement():
    x, y = make_data(60)
    # Validation labels shifted by one class: the better the model learns y, the worse the
    # validation loss gets, so it stops improving right away.
    val = (x[:30], (y[:30] + 1) % 3)
    history = fit(tiny_net(), (x, y), val, epochs=30, batch_size=10,
                  optimizer=Adam(lr=1e-2), seed=0, early_stopping=2, progress=False)
    assert history.stop_reason == "early_stopping"
    assert "2 epochs" in history.message
    losses = history.val_loss
    best = int(np.argmin(losses))
    assert len(losses) == best + 1 + 2  # exactly `patience` epochs after the best one
    assert all(v >= losses[best] for v in losses[best + 1:])
    assert len(losses) < 30


# -- refusing bad input -------------------------------------------------------------------------
def _bad_data():
    x, y = make_data(10)
    cases = {
        "nhwc": ((x.transpose(0, 2, 3, 1), y), DataError, ["NHWC", "transpose(0, 3, 1, 2)"]),
        "no-channel-axis": ((x[:, 0], y), DataError, ["x[:, None]"]),
        "uint8": (((x * 255).astype(np.uint8), y), DataError, ["uint8", "astype(np.float32)"]),
        "labels-out-of-range": ((x, y + 3), TatamuError, ["[0, 3)", "3 to 5"]),
        "negative-labels": ((x, y - 1), TatamuError, ["[0, 3)"]),
        "float-labels": ((x, y.astype(np.float32)), TatamuError, ["integers", "int64"]),
        "nan-in-x": ((np.where(np.arange(10)[:, None, None, None] == 3, np.nan, x)
                      .astype(np.float32), y), DataError, ["NaN"]),
        "inf-in-x": ((np.where(x > 0.99, np.inf, x).astype(np.float32), y), DataError, ["inf"]),
        "empty": ((x[:0], y[:0]), DataError, ["empty"]),
        "mismatched-lengths": ((x, y[:9]), DataError, ["10 images but 9 labels"]),
        "not-a-pair": ((x, y, y), DataError, ["pair (x, labels)"]),
        "lists": ((x.tolist(), y), DataError, ["np.asarray"]),
    }
    return [pytest.param(*v, id=k) for k, v in cases.items()]


@pytest.mark.parametrize(("data", "error", "phrases"), _bad_data())
def test_bad_training_data_is_refused_with_a_clear_message(data, error, phrases):
    model = tiny_net()
    with pytest.raises(error) as info:
        fit(model, data, epochs=1, batch_size=4, optimizer=Adam(), progress=False)
    message = str(info.value)
    assert isinstance(info.value, TatamuError)
    assert "\n" not in message
    for phrase in phrases:
        assert phrase in message
    with pytest.raises(error):  # the same checks guard evaluation and validation data
        evaluate(model, data)
    with pytest.raises(error):
        fit(model, make_data(8), data, epochs=1, batch_size=4, optimizer=Adam(), progress=False)


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [({"epochs": 0}, "epochs must be an int >= 1"),
     ({"batch_size": 0}, "batch_size must be an int >= 1"),
     ({"batch_size": 2.5}, "batch_size"),
     ({"early_stopping": 0}, "early_stopping"),
     ({"resume": True}, "needs checkpoint_dir")],
)
def test_bad_settings_are_config_errors(kwargs, phrase):
    settings = {"epochs": 1, "batch_size": 4, "optimizer": Adam(), "progress": False, **kwargs}
    with pytest.raises(ConfigError, match=phrase):
        fit(tiny_net(), make_data(8), **settings)


def test_resume_without_a_checkpoint_says_so(tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        fit(tiny_net(), make_data(8), epochs=1, batch_size=4, optimizer=Adam(), progress=False,
            checkpoint_dir=tmp_path, resume=True)


def test_resume_into_another_architecture_is_refused(tmp_path):
    fit(tiny_net(), make_data(8), epochs=1, batch_size=4, optimizer=Adam(), progress=False,
        checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match="another model"):
        fit(tiny_net(classes=4), make_data(8), epochs=2, batch_size=4, optimizer=Adam(),
            progress=False, checkpoint_dir=tmp_path, resume=True)


def test_public_names():
    assert tatamu.train.fit is fit and tatamu.train.evaluate is evaluate
